"""``scheduler.step()`` per batch or per epoch, ``ReduceLROnPlateau.step(val_loss)`` →
``configure_optimizers`` with ``interval`` and ``monitor``."""

from __future__ import annotations

import dataclasses

import libcst as cst

from ...api_knowledge import PLATEAU_SCHEDULER
from ..idiom import Example, Idiom
from ..logged_metrics import metric_key
from ..names import usage_of
from ..plan import Mode, Plan, SchedulerConfig
from ..script import Unsupported


class LearningRateSchedulers(Idiom):
    """Learning-rate schedulers (``torch.optim.lr_scheduler.*``) stepped by the loop.

    ## Becomes

    ``configure_optimizers`` returns the scheduler with ``"interval": "step"`` when the batch
    loop steps it after the optimizer, ``"epoch"`` when the epoch loop steps it after training;
    ``ReduceLROnPlateau.step(val_loss)`` gets ``"monitor": "val_loss"`` and the evaluation logs
    that value. The loop's ``step()`` call goes.

    ## Refuses

    A ``ReduceLROnPlateau`` stepped on a value the evaluation does not compute, or with no
    evaluation loop. Other shapes stay as written (a scheduler stepped at the start of an epoch,
    with an argument, or elsewhere keeps its own ``step()`` call in the hooks; in manual
    optimization every scheduler does).

    ## Why

    Lightning steps a configured scheduler after the optimizer step (``"step"``) or at the end
    of the training epoch (``"epoch"``) — where the loop did. A step at the start of an epoch
    would move one epoch later, so it stays where it is.
    """

    name = "lr-schedulers"
    title = "scheduler.step() per batch / per epoch / ReduceLROnPlateau.step(val_loss) → configure_optimizers"
    fixtures = ("lenet_plateau", "onecycle_per_batch", "regression_steplr", "accumulation_last_batch")
    examples = (
        Example(
            setup="scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)",
            epoch_end="scheduler.step()",
            after=('"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}',),
            absent=("scheduler.step()",),
        ),
    )
    order = 40

    def prepare(self, plan: Plan) -> None:
        if plan.mode is not Mode.AUTOMATIC:
            return
        facts = plan.facts
        lowered = plan.lowering.schedulers if plan.lowering is not None else None
        epoch_start = facts.epoch.pre if facts.epoch is not None else []
        for fact in lowered if lowered is not None else facts.schedulers:
            if fact.step_stmt is None or any(fact.step_stmt is s for s in epoch_start):
                continue  # stepped before the epoch trains: Lightning would step it one epoch later
            plateau = fact.qualname == PLATEAU_SCHEDULER
            if fact.step_where == "batch" and fact.step_arg is None and not plateau:
                plan.schedulers.append(SchedulerConfig(fact, "step"))
            elif fact.step_where == "epoch" and not plateau and fact.step_arg is None:
                plan.schedulers.append(SchedulerConfig(fact, "epoch"))
            elif fact.step_where == "epoch" and plateau and isinstance(fact.step_arg, cst.Name):
                plan.schedulers.append(SchedulerConfig(fact, "epoch", fact.step_arg.value))
            else:
                continue
            plan.dropped_in_loop.append(fact.step_stmt)

    def complete(self, plan: Plan) -> None:
        monitored = [c for c in plan.schedulers if c.monitor]
        if not monitored:
            return
        line = plan.facts.script.line
        if plan.facts.val is None:
            raise Unsupported(line(monitored[0].fact.step_stmt), "ReduceLROnPlateau is stepped on a metric but there is no evaluation loop")
        evaluation = [s for name in ("on_validation_epoch_start", "validation_step", "on_validation_epoch_end") for s in plan.hook(name)]
        for config in monitored:
            if config.monitor not in (usage_of(*evaluation).stores if evaluation else set()):
                raise Unsupported(line(config.fact.step_stmt), f"ReduceLROnPlateau is stepped on {config.monitor!r}, which the evaluation does not compute")

    def contribute(self, plan: Plan) -> None:
        line = plan.facts.script.line
        plan.schedulers = [dataclasses.replace(c, monitor=metric_key("val", c.monitor)) if c.monitor else c for c in plan.schedulers]
        for config in plan.schedulers:
            step = config.fact.step_stmt
            monitor = f", monitor={config.monitor!r}" if config.monitor else ""
            plan.change((line(step), line(step)), f"{config.fact.name}.step() → configure_optimizers (interval={config.interval!r}{monitor})")
