"""PTL111: Trainer() without max_epochs / max_steps / max_time."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import has_star_args, iter_nodes, keyword
from ..rule import Invalid, Rule, Valid

_LIMITS = ("max_epochs", "max_steps", "max_time", "fast_dev_run")


class TrainerWithoutStoppingCondition(Rule):
    """
    ## What it does
    Flags `Trainer(...)` calls with none of `max_epochs`, `max_steps`, `max_time` or
    `fast_dev_run` (and no `**kwargs` or `Timer` callback that could supply one).

    ## Why is this bad?
    Without a limit Lightning trains for 1000 epochs, with only a warning ("`max_epochs` was
    not set. Setting it to 1000 epochs."). That is rarely what a script meant, and plain
    PyTorch loops always state their epoch count. Say `max_epochs=-1` to train until stopped.

    There is no automatic fix: the number of epochs is the author's decision.
    """

    code = "PTL111"
    name = "trainer-without-stopping-condition"
    message = "`Trainer()` without `max_epochs`/`max_steps` trains for 1000 epochs; set a limit"
    keywords = ("Trainer",)

    VALID = [
        Valid("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=10)\n"),
        Valid("import pytorch_lightning as pl\ntrainer = pl.Trainer(**config.trainer)\n"),
        Valid(
            """
            import pytorch_lightning as pl
            from pytorch_lightning.callbacks import Timer
            trainer = pl.Trainer(callbacks=[Timer(duration="00:01:00:00")])
            """
        ),
    ]
    INVALID = [
        Invalid("import lightning as L\ntrainer = L.Trainer(accelerator=\"gpu\", devices=1)\n", line=2),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node) or has_star_args(node):
            return
        if any(keyword(node, name) is not None for name in _LIMITS):
            return
        callbacks = keyword(node, "callbacks")
        if callbacks is not None:
            for sub in iter_nodes(callbacks.value):
                if isinstance(sub, cst.Call) and (self.ctx.call_name(sub) or "").endswith("Timer"):
                    return
        self.report(node)
