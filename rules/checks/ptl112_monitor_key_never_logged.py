"""PTL112: ModelCheckpoint / EarlyStopping / scheduler `monitor=` keys that are never logged."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import dict_items, keyword, string_value
from ..lightning_facts import logged_keys
from ..rule import Invalid, Rule, Valid

_CALLBACKS = {"pl.callbacks.ModelCheckpoint": "ModelCheckpoint", "pl.callbacks.EarlyStopping": "EarlyStopping"}


class MonitorKeyNeverLogged(Rule):
    """
    ## What it does
    Flags `ModelCheckpoint(monitor="x")`, `EarlyStopping(monitor="x")` and a scheduler
    `"monitor": "x"` when the LightningModules in the same file never log `"x"` (with
    `self.log` or `self.log_dict` literal keys; `on_step=True, on_epoch=True` also creates
    `x_step` and `x_epoch`). Files whose modules log computed names are skipped.

    ## Why is this bad?
    The callback looks the key up after each validation run: EarlyStopping raises
    `RuntimeError: Early stopping conditioned on metric val_loss which is not available`,
    ModelCheckpoint raises `MisconfigurationException ... could not find the monitored key`,
    and a plateau scheduler raises or silently stops stepping (`strict=False`). A typo
    (`val/loss` vs `val_loss`) is the usual cause; the message suggests the closest logged key.

    There is no automatic fix: the right key is the author's decision.
    """

    code = "PTL112"
    name = "monitor-key-never-logged"
    message = "the monitored key is never logged"
    keywords = ("monitor",)

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            from pytorch_lightning.callbacks import ModelCheckpoint
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log("val_loss", self.loss(batch))
            checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
            """
        ),
        Valid(
            """
            from pytorch_lightning.callbacks import EarlyStopping
            stop = EarlyStopping(monitor="val_acc")
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            from pytorch_lightning.callbacks import EarlyStopping
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log("val/loss", self.loss(batch))
            stop = EarlyStopping(monitor="val_loss")
            """,
            line=6,
        )
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.monitors: list[tuple[cst.CSTNode, str, str]] = []

    def visit_Call(self, node: cst.Call) -> None:
        owner = _CALLBACKS.get(self.ctx.call_name(node) or "")
        if owner is None:
            return
        arg = keyword(node, "monitor")
        value = string_value(arg.value) if arg is not None else None
        if value is not None:
            self.monitors.append((arg, value, owner))

    def visit_Dict(self, node: cst.Dict) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.name != "configure_optimizers":
            return
        element = dict_items(node).get("monitor")
        value = string_value(element.value) if element is not None else None
        if value is not None:
            self.monitors.append((element, value, "the lr scheduler"))

    def finish(self) -> None:
        modules = [info for info in self.ctx.classes.values() if info.is_module]
        if not self.monitors or not modules:
            return
        keys: set[str] = set()
        for info in modules:
            found, dynamic = logged_keys(info.node)
            if dynamic:
                return
            keys |= found
        for node, key, owner in self.monitors:
            if key in keys:
                continue
            import difflib  # only for a finding: not on every lint's start-up

            close = difflib.get_close_matches(key, sorted(keys), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else (f"; logged keys: {', '.join(sorted(keys))}" if keys else "; nothing is logged")
            self.report(node, f"{owner} monitors `{key}`, which no LightningModule in this file logs{hint}")
