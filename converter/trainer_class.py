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

This module finds the class, its one construction and the instance's uses, and splices the
result in; the parts live beside it: :mod:`.trainer_class_methods` inlines the methods,
:mod:`.trainer_class_attributes` names the ``self.<x>`` state, :mod:`.trainer_class_nodes`
answers the node queries they all ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ..api_knowledge import dotted_name
from .loops import find_backward_calls
from .names import names_used_anywhere, param_names, usage_of
from .script import Script, Unsupported
from .trainer_class_attributes import plain_names_of_attributes
from .trainer_class_methods import FrontNote, MethodInliner, bind_arguments
from .trainer_class_nodes import is_inside, is_pass, is_store, name_nodes
from .tree import Lines, ParentMap, code_of, is_docstring

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
    return _Unroller(script, node).run()


def _outer_class(script: Script, node: cst.CSTNode) -> cst.ClassDef | None:
    owner = [a for a in script.parents.ancestors(node) if isinstance(a, cst.ClassDef)]
    top = owner[-1] if owner else None
    return top if top is not None and script.parents.parent(top) is script.module else None


class _Unroller:
    """Reads the class and the instance's uses, then has a :class:`MethodInliner` replace each."""

    def __init__(self, script: Script, cls: cst.ClassDef) -> None:
        self.script, self.cls = script, cls
        self.name = cls.name.value
        self.line = script.lines.line
        self.methods: dict[str, cst.FunctionDef] = {}
        self.scope_locals: set[str] = set()  # names local to the function the instance lives in

    def run(self) -> Inlined:
        self._read_class()
        site, call, instance = self._construction()
        scope = self.script.parents.enclosing_function(site)
        uses = self._instance_uses(scope, site, instance)
        taken = self._names_of_scope(scope)  # the scope's own names and, next, the attributes' names
        init = self.methods["__init__"]
        bound = bind_arguments(self.name, self.script.lines, init, call)
        attrs = plain_names_of_attributes(self.script, self.cls, init, bound, self.attr_names, instance, site, uses, taken)
        inliner = MethodInliner(self.script, self.name, self.methods, attrs, taken, self.scope_locals)
        replacements: dict[cst.CSTNode, list[cst.BaseStatement]] = {site: inliner.construct(site, call)}
        attribute_reads: dict[cst.CSTNode, cst.Name] = {}
        for use_stmt, use in uses:
            if isinstance(use, cst.Call):
                method = self.methods[use.func.attr.value]
                replacements[use_stmt] = inliner.inline(method, use, use_stmt, use_stmt)
            else:
                attribute_reads[use] = cst.Name(attrs[use.attr.value])
        module = self.script.module.visit(_Replace(self.cls, replacements, attribute_reads, self.script.lines))
        new = Script(module=module, imports=self.script.imports, parents=ParentMap(module), lines=self.script.lines)
        self._refuse_unreached_backward(new, inliner.used)
        for statements in replacements.values():
            for stmt in statements:
                leftover = name_nodes(stmt, "self")
                if leftover:
                    raise Unsupported(self.line(leftover[0]), f"`self` is used in {self.name} other than as `self.<attribute>` or a method call that is a statement of its own; it cannot be inlined")
        sites = [(*self.script.span(site), f"{code_of(call.func)}(...) → the statements of {self.name}.__init__()")]
        for use_stmt, use in uses:
            what = f"{code_of(use.func)}(...) → the statements of {self.name}.{use.func.attr.value}()" if isinstance(use, cst.Call) else f"{code_of(use)} → {attrs[use.attr.value]}"
            sites.append((*self.script.span(use_stmt), what))
        return Inlined(new, inliner.notes, self.name, self.script.span(self.cls), tuple(inliner.used), tuple(sites))

    def _refuse_unreached_backward(self, unrolled: Script, used: list[str]) -> None:
        """Only the methods the script's calls reach are inlined (the class goes): when none of
        them calls ``backward()`` the unrolled script trains nothing, and there is no loop to
        convert (the method calling it is dead code, or a call reaching it was lost)."""
        if find_backward_calls(unrolled.module):
            return
        calls = find_backward_calls(self.script.module)
        methods = [a for a in self.script.parents.ancestors(calls[0]) if isinstance(a, cst.FunctionDef)]
        where = f"{self.name}.{methods[-1].name.value}()" if methods else self.name
        reached = ", ".join(f"{name}()" for name in ["__init__", *used])
        raise Unsupported(
            self.line(calls[0]),
            f"backward() is only called in {where}, which nothing the script runs calls (the script "
            f"runs {reached} of {self.name}); there is no training loop to convert",
        )

    def _read_class(self) -> None:
        for stmt in self.cls.body.body:
            if isinstance(stmt, cst.FunctionDef):
                if not stmt.params.params or stmt.params.params[0].name.value != "self":
                    raise Unsupported(self.line(stmt), f"{self.name}.{stmt.name.value}() is not a plain method (its first parameter is not `self`)")
                self.methods[stmt.name.value] = stmt
            elif not (is_docstring(stmt) or is_pass(stmt)):
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
        refs = [n for n in name_nodes(self.script.module, self.name) if not is_inside(self.script.parents, n, self.cls) and n is not self.cls.name]
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
        names = [n for n in name_nodes(self.script.module, instance) if not is_inside(parents, n, self.cls) and parents.parent(n) is not site.body[0].targets[0]]
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
            elif attr.attr.value in self.attr_names and not is_store(parents, attr):
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


