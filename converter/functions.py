"""The script's own functions that hold a loop: where they are called and what their parameters
are bound to there (read-only; refusals say why a function cannot be inlined)."""

from __future__ import annotations

import libcst as cst

from .names import usage_of
from .script import Script, Unsupported
from .tree import assigned_call, calls_named, expr_call, innermost_loop


def single_call_site(script: Script, function: cst.FunctionDef) -> tuple[cst.BaseStatement, cst.Call] | None:
    """The single statement that calls ``function`` (``f(...)``, ``x = f(...)``, or a one-line
    statement using the result, ``print(epoch, f(...))``), if there is exactly one call."""
    sites = calls_named(script.module, function.name.value)
    if len(sites) != 1:
        return None
    call = sites[0]
    stmt = script.parents.statement_of(call)
    if stmt is None:
        return None
    if expr_call(stmt) is call or (assigned_call(stmt) or (None, None))[1] is call:
        return stmt, call
    # nested in a one-line statement (`print(epoch, train(...))`): fine unless it may not run
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], (cst.Expr, cst.Assign, cst.AugAssign))):
        return None
    for ancestor in script.parents.ancestors(call):
        if ancestor is stmt:
            break
        if isinstance(ancestor, (cst.IfExp, cst.BooleanOperation, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return None
    return stmt, call


def loop_calling(script: Script, function: cst.FunctionDef) -> cst.For | cst.While | None:
    """The loop around a call of ``function`` (by name or as ``self.<name>``), if any."""
    loops = [innermost_loop(script.parents, call) for call in calls_named(script.module, function.name.value, methods=True)]
    return next((loop for loop in loops if loop is not None), None)


def bind_arguments(script: Script, function: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression]:
    """Each parameter of ``function`` -> the expression ``call`` passes (or its default)."""
    line = script.line
    params = function.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT and isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
        raise Unsupported(line(function), f"{function.name.value}() takes *args/**kwargs")
    positional = list(params.posonly_params) + list(params.params)
    bindings: dict[str, cst.BaseExpression] = {}
    args = list(call.args)
    for arg in args:
        if arg.star:
            raise Unsupported(line(call), f"{function.name.value}() is called with *args/**kwargs")
    pos_args = [a for a in args if a.keyword is None]
    if len(pos_args) > len(positional):
        raise Unsupported(line(call), f"{function.name.value}() is called with more arguments than it takes")
    for param, arg in zip(positional, pos_args):
        bindings[param.name.value] = arg.value
    for arg in args:
        if arg.keyword is not None:
            bindings[arg.keyword.value] = arg.value
    for param in positional + list(params.kwonly_params):
        if param.name.value not in bindings:
            if param.default is None:
                raise Unsupported(line(call), f"{function.name.value}() is called without its argument {param.name.value!r}")
            bindings[param.name.value] = param.default
    # parameters rebound inside the function cannot be substituted
    stores = usage_of(function.body).stores
    rebound = sorted(set(bindings) & stores)
    if rebound:
        raise Unsupported(line(function), f"{function.name.value}() reassigns its parameter(s) {', '.join(rebound)}")
    return bindings


def check_no_inner_return(script: Script, function: cst.FunctionDef, loop: cst.For) -> None:
    """Refuse a ``return`` inside the loop of ``function`` (it would end the epoch early)."""

    class _Returns(cst.CSTVisitor):
        found: cst.Return | None = None

        def visit_FunctionDef(self, node):
            return node is function

        def visit_Return(self, node):
            self.found = self.found or node

    finder = _Returns()
    loop.visit(finder)
    if finder.found is not None:
        raise Unsupported(script.line(finder.found), f"`return` inside the loop of {function.name.value}()")
