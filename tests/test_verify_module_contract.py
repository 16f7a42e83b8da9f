"""Issue 14's "done when": every automatic fixture's conversion is a LightningModule a team can
keep. Each fixture's original is converted (in memory, by today's converter) and its module is
trained for a short two-process CPU DDP fit (``strategy="ddp"``, 2 ranks, 2 batches each, one
epoch, checkpointing on), then checked: it pickles and unpickles to the same parameters, and
``load_from_checkpoint`` of its last checkpoint rebuilds it with the same parameter digest.

Fixtures whose conversion still defines the class inside a function are marked
``xfail(strict=True)``: when the converter moves the class to module level they pass, the strict
mark turns that into a failure, and the mark is removed.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest

from pl_convert.verify import parity_table
from pl_convert.verify.case_settings import case_processes
from pl_convert.verify.session import Script, VerifyOptions, run_one

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: a short fit: one epoch of two batches per rank, no sanity check, a checkpoint at its end
SHORT_FIT = {"max_epochs": 1, "max_steps": -1, "limit_train_batches": 2, "limit_val_batches": 1,
             "limit_test_batches": 1, "num_sanity_val_steps": 0, "enable_checkpointing": True}
#: conversions that still define the LightningModule inside a function (moved by the converter's
#: module-level work, issue 14 point 1): pickle and load_from_checkpoint are skipped for them
CLASS_INSIDE_A_FUNCTION = {
    "accumulation_last_batch", "checkpoint_best", "clip_grad_norm", "custom_trainer_class", "ddp_rank0_checkpoint",
    "ddp_spawn", "ddp_torchrun", "function_style", "grad_clipping", "mixed_precision", "seeded_everything",
    "tensorboard_logging", "train_one_epoch", "train_step_function",
}


def _cases() -> list:
    params = []
    for case in parity_table.pairs(FIXTURES):
        marks = []
        if case.name in CLASS_INSIDE_A_FUNCTION:
            marks.append(pytest.mark.xfail(strict=True, reason="the conversion defines the LightningModule inside "
                                                               "a function: not picklable, not importable"))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def convert(case: Path) -> Script:
    from pl_convert.converter import Status, convert_source

    original = case / "original.py"
    result = convert_source(original.read_text(encoding="utf-8"), path=str(original))
    assert result.status is Status.CONVERTED, [r.message for r in result.reasons]
    return Script("converted", original.with_name("train_lightning.py"), result.output)


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases())
def test_the_converted_module_pickles_loads_and_fits_on_two_processes(case: Path, mnist_root: Path) -> None:
    _, launcher = case_processes(case)
    options = VerifyOptions(data_root=mnist_root, timeout=300, devices=2, launcher=launcher,
                            trainer_overrides=SHORT_FIT)
    with tempfile.TemporaryDirectory(prefix="pl-convert-contract-") as workdir:
        outcome = run_one(convert(case), options, Path(workdir))
    assert outcome.ok, f"{outcome.failure()}\n{outcome.stderr_tail}"
    # the two-process DDP fit ran to the end on both ranks
    assert sorted(outcome.ranks) == [0, 1], outcome.stderr_tail
    for rank, record in outcome.ranks.items():
        assert record.losses and all(math.isfinite(v) for v in record.losses), (rank, record.losses)
        assert record.lightning["world_size"] == 2
    checks = {c["name"]: c for c in outcome.record.module_checks}
    assert checks["pickle"]["status"] == "passed", checks["pickle"]
    assert checks["load_from_checkpoint"]["status"] == "passed", checks["load_from_checkpoint"]
