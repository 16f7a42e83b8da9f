"""PTL301: a DataLoader feeding a Trainer with num_workers missing or 0 (on by default)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, has_star_args, keyword, literal
from ..rule import Invalid, Valid
from ._trainer_loaders import TrainerLoaderRule


class DataloaderFewWorkers(TrainerLoaderRule):
    """
    ## What it does
    Flags a `DataLoader` that feeds a Trainer (returned from a `*_dataloader` hook or passed
    to `trainer.fit/validate/test/predict`) with `num_workers` missing or `0`.

    ## Why is this bad?
    With no worker processes, every batch is loaded and transformed in the training process,
    between steps, and the accelerator waits for it: the most common reason a Lightning run is
    slower than it should be. Lightning itself warns at run time ("does not have many
    workers which may be a bottleneck"); this rule says it before the run, wherever the code
    runs. Any `num_workers > 0` moves loading into the background; a good value is about the
    CPU cores per device (`lightning.pytorch.utilities.suggested_max_num_workers(devices)`
    computes it), with `persistent_workers=True` so the workers survive between epochs.

    This rule is on by default, the only one of the PTL3xx (performance) group. Keep `0` where
    it is right, and say so: a tiny in-memory dataset, a debugging run, a dataset that cannot be
    pickled (`# noqa: PTL301` on the line). `pl-convert` does not change `num_workers` when it
    converts a script: workers change how random augmentations are seeded, so the converted
    run would no longer train on the same numbers as the original.

    There is no automatic fix: workers need a picklable dataset and a `__main__` guard.
    """

    code = "PTL301"
    name = "dataloader-few-workers"
    message = "DataLoader feeding the Trainer loads batches in the training process (no `num_workers`)"
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
        Valid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            loader = DataLoader(ds, batch_size=64, num_workers=args.workers)
            pl.Trainer(max_epochs=1).fit(model, loader)
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
                    return tud.DataLoader(self.val_ds, batch_size=64, num_workers=0)
            """
        ),
    ]

    def check_loader(self, call: cst.Call) -> None:
        if has_star_args(call):
            return
        arg = keyword(call, "num_workers")
        if arg is None:
            self.report(call, "DataLoader feeding the Trainer has no `num_workers`: batches load in the training process while the accelerator waits; set `num_workers` > 0")
            return
        value = literal(arg.value)
        if value is not UNKNOWN and isinstance(value, int) and value == 0:
            self.report(arg, "`num_workers=0` in a DataLoader feeding the Trainer: batches load in the training process while the accelerator waits")
