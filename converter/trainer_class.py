"""Front stage: a training loop written as methods of the script's own class (a ``Trainer``
with ``__init__`` / ``_run_batch`` / ``_run_epoch`` / ``train(max_epochs)``) is rewritten into
the plain-script shape the rest of the converter reads, before any analysis.

* the construction ``trainer = Trainer(model, loader, ...)`` becomes the constructor's
  statements, its parameters bound to the call's arguments;
* every ``trainer.method(...)`` call of the script becomes the method's statements, and a
  method calling ``self.other(...)`` gets ``other``'s statements in place of the call (the way a
  train function is inlined: parameters bound, the final ``return value`` standing in for the
  call);
* ``self.<x>`` state becomes the plain variable ``x`` (``<trainer>_x`` where ``x`` already
  means something else in the script), and ``trainer.x`` read after the training the same;
* the class definition goes.

Every node built here is remembered at the line of the node it was made from (``Lines``), so
each later refusal, note and change names the user's original line. What cannot be mapped
exactly is refused with its line and the construct: recursion, ``self`` used as a value, the
instance passed elsewhere, an early ``return``, a method called from a loop header...
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ..api_knowledge import dotted_name
from .loops import find_backward_calls
from .names import fresh_name, names_used_anywhere, param_names, usage_of
from .script import Script, Unsupported
from .tree import Lines, ParentMap, code_of, final_return, is_docstring

#: decorators a method may carry: they become a ``with`` block around its statements
_CONTEXT_DECORATORS = {"torch.no_grad", "torch.inference_mode", "torch.enable_grad"}
#: calls that return the object they are called on for a module (``self.model = model.to(d)``)
_SAME_OBJECT = {"to", "cuda", "cpu", "train", "float", "double", "half"}


@dataclass
class FrontNote:
    """A review note of the front stage (``line`` in the original)."""

    line: int
    message: str


@dataclass
class Inlined:
    """The rewritten script and what the front stage tells the user."""

    script: Script
    notes: list[FrontNote] = field(default_factory=list)
    class_name: str = ""
    class_span: tuple[int, int] = (0, 0)
    methods: tuple[str, ...] = ()  #: the methods inlined, in the order first met
    sites: tuple[tuple[int, int, str], ...] = ()  #: (first, last line, what) of each statement rewritten


def inline_trainer_class(script: Script) -> Inlined | None:
    """The script with its trainer class inlined, or None when ``backward()`` is not only called
    in the methods of one plain class of the script (raises ``Unsupported`` when it is but the
    class cannot be inlined exactly)."""
    calls = find_backward_calls(script.module)
    if not calls or not all(script.parents.in_class(c) for c in calls):
        return None
    classes = {_outer_class(script, c) for c in calls}
    if len(classes) != 1:
        return None
    node = classes.pop()
    if node is None:
        return None  # a class inside a function: the analysis refuses it
    bases = [code_of(b.value) for b in node.bases if dotted_name(b.value) != "object"] + [code_of(k) for k in node.keywords]
    if bases:
        raise Unsupported(
            script.line(calls[0]),
            f"backward() is only called in methods of {node.name.value}, which inherits from {', '.join(bases)} (a test case, a module "
            "computing its own gradients); only a trainer class of the script's own, without a base class, is unrolled into a training",
        )
    return _Inliner(script, node).run()


def _outer_class(script: Script, node: cst.CSTNode) -> cst.ClassDef | None:
    owner = [a for a in script.parents.ancestors(node) if isinstance(a, cst.ClassDef)]
    top = owner[-1] if owner else None
    return top if top is not None and script.parents.parent(top) is script.module else None


class _Inliner:
    def __init__(self, script: Script, cls: cst.ClassDef) -> None:
        self.script, self.cls = script, cls
        self.name = cls.name.value
        self.lines = script.lines
        self.line = self.lines.line
        self.notes: list[FrontNote] = []
        self.methods: dict[str, cst.FunctionDef] = {}
        self.attrs: dict[str, str] = {}  # self.<attr> -> plain name
        self.taken: set[str] = set()  # the scope's own names and the attributes' names
        self.scope_locals: set[str] = set()  # names local to the function the instance lives in
        self.introduced: set[str] = set()  # names the inlined methods' locals took
        self.frames: list[set[str]] = []  # the (mapped) locals of the methods being inlined
        self.active: list[str] = []  # methods being inlined (recursion guard)
        self.used: list[str] = []  # methods inlined, in order

    # --- the class ---------------------------------------------------------------------------
    def run(self) -> Inlined:
        self._read_class()
        site, call, instance = self._construction()
        scope = self.script.parents.enclosing_function(site)
        uses = self._instance_uses(scope, site, instance)
        self.taken = self._names_of_scope(scope)
        self._map_attributes(instance, call, site, uses)
        replacements: dict[cst.CSTNode, list[cst.BaseStatement]] = {site: self._construct(site, call)}
        attribute_reads: dict[cst.CSTNode, cst.Name] = {}
        for use_stmt, use in uses:
            if isinstance(use, cst.Call):
                method = self.methods[use.func.attr.value]
                replacements[use_stmt] = self._inline(method, use, use_stmt, use_stmt)
            else:
                attribute_reads[use] = cst.Name(self.attrs[use.attr.value])
        module = self.script.module.visit(_Replace(self.cls, replacements, attribute_reads, self.lines))
        new = Script(module=module, imports=self.script.imports, parents=ParentMap(module), lines=self.lines)
        for statements in replacements.values():
            for stmt in statements:
                leftover = _names(stmt, "self")
                if leftover:
                    raise Unsupported(self.line(leftover[0]), f"`self` is used in {self.name} other than as `self.<attribute>` or a method call that is a statement of its own; it cannot be inlined")
        sites = [(*self.script.span(site), f"{code_of(call.func)}(...) → the statements of {self.name}.__init__()")]
        for use_stmt, use in uses:
            what = f"{code_of(use.func)}(...) → the statements of {self.name}.{use.func.attr.value}()" if isinstance(use, cst.Call) else f"{code_of(use)} → {self.attrs[use.attr.value]}"
            sites.append((*self.script.span(use_stmt), what))
        return Inlined(new, self.notes, self.name, self.script.span(self.cls), tuple(self.used), tuple(sites))

    def _read_class(self) -> None:
        for stmt in self.cls.body.body:
            if isinstance(stmt, cst.FunctionDef):
                if not stmt.params.params or stmt.params.params[0].name.value != "self":
                    raise Unsupported(self.line(stmt), f"{self.name}.{stmt.name.value}() is not a plain method (its first parameter is not `self`)")
                self.methods[stmt.name.value] = stmt
            elif not (is_docstring(stmt) or _is_pass(stmt)):
                raise Unsupported(self.line(stmt), f"the trainer class {self.name} has a class-level statement besides its methods; only methods can be inlined")
        stores: set[str] = set()

        class _SelfStores(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> None:
                if isinstance(node.value, cst.Name) and node.value.value == "self":
                    stores.add(node.attr.value)

        self.cls.visit(_SelfStores())
        self.attr_names = stores - set(self.methods)

    def _construction(self) -> tuple[cst.BaseStatement, cst.Call, str]:
        """The one statement ``instance = Class(...)``."""
        refs = [n for n in _names(self.script.module, self.name) if not _inside(self.script.parents, n, self.cls) and n is not self.cls.name]
        if not refs:
            raise Unsupported(self.line(self.cls), f"the trainer class {self.name} is never constructed in this file (another module uses it); only a class constructed here once (`trainer = {self.name}(...)`) can be inlined")
        if len(refs) != 1:
            where = self.line(refs[1])
            raise Unsupported(where, f"the trainer class {self.name} is used {len(refs)} times; only a class constructed once (`trainer = {self.name}(...)`) can be inlined")
        ref = refs[0]
        call = self.script.parents.parent(ref)
        stmt = self.script.parents.statement_of(ref)
        if not (isinstance(call, cst.Call) and call.func is ref and isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
            raise Unsupported(self.line(ref), f"{self.name} is used other than as `trainer = {self.name}(...)`")
        small = stmt.body[0]
        if not (isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
            raise Unsupported(self.line(ref), f"the {self.name}(...) instance is not assigned to a plain name (`trainer = {self.name}(...)`); only the method calls of a named instance can be inlined")
        if "__init__" not in self.methods:
            raise Unsupported(self.line(self.cls), f"the trainer class {self.name} has no __init__")
        return stmt, call, small.targets[0].target.value

    def _instance_uses(self, scope, site, instance: str) -> list[tuple[cst.BaseStatement, cst.CSTNode]]:
        """The statements that call a method of the instance, and its attribute reads."""
        parents = self.script.parents
        uses: list[tuple[cst.BaseStatement, cst.CSTNode]] = []
        names = [n for n in _names(self.script.module, instance) if not _inside(parents, n, self.cls) and parents.parent(n) is not site.body[0].targets[0]]
        if scope is not None:  # another function's `trainer` is a variable of its own
            names = [n for n in names if parents.enclosing_function(n) is scope]
        for name in sorted(names, key=lambda n: parents.enclosing_function(n) is not scope):
            if parents.enclosing_function(name) is not scope:
                where = parents.enclosing_function(name)
                raise Unsupported(self.line(name), f"the {self.name} instance `{instance}` is used in {where.name.value}(), outside the code that creates it; only its calls there can be inlined")
            attr = parents.parent(name)
            if not (isinstance(attr, cst.Attribute) and attr.value is name):
                raise Unsupported(self.line(name), f"the {self.name} instance `{instance}` is used as a value (passed, returned or reassigned); only `{instance}.method(...)` calls can be inlined")
            holder = parents.parent(attr)
            stmt = parents.statement_of(name)
            if any(stmt is other for other, _ in uses):
                raise Unsupported(self.line(name), f"a statement uses the {self.name} instance `{instance}` twice; only one call or attribute read per statement can be inlined")
            if isinstance(holder, cst.Call) and holder.func is attr:
                if attr.attr.value not in self.methods:
                    raise Unsupported(self.line(name), f"`{instance}.{attr.attr.value}()` is not a method of {self.name}")
                uses.append((stmt, holder))
            elif attr.attr.value in self.attr_names and not _is_store(parents, attr):
                uses.append((stmt, attr))
            else:
                raise Unsupported(self.line(name), f"`{instance}.{attr.attr.value}` is not state {self.name} sets, or it is assigned from outside the class")
        return uses

    def _names_of_scope(self, scope) -> set[str]:
        """Names the inlined code must not take over: every name of the scope the instance lives
        in (of the whole module outside the class when that is the module)."""
        if scope is None:
            return names_used_anywhere(*(s for s in self.script.module.body if s is not self.cls)) | {"self"}
        self.scope_locals = usage_of(scope.body).stores | set(param_names(scope.params))
        module_names = usage_of(*(s for s in self.script.module.body if s is not self.cls)).stores
        return names_used_anywhere(scope) | module_names | {"self"}

    def _map_attributes(self, instance: str, call: cst.Call, site: cst.BaseStatement, uses) -> None:
        """``self.x`` -> ``x``, unless the scope already has an ``x`` that is not the very object
        the constructor stores first (``self.model = model`` or ``model.to(gpu_id)`` with the
        caller's ``model``); where the class stores another object in ``self.x`` later
        (``self.model = DDP(self.model)``), only if the scope reads no ``x`` after the
        construction."""
        init = self.methods["__init__"]
        bound = _bind(self, init, call)
        first: dict[str, cst.BaseExpression] = {}
        for stmt in init.body.body:
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and _self_attr(small.targets[0].target):
                first.setdefault(small.targets[0].target.attr.value, small.value)
        aliases = set()
        for attr, value in first.items():
            param = _same_object_of(value)
            if param is None or not (isinstance(bound.get(param), cst.Name) and bound[param].value == attr):
                continue
            if all(dotted_name(v) == param for v in _stored_values(self.cls, attr)) or not self._read_after(attr, site, uses):
                aliases.add(attr)
        for attr in sorted(self.attr_names):
            if attr in self.taken and attr not in aliases:
                self.attrs[attr] = fresh_name(f"{instance}_{attr}", self.taken)
            else:
                self.attrs[attr] = attr
                self.taken.add(attr)

    def _read_after(self, name: str, site: cst.BaseStatement, uses) -> bool:
        """Does the scope read ``name`` after the construction (outside the instance's calls)?"""
        parents = self.script.parents
        scope = parents.enclosing_function(site)
        skip = [site] + [stmt for stmt, _ in uses]
        after = self.line(site)
        for node in _names(scope if scope is not None else self.script.module, name):
            if _inside(parents, node, self.cls) or any(node is s or _inside(parents, node, s) for s in skip):
                continue
            if parents.enclosing_function(node) is scope and self.line(node) > after:
                return True
        return False

    # --- statements ----------------------------------------------------------------------------
    def _construct(self, site: cst.BaseStatement, call: cst.Call) -> list[cst.BaseStatement]:
        init = self.methods["__init__"]
        body = [s for s in init.body.body if not _is_super_init(s)]
        statements, _ = self._body_with_names(init, call, site, body, None)
        return statements or [self._remember(cst.SimpleStatementLine([cst.Pass()]), site)]

    def _inline(self, method: cst.FunctionDef, call: cst.Call, stmt: cst.BaseStatement, anchor: cst.CSTNode) -> list[cst.BaseStatement]:
        """The statements that replace ``stmt`` (which calls ``method`` once, as ``call``)."""
        name = f"{self.name}.{method.name.value}()"
        if method.name.value in self.active:
            raise Unsupported(self.line(call), f"{name} calls itself (recursion through {' -> '.join(self.active)}); a recursive method cannot be inlined")
        if method.name.value == "__init__":
            raise Unsupported(self.line(call), f"{name} is called again; only the construction runs it")
        body, value = final_return(list(method.body.body))
        _refuse_inner_returns(self, method, body)
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        uses_value = not (isinstance(small, cst.Expr) and small.value is call)
        if small is None or not _call_is_plain_part(call, stmt):
            raise Unsupported(self.line(anchor), f"{name} is called inside a compound statement's header or a conditional expression; only a call that is a statement of its own (or a value it assigns) can be inlined")
        if uses_value and value is None:
            raise Unsupported(self.line(anchor), f"the value of {name} is used, but it returns nothing")
        self.active.append(method.name.value)
        if method.name.value not in self.used:
            self.used.append(method.name.value)
        if _saves(self.script, method):
            self.notes.append(FrontNote(
                self.line(anchor),
                f"{name} saves the script's own checkpoint; its statements stay where this call ran them (under the same guard), "
                "writing the plain model's state_dict as before. Lightning's ModelCheckpoint can replace it",
            ))
        try:
            statements, renamed = self._body_with_names(method, call, anchor, body, value)
        finally:
            self.active.pop()
        if not uses_value:
            if renamed is not None and not _is_pure(renamed):
                statements.append(self._remember(cst.SimpleStatementLine([cst.Expr(renamed)]), anchor))
            return self._decorate(method, statements, anchor)
        stored = usage_of(*statements).stores
        clash = sorted(stored & usage_of(_without(small, call)).loads)
        if clash:
            raise Unsupported(self.line(anchor), f"the statement calling {name} reads {', '.join(clash)}, which {name} changes; it cannot be inlined in order")
        rest = stmt.with_changes(body=[small.visit(_Swap(call, renamed))])
        return self._decorate(method, statements, anchor) + [self._remember(rest, anchor)]

    def _body_with_names(self, method, call, anchor, body, value):
        """``body`` with parameters bound, locals renamed where they clash and ``self`` mapped;
        calls of other methods inlined in turn. Also the return value, mapped the same way.

        A local keeps its name unless the script or the calling method already uses it (then
        ``loss`` of ``loss = self.train_step(batch)`` becomes ``loss_2`` inside: the training
        step's own loss is never reassigned by the value it returns)."""
        label = f"{self.name}.{method.name.value}()"
        bound = _bind(self, method, call)
        usage = usage_of(*body)
        free = usage.loads - usage.stores - set(bound) - {"self"}
        shadowed = sorted(free & self.scope_locals)
        if shadowed:
            raise Unsupported(self.line(method), f"{label} reads the global {shadowed[0]}, which the function that creates the {self.name} has as a local")
        caller = set().union(*self.frames) if self.frames else set()
        renames: dict[str, cst.BaseExpression] = {}
        imported = _imports_of(body)
        for name, target in imported.items():
            if (name in self.taken or name in caller) and self.script.qualify(name) != target:
                raise Unsupported(self.line(method), f"{label} imports {name} inside, and the script already has another {name}; it cannot be inlined")
        for local in sorted(usage.stores - set(bound) - set(imported)):
            if local in self.taken or local in caller:
                renames[local] = cst.Name(self._fresh(local, caller))
            else:
                self.introduced.add(local)
        frame = {renames[n].value if n in renames else n for n in usage.stores - set(bound)}
        stored = frame | {self.attrs[a] for a in _self_stores(body) if a in self.attrs}
        prologue: list[cst.BaseStatement] = []
        for param, arg in bound.items():
            if _is_plain(arg) and not (isinstance(arg, cst.Name) and arg.value in stored and not _read_before_change(body, param, arg.value, self.attrs)):
                renames[param] = arg
            else:
                # `model` passed as `Net()` and stored as `self.model = model.to(device)`: one name
                same = param in self.attrs and method.name.value == "__init__" and _read_before_change(body, param, self.attrs[param], self.attrs)
                local = self.attrs[param] if same else self._fresh(param, caller)
                frame.add(local)
                renames[param] = cst.Name(local)
                prologue.append(self._remember(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(local))], arg)]), anchor))
        mapper = _SelfMapper(self, method, renames)
        statements = prologue + [s.visit(mapper) for s in body if not is_docstring(s)]
        statements = [s for s in statements if not _is_noop(s)]
        self.frames.append(frame)
        try:
            statements = self._inline_self_calls(statements)
        finally:
            self.frames.pop()
        return statements, (value.visit(mapper) if value is not None else None)

    def _fresh(self, name: str, caller: set[str]) -> str:
        new = fresh_name(name, self.taken | self.introduced | caller)
        self.introduced.add(new)
        return new

    def _inline_self_calls(self, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for stmt in statements:
            out.extend(self._inline_in(stmt))
        return out

    def _inline_in(self, stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
        calls = _self_calls(stmt)
        if not calls:
            return [stmt]
        if isinstance(stmt, cst.SimpleStatementLine):
            if len(calls) > 1 or len(stmt.body) != 1:
                raise Unsupported(self.lines.line(stmt), "a statement calls more than one method of the trainer class; only one call per statement can be inlined")
            call = calls[0]
            return self._inline(self.methods[call.func.attr.value], call, stmt, stmt)
        header_calls = [c for c in calls if not any(_inside_node(c, b) for b in _blocks(stmt))]
        if header_calls:
            raise Unsupported(self.lines.line(stmt), f"{self.name}.{header_calls[0].func.attr.value}() is called in the header of a compound statement; only a call that is a statement of its own can be inlined")
        rebuilt = stmt.visit(_BlockInliner(self, stmt))
        return [self._remember(rebuilt, stmt)]

    def _decorate(self, method: cst.FunctionDef, statements: list[cst.BaseStatement], anchor) -> list[cst.BaseStatement]:
        for deco in reversed(method.decorators):
            qualified = self.script.qualify(dotted_name(deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator))
            if qualified not in _CONTEXT_DECORATORS:
                raise Unsupported(self.line(deco), f"{self.name}.{method.name.value}() has the decorator @{dotted_name(deco.decorator) or '...'}; only @torch.no_grad()-like decorators can be inlined")
            item = deco.decorator if isinstance(deco.decorator, cst.Call) else cst.Call(deco.decorator)
            block = cst.With(items=[cst.WithItem(item)], body=cst.IndentedBlock(statements or [cst.SimpleStatementLine([cst.Pass()])]))
            statements = [self._remember(block, anchor)]
        return statements

    def _remember(self, built: cst.CSTNode, original: cst.CSTNode) -> cst.CSTNode:
        return self.lines.remember(built, original)


# --- transformers ------------------------------------------------------------------------------
class _SelfMapper(cst.CSTTransformer):
    """``self.x`` -> the plain name, parameters -> their arguments, clashing locals renamed;
    ``self.method`` stays for :meth:`_Inliner._inline_in`. Every rebuilt node keeps its line."""

    def __init__(self, inliner: _Inliner, method: cst.FunctionDef, renames: dict[str, cst.BaseExpression]) -> None:
        self.inliner, self.method, self.renames = inliner, method, renames

    def visit_FunctionDef(self, node):
        raise Unsupported(self.inliner.line(node), f"{self.inliner.name}.{self.method.name.value}() defines a function inside; it cannot be inlined")

    def visit_Lambda(self, node):
        if set(param_names(node.params)) & set(self.renames):
            raise Unsupported(self.inliner.line(node), f"a lambda in {self.inliner.name}.{self.method.name.value}() shadows one of its names")
        return True

    def visit_Global(self, node):
        raise Unsupported(self.inliner.line(node), f"{self.inliner.name}.{self.method.name.value}() declares global/nonlocal names; it cannot be inlined")

    visit_Nonlocal = visit_Global

    def visit_Yield(self, node):
        raise Unsupported(self.inliner.line(node), f"{self.inliner.name}.{self.method.name.value}() is a generator; it cannot be inlined")

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute):
        if _self_attr(original):
            attr = original.attr.value
            if attr in self.inliner.attrs:
                return self.inliner._remember(cst.Name(self.inliner.attrs[attr]), original)
            if attr in self.inliner.methods:
                return self.inliner._remember(updated.with_changes(attr=original.attr), original)
            raise Unsupported(self.inliner.line(original), f"`self.{attr}` is read but {self.inliner.name} never sets it")
        return self.inliner._remember(updated.with_changes(attr=original.attr), original)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg):
        return self.inliner._remember(updated.with_changes(keyword=original.keyword), original)

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        if original.value == "self":
            return updated  # checked by leave_Attribute's parent; a bare one is caught below
        if original.value in self.renames:
            return self.inliner._remember(self.renames[original.value].deep_clone(), original)
        return updated

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.inliner._remember(result, original)
        return result

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        func = updated.func
        if isinstance(func, cst.Name) and func.value == "super":
            raise Unsupported(self.inliner.line(original), f"{self.inliner.name}.{self.method.name.value}() calls super(); it cannot be inlined")
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        if any(_bare_self(s) for s in updated.body):
            raise Unsupported(self.inliner.line(original), f"{self.inliner.name}.{self.method.name.value}() uses `self` as a value; only `self.<attribute>` and `self.<method>(...)` can be inlined")
        return updated


