"""Per-batch step functions: ``for batch in loader: loss = train_step(model, batch, optimizer)``.

When ``backward()`` lives in a function with no loop of its own, called once from inside a batch
loop, the training step is that loop's body with the call replaced by the function's body: its
parameters become the call's arguments, its locals that the loop also uses are renamed
(``loss`` → ``train_step_loss``), and its final ``return value`` becomes ``target = value``.
Only what can be inlined exactly is: anything else is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from .names import usage_of
from .tree import Lines, ParentMap, calls_named


class StepFunctionUnsupported(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class InlinedStep:
    function: cst.FunctionDef
    loop: cst.For
    body: list[cst.BaseStatement]  #: the loop body with the call inlined


def _simple_argument(node: cst.BaseExpression) -> bool:
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString))


class _ReplaceCall(cst.CSTTransformer):
    def __init__(self, call: cst.Call, replacement: cst.BaseExpression) -> None:
        self.call = call
        self.replacement = replacement

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        return self.replacement if original is self.call else updated


def inline_step_function(module: cst.Module, parents: ParentMap, lines: Lines, function: cst.FunctionDef, in_function_scope) -> InlinedStep | None:
    """The batch loop that calls ``function`` and its body with the call inlined (None: not this pattern)."""
    from .analysis import _bind_arguments, _innermost_loop
    from .transforms import substitute_names

    name = function.name.value
    if parents.enclosing_function(function) is not None or parents.in_class(function) or not isinstance(parents.parent(function), cst.Module):
        return None
    calls = calls_named(module, name)
    if len(calls) != 1:
        return None
    call = calls[0]
    loop = _innermost_loop(parents, call)
    if not isinstance(loop, cst.For):
        return None
    statement = parents.statement_of(call)
    loop_body = list(loop.body.body)
    if statement not in loop_body:
        raise StepFunctionUnsupported(lines.line(call), f"{name}() is called inside a nested block of the batch loop")
    where = lines.line(function)
    if function.asynchronous is not None or function.decorators:
        raise StepFunctionUnsupported(where, f"{name}() is decorated or async")
    body = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        body = body[1:]  # the docstring
    returned = None
    if body and isinstance(body[-1], cst.SimpleStatementLine) and len(body[-1].body) == 1 and isinstance(body[-1].body[0], cst.Return):
        returned = body[-1].body[0].value
        body = body[:-1]

    class _Forbidden(cst.CSTVisitor):
        problem: str | None = None

        def visit_FunctionDef(self, node):
            return node is function

        def visit_ClassDef(self, node):
            return False

        def visit_Lambda(self, node):
            return False

        def visit_Return(self, node):
            self.problem = self.problem or "returns from the middle of its body"

        def visit_Yield(self, node):
            self.problem = self.problem or "is a generator"

        def visit_Global(self, node):
            if in_function_scope:
                self.problem = self.problem or "declares globals"

        def visit_Nonlocal(self, node):
            self.problem = self.problem or "declares nonlocals"

    checker = _Forbidden()
    for stmt in body:
        stmt.visit(checker)
    if checker.problem:
        raise StepFunctionUnsupported(where, f"{name}() {checker.problem}; cannot inline it into the batch loop")
    for arg in call.args:
        if not arg.star and not _simple_argument(arg.value):
            raise StepFunctionUnsupported(lines.line(call), f"{name}() is called with an expression argument (`{cst.Module([]).code_for_node(arg.value)}`); pass a variable")
    supplied = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    positional = [a for a in call.args if a.keyword is None]
    all_params = list(function.params.posonly_params) + list(function.params.params)
    for index, param in enumerate(all_params + list(function.params.kwonly_params)):
        defaulted = param.name.value not in supplied and (index >= len(positional) or param in function.params.kwonly_params)
        if defaulted and param.default is not None and not _simple_argument(param.default):
            raise StepFunctionUnsupported(where, f"{name}() has a computed default for {param.name.value!r}")
    try:
        bindings = _bind_arguments(function, call, lines)
    except Exception as exc:  # Unsupported: same message, same line
        raise StepFunctionUnsupported(getattr(exc, "line", where), getattr(exc, "message", str(exc))) from exc

    # the function's locals that the loop or the surrounding code also uses get the function's name
    params = set(bindings)
    local_names = usage_of(*body).stores - params if body else set()
    rest = [s for s in loop_body if s is not statement]
    outside = usage_of(*rest) if rest else None
    used_by_loop = (outside.loads | outside.stores) if outside else set()
    used_by_loop |= usage_of(statement).stores
    used_by_loop |= usage_of(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(loop.target)], cst.Name("batch"))])).stores
    scope_names = usage_of(*module.body).stores
    renames = {local: cst.Name(f"{name}_{local}") for local in sorted(local_names) if local in used_by_loop or local in scope_names}
    mapping: dict[str, cst.BaseExpression] = dict(bindings)
    mapping.update(renames)
    inlined = [s for s in substitute_names(body, mapping) if not _is_global(s)]
    if returned is not None:
        returned = substitute_names(returned, mapping)

    # the call's own statement: `target = f(...)`, `f(...)`, or any expression using the result
    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
    tail: list[cst.BaseStatement] = []
    if isinstance(small, cst.Expr) and small.value is call:
        if returned is not None and not isinstance(returned, (cst.Name, cst.Attribute)) and not _is_item(returned):
            tail = [cst.SimpleStatementLine([cst.Expr(returned)])]
    elif isinstance(small, cst.Assign) and small.value is call:
        if returned is None:
            returned = cst.Name("None")
        tail = [statement.with_changes(body=[small.with_changes(value=returned)], leading_lines=[])]
    else:
        if returned is None:
            returned = cst.Name("None")
        result = f"{name}_result"
        tail = [
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(result))], returned)]),
            statement.visit(_ReplaceCall(call, cst.Name(result))).with_changes(leading_lines=[]),
        ]
    expanded = inlined + tail
    if expanded:
        expanded[0] = expanded[0].with_changes(leading_lines=list(statement.leading_lines) + list(getattr(expanded[0], "leading_lines", [])))
    index = loop_body.index(statement)
    return InlinedStep(function=function, loop=loop, body=loop_body[:index] + expanded + loop_body[index + 1:])


def _is_global(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Global) for s in stmt.body)


def _is_item(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "item" and not node.args
