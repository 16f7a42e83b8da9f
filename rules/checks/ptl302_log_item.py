"""PTL302: .item() inside self.log(...) (a device sync per call; off by default)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import is_self_method_call, method_name
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid


class LogItem(Rule):
    """
    ## What it does
    Flags `self.log(name, x.item())` in a Lightning class.

    ## Why is this bad?
    `.item()` copies the value to the host and waits for the accelerator on every call;
    Lightning's speed guide says not to call it in the training loop. `self.log` accepts the
    tensor, detaches it itself and reduces it across steps and devices, which a Python float
    cannot be.

    This rule is off by default (PTL3xx, performance). Enable it with `--select PTL302`.

    ## Fix safety
    Safe: `.item()` is removed; `self.log` records the same value.
    """

    code = "PTL302"
    name = "log-item"
    message = "`.item()` in `self.log` forces a device sync; log the tensor"
    keywords = (".item()",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log("train_loss", loss)
                    return loss
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log("train_loss", loss.item(), prog_bar=True)
                    return loss
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log("train_loss", loss, prog_bar=True)
                    return loss
            """,
            line=5,
        )
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_self_method_call(node, "log") or not self.ctx.in_lightning_class or len(node.args) < 2:
            return
        value = node.args[1].value
        if isinstance(value, cst.Call) and method_name(value) == "item" and not value.args:
            self.report(value, fix=self.fix(SAFE, "Remove `.item()`", {value: value.func.value}))