class _BlockInliner(cst.CSTTransformer):
    """Inline method calls in the blocks of one compound statement."""

    def __init__(self, inliner: _Inliner, root: cst.CSTNode) -> None:
        self.inliner, self.root = inliner, root

    def on_visit(self, node) -> bool:
        if isinstance(node, cst.BaseCompoundStatement) and node is not self.root:
            header = [c for c in _self_calls(node) if not any(_inside_node(c, b) for b in _blocks(node))]
            if header:
                raise Unsupported(
                    self.inliner.lines.line(node),
                    f"{self.inliner.name}.{header[0].func.attr.value}() is called in the header of a compound statement; only a call "
                    "that is a statement of its own can be inlined",
                )
        return super().on_visit(node)

    def leave_SimpleStatementLine(self, original, updated):
        if not _self_calls(updated):
            return updated
        return cst.FlattenSentinel(self.inliner._inline_in(self.inliner._remember(updated, original)))

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.inliner._remember(result, original)
        return result


class _Replace(cst.CSTTransformer):
    """The class goes; the construction and the instance's calls become their statements."""

    def __init__(self, cls, replacements, attribute_reads, lines: Lines) -> None:
        self.cls, self.replacements, self.attribute_reads, self.lines = cls, replacements, attribute_reads, lines

    def leave_ClassDef(self, original, updated):
        return cst.RemoveFromParent() if original is self.cls else updated

    def leave_Attribute(self, original, updated):
        if original in self.attribute_reads:
            return self.lines.remember(self.attribute_reads[original], original)
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        if original in self.replacements:
            statements = self.replacements[original]
            if statements and hasattr(statements[0], "leading_lines"):
                statements[0] = self.lines.remember(statements[0].with_changes(leading_lines=original.leading_lines), statements[0])
            return cst.FlattenSentinel(statements)
        return updated

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.lines.remember(result, original)
        return result


