"""``pl-convert verify`` end to end: a plain MNIST loop against a hand-written Lightning version.

The pair below is written so that it must train bitwise the same (``num_sanity_val_steps=0``,
explicit ``max_epochs``, the scheduler stepped per batch); its deliberately wrong variants must
be reported as different. Training runs are marked ``slow`` (each is a few seconds on the
5,000-digit MNIST).
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from pl_convert.converter import ConversionResult, Reason, Status
from pl_convert.verify.command import verify

COMMON = textwrap.dedent(
    """
    import argparse
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3)
            self.fc1 = nn.Linear(8 * 13 * 13, 64)
            self.fc2 = nn.Linear(64, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv(x)), 2)
            return self.fc2(F.relu(self.fc1(x.flatten(1))))


    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_loader = DataLoader(datasets.MNIST("./data", train=True, download=True, transform=tf), batch_size=64, shuffle=True)
    test_loader = DataLoader(datasets.MNIST("./data", train=False, transform=tf), batch_size=500)
    """
)

PLAIN = COMMON + textwrap.dedent(
    """
    model = Net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
    for epoch in range(args.epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += (model(x.to(device)).argmax(1).cpu() == y).sum().item()
    print(f"test accuracy {100 * correct / len(test_loader.dataset):.2f}%")
    """
)

LIGHTNING = COMMON + textwrap.dedent(
    """
    import pytorch_lightning as pl


    class LitNet(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = Net()

        def forward(self, x):
            return self.model(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def on_test_epoch_start(self):
            self.correct = 0

        def test_step(self, batch, batch_idx):
            x, y = batch
            self.correct += (self(x).argmax(1) == y).sum().item()

        def on_test_epoch_end(self):
            # the accuracy the original prints, logged once: verify judges it against the original's
            self.log("test_acc", 100 * self.correct / len(test_loader.dataset))

        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=LR, momentum=0.9)
            SCHEDULER


    trainer = pl.Trainer(
        max_epochs=args.epochs, num_sanity_val_steps=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )
    model = LitNet()
    trainer.fit(model, train_loader)
    trainer.test(model, test_loader)
    print(f"test accuracy {trainer.callback_metrics['test_acc'].item():.2f}%")
    """
)
WITH_SCHEDULER = """scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}"""
WITHOUT_SCHEDULER = "return optimizer  # the conversion lost scheduler.step()"


def lightning(lr: str = "args.lr", scheduler: str = WITH_SCHEDULER) -> str:
    return LIGHTNING.replace("LR", lr).replace("SCHEDULER", scheduler)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    plain, lit = tmp_path / "train.py", tmp_path / "train_lit.py"
    plain.write_text(PLAIN, encoding="utf-8")
    lit.write_text(lightning(), encoding="utf-8")
    return plain, lit


def invoke(*args: str):
    return CliRunner().invoke(verify, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.slow
def test_plain_loop_and_lightning_train_bitwise_the_same(pair, mnist_root, tmp_path) -> None:
    plain, lit = pair
    json_path, report_path = tmp_path / "out" / "result.json", tmp_path / "parity.html"
    json_path.parent.mkdir()
    result = invoke(plain, lit, "--epochs", 1, "--data-root", mnist_root, "--json", json_path, "--report", report_path,
                    "--threads", 2)  # 2 torch threads per run: docs/parity.md says so
    assert result.exit_code == 0, result.output
    assert "EQUAL" in result.output
    assert "max |Δloss| per step: 0.0" in result.output
    # live progress, as plain lines (the output is not a terminal)
    assert re.search(r"^original: epoch 1 · \d+ steps · \d+ s / 600 s$", result.output, flags=re.M), result.output
    assert "printed lines compared: 1 of 1" in result.output

    data = json.loads(json_path.read_text())
    assert data["equal"] is True and data["device"] == "cpu" and data["max_abs_diff"] == 0.0
    assert data["steps"] == 63  # 4,000 digits / 64 per batch, one epoch: --epochs reached both
    a, b = data["original"], data["converted"]
    assert a["losses"] == b["losses"] and len(a["losses"]) == 63
    assert re.fullmatch(r"[0-9a-f]{64}", a["final_params_sha256"])
    assert a["final_params_sha256"] == b["final_params_sha256"]
    assert a["optimizer_steps"] == b["optimizer_steps"] == 63
    assert a["losses"][-1] < a["losses"][0] / 3  # it learned
    assert a["test_accuracy"] == b["test_accuracy"] and a["test_accuracy"] > 70
    assert b["logged_metrics"]["test_acc"] == pytest.approx(b["test_accuracy"], abs=1e-4)
    assert a["epochs"] == "--epochs 1" and a["args"] == ["--epochs", "1"]
    assert a["threads"] == b["threads"] == 2
    assert a["printed"][0][0].startswith("test accuracy ") and b["printed"] == a["printed"]
    assert data["first_diff_line"] is None
    assert [call["call"] for call in b["trainer_calls"]] == ["fit", "test"]
    assert b["trainer_calls"][1]["returned"][0]["test_acc"] == pytest.approx(b["test_accuracy"], abs=1e-4)
    assert b["lightning_backward"] == b["training_step_calls"] == 63
    assert data["environment"]["torch"] and data["environment"]["pytorch_lightning"]

    html = report_path.read_text()
    assert "EQUAL" in html and "identical at every step" in html
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        ElementTree.fromstring(svg)  # well-formed
    assert "pytorch_lightning" in html and "<script" not in html


@pytest.mark.slow
def test_dropped_scheduler_step_is_reported_as_different(pair, mnist_root, tmp_path) -> None:
    plain, _ = pair
    wrong = tmp_path / "wrong.py"
    wrong.write_text(lightning(scheduler=WITHOUT_SCHEDULER), encoding="utf-8")
    json_path = tmp_path / "r.json"
    result = invoke(plain, wrong, "--epochs", 1, "--data-root", mnist_root, "--json", json_path)
    assert result.exit_code == 1, result.output
    assert "DIFFERENT" in result.output
    data = json.loads(json_path.read_text())
    assert data["equal"] is False
    assert data["first_diff_step"] == 22  # StepLR(step_size=20) first changes the lr for step 21
    assert data["max_abs_diff"] > 0
    assert any("parameters differ" in r for r in data["reasons"])


@pytest.mark.slow
def test_changed_learning_rate_is_reported_as_different(pair, mnist_root, tmp_path) -> None:
    plain, _ = pair
    wrong = tmp_path / "wrong.py"
    wrong.write_text(lightning(lr="args.lr * 1.5"), encoding="utf-8")
    result = invoke(plain, wrong, "--epochs", 1, "--data-root", mnist_root)
    assert result.exit_code == 1, result.output
    assert "losses differ from step 2" in result.output


@pytest.mark.slow
def test_lightning_sanity_check_with_validation_changes_nothing(pair, mnist_root, tmp_path) -> None:
    plain, _ = pair
    with_validation = lightning().replace(
        "    def test_step(self, batch, batch_idx):",
        "    def validation_step(self, batch, batch_idx):\n"
        "        self.log(\"val_loss\", F.cross_entropy(self(batch[0]), batch[1]))\n\n"
        "    def test_step(self, batch, batch_idx):",
    )
    assert "num_sanity_val_steps=0, " in with_validation
    # Lightning 2.x runs the sanity check under isolate_rng(): measured here, not assumed
    sanity = tmp_path / "sanity.py"
    sanity.write_text(
        with_validation.replace("num_sanity_val_steps=0, ", "").replace(
            "trainer.fit(model, train_loader)", "trainer.fit(model, train_loader, test_loader)"
        ),
        encoding="utf-8",
    )
    json_path = tmp_path / "r.json"
    result = invoke(plain, sanity, "--epochs", 1, "--data-root", mnist_root, "--json", json_path)
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text())
    settings = data["converted"]["lightning"]
    assert settings["num_sanity_val_steps"] == 2 and settings["validation_batches"] == 2  # it did run
    assert data["max_abs_diff"] == 0.0 and data["digest_equal"]
    assert data["converted"]["logged_metrics"]["val_loss"] > 0


@pytest.mark.slow
def test_one_script_is_converted_in_memory(pair, mnist_root, monkeypatch, tmp_path) -> None:
    plain, _ = pair
    seen = {}

    def fake_convert(source, options=None, path=None):
        seen["source"], seen["path"] = source, path
        return ConversionResult(Status.CONVERTED, source, output=lightning())

    monkeypatch.setattr("pl_convert.converter.convert_source", fake_convert)
    kept, report = tmp_path / "out" / "kept.py", tmp_path / "out" / "parity.html"
    kept.parent.mkdir()
    result = invoke(plain, "--epochs", 1, "--data-root", mnist_root, "--json", "-", "--save-converted", kept, "--report", report)
    assert result.exit_code == 0, result.output
    assert seen["source"] == PLAIN and seen["path"] == str(plain)
    data = json.loads(result.stdout)
    assert data["equal"] is True
    assert data["converted"]["script"].endswith("train_lightning.py")
    assert not (plain.parent / "train_lightning.py").exists()  # nothing written beside the script
    assert kept.read_text() == lightning()  # what was verified, where asked
    assert (tmp_path / "out" / "parity.converted.py").read_text() == lightning()  # and beside the report
    html = report.read_text()
    assert "<h2>The conversion</h2>" in html and '<span class="add">+    def training_step(self, batch, batch_idx):</span>' in html
    assert 'href="parity.converted.py"' in html


def test_not_convertible_script_exits_2_with_the_reasons(tmp_path, monkeypatch) -> None:
    script = tmp_path / "train.py"
    script.write_text("x = 1\n", encoding="utf-8")

    def refuse(source, options=None, path=None):
        return ConversionResult(Status.NOT_CONVERTIBLE, source, reasons=[Reason(12, "gradient surgery on .grad")])

    monkeypatch.setattr("pl_convert.converter.convert_source", refuse)
    result = invoke(script)
    assert result.exit_code == 2
    assert "cannot verify a conversion" in result.output
    assert f"{script}:12: gradient surgery on .grad" in result.output
    assert "Traceback" not in result.output


def test_script_without_a_training_loop_exits_2(tmp_path) -> None:
    script = tmp_path / "hello.py"
    script.write_text("print('hello')\n", encoding="utf-8")
    result = invoke(script)
    assert result.exit_code == 2
    assert "no training loop" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "no such file"),
        (["."], "is a directory"),
        (["a.py", "b.py", "--compare-devices"], "give one script"),
        (["a.py", "--compare-devices", "--rtol", "0.1"], "drop --rtol"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(args, message, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n", encoding="utf-8")
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_crashing_script_exits_2_with_its_stderr_and_arguments_reach_both(tmp_path, mnist_root) -> None:
    ok = tmp_path / "ok.py"
    ok.write_text(
        "import sys, torch\nassert sys.argv[1:] == ['--name', 'v'], sys.argv\n"
        "p = torch.nn.Parameter(torch.ones(2))\nopt = torch.optim.SGD([p], lr=0.1)\n"
        "(p ** 2).sum().backward()\nopt.step()\n",
        encoding="utf-8",
    )
    crash = tmp_path / "crash.py"
    crash.write_text("import sys\nassert sys.argv[1:] == ['--name', 'v']\n1 / 0\n", encoding="utf-8")
    json_path = tmp_path / "r.json"
    result = invoke(ok, crash, "--data-root", mnist_root, "--json", json_path, "--", "--name", "v")
    assert result.exit_code == 2, result.output
    assert "converted failed to run: ZeroDivisionError: division by zero" in result.output
    assert 'crash.py", line 3' in result.output  # the script's stderr tail
    assert "FAILED" in result.output
    data = json.loads(json_path.read_text())
    assert data["verdict"] == "failed" and data["equal"] is False
    assert data["original"]["failure"] is None and data["original"]["losses"] == [2.0]
    assert "ZeroDivisionError" in data["converted"]["stderr_tail"]


@pytest.mark.cuda
@pytest.mark.slow
def test_cpu_and_gpu_runs_of_one_script_agree_within_tolerance(pair, mnist_root, tmp_path) -> None:
    plain, _ = pair
    json_path = tmp_path / "r.json"
    result = invoke(plain, "--compare-devices", "--epochs", 1, "--data-root", mnist_root, "--json", json_path)
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text())
    assert data["original"]["device"] == "cpu" and data["converted"]["device"].startswith("cuda")
    assert data["steps"] == 20 and data["max_rel_diff"] <= 1e-3
    assert abs(data["accuracy_diff"]) <= 1.0


@pytest.mark.cuda
@pytest.mark.slow
def test_plain_and_lightning_are_bitwise_equal_on_gpu(pair, mnist_root, tmp_path) -> None:
    plain, lit = pair
    json_path = tmp_path / "r.json"
    result = invoke(plain, lit, "--device", "cuda", "--epochs", 1, "--data-root", mnist_root, "--json", json_path)
    assert result.exit_code == 0, result.output
    data = json.loads(json_path.read_text())
    assert data["converted"]["device"].startswith("cuda") and data["max_abs_diff"] == 0.0


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


@pytest.mark.skipif(_has_cuda(), reason="this machine has a GPU")
@pytest.mark.parametrize("flags", [["--device", "cuda"], ["--compare-devices"]])
def test_gpu_runs_without_a_gpu_exit_2_with_a_clear_message(flags, tmp_path, mnist_root) -> None:
    script = tmp_path / "a.py"
    script.write_text("import torch\n", encoding="utf-8")
    args = [script, script] if flags[0] == "--device" else [script]
    result = invoke(*args, *flags, "--data-root", mnist_root)
    assert result.exit_code == 2, result.output
    assert "CUDA requested but not available" in result.output
    assert "Traceback" not in result.output
