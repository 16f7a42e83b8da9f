"""The method inliner of the trainer-class unrolling: a call of a method of the script's trainer
class (``trainer.train(n)`` in the script, ``self._run_epoch(epoch)`` in another method) becomes
the method's statements, the way a train function is inlined:

* parameters bound to the call's arguments (a plain name or literal stands in directly, any
  other argument is assigned to a local first), a final ``return value`` standing in for the
  call, a local clashing with the caller's names renamed (``loss`` → ``loss_2``);
* ``self.<x>`` mapped to the plain name :mod:`.trainer_class_attributes` chose for it, and each
  ``self.other(...)`` call inside inlined in turn;
* a ``@torch.no_grad()``-like decorator turned into a ``with`` block around the statements.

What cannot be inlined exactly is refused with its line: recursion, an early ``return``, a
call in a compound statement's header or a conditional expression, ``self`` as a value,
``super()``, a nested function, a generator, ``global``, ``*args``, a reassigned parameter...
Every node built is remembered at the line of the node it was made from.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..api_knowledge import dotted_name
from .names import fresh_name, param_names, usage_of
from .script import Script, Unsupported
from .tree import Lines, final_return, is_docstring
from .trainer_class_nodes import (
    SAME_OBJECT_METHODS,
    call_is_plain_part,
    holds_node,
    imports_of,
    is_noop_assignment,
    is_plain,
    is_pure,
    is_self_attribute,
    is_super_init,
    saves_checkpoint,
    self_method_calls,
    self_stores,
    statement_blocks,
    uses_bare_self,
)

#: decorators a method may carry: they become a ``with`` block around its statements
CONTEXT_DECORATORS = {"torch.no_grad", "torch.inference_mode", "torch.enable_grad"}


@dataclass
class FrontNote:
    """A review note of the front stage (``line`` in the original)."""

    line: int
    message: str


class MethodInliner:
    """Inlines the methods of one trainer class whose ``self.<x>`` state is ``attrs``; ``taken``
    are the names the inlined code must not take over, ``scope_locals`` the locals of the
    function the instance lives in. Collects ``notes`` and the methods ``used``, in order."""

    def __init__(self, script: Script, class_name: str, methods: dict[str, cst.FunctionDef], attrs: dict[str, str], taken: set[str], scope_locals: set[str]) -> None:
        self.script, self.name, self.methods, self.attrs = script, class_name, methods, attrs
        self.taken, self.scope_locals = taken, scope_locals
        self.lines = script.lines
        self.line = self.lines.line
        self.notes: list[FrontNote] = []
        self.introduced: set[str] = set()  # names the inlined methods' locals took
        self.frames: list[set[str]] = []  # the (mapped) locals of the methods being inlined
        self.active: list[str] = []  # methods being inlined (recursion guard)
        self.used: list[str] = []  # methods inlined, in order

    def construct(self, site: cst.BaseStatement, call: cst.Call) -> list[cst.BaseStatement]:
        """The statements of ``__init__`` that replace the construction ``site``."""
        init = self.methods["__init__"]
        body = [s for s in init.body.body if not is_super_init(s)]
        statements, _ = self._body_with_names(init, call, site, body, None)
        return statements or [self.remember(cst.SimpleStatementLine([cst.Pass()]), site)]

    def inline(self, method: cst.FunctionDef, call: cst.Call, stmt: cst.BaseStatement, anchor: cst.CSTNode) -> list[cst.BaseStatement]:
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
        if small is None or not call_is_plain_part(call, stmt):
            raise Unsupported(self.line(anchor), f"{name} is called inside a compound statement's header or a conditional expression; only a call that is a statement of its own (or a value it assigns) can be inlined")
        if uses_value and value is None:
            raise Unsupported(self.line(anchor), f"the value of {name} is used, but it returns nothing")
        self.active.append(method.name.value)
        if method.name.value not in self.used:
            self.used.append(method.name.value)
        if saves_checkpoint(self.script, method):
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
            if renamed is not None and not is_pure(renamed):
                statements.append(self.remember(cst.SimpleStatementLine([cst.Expr(renamed)]), anchor))
            return self._decorate(method, statements, anchor)
        stored = usage_of(*statements).stores
        clash = sorted(stored & usage_of(_without(small, call)).loads)
        if clash:
            raise Unsupported(self.line(anchor), f"the statement calling {name} reads {', '.join(clash)}, which {name} changes; it cannot be inlined in order")
        rest = stmt.with_changes(body=[small.visit(_Swap(call, renamed))])
        return self._decorate(method, statements, anchor) + [self.remember(rest, anchor)]

    def _body_with_names(self, method, call, anchor, body, value):
        """``body`` with parameters bound, locals renamed where they clash and ``self`` mapped;
        calls of other methods inlined in turn. Also the return value, mapped the same way.

        A local keeps its name unless the script or the calling method already uses it (then
        ``loss`` of ``loss = self.train_step(batch)`` becomes ``loss_2`` inside: the training
        step's own loss is never reassigned by the value it returns)."""
        label = f"{self.name}.{method.name.value}()"
        bound = bind_arguments(self.name, self.lines, method, call)
        usage = usage_of(*body)
        free = usage.loads - usage.stores - set(bound) - {"self"}
        shadowed = sorted(free & self.scope_locals)
        if shadowed:
            raise Unsupported(self.line(method), f"{label} reads the global {shadowed[0]}, which the function that creates the {self.name} has as a local")
        caller = set().union(*self.frames) if self.frames else set()
        renames: dict[str, cst.BaseExpression] = {}
        imported = imports_of(body)
        for name, target in imported.items():
            if (name in self.taken or name in caller) and self.script.qualify(name) != target:
                raise Unsupported(self.line(method), f"{label} imports {name} inside, and the script already has another {name}; it cannot be inlined")
        for local in sorted(usage.stores - set(bound) - set(imported)):
            if local in self.taken or local in caller:
                renames[local] = cst.Name(self._fresh(local, caller))
            else:
                self.introduced.add(local)
        frame = {renames[n].value if n in renames else n for n in usage.stores - set(bound)}
        stored = frame | {self.attrs[a] for a in self_stores(body) if a in self.attrs}
        prologue: list[cst.BaseStatement] = []
        for param, arg in bound.items():
            if is_plain(arg) and not (isinstance(arg, cst.Name) and arg.value in stored and not _read_before_change(body, param, arg.value, self.attrs)):
                renames[param] = arg
            else:
                # `model` passed as `Net()` and stored as `self.model = model.to(device)`: one name
                same = param in self.attrs and method.name.value == "__init__" and _read_before_change(body, param, self.attrs[param], self.attrs)
                local = self.attrs[param] if same else self._fresh(param, caller)
                frame.add(local)
                renames[param] = cst.Name(local)
                prologue.append(self.remember(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(local))], arg)]), anchor))
        mapper = _SelfMapper(self, method, renames)
        statements = prologue + [s.visit(mapper) for s in body if not is_docstring(s)]
        statements = [s for s in statements if not is_noop_assignment(s)]
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
            out.extend(self.inline_in(stmt))
        return out

    def inline_in(self, stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
        """``stmt`` with the ``self.<method>(...)`` call it makes inlined (blocks of a compound
        statement statement by statement)."""
        calls = self_method_calls(stmt)
        if not calls:
            return [stmt]
        if isinstance(stmt, cst.SimpleStatementLine):
            if len(calls) > 1 or len(stmt.body) != 1:
                raise Unsupported(self.lines.line(stmt), "a statement calls more than one method of the trainer class; only one call per statement can be inlined")
            call = calls[0]
            return self.inline(self.methods[call.func.attr.value], call, stmt, stmt)
        header_calls = [c for c in calls if not any(holds_node(b, c) for b in statement_blocks(stmt))]
        if header_calls:
            raise Unsupported(self.lines.line(stmt), f"{self.name}.{header_calls[0].func.attr.value}() is called in the header of a compound statement; only a call that is a statement of its own can be inlined")
        rebuilt = stmt.visit(_BlockInliner(self, stmt))
        return [self.remember(rebuilt, stmt)]

    def _decorate(self, method: cst.FunctionDef, statements: list[cst.BaseStatement], anchor) -> list[cst.BaseStatement]:
        for deco in reversed(method.decorators):
            qualified = self.script.qualify(dotted_name(deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator))
            if qualified not in CONTEXT_DECORATORS:
                raise Unsupported(self.line(deco), f"{self.name}.{method.name.value}() has the decorator @{dotted_name(deco.decorator) or '...'}; only @torch.no_grad()-like decorators can be inlined")
            item = deco.decorator if isinstance(deco.decorator, cst.Call) else cst.Call(deco.decorator)
            block = cst.With(items=[cst.WithItem(item)], body=cst.IndentedBlock(statements or [cst.SimpleStatementLine([cst.Pass()])]))
            statements = [self.remember(block, anchor)]
        return statements

    def remember(self, built: cst.CSTNode, original: cst.CSTNode) -> cst.CSTNode:
        """``built`` recorded at the line of ``original``."""
        return self.lines.remember(built, original)


# --- transformers ------------------------------------------------------------------------------
class _SelfMapper(cst.CSTTransformer):
    """``self.x`` -> the plain name, parameters -> their arguments, clashing locals renamed;
    ``self.method`` stays for :meth:`MethodInliner.inline_in`. Every rebuilt node keeps its line."""

    def __init__(self, inliner: MethodInliner, method: cst.FunctionDef, renames: dict[str, cst.BaseExpression]) -> None:
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
        if is_self_attribute(original):
            attr = original.attr.value
            if attr in self.inliner.attrs:
                return self.inliner.remember(cst.Name(self.inliner.attrs[attr]), original)
            if attr in self.inliner.methods:
                return self.inliner.remember(updated.with_changes(attr=original.attr), original)
            raise Unsupported(self.inliner.line(original), f"`self.{attr}` is read but {self.inliner.name} never sets it")
        return self.inliner.remember(updated.with_changes(attr=original.attr), original)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg):
        return self.inliner.remember(updated.with_changes(keyword=original.keyword), original)

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        if original.value == "self":
            return updated  # checked by leave_Attribute's parent; a bare one is caught below
        if original.value in self.renames:
            return self.inliner.remember(self.renames[original.value].deep_clone(), original)
        return updated

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.inliner.remember(result, original)
        return result

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        func = updated.func
        if isinstance(func, cst.Name) and func.value == "super":
            raise Unsupported(self.inliner.line(original), f"{self.inliner.name}.{self.method.name.value}() calls super(); it cannot be inlined")
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        if any(uses_bare_self(s) for s in updated.body):
            raise Unsupported(self.inliner.line(original), f"{self.inliner.name}.{self.method.name.value}() uses `self` as a value; only `self.<attribute>` and `self.<method>(...)` can be inlined")
        return updated


