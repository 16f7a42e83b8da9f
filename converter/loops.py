"""Loops of a training script, read-only: the ``backward()`` calls, the epoch count of
``for epoch in range(...)``, what a batch loop iterates over (through ``enumerate`` and progress
bars), and evaluation loops (``with torch.no_grad(): for batch in loader``)."""

from __future__ import annotations

import dataclasses

import libcst as cst

from ..api_knowledge import BACKWARD_FUNCTIONS, PROGRESS_BARS, dotted_name
from .contexts import autocast_items, is_no_grad_with
from .facts import Phase
from .functions import bind_arguments, check_no_inner_return
from .names import call_name
from .script import Script, Unsupported
from .tree import assigned_call, body_of, code_of, expr_call, final_return, module_function


def find_backward_calls(module: cst.Module) -> list[cst.Call]:
    """Every ``x.backward()`` and ``torch.autograd.backward(...)`` call, in source order."""
    calls: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "backward":
                calls.append(node)
            elif dotted_name(func) in BACKWARD_FUNCTIONS:
                calls.append(node)

    module.visit(_Finder())
    return calls


def epoch_range(script: Script, loop: cst.For) -> tuple[str, cst.BaseExpression | None, str]:
    """(var, start expr or None, max_epochs code) for ``for epoch in range(...)``."""
    line = script.line
    if not isinstance(loop.target, cst.Name):
        raise Unsupported(line(loop), "the epoch loop variable is not a plain name")
    iterable = loop.iter
    range_args = None  # the arguments of range(...), or of tqdm's trange(...) (its first two are range's)
    if isinstance(iterable, cst.Call) and script.qualify(call_name(iterable)) in PROGRESS_BARS:
        if script.qualify(call_name(iterable)).endswith("trange"):
            range_args = iterable.args[:2] if iterable.args and iterable.args[0].keyword is None else iterable.args
        elif iterable.args:
            iterable = iterable.args[0].value
    if range_args is None and isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "range":
        range_args = iterable.args
    if range_args is None:
        raise Unsupported(line(loop), "the epoch loop does not iterate over range(...): cannot tell the number of epochs")
    args = [a for a in range_args if a.keyword is None]
    if len(args) == 1:
        return loop.target.value, None, code_of(args[0].value)
    if len(args) == 2:
        start, stop = args[0].value, args[1].value
        start_code, stop_code = code_of(start), code_of(stop)
        if isinstance(start, cst.Integer) and start.value == "0":
            return loop.target.value, None, stop_code
        if (
            isinstance(stop, cst.BinaryOperation)
            and isinstance(stop.operator, cst.Add)
            and isinstance(stop.right, cst.Integer)
            and code_of(stop.right) == start_code
        ):
            return loop.target.value, start, code_of(stop.left)
        if isinstance(stop, cst.BinaryOperation) and isinstance(stop.operator, cst.Add) and code_of(stop.left) == start_code:
            return loop.target.value, start, _bare(stop.right)  # range(s, s + n): n epochs, exactly
        if isinstance(start, cst.Integer) and isinstance(stop, cst.Integer):
            return loop.target.value, start, str(int(stop.value, 0) - int(start.value, 0))
        return loop.target.value, start, f"{_operand(stop)} - {_operand(start)}"
    raise Unsupported(line(loop), "the epoch loop uses range() with a step")


def _bare(node: cst.BaseExpression) -> str:
    """The code of an expression without the parentheses around it."""
    return code_of(node.with_changes(lpar=[], rpar=[])) if getattr(node, "lpar", None) else code_of(node)


def _operand(node: cst.BaseExpression) -> str:
    """The code of an operand of ``-``: in parentheses unless it is one atom."""
    if isinstance(node, (cst.Name, cst.Attribute, cst.Integer, cst.Call, cst.Subscript)):
        return code_of(node)
    return f"({_bare(node)})"


def loop_loader(script: Script, loop: cst.For):
    """(loader, batch target, index name, index start) of
    ``for ... in [enumerate(][tqdm(]loader...)`` (all None: not such a loop)."""
    iterable = loop.iter
    target = loop.target
    index_name = None
    index_start = None
    for _ in range(3):
        name = script.qualify(call_name(iterable)) if isinstance(iterable, cst.Call) else None
        if name == "enumerate" and isinstance(iterable, cst.Call) and iterable.args:
            if isinstance(target, cst.Tuple) and len(target.elements) == 2 and isinstance(target.elements[0].value, cst.Name):
                index_name = target.elements[0].value.value
                target = target.elements[1].value
                extra = list(iterable.args[1:])
                if len(extra) > 1 or (extra and extra[0].keyword is not None and extra[0].keyword.value != "start"):
                    return None, None, None, None
                if extra and not (isinstance(extra[0].value, cst.Integer) and extra[0].value.value == "0"):
                    index_start = extra[0].value
                iterable = iterable.args[0].value
                continue
            return None, None, None, None
        if name in PROGRESS_BARS and isinstance(iterable, cst.Call) and iterable.args and iterable.args[0].keyword is None:
            iterable = iterable.args[0].value
            continue
        break
    return iterable, target, index_name, index_start


