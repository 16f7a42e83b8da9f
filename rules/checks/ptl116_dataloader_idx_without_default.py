"""PTL116: dataloader_idx without a default in evaluation steps and batch hooks."""

from __future__ import annotations

import libcst as cst

from ..findings import SAFE
from ..rule import Invalid, Rule, Valid

_HOOKS = {
    "validation_step", "test_step", "predict_step",
    "on_validation_batch_start", "on_validation_batch_end", "on_test_batch_start",
    "on_test_batch_end", "on_predict_batch_start", "on_predict_batch_end",
}


class DataloaderIdxWithoutDefault(Rule):
    """
    ## What it does
    Flags `validation_step(self, batch, batch_idx, dataloader_idx)` (and `test_step`,
    `predict_step`, the `on_*_batch_start/end` hooks) where `dataloader_idx` has no default.

    ## Why is this bad?
    With a single evaluation DataLoader, Lightning 2.x does not pass `dataloader_idx` and
    raises `RuntimeError: You provided only a single val_dataloader, but have included
    dataloader_idx in validation_step()`. A default of 0 works for one loader and for many.

    ## Fix safety
    Safe: `dataloader_idx` becomes `dataloader_idx=0`, the value Lightning uses for the first
    loader.
    """

    code = "PTL116"
    name = "dataloader-idx-without-default"
    message = "`dataloader_idx` needs a default (`dataloader_idx=0`)"
    keywords = ("dataloader_idx",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx, dataloader_idx=0):
                    self.log(f"val_loss/{dataloader_idx}", self.loss(batch))
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx, dataloader_idx):
                    self.log("val_loss", self.loss(batch))
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx, dataloader_idx=0):
                    self.log("val_loss", self.loss(batch))
            """,
            line=3,
        )
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node or node.name.value not in _HOOKS:
            return
        params = list(node.params.params)
        for index, param in enumerate(params):
            if param.name.value == "dataloader_idx" and param.default is None and index == len(params) - 1:
                new = param.with_changes(default=cst.Integer("0"), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
                self.report(param, fix=self.fix(SAFE, "Default `dataloader_idx=0`", {param: new}))
