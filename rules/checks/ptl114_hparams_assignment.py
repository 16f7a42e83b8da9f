"""PTL114: self.hparams = ... in a LightningModule (use save_hyperparameters)."""

from __future__ import annotations

import libcst as cst

from ..findings import SAFE
from ...api_knowledge import dotted_name
from ..rule import Invalid, Rule, Valid


class HparamsAssignment(Rule):
    """
    ## What it does
    Flags `self.hparams = hparams` in a LightningModule or LightningDataModule.

    ## Why is this bad?
    `hparams` has been a read-only property since Lightning 1.3: the assignment raises
    `AttributeError: can't set attribute`. `self.save_hyperparameters(hparams)` stores a dict,
    `Namespace` or OmegaConf config as `self.hparams` and in checkpoints.

    ## Fix safety
    Safe: `self.hparams = x` becomes `self.save_hyperparameters(x)`, which is what the
    assignment did in 1.x.
    """

    code = "PTL114"
    name = "hparams-assignment"
    message = "`self.hparams` cannot be assigned since Lightning 1.3; call `self.save_hyperparameters(...)`"
    keywords = ("hparams",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, hparams):
                    super().__init__()
                    self.save_hyperparameters(hparams)
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, hparams):
                    super().__init__()
                    self.hparams = hparams
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, hparams):
                    super().__init__()
                    self.save_hyperparameters(hparams)
            """,
            line=5,
        )
    ]

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self.ctx.in_lightning_class or len(node.targets) != 1:
            return
        if dotted_name(node.targets[0].target) != "self.hparams":
            return
        call = cst.Call(cst.Attribute(cst.Name("self"), cst.Name("save_hyperparameters")), [cst.Arg(node.value)])
        self.report(node, fix=self.fix(SAFE, "Use `self.save_hyperparameters(...)`", {node: cst.Expr(call)}))
