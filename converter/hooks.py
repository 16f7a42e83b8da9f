"""Filling the LightningModule's hooks from the phases of the layout.

The training batch loop becomes ``training_step``; what the epoch runs before it
``on_train_epoch_start``; an evaluation every epoch ``validation_step`` with its
``on_validation_epoch_start``/``_end``; the final test loop ``test_step`` with its epoch hooks.
Every list of statements passes the idioms' rewrites on its way in
(:meth:`~.idiom.Idiom.rewrite`, by ``rewrite_order``); at :data:`SELF_NAMES_ORDER` the models
become the module's attributes (``model`` → ``self.model``), with the names idioms put in
``Plan.module_attributes`` (``device`` → ``self.device``).
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from .facts import Phase
from .idiom import Idiom
from .names import all_names, fresh_name
from .script import Unsupported
from .plan import HOOK_ORDER, STEP_HOOKS, Hook, HookSource, Part, Plan
from .transforms import ReplaceCall, assign, expr, self_attribute, statement, substitute_names
from .tree import code_of

#: where, among the idioms' rewrites, the models become ``self.<name>`` (and the names of
#: ``Plan.module_attributes`` their attributes)
SELF_NAMES_ORDER = 45


class Rewriter:
    """Runs the rewrites of every idiom (and the core's) over statements bound for a hook."""

    def __init__(self, plan: Plan, idioms: Sequence[Idiom]) -> None:
        self.plan = plan
        ordered = sorted((i for i in idioms if i.implements("rewrite")), key=lambda i: (i.rewrite_order, i.name))
        self.before = [i for i in ordered if i.rewrite_order < SELF_NAMES_ORDER]
        self.after = [i for i in ordered if i.rewrite_order >= SELF_NAMES_ORDER]
        self.self_names = {name: expr(code) for name, code in plan.module_attributes.items()}
        self.self_names.update({m: self_attribute(m) for m in plan.facts.model_names})

    def __call__(self, part: Part, phase: Phase | None, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        source = HookSource(part, phase)
        dropped = self.plan.dropped_in_loop
        out = [s for s in statements if not any(s is d for d in dropped)]
        # the training body comes with the mode's own calls (``self.manual_backward``): check the loop's
        _refuse_own_self(self.plan, phase, self.plan.training_body if part is Part.TRAIN_STEP else out)
        for idiom in self.before:
            out = idiom.rewrite(out, source, self.plan)
        out = substitute_names(out, self.self_names)
        for idiom in self.after:
            out = idiom.rewrite(out, source, self.plan)
        return out


def _refuse_own_self(plan: Plan, phase: Phase | None, statements: list[cst.BaseStatement]) -> None:
    """The hooks' ``self`` is the LightningModule: code of the script that names a variable
    ``self`` cannot move into them unchanged."""
    used = all_names(cst.Module(body=list(statements))) if statements else set()
    if phase is not None:
        used |= all_names(cst.Module(body=[cst.SimpleStatementLine([cst.Expr(phase.loop.target)])]))
    if "self" in used:
        where = statements[0] if statements else phase.loop
        raise Unsupported(plan.facts.script.line(where), "the loop uses a variable named `self`, which in the LightningModule's hooks is the module itself; rename it")


def fill_hooks(plan: Plan, idioms: Sequence[Idiom], body: list[cst.BaseStatement]) -> None:
    """Fill ``plan.hooks`` from the layout; ``body`` is the training loop's statements as the
    optimization mode left them (``self.manual_backward`` in manual optimization)."""
    facts = plan.facts
    rewrite = Rewriter(plan, idioms)
    train, val, test, epoch = facts.train, facts.val, facts.test, facts.epoch
    hooks = plan.hooks = {name: Hook(name) for name in HOOK_ORDER}
    steps = {"training_step": (train, rewrite(Part.TRAIN_STEP, train, body))}
    hooks["on_train_epoch_start"].statements = (
        rewrite(Part.EPOCH_START, None, epoch.pre if epoch else []) + rewrite(Part.TRAIN_START, train, train.pre)
    )
    after_train = rewrite(Part.TRAIN_END, train, train.post) + _function_result(train)
    if train.result_in_expression:
        after_train.append(rewrite(Part.TRAIN_CALL, None, [_holder_reading_result(train)])[0])
    mid = after_train + rewrite(Part.EPOCH_MID, None, epoch.mid if epoch else [])
    post = rewrite(Part.EPOCH_END, None, epoch.post if epoch else [])
    if val is not None:
        hooks["on_validation_epoch_start"].statements = mid + rewrite(Part.VAL_START, val, val.pre)
        steps["validation_step"] = (val, rewrite(Part.VAL_STEP, val, val.body))
        hooks["on_validation_epoch_end"].statements = rewrite(Part.VAL_END, val, val.post) + _function_result(val) + post
    else:
        hooks["on_train_epoch_end"].statements = mid + post
    if test is not None:
        steps["test_step"] = (test, rewrite(Part.TEST_STEP, test, test.body))
        hooks["on_test_epoch_start"].statements = rewrite(Part.TEST_START, test, test.pre)
        hooks["on_test_epoch_end"].statements = rewrite(Part.TEST_END, test, test.post) + _function_result(test, expr("self.test_result"))
    for name in STEP_HOOKS:
        phase, statements = steps.get(name, (None, []))
        hook = hooks[name]
        hook.batch_param, hook.index_param = step_params(phase, statements)
        if phase is not None:
            hook.statements = unpack(phase, hook.batch_param, hook.index_param) + statements


def _function_result(phase: Phase, target: cst.BaseExpression | None = None) -> list[cst.BaseStatement]:
    """``result = <returned value>`` where the caller assigned a phase function's result."""
    target = target if target is not None else result_target(phase)
    if phase.result_target is None and not phase.result_in_expression:
        return []
    if phase.return_value is not None:
        return [assign(target, substitute_names(phase.return_value, phase.bindings))]
    if phase.result_in_expression:
        return [assign(target, cst.Name("None"))]  # the function returned nothing
    return []


def result_target(phase: Phase) -> cst.BaseExpression | None:
    """Where a phase function's result goes: the caller's target, or ``<function>_result`` when
    the call sits inside an expression (``print(epoch, train(...))``)."""
    if phase.result_in_expression and phase.function is not None:
        return cst.Name(f"{phase.function.name.value}_result")
    return phase.result_target


def _holder_reading_result(phase: Phase) -> cst.BaseStatement:
    """``print(epoch, train(...))`` -> ``print(epoch, train_result)``."""
    return phase.holder.visit(ReplaceCall(phase.call, result_target(phase))).with_changes(leading_lines=[])


def unpack(phase: Phase, batch: str = "batch", index: str = "batch_idx") -> list[cst.BaseStatement]:
    """``images, labels = batch`` (and ``step = batch_idx + start`` for ``enumerate(loader, start)``)."""
    target = phase.batch_target
    out = []
    if not isinstance(target, cst.Name):
        if isinstance(target, cst.Tuple) and target.lpar:
            target = target.with_changes(lpar=[], rpar=[])
        out.append(statement(f"{code_of(target)} = {batch}"))
    if phase.index_start is not None and phase.index_name:
        out.insert(0, statement(f"{phase.index_name} = {index} + {code_of(phase.index_start)}"))
    return out


def step_params(phase: Phase | None, statements: list[cst.BaseStatement]) -> tuple[str, str]:
    """A step hook's batch and batch-index parameters: the loop's own names where it has them,
    else ``batch`` / ``batch_idx`` renamed (``batch_2``) where the loop already uses that name
    (PyTorch's quickstart: ``for batch, (X, y) in enumerate(dataloader)``)."""
    taken = {"self"} | all_names(phase.loop) if phase is not None else {"self"}
    if statements:
        taken |= all_names(cst.Module(body=list(statements)))
    own_batch = phase is not None and isinstance(phase.batch_target, cst.Name)
    own_index = phase is not None and bool(phase.index_name) and phase.index_start is None
    batch = phase.batch_target.value if own_batch else None
    index = phase.index_name if own_index else None
    if index is not None and index == batch:
        index = None
    if batch is None:
        batch = fresh_name("batch", set(taken))
    if index is None:
        index = fresh_name("batch_idx", set(taken) | {batch})
    return batch, index
