"""Automatic or manual optimization.

Automatic when the batch body is the canonical ``zero_grad / backward / step`` shape (after the
idioms' lowerings, :meth:`~.idiom.Idiom.lower`, and with what they absorb between ``backward()``
and ``step()``, :meth:`~.idiom.Idiom.absorb`); manual optimization, with the reason, when it is
not: the loop keeps its own calls, ``loss.backward()`` becoming ``self.manual_backward(loss)``.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from ..api_knowledge import dotted_name
from .idiom import Idiom
from .names import usage_of
from .plan import Absorbed, Lowering, Mode, ModeChoice, Plan
from .tree import contains, is_call_statement, is_method_call
from .transforms import expr, statement


def choose_mode(plan: Plan, body: list[cst.BaseStatement], idioms: Sequence[Idiom]) -> tuple[ModeChoice, Lowering | None]:
    """Lower the loop when that makes it canonical (automatic), else keep it as written.

    Returns the choice and the lowering used (None: the loop as written).
    """
    lowering = Lowering(body=list(body))
    for idiom in idioms:
        idiom.lower(plan, lowering)
    if lowering.applied:
        choice = canonical_loop(plan, lowering.body, idioms)
        if choice.mode is Mode.AUTOMATIC:
            if lowering.loss_name is not None:
                choice = ModeChoice(
                    choice.mode, choice.reason, lowering.loss_name, choice.backward, choice.optimization_calls, choice.absorbed
                )
            return choice, lowering
        lowering.reasons.append(choice.reason)
    choice = canonical_loop(plan, body, idioms)
    if choice.mode is Mode.MANUAL and lowering.reasons:
        choice = ModeChoice(Mode.MANUAL, "; ".join(dict.fromkeys(lowering.reasons)))
    return choice, None


def _manual(reason: str) -> ModeChoice:
    return ModeChoice(Mode.MANUAL, reason)


def canonical_loop(plan: Plan, body: list[cst.BaseStatement], idioms: Sequence[Idiom]) -> ModeChoice:
    """Automatic optimization when the batch body is canonical; else manual, with the reason."""
    facts = plan.facts
    bindings = facts.train.bindings
    global_names = {o.name for o in facts.optimizers}
    optimizer_names = global_names | {param for param, value in bindings.items() if dotted_name(value) in global_names}
    model_names = set(facts.model_names) | {param for param, value in bindings.items() if dotted_name(value) in facts.model_names}
    if len(facts.optimizers) != 1:
        return _manual(f"{len(facts.optimizers)} optimizers")
    backward_positions = [i for i, s in enumerate(body) if contains(s, _is_backward_call)]
    if len(backward_positions) != 1:
        return _manual("backward() is called more than once per batch")
    b = backward_positions[0]
    stmt = body[b]
    if not (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and _is_backward_call(stmt.body[0].value)
        and isinstance(stmt.body[0].value.func.value, cst.Name)
        and not stmt.body[0].value.args
    ):
        return _manual("backward() is conditional or called on an expression")
    loss_name = stmt.body[0].value.func.value.value
    steps = [i for i, s in enumerate(body) if any(is_call_statement(s, name, "step") for name in optimizer_names)]
    all_steps = [s for s in body if contains(s, lambda n: is_method_call(n, "step") and dotted_name(n.func.value) in optimizer_names)]
    if len(steps) != 1 or len(all_steps) != 1 or steps[0] < b:
        return _manual("optimizer.step() is conditional or not after backward()")
    s = steps[0]
    zero = [i for i, st in enumerate(body) if any(is_call_statement(st, name, "zero_grad") for name in optimizer_names | model_names)]
    all_zero = [st for st in body if contains(st, lambda n: is_method_call(n, "zero_grad"))]
    if len(zero) != 1 or len(all_zero) != 1:
        return _manual("gradients are not zeroed exactly once per batch")
    if b < zero[0] < s:
        return _manual("zero_grad() runs between backward() and step()")
    between = [st for i, st in enumerate(body) if b < i < s and i not in zero]
    absorbed: list[Absorbed] = []
    for idiom in idioms:
        taken = idiom.absorb(plan, between, model_names)
        if isinstance(taken, str):
            return _manual(taken)
        if taken is not None:
            absorbed.append(taken)
    kept = [st for st in between if not any(st is a for taken in absorbed for a in taken.statements)]
    watched = optimizer_names | model_names | {f.name for f in facts.schedulers}
    if any(not _neutral_between(st, watched, loss_name) for st in kept):
        return _manual("the loop runs code between backward() and step()")
    after = [st for i, st in enumerate(body) if i > s and i not in zero]
    sched_names = {f.name for f in facts.schedulers}
    after_checked = [st for st in after if not any(is_call_statement(st, n, "step") for n in sched_names)]
    for st in after_checked:
        usage = usage_of(st)
        if model_names & usage.loads or contains(st, lambda n: isinstance(n, cst.Attribute) and n.attr.value in ("grad", "parameters", "named_parameters")):
            return _manual("the loop uses the model after optimizer.step()")
        if loss_name in usage.stores:
            return _manual(f"{loss_name!r} is reassigned after backward()")
        if contains(st, lambda n: isinstance(n, cst.Continue)):
            return _manual("`continue` after backward()")
        for opt in optimizer_names:
            if opt in usage.loads and not _only_param_group_reads(st, opt):
                return _manual("the loop uses the optimizer after step()")
    for i, st in enumerate(body):
        for name in sched_names:
            if is_call_statement(st, name, "step") and i < s:
                return _manual("scheduler.step() runs before optimizer.step()")
    absorbed_statements = [a for taken in absorbed for a in taken.statements]
    return ModeChoice(
        Mode.AUTOMATIC, None, loss_name, backward=body[b],
        optimization_calls=[body[b], body[s], body[zero[0]]] + [st for st in between if any(st is a for a in absorbed_statements)],
        absorbed=absorbed,
    )


def _is_backward_call(node: cst.CSTNode) -> bool:
    return is_method_call(node, "backward")


def _neutral_between(stmt: cst.BaseStatement, watched: set[str], loss_name: str) -> bool:
    """Code between backward() and step() that may run before backward() instead (as it does in
    ``training_step``): bookkeeping on values, such as ``total += loss.item()`` or a print. It
    must not touch the model, the optimizer, a scheduler, gradients or the loss variable."""
    usage = usage_of(stmt)
    if (usage.loads | usage.stores) & watched or loss_name in usage.stores:
        return False
    return not contains(stmt, lambda n: (
        isinstance(n, (cst.Continue, cst.Break, cst.Return, cst.Global, cst.Nonlocal))
        or (isinstance(n, cst.Attribute) and n.attr.value in ("grad", "parameters", "named_parameters", "backward", "step", "zero_grad", "data"))
        or (isinstance(n, cst.Name) and n.value in ("scaler", "model", "optimizer"))
    ))


def _only_param_group_reads(stmt: cst.BaseStatement, name: str) -> bool:
    ok = True

    class _Uses(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == name:
                nonlocal ok
                if node.attr.value != "param_groups":
                    ok = False
                return False
            return True

        def visit_Name(self, node):
            nonlocal ok
            if node.value == name:
                ok = False

    stmt.visit(_Uses())
    return ok


def manual_loss_names(body: list[cst.BaseStatement]) -> list[str] | None:
    """The losses of a manual loop, one per top-level ``<name>.backward()`` statement that runs
    every batch, when the names differ and none is rebound after its backward (so each still holds
    its loss at the end of the step): ``["loss"]``, or a GAN's ``["d_loss", "g_loss"]``. None when
    a backward runs conditionally or in a loop, or on an expression."""
    positions = [i for i, s in enumerate(body) if contains(s, _is_backward_call)]
    if not positions:
        return None
    names: list[str] = []
    for position in positions:
        stmt = body[position]
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
            return None
        call = stmt.body[0].value
        if not (_is_backward_call(call) and isinstance(call.func.value, cst.Name)):
            return None
        name = call.func.value.value
        if name in names or any(name in usage_of(s).stores for s in body[position + 1:]):
            return None
        names.append(name)
    return names


class ManualBackward(cst.CSTTransformer):
    """``loss.backward()`` -> ``self.manual_backward(loss)`` (manual optimization)."""

    def leave_Call(self, original, updated):
        func = updated.func
        if isinstance(func, cst.Attribute) and func.attr.value == "backward":
            args = [cst.Arg(value=func.value)] + [a for a in updated.args]
            return cst.Call(func=expr("self.manual_backward"), args=args)
        return updated


def log_training_loss(plan: Plan, body: list[cst.BaseStatement]) -> None:
    """``self.log("train_loss", loss)`` (and ``return loss`` in automatic optimization); under
    manual optimization with several losses, each under its own name."""
    step = plan.hook("training_step")
    loss_name = plan.optimization.loss_name
    if loss_name and plan.mode is Mode.AUTOMATIC:
        step += [statement(f'self.log("train_loss", {loss_name})'), statement(f"return {loss_name}")]
    elif loss_name:
        step.append(statement(f'self.log("train_loss", {loss_name})'))
    elif plan.mode is Mode.MANUAL and not plan.ends_epoch_early:
        logged = manual_loss_names(body)
        if logged and not contains(cst.Module(step), lambda n: isinstance(n, cst.Return)):
            if len(logged) == 1:
                step.append(statement(f'self.log("train_loss", {logged[0]})'))
            else:  # several optimizers, each its own loss (a GAN's d_loss and g_loss): logged by their names
                step.extend(statement(f'self.log("{name}", {name})') for name in logged)