class _Swap(cst.CSTTransformer):
    def __init__(self, call: cst.Call, value: cst.BaseExpression) -> None:
        self.call, self.value = call, value

    def leave_Call(self, original, updated):
        return self.value if original is self.call else updated


# --- small helpers -----------------------------------------------------------------------------
def _bind(inliner: _Inliner, method: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression]:
    """Each parameter of ``method`` but ``self`` -> the expression ``call`` passes (or its default)."""
    params = method.params
    label = f"{inliner.name}.{method.name.value}()"
    line = inliner.lines.line(call) or inliner.line(method)
    if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None or any(a.star for a in call.args):
        raise Unsupported(line, f"{label} takes or is given *args/**kwargs; it cannot be inlined")
    positional = list(params.posonly_params) + list(params.params)[1:]
    pos_args = [a for a in call.args if a.keyword is None]
    if len(pos_args) > len(positional):
        raise Unsupported(line, f"{label} is called with more arguments than it takes")
    bound = {p.name.value: a.value for p, a in zip(positional, pos_args)}
    bound.update({a.keyword.value: a.value for a in call.args if a.keyword is not None})
    for param in positional + list(params.kwonly_params):
        if param.name.value not in bound:
            if param.default is None:
                raise Unsupported(line, f"{label} is called without its argument {param.name.value!r}")
            bound[param.name.value] = param.default
    reassigned = sorted(set(bound) & usage_of(method.body).stores)
    if reassigned:
        raise Unsupported(inliner.line(method), f"{label} reassigns its parameter {reassigned[0]}; it cannot be inlined")
    return bound


