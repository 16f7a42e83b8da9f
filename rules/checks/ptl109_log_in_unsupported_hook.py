"""PTL109: self.log in hooks that do not allow it, or with arguments the hook rejects."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import is_self_method_call, keyword, literal, renamed, without_args
from ..findings import SAFE
from ..lightning_api import EPOCH_ONLY_LOG_HOOKS, NO_LOG_HOOKS
from ..rule import Invalid, Rule, Valid


class LogInUnsupportedHook(Rule):
    """
    ## What it does
    Flags `self.log(...)` / `self.log_dict(...)` directly in LightningModule hooks where
    Lightning forbids logging (`predict_step`, `configure_optimizers`, `setup`,
    `prepare_data`, `*_dataloader`, `on_fit_start`, `on_train_end`, `__init__`, ...), and
    `on_step=True` in epoch-level hooks (`on_train_epoch_end`, `on_validation_epoch_end`,
    `on_train_start`, ...), `on_step=False, on_epoch=False`, and the removed
    `sync_dist_op=` / `tbptt_reduce_fx=` / `tbptt_pad_token=` arguments.

    ## Why is this bad?
    Lightning checks every `self.log` call against the hook it runs in and raises
    `MisconfigurationException: You can't self.log() inside configure_optimizers` (or "... must
    be one of (False,)" for `on_step=True` in an epoch hook). Log to
    `self.logger.experiment` directly there instead.

    ## Fix safety
    Safe: `on_step=True` is removed in epoch-level hooks (where it can only be False),
    `sync_dist_op=` is renamed to `reduce_fx=` and the `tbptt_*` arguments are dropped.
    Logging from a forbidden hook is reported only.
    """

    code = "PTL109"
    name = "log-in-unsupported-hook"
    message = "`self.log` is not allowed here"
    keywords = ("self.log",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log("train_loss", loss, on_step=True, on_epoch=True)
                    return loss
                def on_validation_epoch_end(self):
                    self.log("val_acc", self.acc.compute())
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    self.log("lr", 0.1)
                    return self.opt
            """,
            line=4,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_epoch_end(self):
                    self.log("epoch_loss", self.total, on_step=True, sync_dist_op="sum")
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_epoch_end(self):
                    self.log("epoch_loss", self.total, reduce_fx="sum")
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_self_method_call(node, "log", "log_dict"):
            return
        method = self.ctx.lightning_method("module")
        if method is None:
            return
        hook = method.name
        what = f"self.{node.func.attr.value}"
        if hook in NO_LOG_HOOKS:
            self.report(node, f"`{what}()` is not allowed in `{hook}` (Lightning raises); log with `self.logger.experiment` or from a step/epoch hook")
            return
        on_step = keyword(node, "on_step")
        on_epoch = keyword(node, "on_epoch")
        if hook in EPOCH_ONLY_LOG_HOOKS and on_step is not None and literal(on_step.value) is True:
            self.report(on_step, f"`on_step=True` is not allowed in `{hook}` (an epoch-level hook)",
                        self.fix(SAFE, "Remove `on_step=True`", {node: without_args(node, [on_step])}))
        if on_step is not None and on_epoch is not None and literal(on_step.value) is False and literal(on_epoch.value) is False:
            self.report(node, "`on_step=False, on_epoch=False` logs nothing (Lightning raises)")
        for arg in node.args:
            if arg.keyword is None:
                continue
            if arg.keyword.value == "sync_dist_op":
                fix = None if keyword(node, "reduce_fx") else self.fix(SAFE, "Rename to `reduce_fx=`", {arg: renamed(arg, "reduce_fx")})
                self.report(arg, "`sync_dist_op=` was removed in Lightning 1.6; use `reduce_fx=`", fix)
            elif arg.keyword.value.startswith("tbptt_"):
                self.report(arg, f"`{arg.keyword.value}=` was removed in Lightning 1.6",
                            self.fix(SAFE, f"Remove `{arg.keyword.value}=`", {node: without_args(node, [arg])}))
