"""Negative controls: verify must catch evaluation code that a conversion got wrong.

Each control converts a fixture's original with the converter (a real conversion, not a
hand-written file), breaks the conversion the way a converter bug would, and runs
``pl-convert verify original.py broken.py``: it must exit 1 and name the first differing
printed line and/or logged metric. Training-side controls (a dropped ``scheduler.step()``, a
changed learning rate) are in tests/test_verify_cli.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.converter import Status, convert_source
from pl_convert.verify.command import verify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: function_style's own --dry-run: one training batch per epoch (the evaluation still runs in full)
DRY_RUN = ("--dry-run",)


def broken_conversion(tmp_path: Path, case: str, old: str, new: str, regex: bool = False) -> tuple[Path, Path]:
    """``case``'s original and its conversion with ``old`` replaced by ``new`` (exactly once)."""
    source = (FIXTURES / case / "original.py").read_text(encoding="utf-8")
    result = convert_source(source, path=str(FIXTURES / case / "original.py"))
    assert result.status is Status.CONVERTED
    if regex:
        broken, count = re.subn(old, new, result.output, flags=re.MULTILINE)
    else:
        broken, count = result.output.replace(old, new), result.output.count(old)
    assert count == 1, f"the control's edit must apply exactly once ({count} matches): the conversion changed?"
    original, converted = tmp_path / "original.py", tmp_path / "original_lightning.py"
    original.write_text(source, encoding="utf-8")
    converted.write_text(broken, encoding="utf-8")
    return original, converted


def run_verify(original: Path, converted: Path, mnist_root: Path, tmp_path: Path, *script_args: str) -> tuple[dict, str]:
    json_path = tmp_path / "result.json"
    args = [str(original), str(converted), "--data-root", str(mnist_root), "--json", str(json_path)]
    result = CliRunner().invoke(verify, args + (["--", *script_args] if script_args else []), catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "DIFFERENT" in result.output
    return json.loads(json_path.read_text(encoding="utf-8")), result.output


def assert_training_unchanged(data: dict) -> None:
    assert data["max_abs_diff"] == 0.0 and data["digest_equal"], data["reasons"]


@pytest.mark.slow
def test_argmin_instead_of_argmax_in_the_evaluation(tmp_path, mnist_root) -> None:
    original, converted = broken_conversion(
        tmp_path, "function_style", "pred = output.argmax(dim=1, keepdim=True)", "pred = output.argmin(dim=1, keepdim=True)"
    )
    data, output = run_verify(original, converted, mnist_root, tmp_path, *DRY_RUN)
    assert_training_unchanged(data)
    line = data["first_diff_line"]
    assert line["original"].startswith("Test set: Average loss") and line["original"] != line["converted"]
    assert data["first_diff_metric"]["key"] == "val_acc" and data["first_diff_metric"]["occurrence"] == 1
    assert "printed lines differ from line" in output and "logged val_acc differs at occurrence 1" in output


@pytest.mark.slow
def test_accumulator_not_reset_each_epoch(tmp_path, mnist_root) -> None:
    original, converted = broken_conversion(
        tmp_path, "checkpoint_best",
        "def on_validation_epoch_start(self):\n        self.correct = 0",
        "def on_fit_start(self):\n        self.correct = 0",
    )
    data, output = run_verify(original, converted, mnist_root, tmp_path)
    assert data["first_diff_metric"]["occurrence"] == 2  # epoch 1 is right, epoch 2 counts both epochs
    assert data["first_diff_line"]["original"].startswith("Epoch 2/2")
    # val_acc = correct / len(dataset): the second epoch's count includes the first's
    acc = next(m for m in data["metrics"] if m["key"] == "val_acc")
    assert not acc["equal"] and acc["original"][0] == acc["converted"][0]
    assert acc["converted"][1] == pytest.approx(acc["converted"][0] + acc["original"][1], rel=1e-6)
    assert "logged val_acc differs at occurrence 2" in output


@pytest.mark.slow
def test_loss_divided_by_the_number_of_batches(tmp_path, mnist_root) -> None:
    original, converted = broken_conversion(
        tmp_path, "function_style", "self.test_loss /= len(self.trainer.val_dataloaders.dataset)",
        "self.test_loss /= len(self.trainer.val_dataloaders)"
    )
    data, output = run_verify(original, converted, mnist_root, tmp_path, *DRY_RUN)
    assert_training_unchanged(data)
    assert data["first_diff_line"]["original"].startswith("Test set: Average loss")
    assert data["first_diff_metric"]["key"] == "val_loss"
    assert "logged val_loss differs at occurrence 1" in output


@pytest.mark.slow
def test_validation_on_the_training_loader(tmp_path, mnist_root) -> None:
    original, converted = broken_conversion(
        tmp_path, "function_style", "val_dataloaders=test_loader", "val_dataloaders=train_loader"
    )
    data, output = run_verify(original, converted, mnist_root, tmp_path, *DRY_RUN)
    assert data["first_diff_line"]["original"].startswith("Test set: Average loss")
    assert data["first_diff_metric"]["key"] in ("val_loss", "val_acc")


@pytest.mark.slow
def test_a_dropped_print(tmp_path, mnist_root) -> None:
    original, converted = broken_conversion(
        tmp_path, "cnn_classifier", r"^(\s+)print\(f\"epoch \{self\.current_epoch \+ 1\}: val_loss=.*$", r"\1pass", regex=True
    )
    data, output = run_verify(original, converted, mnist_root, tmp_path)
    assert_training_unchanged(data)
    line = data["first_diff_line"]
    assert line["original"].startswith("epoch 1: val_loss=") and line["converted"] == "Finished Training"
    assert "printed lines differ from line" in output and "(20 vs 19 lines)" in output


@pytest.mark.slow
def test_a_wrong_logged_value_of_a_trainer_class(tmp_path, mnist_root) -> None:
    """A trainer class's evaluation is a ``@torch.no_grad()`` method called for validation and for
    the final test: each logged value is judged against the method's own expression, counted
    per call site (the decorator's wrapper frame between them does not hide the caller)."""
    original, converted = broken_conversion(
        tmp_path, "custom_trainer_class", 'self.log("test_acc", correct / n)', 'self.log("test_acc", correct / (n + 1))'
    )
    data, output = run_verify(original, converted, mnist_root, tmp_path)
    assert_training_unchanged(data)
    assert data["first_diff_line"] is None  # the printed lines are right: only the logged value is wrong
    assert data["first_diff_metric"]["key"] == "test_acc"
    assert "logged test_acc differs at occurrence 1" in output
    assert data["metric_keys"] == ["val_loss", "val_acc", "test_loss", "test_acc"]
