"""``if (i + 1) % k == 0 or i + 1 == len(loader): step; zero_grad`` → ``Trainer(accumulate_grad_batches=k)``."""

from __future__ import annotations

import dataclasses

import libcst as cst

from ...api_knowledge import GRADIENT_CLIPPING_PREFIX, dotted_name
from ..facts import Facts, SchedulerFact
from ..idiom import Example, Idiom
from ..loops import loop_loader
from ..names import all_names, fresh_name, usage_of
from ..plan import Lowering, Plan, TrainerArgument
from ..result import Change
from ..transforms import block_statements, statement_like, substitute_names
from ..tree import code_of, expr_call


class GradientAccumulation(Idiom):
    """Gradient accumulation: the loss divided by ``k`` and the optimizer stepped every ``k``
    batches, ``if (i + 1) % k == 0 or i + 1 == len(loader): optimizer.step(); optimizer.zero_grad()``.

    ## Becomes

    ``Trainer(accumulate_grad_batches=k)``: the ``if`` is unwrapped and the loss given to
    Lightning undivided (``loss = loss / k`` keeps its line; the step returns the loss before
    it). Clipping and a scheduler stepped in the same ``if`` move with it (``interval="step"``).

    ## Refuses

    Never: a loop that does not match exactly keeps its own calls under manual optimization,
    with the reason — notably an accumulation that does not step on the last, incomplete group
    of an epoch (``or i + 1 == len(loader)``), one whose ``if`` runs anything else, and one that
    does not divide the loss by ``k``.

    ## Why

    Lightning divides the loss by ``k`` itself and steps on the last group of an epoch even when
    it has fewer than ``k`` batches; only a loop that does both trains the same under the
    Trainer argument. The others keep their exact semantics under manual optimization.
    """

    name = "gradient-accumulation"
    title = "if (i + 1) % k == 0 or i + 1 == len(loader): step → Trainer(accumulate_grad_batches=k)"
    fixtures = ("accumulation_last_batch", "grad_accumulation")
    examples = (
        Example(
            """
            ACCUMULATE = 2
            for i, (inputs, targets) in enumerate(loader):
                loss = F.cross_entropy(model(inputs), targets) / ACCUMULATE
                loss.backward()
                if (i + 1) % ACCUMULATE == 0 or i + 1 == len(loader):
                    optimizer.step()
                    optimizer.zero_grad()
            """,
            after=("accumulate_grad_batches=ACCUMULATE",),
            absent=("% ACCUMULATE",),
        ),
    )
    order = 31

    def lower(self, plan: Plan, lowering: Lowering) -> None:
        _lower_accumulation(plan.facts, lowering)


def _method_call(stmt: cst.BaseStatement, receivers: set[str], method: str) -> cst.Call | None:
    call = expr_call(stmt)
    if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == method and dotted_name(call.func.value) in receivers:
        return call
    return None


def _is_zero(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "0"


def _index_plus_one(node: cst.BaseExpression, index: str) -> bool:
    """``i + 1`` (or ``(i + 1)``)."""
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Add)
        and isinstance(node.left, cst.Name)
        and node.left.value == index
        and isinstance(node.right, cst.Integer)
        and node.right.value == "1"
    )


def _every_k(test: cst.BaseExpression, index: str) -> cst.BaseExpression | None:
    """``(i + 1) % k == 0`` → k."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.Equal) and _is_zero(test.comparisons[0].comparator):
        left = test.left
        if isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Modulo) and _index_plus_one(left.left, index):
            return left.right
    return None


def _last_batch(test: cst.BaseExpression, index: str, loader: str) -> bool:
    """``i + 1 == len(loader)`` or ``i == len(loader) - 1``."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.Equal)):
        return False
    left, right = test.left, test.comparisons[0].comparator

    def is_len(node) -> bool:
        return isinstance(node, cst.Call) and dotted_name(node.func) == "len" and len(node.args) == 1 and code_of(node.args[0].value) == loader

    for a, b in ((left, right), (right, left)):
        if _index_plus_one(a, index) and is_len(b):
            return True
        if isinstance(a, cst.Name) and a.value == index and isinstance(b, cst.BinaryOperation) and isinstance(b.operator, cst.Subtract) and is_len(b.left) and code_of(b.right) == "1":
            return True
    return False