def _same_object_of(value: cst.BaseExpression) -> str | None:
    """``p`` of ``p`` or ``p.to(...)``-like (the module object ``p`` itself)."""
    if isinstance(value, cst.Name):
        return value.value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in _SAME_OBJECT and isinstance(value.func.value, cst.Name):
        return value.func.value.value
    return None


def _stored_values(cls: cst.ClassDef, attr: str) -> list[cst.BaseExpression]:
    """The values the class stores in ``self.<attr>`` (``self.x += ...`` counts as a new one)."""
    values: list[cst.BaseExpression] = []

    class _Finder(cst.CSTVisitor):
        def visit_Assign(self, node):
            if any(_self_attr(t.target) and t.target.attr.value == attr for t in node.targets):
                values.append(node.value)

        def visit_AugAssign(self, node):
            if _self_attr(node.target) and node.target.attr.value == attr:
                values.append(node)

    cls.visit(_Finder())
    return values


def _read_before_change(body, param: str, name: str, attrs: dict[str, str]) -> bool:
    """Standing the caller's ``name`` in for ``param`` is exact although the body stores ``name``:
    until the last statement that reads ``param``, every store of ``name`` is ``self.x =
    param`` or ``self.x = param.to(...)``-like (the same module object, as ``self.model =
    model.to(gpu_id)``)."""
    readers = [i for i, stmt in enumerate(body) if param in usage_of(stmt).loads]
    last = readers[-1] if readers else -1
    for stmt in body[:last]:
        stored = {attrs.get(a) for a in _self_stores([stmt])} | usage_of(stmt).stores
        if name not in stored:
            continue
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and _self_attr(small.targets[0].target)):
            return False
        value = small.value
        same = dotted_name(value) == param or (
            isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in _SAME_OBJECT and dotted_name(value.func.value) == param
        )
        if not same:
            return False
    return True


