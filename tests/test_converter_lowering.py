"""Mixed precision, gradient accumulation, seeding, TensorBoard and checkpoints (issue 5).

Each lowering either applies completely (and the converted script trains the same: the
``trains_the_same`` tests run both on the CPU) or the loop stays in manual optimization with
the exact reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pl_convert.converter import Status, convert_source

HEADER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
X = torch.randn(70, 4)
y = torch.randint(0, 2, (70,))
loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)
"""

AMP_CUDA = """\
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = nn.Linear(4, 2).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = torch.cuda.amp.GradScaler()
for epoch in range(2):
    for x, t in loader:
        x, t = x.to(device), t.to(device)
        optimizer.zero_grad()
        with torch.cuda.amp.autocast():
            loss = F.cross_entropy(model(x), t)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
"""


def convert(body: str):
    source = HEADER + textwrap.dedent(body)
    return source, convert_source(source)


def converted(body: str) -> str:
    _, result = convert(body)
    assert result.status is Status.CONVERTED, [r.message for r in result.reasons]
    compile(result.output, "<converted>", "exec")
    assert convert_source(result.output).status is Status.ALREADY_LIGHTNING
    return result.output


def manual_reason(body: str) -> str:
    _, result = convert(body)
    assert result.status is Status.CONVERTED, [r.message for r in result.reasons]
    assert "self.automatic_optimization = False" in result.output
    return result.notes[0].message


# --- mixed precision ------------------------------------------------------------------------
def test_cuda_autocast_and_grad_scaler_become_16_mixed_on_gpu_runs() -> None:
    out = converted(AMP_CUDA)
    assert 'precision="16-mixed" if torch.cuda.is_available() else "32-true"' in out  # cuda autocast is a no-op on the CPU
    assert "scaler" not in out  # the GradScaler and its calls are Lightning's job now
    assert "autocast" not in out
    assert "self.automatic_optimization" not in out
    assert "loss = F.cross_entropy(self.model(x), t)\n" in out and "return loss" in out


def test_enabled_flag_and_explicit_dtype() -> None:
    body = AMP_CUDA.replace("scaler = torch.cuda.amp.GradScaler()", "use_amp = True\nscaler = torch.amp.GradScaler(\"cuda\", enabled=use_amp)").replace(
        "torch.cuda.amp.autocast()", 'torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp)'
    )
    out = converted(body)
    assert 'precision=("16-mixed" if torch.cuda.is_available() else "32-true") if use_amp else "32-true"' in out


def test_bf16_autocast_on_the_cpu_needs_no_scaler() -> None:
    body = AMP_CUDA.replace('device = torch.device("cuda" if torch.cuda.is_available() else "cpu")', 'device = torch.device("cpu")')
    body = body.replace("scaler = torch.cuda.amp.GradScaler()\n", "").replace("torch.cuda.amp.autocast()", 'torch.autocast("cpu", dtype=torch.bfloat16)')
    body = body.replace("scaler.scale(loss).backward()", "loss.backward()").replace("scaler.step(optimizer)", "optimizer.step()").replace("        scaler.update()\n", "")
    out = converted(body)
    assert 'precision="bf16-mixed"' in out and 'accelerator="cpu"' in out


@pytest.mark.parametrize(
    "change, reason",
    [
        (("torch.cuda.amp.GradScaler()", "torch.cuda.amp.GradScaler(init_scale=1024.0)"), "the GradScaler is created with `init_scale=1024.0`"),
        (("scaler.update()\n", "scaler.update()\n        print(scaler.get_scale())\n"), "uses the GradScaler 'scaler' in a way"),
        (("for epoch in range(2):", "torch.save(scaler.state_dict(), 'scaler.pt')\nfor epoch in range(2):"), "is used outside the training loop"),
        (("        scaler.update()\n", ""), "scaler.update() is not called exactly once per batch"),
    ],
)
def test_scalers_lightning_cannot_reproduce_keep_the_loop(change, reason) -> None:
    body = AMP_CUDA.replace(*change)
    _, result = convert(body)
    assert result.status is Status.CONVERTED
    assert "self.automatic_optimization = False" in result.output
    assert reason in result.notes[0].message
    assert "scaler.step(optimizer)" in result.output  # the loop's own scaler calls stay


