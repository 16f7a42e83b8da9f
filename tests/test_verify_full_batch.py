"""A full-batch loop (one step per epoch, the shape of graph-network scripts such as
pytorch/examples' gcn) whose step function scores the model every step (``model.eval()`` in a
helper) and is called with expression arguments (``train_iter(epoch + 1, ..., (features, labels))``).

Before: the expression arguments were refused, and with plain variables the conversion dropped
the step's ``model.train()``: Lightning does not switch back to train mode between steps, so
dropout was off from the second step on (measured: losses differ from step 2, max |Δ| 0.244).
Now it converts and trains bitwise the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.verify.command import verify

SCRIPT = '''\
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=30)
args = parser.parse_args()
torch.manual_seed(0)
features, labels = torch.randn(200, 16), torch.randint(0, 3, (200,))
idx_train, idx_val = torch.arange(0, 150), torch.arange(150, 200)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(16, 32), nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), 0.5, self.training))


def evaluate(model, inputs, mask):
    model.eval()
    with torch.no_grad():
        out = model(inputs[0])[mask]
        return F.cross_entropy(out, labels[mask]).item()


def train_iter(epoch, model, optimizer, inputs, mask):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(inputs[0])[mask], labels[mask])
    loss.backward()
    optimizer.step()
    val = evaluate(model, inputs, idx_val)
    if epoch % 10 == 0:
        print(f"epoch {epoch}: loss {loss.item():.4f} val {val:.4f}")


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(args.epochs):
    train_iter(epoch + 1, model, optimizer, (features, labels), idx_train)
print("final", evaluate(model, (features, labels), idx_val))
'''


@pytest.mark.slow
def test_full_batch_step_that_evaluates_trains_bitwise_the_same(tmp_path: Path) -> None:
    script = tmp_path / "full_batch.py"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "result.json"
    result = CliRunner().invoke(verify, [str(script), "--json", str(out), "--data-root", str(tmp_path / "data")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["verdict"] == "equal" and data["max_abs_diff"] == 0.0 and data["digest_equal"]
    assert data["steps"] == 30 and data["lines_compared"] == 4
    assert data["converted"]["lightning_backward"] == 30