def _self_stores(body) -> set[str]:
    """The attributes ``self.<x> = ...`` / ``self.<x> += ...`` in ``body`` sets."""
    found: set[str] = set()

    class _Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node):
            if _self_attr(node.target):
                found.add(node.target.attr.value)

        def visit_AugAssign(self, node):
            if _self_attr(node.target):
                found.add(node.target.attr.value)

    for stmt in body:
        stmt.visit(_Finder())
    return found


def _imports_of(body) -> dict[str, str]:
    """Names the statements bind by ``import``: the name -> the dotted name it stands for."""
    found: dict[str, str] = {}

    class _Finder(cst.CSTVisitor):
        def visit_Import(self, node):
            for alias in node.names:
                dotted = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    found[alias.asname.name.value] = dotted
                else:
                    found[dotted.split(".")[0]] = dotted.split(".")[0]

        def visit_ImportFrom(self, node):
            module = dotted_name(node.module) if node.module is not None else ""
            if isinstance(node.names, cst.ImportStar):
                return
            for alias in node.names:
                name = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
                found[local] = f"{module}.{name}"

    for stmt in body:
        stmt.visit(_Finder())
    return found


def _saves(script: Script, method: cst.FunctionDef) -> bool:
    """Does the method call ``torch.save``?"""
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, node):
            if script.qualified_call(node) == "torch.save":
                found.append(node)

    method.body.visit(_Finder())
    return bool(found)


