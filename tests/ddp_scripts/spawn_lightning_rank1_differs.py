"""spawn_lightning.py with a bug on rank 1 only: its loss is scaled at step 3 (a negative control)."""
import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

EPOCHS = 2
WORLD_SIZE = 2
#: tests/test_verify_nproc.py's negative control sets this to 1: that rank's loss changes at step 3
DIFFERENT_RANK = 1


def make_data():
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(96, 8, generator=generator)
    y = x @ torch.randn(8, 1, generator=generator) + 0.1 * torch.randn(96, 1, generator=generator)
    return TensorDataset(x, y)


class LitRegression(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self.model(x), y)
        if self.global_rank == DIFFERENT_RANK and self.global_step == 2:
            loss = loss * 1.5
        return loss

    def on_train_epoch_end(self):
        if self.global_rank == 0:
            print(f"epoch {self.current_epoch} loss {self.trainer.callback_metrics}")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def run(world_size):
    torch.manual_seed(0)
    loader = DataLoader(make_data(), batch_size=8)
    trainer = pl.Trainer(
        max_epochs=EPOCHS, accelerator="cpu", devices=world_size,
        strategy=pl.strategies.DDPStrategy(process_group_backend="gloo"),
        enable_checkpointing=False, logger=False, enable_progress_bar=False, enable_model_summary=False,
    )
    trainer.fit(LitRegression(), train_dataloaders=loader)


if __name__ == "__main__":
    run(WORLD_SIZE)
