"""The checks on a trained LightningModule (pl_convert.verify.module_checks), run by the runner.

Each script below trains a tiny LightningModule for a few steps under the runner; the record
says for ``pickle`` and ``load_from_checkpoint`` whether it passed, failed, or was skipped and
why: a check that cannot apply is never reported as a pass.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pl_convert.verify.compare import Comparison
from pl_convert.verify.record import RunRecord
from pl_convert.verify.session import judge_module_checks

HEADER = '''
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

data = DataLoader(TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8)
'''

MODULE = '''
class Lit(pl.LightningModule):
    def __init__(self, lr={init_default}):
        super().__init__()
        self.save_hyperparameters({saved})
        self.layer = torch.nn.Linear(4, 1)
        {extra}

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)
'''

FIT = '''
trainer = pl.Trainer(max_epochs=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                     enable_checkpointing={checkpointing})
trainer.fit({make}, data)
'''


def script(init_default="0.1", saved="", extra="pass", checkpointing=True, inside_function=False) -> str:
    module = MODULE.format(init_default=init_default, saved=saved, extra=extra)
    if inside_function:
        body = module + FIT.format(checkpointing=checkpointing, make="Lit(0.1)")
        return HEADER + "\n\ndef main():\n" + textwrap.indent(body, "    ") + "\n\nmain()\n"
    return HEADER + module + FIT.format(checkpointing=checkpointing, make="Lit(0.1)")


def run(tmp_path: Path, source: str, *extra: str) -> RunRecord:
    path = tmp_path / "train.py"
    path.write_text(source, encoding="utf-8")
    record = tmp_path / "record.json"
    command = [sys.executable, "-m", "pl_convert.verify.runner", "--source", str(path), "--path", str(path),
               "--record", str(record), *extra]  # one runner per process, as verify runs it
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return RunRecord.read(record)


def checks(record: RunRecord) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["status"], c["detail"]) for c in record.module_checks}


@pytest.mark.slow
def test_a_module_level_class_with_its_hyperparameters_passes_both(tmp_path: Path) -> None:
    record = run(tmp_path, script(saved=""))
    found = checks(record)
    assert found["pickle"][0] == "passed", found
    assert found["load_from_checkpoint"][0] == "passed", found
    assert "Lit.load_from_checkpoint" in found["load_from_checkpoint"][1]


@pytest.mark.slow
def test_a_class_inside_main_is_skipped_with_the_reason(tmp_path: Path) -> None:
    found = checks(run(tmp_path, script(inside_function=True)))
    assert found["pickle"] == ("skipped", "Lit is defined inside main(): pickle needs a class importable at module level")
    assert found["load_from_checkpoint"][0] == "skipped" and "defined inside main()" in found["load_from_checkpoint"][1]


@pytest.mark.slow
def test_checkpointing_off_and_unrecorded_arguments_are_skipped_and_an_unpicklable_module_fails(tmp_path: Path) -> None:
    found = checks(run(tmp_path, script(checkpointing=False, extra="self.scale = lambda v: v")))
    assert found["pickle"][0] == "failed" and "lambda" in found["pickle"][1]
    assert found["load_from_checkpoint"] == ("skipped", "checkpointing is disabled (enable_checkpointing=False)")
    # a required constructor argument that save_hyperparameters() ignored cannot come back
    found = checks(run(tmp_path, script(init_default="", saved='ignore=["lr"]').replace("lr=)", "lr)")))
    assert found["pickle"][0] == "passed"
    assert found["load_from_checkpoint"][0] == "skipped"
    assert "Lit.__init__ needs lr, which save_hyperparameters() did not record" in found["load_from_checkpoint"][1]


PASSED_IN = '''
class Lit(pl.LightningModule):
    """A module that takes its model.

    ``Lit.load_from_checkpoint(path, {documented})`` needs it again.
    """

    def __init__(self, layer, lr=0.1):
        super().__init__()
        self.save_hyperparameters(ignore=["layer"])
        self.net = layer

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
'''


@pytest.mark.slow
def test_arguments_the_docstring_names_are_passed_a_model_with_its_weights_zeroed(tmp_path: Path) -> None:
    body = HEADER + PASSED_IN + FIT.format(checkpointing=True, make="Lit(torch.nn.Linear(4, 1))")
    found = checks(run(tmp_path, body.replace("{documented}", "layer=...")))
    assert found["load_from_checkpoint"][0] == "passed", found
    assert "Lit.load_from_checkpoint(last checkpoint, layer=<a copy, weights zeroed>)" in found["load_from_checkpoint"][1]
    # a docstring that names other arguments than the constructor needs is wrong: a failure
    found = checks(run(tmp_path, body.replace("{documented}", "model=..., criterion=...")))
    assert found["load_from_checkpoint"][0] == "failed", found
    assert "names load_from_checkpoint(path, model=..., criterion=...) but __init__ needs layer" in found["load_from_checkpoint"][1]


def test_a_passed_model_is_a_zeroed_copy_and_other_objects_are_the_runs_own() -> None:
    import torch

    from pl_convert.verify.module_checks import _arguments_for

    class Holder(torch.nn.Module):
        def __init__(self, model, args) -> None:
            super().__init__()
            self.model_ = model
            self.args = args

    trained = Holder(torch.nn.Linear(3, 2), {"lr": 0.1})
    torch.nn.init.constant_(trained.model_.weight, 0.5)
    arguments, described = _arguments_for(trained, ["model", "args"])
    assert described == ["model=<a copy, weights zeroed>", "args=<the run's dict>"]
    assert arguments["model"] is not trained.model_ and float(arguments["model"].weight.detach().abs().sum()) == 0.0
    assert float(trained.model_.weight.detach().sum()) == 3.0  # the trained module is untouched
    assert arguments["args"] is trained.args


@pytest.mark.slow
def test_no_module_checks(tmp_path: Path) -> None:
    assert run(tmp_path, script(), "--no-module-checks").module_checks == []


def comparison() -> Comparison:
    return Comparison(True, "exact", "", 1, 1, 1, 0.0, 0.0, None)


class _Outcome:
    def __init__(self, checks: list[dict]) -> None:
        self.record = RunRecord(module_checks=checks)
        self.script = type("S", (), {"label": "converted"})()


def test_a_failed_check_is_a_difference_and_a_skipped_one_a_note() -> None:
    c = comparison()
    judge_module_checks([_Outcome([{"name": "pickle", "status": "failed", "detail": "PicklingError: x"},
                                   {"name": "load_from_checkpoint", "status": "skipped", "detail": "why"}])], c)
    assert not c.equal
    assert c.reasons == ["converted: pickle failed: PicklingError: x"]
    assert c.notes == ["converted: load_from_checkpoint skipped: why"]
    off = comparison()
    judge_module_checks([_Outcome([])], off, enabled=False)
    assert off.equal and "--no-module-checks" in off.notes[0]
