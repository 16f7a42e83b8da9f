"""PTL215: Trainer attributes removed in Lightning 1.x/2.0 (trainer.num_gpus, ...)."""

from __future__ import annotations

import libcst as cst

from ..findings import SAFE
from ..lightning_api import REMOVED_TRAINER_ATTRIBUTES
from ..rule import Invalid, Rule, Valid


class RemovedTrainerAttribute(Rule):
    """
    ## What it does
    Flags attributes of the Trainer that no longer exist: `trainer.num_gpus`,
    `trainer.root_gpu`, `trainer.num_processes`, `trainer.use_amp`, `trainer.lr_schedulers`,
    `trainer.running_sanity_check`, `trainer.train_loop`, `trainer.resume_from_checkpoint`,
    ... on a trainer variable, `self.trainer` or `pl_module.trainer`.

    ## Why is this bad?
    They raise `AttributeError` (most were removed in 1.8, the rest in 2.0).

    ## Fix safety
    Safe for the pure renames (`num_gpus`/`num_processes`/`tpu_cores` → `num_devices`,
    `data_parallel_device_ids` → `device_ids`, `root_gpu` → `strategy.root_device.index`,
    `running_sanity_check` → `sanity_checking`, `resume_from_checkpoint` → `ckpt_path`);
    the others change type or meaning and get no fix.
    """

    code = "PTL215"
    name = "removed-trainer-attribute"
    message = "this Trainer attribute was removed"
    keywords = tuple(REMOVED_TRAINER_ATTRIBUTES)
    applies_from = (2, 0)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_start(self):
                    print(self.trainer.num_devices, self.trainer.sanity_checking)
            """
        ),
        Valid("class Job:\n    def run(self, config):\n        return config.num_gpus\n"),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_start(self):
                    print(self.trainer.num_gpus)
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_start(self):
                    print(self.trainer.num_devices)
            """,
            line=4,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            if trainer.use_amp:
                print("amp")
            """
        ),
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        entry = REMOVED_TRAINER_ATTRIBUTES.get(node.attr.value)
        if entry is None or not self.ctx.is_trainer_expr(node.value):
            return
        replacement, rename = entry
        fix = None
        if rename is not None:
            new = node.with_changes(attr=cst.Name(rename.split(".")[0]))
            for part in rename.split(".")[1:]:
                new = cst.Attribute(new, cst.Name(part))
            fix = self.fix(SAFE, f"Use `.{rename}`", {node: new})
        self.report(node, f"`trainer.{node.attr.value}` was removed; use {replacement}", fix)
