"""PTL216: optimizer_idx in training_step (multiple optimizers under automatic optimization)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import param_names
from ..rule import Invalid, Rule, Valid


class MultipleOptimizersAutomatic(Rule):
    """
    ## What it does
    Flags a `training_step(self, batch, batch_idx, optimizer_idx)` signature.

    ## Why is this bad?
    Lightning 2.0 supports several optimizers only with manual optimization. The
    `optimizer_idx` parameter alone makes `fit` raise `RuntimeError: Training with multiple
    optimizers is only supported with manual optimization`. Set
    `self.automatic_optimization = False`, get the optimizers with
    `opt_g, opt_d = self.optimizers()` and call `self.manual_backward(loss)`, `opt.step()` and
    `opt.zero_grad()` yourself (GAN training is the usual case).

    There is no automatic fix: the training step has to be restructured.
    """

    code = "PTL216"
    name = "multiple-optimizers-automatic"
    message = "`optimizer_idx` in `training_step` is not supported since Lightning 2.0; use manual optimization"
    keywords = ("optimizer_idx",)
    applies_from = (2, 0)

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class GAN(pl.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.automatic_optimization = False
                def training_step(self, batch, batch_idx):
                    opt_g, opt_d = self.optimizers()
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class GAN(pl.LightningModule):
                def training_step(self, batch, batch_idx, optimizer_idx):
                    if optimizer_idx == 0:
                        return self.generator_loss(batch)
                    return self.discriminator_loss(batch)
            """,
            line=3,
        )
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node or node.name.value != "training_step":
            return
        for param in node.params.params:
            if param.name.value == "optimizer_idx":
                self.report(param)