class _BlockInliner(cst.CSTTransformer):
    """Inline method calls in the blocks of one compound statement."""

    def __init__(self, inliner: MethodInliner, root: cst.CSTNode) -> None:
        self.inliner, self.root = inliner, root

    def on_visit(self, node) -> bool:
        if isinstance(node, cst.BaseCompoundStatement) and node is not self.root:
            header = [c for c in self_method_calls(node) if not any(holds_node(b, c) for b in statement_blocks(node))]
            if header:
                raise Unsupported(
                    self.inliner.lines.line(node),
                    f"{self.inliner.name}.{header[0].func.attr.value}() is called in the header of a compound statement; only a call "
                    "that is a statement of its own can be inlined",
                )
        return super().on_visit(node)

    def leave_SimpleStatementLine(self, original, updated):
        if not self_method_calls(updated):
            return updated
        return cst.FlattenSentinel(self.inliner.inline_in(self.inliner.remember(updated, original)))

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.inliner.remember(result, original)
        return result


class _Swap(cst.CSTTransformer):
    def __init__(self, call: cst.Call, value: cst.BaseExpression) -> None:
        self.call, self.value = call, value

    def leave_Call(self, original, updated):
        return self.value if original is self.call else updated


# --- small helpers -----------------------------------------------------------------------------
def bind_arguments(class_name: str, lines: Lines, method: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression]:
    """Each parameter of ``method`` but ``self`` -> the expression ``call`` passes (or its default)."""
    params = method.params
    label = f"{class_name}.{method.name.value}()"
    line = lines.line(call) or lines.line(method)
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
        raise Unsupported(lines.line(method), f"{label} reassigns its parameter {reassigned[0]}; it cannot be inlined")
    return bound


