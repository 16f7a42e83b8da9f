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
from .plan import HOOK_ORDER, Hook, HookSource, Part, Plan
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
        for idiom in self.before:
            out = idiom.rewrite(out, source, self.plan)
        out = substitute_names(out, self.self_names)
        for idiom in self.after:
            out = idiom.rewrite(out, source, self.plan)
        return out


def fill_hooks(plan: Plan, idioms: Sequence[Idiom], body: list[cst.BaseStatement]) -> None:
    """Fill ``plan.hooks`` from the layout; ``body`` is the training loop's statements as the
    optimization mode left them (``self.manual_backward`` in manual optimization)."""
    facts = plan.facts
    rewrite = Rewriter(plan, idioms)
    train, val, test, epoch = facts.train, facts.val, facts.test, facts.epoch
    hooks = plan.hooks = {name: Hook(name) for name in HOOK_ORDER}
    for name, phase in (("training_step", train), ("validation_step", val), ("test_step", test)):
        hooks[name].batch_param = batch_param(phase)
        hooks[name].index_param = step_index_param(phase)

    hooks["training_step"].statements = unpack(train) + rewrite(Part.TRAIN_STEP, train, body)
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
        hooks["validation_step"].statements = unpack(val) + rewrite(Part.VAL_STEP, val, val.body)
        hooks["on_validation_epoch_end"].statements = rewrite(Part.VAL_END, val, val.post) + _function_result(val) + post
    else:
        hooks["on_train_epoch_end"].statements = mid + post
    if test is not None:
        hooks["test_step"].statements = unpack(test) + rewrite(Part.TEST_STEP, test, test.body)
        hooks["on_test_epoch_start"].statements = rewrite(Part.TEST_START, test, test.pre)
        hooks["on_test_epoch_end"].statements = rewrite(Part.TEST_END, test, test.post) + _function_result(test, expr("self.test_result"))


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


def unpack(phase: Phase) -> list[cst.BaseStatement]:
    """``images, labels = batch`` (and ``step = batch_idx + start`` for ``enumerate(loader, start)``)."""
    target = phase.batch_target
    out = []
    if not isinstance(target, cst.Name):
        if isinstance(target, cst.Tuple) and target.lpar:
            target = target.with_changes(lpar=[], rpar=[])
        out.append(statement(f"{code_of(target)} = batch"))
    if phase.index_start is not None and phase.index_name:
        out.insert(0, statement(f"{phase.index_name} = batch_idx + {code_of(phase.index_start)}"))
    return out


def step_index_param(phase: Phase | None) -> str:
    """The step's batch-index parameter: the loop's own index name when it counts from 0."""
    if phase is None or not phase.index_name or phase.index_start is not None:
        return "batch_idx"
    return phase.index_name


def batch_param(phase: Phase | None) -> str:
    """The step's batch parameter: the loop's own name for the batch when it is a plain name."""
    if phase is not None and isinstance(phase.batch_target, cst.Name):
        return phase.batch_target.value
    return "batch"
