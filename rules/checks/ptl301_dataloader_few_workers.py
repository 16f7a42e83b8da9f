"""PTL301: a DataLoader feeding a Trainer with num_workers missing, 0 or 1 (off by default)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, has_star_args, keyword, literal
from ..rule import Invalid, Valid
from ._trainer_loaders import TrainerLoaderRule


class DataloaderFewWorkers(TrainerLoaderRule):
    """
    ## What it does
    Flags a `DataLoader` that feeds a Trainer (returned from a `*_dataloader` hook or passed
    to `trainer.fit/validate/test/predict`) with `num_workers` missing, `0` or `1`.

    ## Why is this bad?
    With fewer than two workers, batches are loaded in the training process between steps and
    the accelerator waits. Lightning's own check (2.1+) warns "does not have many workers which
    may be a bottleneck" when `num_workers < 2` and the machine has at least three CPUs per
    device; `lightning.pytorch.utilities.suggested_max_num_workers(devices)` gives the value it
    suggests. Add `persistent_workers=True` so workers survive between epochs.

    This rule is **off by default** (PTL3xx, performance): Lightning already warns at run
    time, knowing the CPU count, which a static tool does not; small in-memory datasets,
    debugging and platforms that spawn workers (Windows, macOS) have good reasons for 0.
    Enable it with `--select PTL301` or `select = ["PTL1", "PTL2", "PTL3"]`.

    There is no automatic fix: workers need a picklable dataset and a `__main__` guard.
    """

    code = "PTL301"
    name = "dataloader-few-workers"
    message = "DataLoader feeding the Trainer with fewer than 2 workers may starve the accelerator"
    keywords = ("DataLoader",)

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            class Data(pl.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_ds, batch_size=64, num_workers=4, persistent_workers=True)
            """
        ),
        Valid(
            """
            from torch.utils.data import DataLoader
            loader = DataLoader(ds, batch_size=64)
            for batch in loader:
                pass
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)
            trainer = pl.Trainer(max_epochs=1)
            trainer.fit(model, train_loader)
            """,
            line=3,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            import torch.utils.data as tud
            class Data(pl.LightningDataModule):
                def val_dataloader(self):
                    return tud.DataLoader(self.val_ds, batch_size=64, num_workers=1)
            """
        ),
    ]

    def check_loader(self, call: cst.Call) -> None:
        if has_star_args(call):
            return
        arg = keyword(call, "num_workers")
        if arg is None:
            self.report(call, "DataLoader feeding the Trainer has no `num_workers` (0: loading blocks training); consider `num_workers=suggested_max_num_workers(devices)`")
            return
        value = literal(arg.value)
        if value is not UNKNOWN and isinstance(value, int) and value < 2:
            self.report(arg, f"`num_workers={value}` in a DataLoader feeding the Trainer may be a bottleneck (Lightning warns below 2)")
