"""PTL303: a worker DataLoader feeding a Trainer without persistent_workers (off by default)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, keyword, kwarg, literal, with_args
from ..findings import UNSAFE
from ..rule import Invalid, Valid
from ._trainer_loaders import TrainerLoaderRule


class DataloaderWithoutPersistentWorkers(TrainerLoaderRule):
    """
    ## What it does
    Flags a DataLoader that feeds a Trainer with a literal `num_workers > 0` and no
    `persistent_workers=`.

    ## Why is this bad?
    Without persistent workers, every epoch (and every validation run inside an epoch) starts
    all worker processes again. Where workers are spawned (Windows, macOS, `ddp_spawn`),
    Lightning warns "Consider setting `persistent_workers=True` ... to speed up the dataloader
    worker initialization".

    This rule is off by default (PTL3xx, performance). Enable it with `--select PTL303`.

    ## Fix safety
    The fix adds `persistent_workers=True`. It is unsafe: workers then hold their memory for
    the whole run, and datasets that change between epochs are not re-read by them.
    """

    code = "PTL303"
    name = "dataloader-without-persistent-workers"
    message = "DataLoader with workers but without `persistent_workers=True` restarts them every epoch"
    keywords = ("num_workers",)
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            class Data(pl.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_ds, num_workers=4, persistent_workers=True)
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            class Data(pl.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_ds, batch_size=32, num_workers=4)
            """,
            fixed="""
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            class Data(pl.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_ds, batch_size=32, num_workers=4, persistent_workers=True)
            """,
            line=5,
        )
    ]

    def check_loader(self, call: cst.Call) -> None:
        workers = keyword(call, "num_workers")
        if workers is None or keyword(call, "persistent_workers") is not None:
            return
        value = literal(workers.value)
        if value is UNKNOWN or not isinstance(value, int) or value < 1:
            return
        fix = self.fix(UNSAFE, "Add persistent_workers=True", {call: with_args(call, append=[kwarg("persistent_workers", "True")])})
        self.report(call, fix=fix)