def _lower_accumulation(facts: Facts, lowered: Lowering) -> None:
    body = lowered.body
    train = facts.train
    optimizers = {o.name for o in facts.optimizers} | {p for p, v in train.bindings.items() if dotted_name(v) in {o.name for o in facts.optimizers}}
    guarded = [
        (i, s) for i, s in enumerate(body)
        if isinstance(s, cst.If) and any(_method_call(inner, optimizers, "step") for inner in getattr(s.body, "body", ()))
    ]
    if len(guarded) != 1 or len(facts.optimizers) != 1:
        return
    position, guard = guarded[0]
    index = train.index_name
    if guard.orelse is not None or index is None or train.index_start is not None:
        lowered.reasons.append("optimizer.step() is conditional and not the `(i + 1) % k == 0` accumulation pattern")
        return
    test = guard.test
    parts = [test.left, test.right] if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or) else [test]
    k = next((_every_k(p, index) for p in parts if _every_k(p, index) is not None), None)
    if k is None:
        lowered.reasons.append("optimizer.step() is conditional and not the `(i + 1) % k == 0` accumulation pattern")
        return
    k_code = code_of(k)
    raw_loader = loop_loader(facts.script, train.loop)[0]
    loader_code = code_of(raw_loader) if raw_loader is not None else ""
    if len(parts) != 2 or not any(_last_batch(p, index, loader_code) for p in parts):
        lowered.reasons.append(
            f"gradient accumulation does not step on the last, incomplete group of {k_code} batches of an epoch "
            f"(Trainer(accumulate_grad_batches={k_code}) would); add `or {index} + 1 == len({loader_code})` to convert it"
        )
        return
    # the if may hold only what Lightning does at an optimizer step
    schedulers = {f.name: f for f in facts.schedulers}
    moved_schedulers: dict[str, SchedulerFact] = {}
    for inner in guard.body.body:
        call = expr_call(inner)
        name = facts.script.qualified_call(call) if call is not None else None
        if _method_call(inner, optimizers | set(facts.model_names), "step") or _method_call(inner, optimizers | set(facts.model_names), "zero_grad"):
            continue
        if name and name.startswith(GRADIENT_CLIPPING_PREFIX):
            continue
        sched = next((n for n in schedulers if _method_call(inner, {n}, "step")), None)
        if sched is not None and not call.args:
            moved_schedulers[sched] = dataclasses.replace(schedulers[sched], step_stmt=inner, step_where="batch")
            continue
        lowered.reasons.append(f"the accumulation `if` also runs `{code_of(inner).strip()}` once every {k_code} batches")
        return
    # the loss must be divided by k, as Lightning does
    backward_at = [i for i, s in enumerate(body) if _is_backward_statement(s)]
    if len(backward_at) != 1 or backward_at[0] > position:
        lowered.reasons.append("backward() is not called once, before the accumulation `if`")
        return
    b = backward_at[0]
    backward = expr_call(body[b])
    receiver = backward.func.value
    new_body = list(body)
    undivided = None
    if isinstance(receiver, cst.BinaryOperation) and isinstance(receiver.operator, cst.Divide) and code_of(receiver.right) == k_code and isinstance(receiver.left, cst.Name):
        # (loss / k).backward()
        undivided = receiver.left.value
        new_body[b] = statement_like(f"{undivided}.backward()", body[b])
    elif isinstance(receiver, cst.Name):
        loss = receiver.value
        for j in range(b - 1, -1, -1):
            stmt = body[j]
            if loss not in usage_of(stmt).stores:
                continue
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and code_of(small.targets[0].target) == loss and isinstance(small.value, cst.BinaryOperation) and isinstance(small.value.operator, cst.Divide) and code_of(small.value.right) == k_code:
                undivided = fresh_name(f"{loss}_for_step", all_names(facts.script.module))
                if code_of(small.value.left) == loss:  # loss = loss / k: keep the line, remember the loss first
                    new_body[j:j + 1] = [statement_like(f"{undivided} = {loss}", stmt), stmt.with_changes(leading_lines=[])]
                else:
                    new_body[j:j + 1] = [
                        statement_like(f"{undivided} = {code_of(small.value.left)}", stmt),
                        statement_like(f"{loss} = {undivided} / {k_code}"),
                    ]
                b += 1
                new_body[b] = statement_like(f"{undivided}.backward()", body[backward_at[0]])
            break
    if undivided is None:
        lowered.reasons.append(
            f"the loop does not divide the loss by {k_code} before backward(); Trainer(accumulate_grad_batches={k_code}) "
            f"would, scaling every gradient by 1/{k_code}"
        )
        return
    guard_at = new_body.index(guard)
    new_body[guard_at:guard_at + 1] = block_statements(guard)
    lowered.body = new_body
    lowered.loss_name = undivided
    trainer_k = code_of(substitute_names(k, train.bindings)) if train.bindings else k_code  # in the caller's terms
    lowered.trainer_args.append(TrainerArgument("accumulate_grad_batches", trainer_k))
    if moved_schedulers:
        lowered.schedulers = [moved_schedulers.get(f.name, f) for f in facts.schedulers]
    span = facts.script.span(guard)
    lowered.changes.append(Change(span[0], span[1], f"gradient accumulation → Trainer(accumulate_grad_batches={k_code}) (Lightning divides the loss by {k_code})"))


def _is_backward_statement(stmt: cst.BaseStatement) -> bool:
    call = expr_call(stmt)
    return call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "backward"


