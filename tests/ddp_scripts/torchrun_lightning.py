"""torchrun_original.py written by hand with Lightning, run under torchrun too (Lightning reads
the launcher's environment: devices=LOCAL_WORLD_SIZE)."""
import os

import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

EPOCHS = 2


def make_data():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(64, 4, generator=generator)
    return TensorDataset(x, x.sum(1, keepdim=True))


class LitLinear(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.model(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def main():
    torch.manual_seed(1)
    loader = DataLoader(make_data(), batch_size=4)
    trainer = pl.Trainer(
        max_epochs=EPOCHS, accelerator="cpu", devices=int(os.environ["LOCAL_WORLD_SIZE"]),
        strategy=pl.strategies.DDPStrategy(process_group_backend="gloo"),
        enable_checkpointing=False, logger=False, enable_progress_bar=False, enable_model_summary=False,
    )
    trainer.fit(LitLinear(), train_dataloaders=loader)


if __name__ == "__main__":
    main()
