"""PTL107: configure_optimizers return shapes Lightning rejects or silently mis-reads."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import dict_items, returns_of, string_value
from ..findings import SAFE
from ..lightning_api import OPTIMIZER_DICT_KEYS, SCHEDULER_DICT_KEYS
from ..lightning_facts import is_scheduler_call, local_assignments
from ..rule import Invalid, Rule, Valid


class BadConfigureOptimizersReturn(Rule):
    """
    ## What it does
    Flags `configure_optimizers` returns that Lightning rejects or mis-reads:
    `return optimizer, scheduler` (a bare pair), a top-level `"scheduler"` key instead of
    `"lr_scheduler"`, other unknown keys, a scheduler `"interval"` other than `"step"` or
    `"epoch"`, and `return None` / a bare `return`.

    ## Why is this bad?
    A pair is only understood as `([optimizers], [schedulers])`: `(opt, sched)` raises
    `MisconfigurationException: Unknown configuration for model optimizers`. Unknown dict keys
    are dropped with only a warning, so a scheduler under `"scheduler"` silently never steps.
    `"interval": "batch"` raises. Returning `None` trains with no optimizer at all.

    ## Fix safety
    Safe: `return opt, sched` → `return [opt], [sched]` (when the second value is a learning
    rate scheduler), `"scheduler"` → `"lr_scheduler"` at the top level, and
    `"interval": "batch"` → `"interval": "step"`. Other problems are reported only.
    """

    code = "PTL107"
    name = "bad-configure-optimizers-return"
    message = "`configure_optimizers` returns a shape Lightning does not accept"
    keywords = ("configure_optimizers",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    opt = torch.optim.Adam(self.parameters())
                    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
                    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
            """
        ),
        Valid(
            """
            import torch
            import pytorch_lightning as pl
            class GAN(pl.LightningModule):
                def configure_optimizers(self):
                    return torch.optim.Adam(self.g.parameters()), torch.optim.Adam(self.d.parameters())
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    optimizer = torch.optim.Adam(self.parameters())
                    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
                    return optimizer, scheduler
            """,
            fixed="""
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    optimizer = torch.optim.Adam(self.parameters())
                    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
                    return [optimizer], [scheduler]
            """,
            line=7,
        ),
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    opt = torch.optim.Adam(self.parameters())
                    return {"optimizer": opt, "scheduler": {"scheduler": self.sched(opt), "interval": "batch"}}
            """,
            fixed="""
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    opt = torch.optim.Adam(self.parameters())
                    return {"optimizer": opt, "lr_scheduler": {"scheduler": self.sched(opt), "interval": "step"}}
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def configure_optimizers(self):
                    return None
            """
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node or node.name.value != "configure_optimizers":
            return
        assigned = local_assignments(node)

        def scheduler(expr) -> bool:
            if isinstance(expr, cst.Name) and expr.value in assigned:
                expr = assigned[expr.value]
            return is_scheduler_call(self.ctx, expr)

        for ret in returns_of(node):
            value = ret.value
            if value is None or (isinstance(value, cst.Name) and value.value == "None"):
                self.report(ret, "`configure_optimizers` returns None: the model trains with no optimizer")
            elif isinstance(value, cst.Tuple) and len(value.elements) == 2:
                first, second = (e.value for e in value.elements)
                if not isinstance(first, (cst.List, cst.Tuple)) and scheduler(second):
                    new = value.with_changes(
                        elements=[e.with_changes(value=cst.List([cst.Element(e.value)])) for e in value.elements],
                    )
                    self.report(value, "`return optimizer, scheduler` is not understood; return `[optimizer], [scheduler]`",
                                self.fix(SAFE, "Return `[optimizer], [scheduler]`", {value: new}))
            elif isinstance(value, cst.Dict):
                self._check_dict(value)

    def _check_dict(self, value: cst.Dict) -> None:
        items = dict_items(value)
        for key, element in items.items():
            if key == "scheduler" and "lr_scheduler" not in items:
                fix = self.fix(SAFE, 'Rename the key to "lr_scheduler"', {element.key: cst.SimpleString('"lr_scheduler"')})
                self.report(element.key, 'the key `"scheduler"` is ignored at the top level (the scheduler never steps); use `"lr_scheduler"`', fix)
            elif key not in OPTIMIZER_DICT_KEYS and key != "scheduler":
                self.report(element.key, f'unknown key `"{key}"` in the `configure_optimizers` dict is dropped; valid keys: optimizer, lr_scheduler, monitor')
        sched = items.get("lr_scheduler") or items.get("scheduler")
        if sched is not None and isinstance(sched.value, cst.Dict):
            for key, element in dict_items(sched.value).items():
                if key not in SCHEDULER_DICT_KEYS:
                    self.report(element.key, f'unknown key `"{key}"` in the lr scheduler dict is dropped')
                elif key == "interval":
                    interval = string_value(element.value)
                    if interval is not None and interval not in ("step", "epoch"):
                        fix = None
                        if interval == "batch":
                            fix = self.fix(SAFE, 'Use "step"', {element.value: cst.SimpleString('"step"')})
                        self.report(element.value, f'`"interval": "{interval}"` is invalid; it must be "step" or "epoch"', fix)