def test_float16_autocast_without_a_scaler_stays_manual() -> None:
    body = AMP_CUDA.replace("scaler = torch.cuda.amp.GradScaler()\n", "")
    body = body.replace("scaler.scale(loss).backward()", "loss.backward()").replace("scaler.step(optimizer)", "optimizer.step()").replace("        scaler.update()\n", "")
    _, result = convert(body)
    # no scaler: the loop is canonical, but Lightning's 16-mixed would add loss scaling
    assert result.status is Status.CONVERTED
    assert "precision=" not in result.output
    assert "with torch.cuda.amp.autocast():" in result.output


def test_evaluation_under_autocast() -> None:
    body = AMP_CUDA + textwrap.dedent(
        """\
        correct = 0
        with torch.no_grad(), torch.cuda.amp.autocast():
            for x, t in loader:
                x, t = x.to(device), t.to(device)
                correct += (model(x).argmax(1) == t).sum().item()
        """
    )
    out = converted(body)
    test_step = out[out.index("def test_step"):out.index("def configure_optimizers")]
    assert "autocast" not in test_step  # Lightning's precision applies to test_step too
    manual = body.replace("torch.cuda.amp.GradScaler()", "torch.cuda.amp.GradScaler(growth_interval=10)")
    out = converted(manual)
    test_step = out[out.index("def test_step"):out.index("def configure_optimizers")]
    assert "with torch.cuda.amp.autocast():\n            correct +=" in test_step  # kept where Lightning does not autocast


# --- gradient accumulation -------------------------------------------------------------------
ACCUMULATION = """\
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
accum = 3
for epoch in range(2):
    for i, (x, t) in enumerate(loader):
        loss = F.cross_entropy(model(x), t)
        loss = loss / accum
        loss.backward()
        if (i + 1) % accum == 0 or (i + 1) == len(loader):
            optimizer.step()
            optimizer.zero_grad()
"""


def test_accumulation_with_last_group_step_becomes_accumulate_grad_batches() -> None:
    out = converted(ACCUMULATION)
    assert "accumulate_grad_batches=accum" in out
    assert "loss_for_step = loss\n        loss = loss / accum\n" in out  # the script's division stays for its own use
    assert "return loss_for_step" in out  # Lightning divides the undivided loss by accum itself
    assert "optimizer.step()" not in out and "if (i + 1) % accum" not in out


def test_backward_on_the_divided_expression() -> None:
    body = ACCUMULATION.replace("        loss = loss / accum\n        loss.backward()\n", "        (loss / accum).backward()\n")
    out = converted(body)
    assert "accumulate_grad_batches=accum" in out and "return loss\n" in out


@pytest.mark.parametrize(
    "change, reason",
    [
        (("        loss = loss / accum\n", ""), "does not divide the loss by accum"),
        ((" or (i + 1) == len(loader)", ""), "does not step on the last, incomplete group of accum batches"),
        (("            optimizer.zero_grad()\n", "            optimizer.zero_grad()\n            print('step')\n"), "also runs `print('step')` once every accum batches"),
    ],
)
def test_accumulation_lightning_would_change_stays_manual(change, reason) -> None:
    assert reason in manual_reason(ACCUMULATION.replace(*change))


def test_bookkeeping_between_backward_and_step_stays_automatic() -> None:
    body = ACCUMULATION.replace("        loss.backward()\n", "        loss.backward()\n        total = loss.item()\n")
    out = converted(body)
    assert "accumulate_grad_batches=accum" in out and "total = loss.item()" in out


# --- seeding, TensorBoard, checkpoints --------------------------------------------------------
SIMPLE = """\
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for x, t in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        optimizer.step()
"""


def test_seeding_every_generator_with_one_seed_becomes_seed_everything() -> None:
    out = converted("import random\nimport numpy as np\nSEED = 3\nrandom.seed(SEED)\nnp.random.seed(SEED)\ntorch.manual_seed(SEED)\ntorch.cuda.manual_seed_all(SEED)\n" + SIMPLE)
    assert "pl.seed_everything(SEED)\n" in out
    assert "np.random.seed" not in out and "random.seed(SEED)" not in out.replace("seed_everything", "")


@pytest.mark.parametrize(
    "seeding",
    ["torch.manual_seed(3)\n", "import random\nimport numpy as np\nrandom.seed(1)\nnp.random.seed(2)\ntorch.manual_seed(3)\n"],
)
def test_partial_or_mixed_seeding_is_left_alone(seeding: str) -> None:
    out = converted(seeding + SIMPLE)
    assert "seed_everything" not in out and seeding.splitlines()[-1] in out