def new_phase(script: Script, loop: cst.For, **fields) -> Phase:
    """A phase for ``loop``, with what it iterates over (refused when that cannot be told)."""
    loader, target, index_name, index_start = loop_loader(script, loop)
    if loader is None:
        raise Unsupported(script.line(loop), "cannot tell which data loader the loop iterates over")
    if loop.orelse is not None:
        raise Unsupported(script.line(loop), "the batch loop has an `else:` clause")
    fields.setdefault("body", list(loop.body.body))
    return Phase(loop=loop, loader=loader, batch_target=target, index_name=index_name, index_start=index_start, **fields)


def with_progress_bar(script: Script, phase: Phase, before: list[cst.BaseStatement]) -> Phase:
    """``pbar = tqdm(loader, ...)`` then ``for batch in pbar``: the loader is ``loader``."""
    if not isinstance(phase.loader, cst.Name):
        return phase
    name = phase.loader.value
    for stmt in reversed(before):
        assigned = assigned_call(stmt)
        if assigned is None:
            continue
        targets, call = assigned
        if len(targets) == 1 and isinstance(targets[0], cst.Name) and targets[0].value == name:
            if script.qualify(call_name(call)) in PROGRESS_BARS and call.args and call.args[0].keyword is None:
                return dataclasses.replace(phase, loader=call.args[0].value, progress_bar=name, progress_bar_assign=stmt)
            return phase
    return phase


def _eval_loop_in(script: Script, statements: list[cst.BaseStatement]):
    """Find ``[pre] with no_grad(): [pre] for ...: ... [post]``.

    Returns (pre, loop, post, holder) where holder is the statement in ``statements``.
    """
    for index, stmt in enumerate(statements):
        if is_no_grad_with(stmt, script):
            inner = body_of(stmt)
            loops = [s for s in inner if isinstance(s, cst.For)]
            if len(loops) == 1 and not find_backward_calls(cst.Module(body=[stmt])):
                position = inner.index(loops[0])
                return (
                    statements[:index] + inner[:position],
                    loops[0],
                    inner[position + 1:] + statements[index + 1:],
                    stmt,
                )
    return None


def evaluation_phase(script: Script, stmt: cst.BaseStatement) -> Phase | None:
    """Is ``stmt`` an evaluation: a no_grad loop, or a call of a function that runs one?

    The phase's loader and batch are filled in by :func:`new_phase` later (``loader`` is the
    loop's iterable until then).
    """
    found = _eval_loop_in(script, [stmt])
    if found is not None:
        pre, loop, post, holder = found
        return _unchecked_phase(loop, pre=pre, post=post, holder=holder, contexts=autocast_items(holder, script))
    call = expr_call(stmt)
    target = None
    if call is None:
        assigned = assigned_call(stmt)
        if assigned is None or len(assigned[0]) != 1:
            return None
        (target,), call = assigned
    if not isinstance(call.func, cst.Name):
        return None
    function = module_function(script.module, call.func.value)
    if function is None:
        return None
    found = _eval_loop_in(script, body_of(function))
    if found is None:
        return None
    pre, loop, post, inner_holder = found
    bindings = bind_arguments(script, function, call)
    post, return_value = final_return(post)
    check_no_inner_return(script, function, loop)
    return _unchecked_phase(
        loop, pre=pre, post=post, holder=stmt, function=function, call=call, bindings=bindings,
        result_target=target, return_value=return_value, contexts=autocast_items(inner_holder, script),
    )


def _unchecked_phase(loop: cst.For, **fields) -> Phase:
    """A phase whose iterable is not looked at yet (see :func:`describe_phase`)."""
    return Phase(loop=loop, body=list(loop.body.body), loader=loop.iter, batch_target=loop.target, **fields)


def describe_phase(script: Script, phase: Phase) -> Phase:
    """``phase`` with what its loop iterates over (refused when that cannot be told)."""
    fields = {f.name: getattr(phase, f.name) for f in dataclasses.fields(phase)}
    for name in ("loop", "loader", "batch_target", "index_name", "index_start"):
        fields.pop(name)
    return new_phase(script, phase.loop, **fields)