def _read_before_change(body, param: str, name: str, attrs: dict[str, str]) -> bool:
    """Standing the caller's ``name`` in for ``param`` is exact although the body stores ``name``:
    until the last statement that reads ``param``, every store of ``name`` is ``self.x =
    param`` or ``self.x = param.to(...)``-like (the same module object, as ``self.model =
    model.to(gpu_id)``)."""
    readers = [i for i, stmt in enumerate(body) if param in usage_of(stmt).loads]
    last = readers[-1] if readers else -1
    for stmt in body[:last]:
        stored = {attrs.get(a) for a in self_stores([stmt])} | usage_of(stmt).stores
        if name not in stored:
            continue
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and is_self_attribute(small.targets[0].target)):
            return False
        value = small.value
        same = dotted_name(value) == param or (
            isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in SAME_OBJECT_METHODS and dotted_name(value.func.value) == param
        )
        if not same:
            return False
    return True


def _refuse_inner_returns(inliner: MethodInliner, method: cst.FunctionDef, body) -> None:
    found: list[cst.Return] = []

    class _Returns(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return False

        def visit_Return(self, node):
            found.append(node)

    cst.Module(body).visit(_Returns())
    if found:
        raise Unsupported(inliner.line(found[0]), f"`return` before the end of {inliner.name}.{method.name.value}(); only a final return can be inlined")


def _without(small: cst.CSTNode, call: cst.Call) -> cst.CSTNode:
    return small.visit(_Swap(call, cst.Name("None")))
