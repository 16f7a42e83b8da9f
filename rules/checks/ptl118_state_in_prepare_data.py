"""PTL118: assigning self.<attr> in prepare_data (runs on one process only)."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import dotted_name
from ..rule import Invalid, Rule, Valid


class StateInPrepareData(Rule):
    """
    ## What it does
    Flags `self.x = ...` inside `prepare_data` of a LightningModule or LightningDataModule.

    ## Why is this bad?
    `prepare_data` runs on one process per node (or per job) only, before the other processes
    start; state assigned there does not exist in the other processes, so multi-GPU runs fail
    with `AttributeError` (single-device runs work, which hides the bug). Download in
    `prepare_data`, and build datasets and other state in `setup(stage)`.

    There is no automatic fix: the assignments have to move into `setup`.
    """

    code = "PTL118"
    name = "state-in-prepare-data"
    message = "state assigned in `prepare_data` is missing on the other processes; assign it in `setup()`"
    keywords = ("prepare_data",)

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            from torchvision.datasets import MNIST
            class Data(pl.LightningDataModule):
                def prepare_data(self):
                    MNIST(self.root, download=True)
                def setup(self, stage):
                    self.train_ds = MNIST(self.root, train=True)
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            from torchvision.datasets import MNIST
            class Data(pl.LightningDataModule):
                def prepare_data(self):
                    self.train_ds = MNIST(self.root, train=True, download=True)
            """,
            line=5,
        )
    ]

    def visit_Assign(self, node: cst.Assign) -> None:
        method = self.ctx.method
        if method is None or method.name != "prepare_data" or method.cls is None or method.cls.kind not in ("module", "datamodule"):
            return
        for target in node.targets:
            dotted = dotted_name(target.target)
            if dotted and dotted.startswith("self."):
                self.report(target.target)
