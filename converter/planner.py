"""The planner: from the facts of a script, the :class:`~.plan.Plan` — combining what the idioms
contribute at each stage (see :mod:`.idiom` for the stages).

1. the optimization mode (:mod:`.mode`: automatic when the loop is canonical after the idioms'
   lowerings, else manual optimization, which keeps the loop's semantics);
2. ``prepare``: what leaves the loop; then the hooks are filled (:mod:`.hooks`, every list of
   statements through the idioms' rewrites) and ``complete``-d; names that cross hooks are
   shared (:mod:`.state`);
3. ``contribute``: Trainer arguments, removals, replacements, notes; the class goes to module
   level (:mod:`.enclosing`), then ``construct``: how the script constructs it;
4. ``prune``: set-up that nothing in the converted script reads any more (seen on a preview).
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from ..api_knowledge import LIGHTNING_IMPORT_STYLES
from .emit import render_model_construction, render_region, render_test_call, render_trainer
from .enclosing import lift_class
from .facts import Facts
from .wrapping import line_length
from .rank_sums import sum_over_processes
from .optimizer_setup import move_optimizer_setup
from .hooks import fill_hooks
from .idiom import Idiom
from .mode import ManualBackward, choose_mode, log_training_loss
from .names import all_names, fresh_name, names_loaded_anywhere
from .plan import Mode, NotePlace, Plan, Replacement, TrainerArgument
from .result import ConvertOptions
from .splice import splice
from .state import check_loaders_visible, share_state
from .transforms import apply, statement
from .tree import code_of


def make_plan(facts: Facts, options: ConvertOptions, idioms: Sequence[Idiom]) -> Plan:
    """Every decision of the conversion of ``facts`` (raises ``Unsupported`` to refuse)."""
    alias, import_statement = LIGHTNING_IMPORT_STYLES[options.import_style]
    plan = Plan(facts=facts, alias=alias, import_statement=import_statement)
    plan.line_length = line_length(facts.script.module.code)
    _name_generated_code(plan)

    choice, lowering = choose_mode(plan, facts.train.body, idioms)
    plan.optimization, plan.lowering = choice, lowering
    if lowering is not None:
        plan.trainer_args.extend(lowering.trainer_args)
        plan.changes.extend(lowering.changes)
    plan.change(facts.train.loop, "batch loop → training_step" + (" (manual optimization)" if choice.mode is Mode.MANUAL else ""))
    if choice.mode is Mode.AUTOMATIC:
        plan.dropped_in_loop.extend(choice.optimization_calls)
    for idiom in idioms:
        idiom.prepare(plan)

    body = apply(ManualBackward(), plan.training_body) if choice.mode is Mode.MANUAL else plan.training_body
    fill_hooks(plan, idioms, body)
    log_training_loss(plan, plan.training_body)
    for idiom in idioms:
        idiom.complete(plan)
    check_loaders_visible(facts)
    share_state(plan)
    sum_over_processes(plan)
    if choice.mode is Mode.MANUAL:
        plan.hook("training_step").insert(0, statement(f"{_optimizer_targets(facts)} = self.optimizers()"))
        plan.note(facts.script.line(facts.train.loop), f"manual optimization keeps the loop's own zero_grad/backward/step ({choice.reason})",
                  NotePlace.HOOK, hook="training_step")

    plan.fit_loaders.append(_loader_argument("train_dataloaders", facts.train.loader))
    for absorbed in choice.absorbed if choice.mode is Mode.AUTOMATIC else []:
        plan.trainer_args.extend(absorbed.trainer_args)
        plan.change(None, absorbed.change)
    for idiom in idioms:
        idiom.contribute(plan)
    move_optimizer_setup(plan)
    lift_class(plan)
    for idiom in idioms:
        idiom.construct(plan)

    preview = _Preview(plan)
    for idiom in idioms:
        idiom.prune(plan, preview.names_read())
    plan.change(None, f"added `{import_statement}`")
    plan.changes.sort(key=lambda c: (c.start_line, c.end_line))
    return plan


def _name_generated_code(plan: Plan) -> None:
    """Names for the class, its instance and the Trainer that the script does not use yet."""
    facts = plan.facts
    taken = all_names(facts.script.module)
    parts = []
    for model in facts.models:
        base = model.class_name.rsplit(".", 1)[-1] if model.class_name else "Model"
        parts.append(base[:1].upper() + base[1:])
    plan.class_name = fresh_name("Lit" + "".join(dict.fromkeys(parts)), taken)
    plan.instance_name = fresh_name(f"lit_{facts.forward_model.name}", taken)
    plan.trainer_name = fresh_name("trainer", taken)


def _optimizer_targets(facts: Facts) -> str:
    """``opt`` / ``opt_g, opt_d``: the names the training code uses for each optimizer
    (a function's parameter names when it takes them as arguments)."""
    names = []
    for opt in facts.optimizers:
        local = opt.name
        for param, value in facts.train.bindings.items():
            if facts.train.resolve_name(param) == opt.name and param != opt.name:
                local = param
        names.append(local)
    return ", ".join(names)


def _loader_argument(keyword: str, loader: cst.BaseExpression) -> TrainerArgument:
    return TrainerArgument(keyword, code_of(loader))


def names_read_now(plan: Plan) -> set[str]:
    """Names the converted script reads as the plan stands now (for a prune that must see the
    removals the idioms before it made)."""
    return _Preview(plan).names_read()


class _Preview:
    """The converted script as the plan stands, for the names it still reads."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        facts = plan.facts
        replacements = [Replacement(facts.region, render_region(plan), keep_leading_lines=False)]
        if plan.trainer_at is not None:
            replacements.append(Replacement(plan.trainer_at, [render_trainer(plan)]))
        if plan.test is not None:
            replacements.append(Replacement(plan.test.holder, render_test_call(plan)))
        if plan.built_model is not None:
            replacements.append(render_model_construction(plan, markers=True))
        self.module = splice(facts.script.module, replacements + plan.replacements, plan.removals, plan.rewrites)
        self.removed_at_preview = len(plan.removals)
        self.read = names_loaded_anywhere(self.module)

    def names_read(self) -> set[str]:
        """Names read anywhere, module-level functions removed since the preview left out."""
        later = self.plan.removals[self.removed_at_preview:]
        gone = {r.statement.name.value for r in later if isinstance(r.statement, cst.FunctionDef)}
        if gone:
            self.removed_at_preview = len(self.plan.removals)
            kept = [s for s in self.module.body if not (isinstance(s, cst.FunctionDef) and s.name.value in gone)]
            self.module = self.module.with_changes(body=kept)
            self.read = names_loaded_anywhere(self.module)
        return self.read