def _refuse_inner_returns(inliner: _Inliner, method: cst.FunctionDef, body) -> None:
    found: list[cst.Return] = []

    class _Returns(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return False

        def visit_Return(self, node):
            found.append(node)

    cst.Module(body).visit(_Returns())
    if found:
        raise Unsupported(inliner.line(found[0]), f"`return` before the end of {inliner.name}.{method.name.value}(); only a final return can be inlined")


def _names(root: cst.CSTNode, value: str) -> list[cst.Name]:
    found: list[cst.Name] = []

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, node):
            if node.value == value:
                found.append(node)

    root.visit(_Finder())
    return found


def _inside(parents: ParentMap, node: cst.CSTNode, owner: cst.CSTNode) -> bool:
    return any(a is owner for a in parents.ancestors(node))


def _inside_node(node: cst.CSTNode, root: cst.CSTNode) -> bool:
    found = []

    class _Finder(cst.CSTVisitor):
        def on_visit(self, candidate):
            if candidate is node:
                found.append(candidate)
            return not found

    root.visit(_Finder())
    return bool(found)


def _blocks(stmt: cst.CSTNode) -> list[cst.CSTNode]:
    blocks = []
    for attr in ("body", "orelse", "finalbody"):
        child = getattr(stmt, attr, None)
        if isinstance(child, cst.CSTNode):
            blocks.append(child)
    blocks += list(getattr(stmt, "handlers", ()))
    return blocks


