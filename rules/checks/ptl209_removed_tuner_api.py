"""PTL209: auto_lr_find= / auto_scale_batch_size= / trainer.tune() were removed in 2.0."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import method_name
from ..rule import Invalid, Rule, Valid

_FLAGS = {
    "auto_lr_find": "`Tuner(trainer).lr_find(model)` (or the `LearningRateFinder` callback)",
    "auto_scale_batch_size": "`Tuner(trainer).scale_batch_size(model)` (or the `BatchSizeFinder` callback)",
}


class RemovedTunerApi(Rule):
    """
    ## What it does
    Flags `Trainer(auto_lr_find=...)`, `Trainer(auto_scale_batch_size=...)` and
    `trainer.tune(...)`.

    ## Why is this bad?
    Lightning 2.0 removed the tuner flags and `Trainer.tune()` (`TypeError` and
    `AttributeError`). Tuning is now explicit:
    `from lightning.pytorch.tuner import Tuner; Tuner(trainer).lr_find(model)` (which updates
    `model.lr`/`learning_rate` as before) and `Tuner(trainer).scale_batch_size(model)`.

    There is no automatic fix: the tuning call has to be placed where the model and data exist.
    """

    code = "PTL209"
    name = "removed-tuner-api"
    message = "the Trainer tuner flags and `trainer.tune()` were removed in Lightning 2.0"
    keywords = ("auto_lr_find", "auto_scale_batch_size", ".tune(")
    applies_from = (2, 0)

    VALID = [
        Valid(
            """
            import lightning as L
            from lightning.pytorch.tuner import Tuner
            trainer = L.Trainer(max_epochs=3)
            Tuner(trainer).lr_find(model)
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, auto_lr_find=True)
            trainer.tune(model)
            """,
            line=2,
        )
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.is_trainer_call(node):
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in _FLAGS:
                    flag = arg.keyword.value
                    self.report(arg, f"`Trainer({flag}=...)` was removed in Lightning 2.0; use {_FLAGS[flag]}")
        elif method_name(node) == "tune" and self.ctx.is_trainer_expr(node.func.value):
            self.report(node, "`trainer.tune()` was removed in Lightning 2.0; use `Tuner(trainer).lr_find(model)` / `.scale_batch_size(model)`")