def test_summary_writer_scalars_become_self_log_in_the_same_directory() -> None:
    body = "from torch.utils.tensorboard import SummaryWriter\nwriter = SummaryWriter('runs/exp1')\nstep = 0\n" + SIMPLE.replace(
        "        optimizer.step()\n", "        optimizer.step()\n        step += 1\n        writer.add_scalar('train/loss', loss.item(), step)\n"
    )
    out = converted(body)
    assert "self.log('train/loss', loss.item())" in out
    assert "add_scalar" not in out
    assert 'logger=pl.loggers.TensorBoardLogger(\'runs/exp1\', name="", version="")' in out
    assert "log_every_n_steps=1" in out


def test_saving_the_model_every_epoch_is_kept_with_a_review_note() -> None:
    body = SIMPLE + "    torch.save(model.state_dict(), 'last.pt')\n"
    _, result = convert(body)
    assert "torch.save(self.model.state_dict(), 'last.pt')" in result.output
    assert any("ModelCheckpoint" in n.message and "`model.` prefix" in n.message for n in result.notes)
    assert "# pl-convert: review — the script saves its own checkpoints" in result.output


# --- trains the same ------------------------------------------------------------------------
RECORD = """
import hashlib as _h
_digest = _h.sha256(b"".join(p.detach().double().numpy().tobytes() for p in model.parameters())).hexdigest()
print("DIGEST", _digest)
"""


def _digest(source: str, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_text(source + RECORD, encoding="utf-8")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("DIGEST"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(ACCUMULATION, id="accumulation"),
        pytest.param(
            AMP_CUDA.replace('torch.device("cuda" if torch.cuda.is_available() else "cpu")', 'torch.device("cpu")')
            .replace("torch.cuda.amp.GradScaler()", 'torch.amp.GradScaler("cuda", enabled=False)')
            .replace("torch.cuda.amp.autocast()", 'torch.autocast(device_type=device.type, dtype=torch.bfloat16)'),
            id="bf16-autocast",
        ),
    ],
)
def test_lowered_loops_train_the_same(body: str, tmp_path: Path) -> None:
    source, result = convert(body)
    assert result.status is Status.CONVERTED and "self.automatic_optimization" not in result.output
    assert _digest(source, tmp_path, "original.py") == _digest(result.output, tmp_path, "converted.py")


FUNCTION_STYLE = """\
def train(model, loader, optimizer, scaler, device, accum_steps=2):
    model.train()
    total = 0.0
    for step, (x, t) in enumerate(loader):
        x, t = x.to(device), t.to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), t) / accum_steps
        scaler.scale(loss).backward()
        total += loss.item()
        if (step + 1) % accum_steps == 0 or step + 1 == len(loader):
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()
    return total


def main():
    device = torch.device("cpu")
    model = nn.Linear(4, 2).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    scaler = torch.cuda.amp.GradScaler(enabled=False)
    for epoch in range(3):
        print(epoch, train(model, loader, optimizer, scaler, device))


main()
"""


def test_lowering_inside_a_train_function_called_within_an_expression() -> None:
    out = converted(FUNCTION_STYLE)
    # Trainer arguments are written in the caller's terms (accum_steps is train()'s parameter)
    assert 'precision="bf16-mixed",\n        accumulate_grad_batches=2,\n    )' in out  # black-wrapped
    assert "def train(model" not in out and "scaler" not in out
    # print(epoch, train(...)) reads the function's result after the epoch
    end = out[out.index("def on_train_epoch_end"):out.index("def configure_optimizers")]
    assert "train_result = self.total" in end and "print(self.current_epoch, train_result)" in end


@pytest.mark.slow
def test_lowering_inside_a_train_function_trains_the_same(tmp_path: Path) -> None:
    source, result = convert(FUNCTION_STYLE)
    assert "self.automatic_optimization" not in result.output
    assert _digest(source.replace("\nmain()\n", "\nmodel = main()\n").replace("        print(epoch, train(model, loader, optimizer, scaler, device))\n", "        print(epoch, train(model, loader, optimizer, scaler, device))\n    return model\n"), tmp_path, "original.py") == _digest(
        result.output.replace("\nmain()\n", "\nmodel = main()\n").replace("    trainer.fit(lit_model, train_dataloaders=loader)\n", "    trainer.fit(lit_model, train_dataloaders=loader)\n    return model\n"), tmp_path, "converted.py"
    )