def _self_attr(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"


def _self_calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, call):
            if _self_attr(call.func):
                found.append(call)

    node.visit(_Finder())
    return found


def _bare_self(node: cst.CSTNode) -> bool:
    """``self`` used other than as ``self.<attr>``."""
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Attribute(self, attr):
            if _self_attr(attr):
                return False
            return True

        def visit_Name(self, name):
            if name.value == "self":
                found.append(name)

    node.visit(_Finder())
    return bool(found)


def _is_store(parents: ParentMap, attr: cst.Attribute) -> bool:
    parent = parents.parent(attr)
    return isinstance(parent, cst.AssignTarget) or (isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is attr)


def _call_is_plain_part(call, stmt) -> bool:
    """The call is not under a conditional part of its one-line statement."""
    for ancestor in _path(stmt, call):
        if isinstance(ancestor, (cst.IfExp, cst.BooleanOperation, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return False
    return True


def _path(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    stack: list[cst.CSTNode] = []
    result: list[cst.CSTNode] = []

    class _Walker(cst.CSTVisitor):
        def on_visit(self, node):
            if result:
                return False
            stack.append(node)
            if node is target:
                result.extend(stack)
                return False
            return True

        def on_leave(self, node):
            if stack and stack[-1] is node:
                stack.pop()

    root.visit(_Walker())
    return result[:-1]


def _without(small: cst.CSTNode, call: cst.Call) -> cst.CSTNode:
    return small.visit(_Swap(call, cst.Name("None")))


def _is_plain(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float))
    )


def _is_pure(node: cst.BaseExpression) -> bool:
    """A return value dropped at a call that ignores it: nothing it does is lost."""
    if _is_plain(node) or isinstance(node, cst.Attribute):
        return True
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(_is_pure(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _is_pure(e.key) and _is_pure(e.value) for e in node.elements)
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "item" and not node.args


def _is_noop(stmt: cst.BaseStatement) -> bool:
    """``x = x`` (``self.cfg = cfg`` once both are ``cfg``)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    small = stmt.body[0]
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and isinstance(small.value, cst.Name)
        and small.targets[0].target.value == small.value.value
    )


def _is_pass(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Pass) for s in stmt.body)


def _is_super_init(stmt: cst.BaseStatement) -> bool:
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return False
    call = stmt.body[0].value
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "__init__" and isinstance(call.func.value, cst.Call) and dotted_name(call.func.value.func) == "super"
