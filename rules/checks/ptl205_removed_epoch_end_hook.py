"""PTL205: training_epoch_end / validation_epoch_end / test_epoch_end were removed in 2.0."""

from __future__ import annotations

import libcst as cst

from ..lightning_api import REMOVED_EPOCH_END_HOOKS
from ..rule import Invalid, Rule, Valid


class RemovedEpochEndHook(Rule):
    """
    ## What it does
    Flags `training_epoch_end`, `validation_epoch_end` and `test_epoch_end` methods of a
    LightningModule.

    ## Why is this bad?
    Lightning 2.0 removed them: `trainer.fit` (and `trainer.test`) stop with
    `NotImplementedError: Support for validation_epoch_end has been removed in v2.0.0`. Use
    `on_validation_epoch_end(self)` instead; it takes no `outputs`, so keep the step outputs
    yourself: append them to a list attribute in `validation_step` and clear it at the end of
    the epoch hook (detach training outputs, or the graphs stay in memory).

    There is no automatic fix: the rewrite touches the step method, `__init__` and the hook.
    """

    code = "PTL205"
    name = "removed-epoch-end-hook"
    message = "this hook was removed in Lightning 2.0"
    keywords = ("_epoch_end",)
    applies_from = (2, 0)

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_validation_epoch_end(self):
                    self.log("val_acc", self.val_acc.compute())
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_epoch_end(self, outputs):
                    avg_loss = torch.stack([x["val_loss"] for x in outputs]).mean()
                    return {"val_loss": avg_loss}
            """,
            line=4,
        )
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node:
            return
        replacement = REMOVED_EPOCH_END_HOOKS.get(node.name.value)
        if replacement is not None:
            self.report(
                node.name,
                f"`{node.name.value}` was removed in Lightning 2.0 (it raises at `fit`); implement "
                f"`{replacement}(self)` and keep the step outputs in an attribute",
            )
