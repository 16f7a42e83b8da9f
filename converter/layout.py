"""Analysis: where the training sits in a script (read-only; refusals say why not).

Finds the batch loop (the loop that calls ``loss.backward()``), the epoch loop around it (inline,
or calling a ``train(...)`` function), the evaluation loop run every epoch and the final test
loop. Idioms extend it at two points: a batch loop whose ``backward()`` sits in a per-batch step
function (:meth:`~.idioms.Idiom.find_batch_loop`), and other shapes of the epoch around the batch
loop, such as a phase loop (:meth:`~.idioms.Idiom.find_layout`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import libcst as cst

from .facts import EpochLoop, Layout, Phase, StepFunction
from .functions import bind_arguments, check_no_inner_return, loop_calling, single_call_site
from .loops import describe_phase, epoch_range, evaluation_phase, find_backward_calls, with_progress_bar
from .script import Script, Unsupported
from .tree import assigned_call, body_of, child_of, code_of, expr_call, final_return, innermost_loop, is_docstring

if TYPE_CHECKING:
    from .idioms import Idiom


@dataclass(frozen=True, eq=False)
class Shape:
    """How an idiom sees the batch loop in its epoch (:meth:`~.idioms.Idiom.find_layout`)."""

    train: Phase  #: its ``holder`` is the statement of the epoch loop's body that runs it
    val: Phase | None = None  #: an evaluation the same statement runs, after training
    mid: list[cst.BaseStatement] = field(default_factory=list)  #: run by it between the two


def _method_of(parents, node: cst.CSTNode) -> str:
    """``Trainer._run_batch`` (the class and method a node is in)."""
    names = [a.name.value for a in parents.ancestors(node) if isinstance(a, (cst.FunctionDef, cst.ClassDef))]
    return ".".join(reversed(names)) + "()" if names else "a class body"


def find_layout(script: Script, idioms: Sequence["Idiom"]) -> Layout:
    """The layout of a script that has at least one ``.backward()`` call."""
    parents, line = script.parents, script.line
    all_backward = find_backward_calls(script.module)
    if not all_backward:  # an unrolling left none: they were in code the script never runs
        raise Unsupported(0, "no backward() call is left in code the script runs; there is no training loop to convert")
    backward_calls = [c for c in all_backward if not parents.in_class(c)]
    if not backward_calls:
        raise Unsupported(
            line(all_backward[0]),
            f"backward() is only called inside a class ({_method_of(parents, all_backward[0])}, a trainer class of the "
            "script's own); converting a training loop written as methods is not supported yet",
        )
    loop, step = _batch_loop(script, backward_calls, idioms)
    function = parents.enclosing_function(loop)
    scope: cst.Module | cst.FunctionDef
    shape = next((s for s in (idiom.find_layout(script, loop) for idiom in idioms) if s is not None), None)
    outer = _innermost_loop(script, loop) if shape is None else _innermost_loop(script, shape.train.holder)
    if shape is not None:
        epoch_loop = outer
        scope = function if function is not None else script.module
        train = shape.train
    elif outer is not None:
        # inline: for epoch in ...: for batch in loader: ...
        if isinstance(outer, cst.While):
            raise Unsupported(line(outer), "the epoch loop is a `while` loop; only `for epoch in range(...)` is supported")
        epoch_loop = outer
        scope = function if function is not None else script.module
        if child_of(parents, loop, epoch_loop) is not loop:
            raise Unsupported(line(loop), "the batch loop is nested inside another block of the epoch loop; only a loop directly in the epoch loop is supported")
        train = _unchecked(loop, holder=loop)
    elif function is not None and single_call_site(script, function) is not None:
        # function style: def train(...): for batch in loader: ...  called from an epoch loop
        call_stmt, call = single_call_site(script, function)
        train = _function_phase(script, function, loop, call_stmt, call)
        outer = _innermost_loop(script, call_stmt)
        if outer is not None and isinstance(outer, cst.For) and child_of(parents, call_stmt, outer) is call_stmt:
            epoch_loop = outer
        elif outer is None:
            epoch_loop = None
        else:
            raise Unsupported(line(call_stmt), f"{function.name.value}() is called from a loop that is not a `for epoch in range(...)` loop")
        scope = parents.enclosing_function(call_stmt) or script.module
    else:
        epoch_loop = None
        scope = function if function is not None else script.module
        train = _unchecked(loop, holder=loop)

    if isinstance(scope, cst.FunctionDef) and parents.in_class(scope):
        raise Unsupported(line(scope), "the training loop is a method of a class; converting a trainer class is not supported yet")

    epoch: EpochLoop | None = None
    val: Phase | None = None
    if epoch_loop is not None:
        epoch, val = _epoch(script, epoch_loop, train.holder, shape)
        if parents.enclosing_function(epoch_loop) is not (scope if isinstance(scope, cst.FunctionDef) else None):
            raise Unsupported(line(epoch_loop), "the epoch loop is in a different function than expected")
        region = epoch_loop
    else:
        region = train.holder
        if train.holder is train.loop and train.loop.orelse is not None:
            raise Unsupported(line(train.loop), "the batch loop has an `else:` clause")

    if step is not None:
        train = dataclasses.replace(train, step_function=step)
    train = with_progress_bar(script, describe_phase(script, train), (epoch.pre if epoch else []) + train.pre)
    if val is not None:
        val = with_progress_bar(script, describe_phase(script, val), (epoch.mid if epoch else []) + val.pre)

    test = _test_phase(script, region)
    _refuse_star_imports(script, region, "the training loop")
    if test is not None:
        _refuse_star_imports(script, test.holder, "the test loop")
    return Layout(
        script=script, scope=scope, region=region, train=train, epoch=epoch, val=val,
        test=test, backward_calls=backward_calls,
    )


def _refuse_star_imports(script: Script, moved: cst.BaseStatement, what: str) -> None:
    """``from x import *`` in a statement whose code moves into the LightningModule's hooks: a
    module-level loop may hold one, a function may not (Python rejects it at compile time)."""
    found: list[cst.ImportFrom] = []

    class _Stars(cst.CSTVisitor):
        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if isinstance(node.names, cst.ImportStar):
                found.append(node)

    moved.visit(_Stars())
    if found:
        raise Unsupported(
            script.line(found[0]),
            f"`{code_of(found[0])}` inside {what} cannot move into a LightningModule hook (Python allows star imports only at "
            "module level); import the names it needs by name, or move it to the top of the script",
        )


def _batch_loop(script: Script, backward_calls: list[cst.Call], idioms: Sequence["Idiom"]) -> tuple[cst.For, StepFunction | None]:
    """The one loop around every ``backward()`` call (with the step function it calls, if any)."""
    parents, line = script.parents, script.line
    batch_loops = []
    step = None
    for call in backward_calls:
        loop = _innermost_loop(script, call)
        if loop is None:
            function = parents.enclosing_function(call)
            if function is not None:
                found = next((s for s in (idiom.find_batch_loop(script, function) for idiom in idioms) if s is not None), None)
                if found is not None:
                    step = found
                    batch_loops.append(found.loop)
                    continue
            caller_loop = loop_calling(script, function) if function is not None else None
            if caller_loop is not None:
                name = function.name.value
                raise Unsupported(
                    line(call),
                    f"backward() is in {name}(), which the loop at line {line(caller_loop)} calls; a step function is inlined "
                    f"only when it is called exactly once, from the batch loop: move the body of {name}() into that loop and convert again",
                )
            raise Unsupported(line(call), "backward() is not inside a loop over batches")
        if isinstance(loop, cst.While):
            raise Unsupported(line(loop), "the training loop is a `while` loop; only `for batch in loader` loops are supported")
        batch_loops.append(loop)
    loop = batch_loops[0]
    for other in batch_loops[1:]:
        if other is not loop:
            raise Unsupported(
                line(other),
                f"backward() is called in two different loops (lines {line(loop)} and {line(other)}); "
                "several training phases are not supported",
            )
    return loop, step


def _innermost_loop(script: Script, node: cst.CSTNode):
    return innermost_loop(script.parents, node)


def _epoch(script: Script, epoch_loop: cst.CSTNode, holder: cst.BaseStatement, shape: Shape | None) -> tuple[EpochLoop, Phase | None]:
    """The epoch loop's count and its statements around the training phase's ``holder``."""
    line = script.line
    if isinstance(epoch_loop, cst.While):
        raise Unsupported(line(epoch_loop), "the epoch loop is a `while` loop; only `for epoch in range(...)` is supported")
    var, start, max_epochs = epoch_range(script, epoch_loop)
    if epoch_loop.orelse is not None:
        raise Unsupported(line(epoch_loop), "the epoch loop has an `else:` clause")
    reassigned = rebinding_line(script, epoch_loop, var)
    if reassigned is not None:
        raise Unsupported(
            reassigned, f"the epoch loop variable `{var}` is assigned inside the loop; Lightning's epoch counter cannot stand for it"
        )
    statements = body_of(epoch_loop)
    if holder not in statements:
        raise Unsupported(line(holder), "the training loop is nested inside another block of the epoch loop; only a loop directly in the epoch loop is supported")
    index = statements.index(holder)
    pre, rest = statements[:index], statements[index + 1:]
    mid = list(shape.mid) if shape is not None else []
    val = shape.val if shape is not None else None
    post = rest
    if val is None:
        for position, stmt in enumerate(rest):
            found = evaluation_phase(script, stmt)
            if found is not None:
                val = found
                mid, post = mid + rest[:position], rest[position + 1:]
                break
        else:
            mid, post = mid + rest, []
    return EpochLoop(loop=epoch_loop, var=var, start=start, max_epochs=max_epochs, pre=pre, mid=mid, post=post), val


def _test_phase(script: Script, region: cst.BaseStatement) -> Phase | None:
    """The final test: the first evaluation loop after the region in the same block."""
    owner = script.parents.block_owner(region)
    siblings = body_of(owner) if owner is not None else []
    if region in siblings:
        for stmt in siblings[siblings.index(region) + 1:]:
            found = evaluation_phase(script, stmt)
            if found is not None:
                return describe_phase(script, found)
    return None


def _unchecked(loop: cst.For, **fields) -> Phase:
    fields.setdefault("pre", [])
    fields.setdefault("post", [])
    return Phase(loop=loop, body=list(loop.body.body), loader=loop.iter, batch_target=loop.target, **fields)


def _function_phase(script: Script, function: cst.FunctionDef, loop: cst.For, call_stmt: cst.BaseStatement, call: cst.Call) -> Phase:
    """``def train(...): [pre] for batch in loader: ... [post] [return value]``, called once."""
    statements = body_of(function)
    if child_of(script.parents, loop, function) is not loop:
        raise Unsupported(script.line(loop), f"the batch loop of {function.name.value}() is nested inside another block")
    index = statements.index(loop)
    pre = statements[:index]
    post, return_value = final_return(statements[index + 1:])
    check_no_inner_return(script, function, loop)
    target = None
    in_expression = False
    assigned = assigned_call(call_stmt)
    if expr_call(call_stmt) is not call and (assigned is None or assigned[1] is not call):
        in_expression = True  # `print(epoch, train(...))`: the statement reads the result
        assigned = None
    if assigned is not None:
        if len(assigned[0]) != 1:
            raise Unsupported(script.line(call_stmt), "chained assignment of the training function's result")
        target = assigned[0][0]
    if pre and is_docstring(pre[0]):
        pre = pre[1:]  # a leading docstring is not code to run
    return _unchecked(
        loop, pre=pre, post=post, holder=call_stmt, function=function, call=call,
        bindings=bind_arguments(script, function, call), result_target=target, result_in_expression=in_expression,
        return_value=return_value,
    )


def rebinding_line(script: Script, loop: cst.For, name: str) -> int | None:
    """The line where ``loop``'s body binds ``name`` again (assignment, augmented assignment, a
    nested loop's or ``with``'s target, ``:=``, ``del``), None when it does not. Nested functions,
    classes and comprehensions have their own scope and are not looked into."""
    found: list[cst.Name] = []

    class _Names(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return False

        def visit_ClassDef(self, node) -> bool:
            return False

        def visit_Lambda(self, node) -> bool:
            return False

        def visit_CompFor(self, node) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.append(node)

    for stmt in body_of(loop):
        stmt.visit(_Names())
    for node in found:
        previous: cst.CSTNode = node
        for ancestor in script.parents.ancestors(node):
            if isinstance(ancestor, (cst.Attribute, cst.Subscript, cst.Call, cst.BaseStatement)) and not isinstance(
                ancestor, (cst.For, cst.With)
            ):
                break
            if isinstance(ancestor, (cst.AssignTarget, cst.Del)) or (
                isinstance(ancestor, (cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr)) and previous is ancestor.target
            ) or (isinstance(ancestor, cst.AsName) and previous is ancestor.name):
                return script.line(node)
            if isinstance(ancestor, (cst.For, cst.With)):
                break
            previous = ancestor
    return None
