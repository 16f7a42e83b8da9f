"""PTL211: hooks overridden with their 1.x signature (outputs=, dataloader_idx=, optimizer_idx=)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import names_used
from ..findings import SAFE
from ..lightning_api import LEGACY_CALLBACK_PARAMS, LEGACY_HOOK_PARAMS
from ..rule import Invalid, Rule, Valid


class LegacyHookSignature(Rule):
    """
    ## What it does
    Flags LightningModule and Callback hooks that still take parameters Lightning 2.x no longer
    passes: `outputs` in `on_train_epoch_end`, `dataloader_idx` in `on_train_batch_start/end`,
    `optimizer_idx` in `optimizer_step`, `optimizer_zero_grad`, `on_before_optimizer_step`,
    `configure_gradient_clipping`, `lr_scheduler_step` and `backward`, and so on.

    ## Why is this bad?
    Lightning calls hooks with their 2.x arguments. An extra required parameter is a
    `TypeError: ... missing 1 required positional argument`; worse, an `optimizer_step`
    override with the 1.x signature receives the closure in `optimizer_idx`, and when
    `optimizer_closure` has a default, `training_step` silently never runs.

    ## Fix safety
    Safe when the legacy parameters are not used in the method body: they are removed.
    Otherwise the body depends on them and there is no fix (see PTL205 for `outputs`).
    """

    code = "PTL211"
    name = "legacy-hook-signature"
    message = "this hook takes parameters that Lightning 2.x no longer passes"
    keywords = ("outputs", "dataloader_idx", "optimizer_idx", "results")
    applies_from = (2, 0)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_epoch_end(self):
                    pass
                def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
                    optimizer.step(closure=optimizer_closure)
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_idx, optimizer_closure=None, on_tpu=False, using_native_amp=False, using_lbfgs=False):
                    optimizer.step(closure=optimizer_closure)
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
                    optimizer.step(closure=optimizer_closure)
            """,
            line=3,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_epoch_end(self, outputs):
                    self.log("n", len(outputs))
            """
        ),
        Invalid(
            """
            from pytorch_lightning import Callback
            class Saver(Callback):
                def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx):
                    pass
            """,
            fixed="""
            from pytorch_lightning import Callback
            class Saver(Callback):
                def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                    pass
            """,
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.method
        if method is None or method.node is not node or method.cls is None:
            return
        table = {"module": LEGACY_HOOK_PARAMS, "callback": LEGACY_CALLBACK_PARAMS}.get(method.cls.kind or "")
        legacy = (table or {}).get(node.name.value)
        if not legacy:
            return
        params = list(node.params.params)
        stale = [p for p in params if p.name.value in legacy]
        if not stale:
            return
        names = ", ".join(f"`{p.name.value}`" for p in stale)
        message = f"`{node.name.value}` no longer receives {names} in Lightning 2.x; remove the parameter"
        fix = None
        if not ({p.name.value for p in stale} & names_used(node.body)):
            kept = [p for p in params if p not in stale]
            if kept and kept[-1] is not params[-1]:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            fix = self.fix(SAFE, "Remove the 1.x parameters", {node.params: node.params.with_changes(params=kept)})
        self.report(stale[0], message, fix)
