"""PTL106: ReduceLROnPlateau returned from configure_optimizers without a monitor."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import dict_items, returns_of
from ..findings import UNSAFE
from ..lightning_facts import is_plateau_call, local_assignments, logged_keys
from ..rule import Invalid, Rule, Valid


class PlateauSchedulerWithoutMonitor(Rule):
    """
    ## What it does
    Flags a `ReduceLROnPlateau` scheduler returned from `configure_optimizers` without a
    `"monitor"` key: `return [opt], [ReduceLROnPlateau(opt)]`,
    `return {"optimizer": opt, "lr_scheduler": sched}` or a scheduler dict without `monitor`.

    ## Why is this bad?
    `ReduceLROnPlateau` steps on a metric, and Lightning has to be told which one: without
    `monitor` it raises `MisconfigurationException: configure_optimizers must include a monitor
    when a ReduceLROnPlateau scheduler is used` at the start of `fit`.

    ## Fix safety
    When the module logs exactly one validation metric (`self.log("val_...")`) the fix rewrites
    the return to `{"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": KEY}}`.
    It is unsafe: choosing the metric is the author's decision. Modules with
    `automatic_optimization = False` are skipped (they step schedulers themselves).
    """

    code = "PTL106"
    name = "plateau-scheduler-without-monitor"
    message = "`ReduceLROnPlateau` needs a `monitor` key in `configure_optimizers`"
    keywords = ("ReduceLROnPlateau",)
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    opt = torch.optim.Adam(self.parameters())
                    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
                    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}
            """
        ),
        Valid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    opt = torch.optim.Adam(self.parameters())
                    return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(opt), "monitor": "val_loss"}
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class LeNet(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log("val_loss", self.loss(batch))
                def configure_optimizers(self):
                    optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
                    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=5, factor=0.5)
                    return [optimizer], [scheduler]
            """,
            fixed="""
            import torch
            import pytorch_lightning as pl
            class LeNet(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log("val_loss", self.loss(batch))
                def configure_optimizers(self):
                    optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
                    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=5, factor=0.5)
                    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}
            """,
            line=9,
        ),
        Invalid(
            """
            from torch.optim.lr_scheduler import ReduceLROnPlateau
            import lightning as L
            class Net(L.LightningModule):
                def configure_optimizers(self):
                    opt = torch.optim.SGD(self.parameters(), lr=0.1)
                    return {"optimizer": opt, "lr_scheduler": {"scheduler": ReduceLROnPlateau(opt)}}
            """
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node or node.name.value != "configure_optimizers":
            return
        if not method.cls.automatic_optimization:
            return
        assigned = local_assignments(node)

        def plateau(expr) -> bool:
            if isinstance(expr, cst.Name) and expr.value in assigned:
                expr = assigned[expr.value]
            return is_plateau_call(self.ctx, expr)

        for ret in returns_of(node):
            value = ret.value
            if isinstance(value, cst.Tuple) and len(value.elements) == 2:
                opts, scheds = (e.value for e in value.elements)
                if isinstance(scheds, cst.List) and any(plateau(e.value) for e in scheds.elements):
                    self.report(value, fix=self._fix(method.cls, value, opts, scheds))
            elif isinstance(value, cst.Dict):
                items = dict_items(value)
                scheduler = items.get("lr_scheduler")
                if scheduler is None or "monitor" in items:
                    continue
                inner = scheduler.value
                if isinstance(inner, cst.Dict):
                    inner_items = dict_items(inner)
                    if "monitor" not in inner_items and "scheduler" in inner_items and plateau(inner_items["scheduler"].value):
                        self.report(inner)
                elif plateau(inner):
                    self.report(value)

    def _fix(self, cls, value: cst.Tuple, opts, scheds):
        if not (isinstance(opts, cst.List) and len(opts.elements) == 1 and len(scheds.elements) == 1):
            return None
        keys, dynamic = logged_keys(cls.node)
        val_keys = sorted(k for k in keys if k.startswith("val") and not k.endswith(("_step", "_epoch")))
        if len(val_keys) != 1:
            return None
        module = self.ctx.module
        opt_code = module.code_for_node(opts.elements[0].value)
        sched_code = module.code_for_node(scheds.elements[0].value)
        text = f'{{"optimizer": {opt_code}, "lr_scheduler": {{"scheduler": {sched_code}, "monitor": "{val_keys[0]}"}}}}'
        return self.fix(UNSAFE, f'Return a dict with "monitor": "{val_keys[0]}"', {value: cst.parse_expression(text)})
