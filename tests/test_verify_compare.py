"""The comparison rules of ``pl-convert verify``, on hand-made run records (no training)."""

from __future__ import annotations

import math

import pytest

from pl_convert.verify.compare import Tolerance, compare_runs
from pl_convert.verify.record import RunRecord

LOSSES = [2.3025850929940455, 1.9, 1.2000000476837158, 0.8, 0.51]


def record(losses=LOSSES, digest="abc", **kwargs) -> RunRecord:
    defaults = {"optimizer_steps": len(losses), "params_l2": 10.0, "device": "cpu"}
    defaults.update(kwargs)
    return RunRecord(losses=list(losses), final_params_sha256=digest, **defaults)


def test_identical_runs_are_equal_with_zero_difference() -> None:
    result = compare_runs(record(), record())
    assert result.equal
    assert result.max_abs_diff == 0.0
    assert result.first_diff_step is None
    assert result.steps_compared == len(LOSSES)
    assert result.digest_equal
    assert result.reasons == []


def test_one_ulp_in_one_step_is_a_difference() -> None:
    losses = list(LOSSES)
    losses[3] = math.nextafter(losses[3], 1.0)
    result = compare_runs(record(), record(losses))
    assert not result.equal
    assert result.first_diff_step == 4
    assert 0 < result.max_abs_diff < 1e-15
    assert any("step 4" in r for r in result.reasons)


def test_different_parameter_digest_is_a_difference_even_with_equal_losses() -> None:
    result = compare_runs(record(digest="abc"), record(digest="abd"))
    assert not result.equal
    assert result.max_abs_diff == 0.0
    assert any("parameters differ" in r for r in result.reasons)


def test_missing_digest_is_never_equal() -> None:
    assert not compare_runs(record(digest=None), record(digest=None)).equal


def test_extra_steps_are_a_difference() -> None:
    result = compare_runs(record(), record(LOSSES + [0.4]))
    assert not result.equal
    assert result.steps_compared == len(LOSSES)
    assert any("number of training steps" in r for r in result.reasons)


def test_no_training_at_all_is_not_equal() -> None:
    result = compare_runs(record([]), record([]))
    assert not result.equal
    assert any("nothing was trained" in r for r in result.reasons)


def test_nan_in_the_same_step_of_both_counts_as_equal() -> None:
    losses = LOSSES[:2] + [float("nan")]
    result = compare_runs(record(losses), record(losses))
    assert result.equal
    assert result.max_abs_diff == 0.0


def test_nan_against_a_number_is_a_difference() -> None:
    result = compare_runs(record(LOSSES[:3]), record(LOSSES[:2] + [float("nan")]))
    assert not result.equal
    assert result.first_diff_step == 3


def test_tolerance_mode_accepts_small_drift_and_reports_digests() -> None:
    drifted = [v * (1 + 1e-7) for v in LOSSES]
    tol = Tolerance.relative(1e-5, reason="a reason")
    result = compare_runs(record(), record(drifted, digest="other", params_l2=10.0 + 1e-6), tol)
    assert result.equal, result.reasons
    assert result.max_abs_diff > 0
    assert any("digests differ" in n for n in result.notes)
    assert "a reason" in result.rule


def test_tolerance_mode_rejects_large_drift_and_far_parameters() -> None:
    tol = Tolerance.relative(1e-5)
    drifted = [v * 1.01 for v in LOSSES]
    assert not compare_runs(record(), record(drifted), tol).equal
    far = compare_runs(record(), record(digest="other", params_l2=11.0), tol)
    assert not far.equal
    assert any("L2" in r for r in far.reasons)


def test_devices_rule_uses_first_20_steps_and_accuracy() -> None:
    a = [1.0 + i for i in range(30)]
    b = [v * (1 + 5e-4) for v in a[:20]] + [v * 2 for v in a[20:]]  # late drift is not judged
    tol = Tolerance.devices()
    result = compare_runs(record(a, test_accuracy=90.0), record(b, digest="x", test_accuracy=90.9), tol)
    assert result.equal, result.reasons
    assert result.steps_compared == 20
    off = compare_runs(record(a, test_accuracy=90.0), record(b, digest="x", test_accuracy=88.5), tol)
    assert not off.equal
    assert any("accuracy" in r for r in off.reasons)
    early = [a[0] * 1.01] + a[1:]
    assert not compare_runs(record(a, test_accuracy=90.0), record(early, test_accuracy=90.0), tol).equal


def test_devices_rule_without_accuracy_says_so() -> None:
    result = compare_runs(record(), record(digest="x"), Tolerance.devices())
    assert result.equal
    assert any("not measured" in n for n in result.notes)


@pytest.mark.parametrize(
    ("field", "value", "note"),
    [("optimizer_steps", 99, "optimizer steps differ"), ("device", "cuda:0", "different devices")],
)
def test_other_differences_are_reported(field, value, note) -> None:
    result = compare_runs(record(), record(**{field: value}))
    assert any(note in n for n in result.notes)


LIGHTNING_SETTINGS = {
    "num_sanity_val_steps": 2,
    "validation_batches": 4,
    "max_epochs": 1000,
    "accumulate_grad_batches": 4,
    "schedulers": [{"name": "StepLR", "interval": "epoch", "frequency": 1}],
    "test_ckpt_path": "/tmp/x/epoch=0.ckpt",
}


def test_lightning_defaults_are_named_when_runs_differ() -> None:
    result = compare_runs(record(), record(LOSSES[:3], digest="x", lightning=LIGHTNING_SETTINGS))
    assert not result.equal
    text = "\n".join(result.notes)
    for expected in ("max_epochs is 1000", "divides the training_step loss by 4",
                     "interval='step'", "trainer.test() loaded the checkpoint /tmp/x/epoch=0.ckpt"):
        assert expected in text


def test_equal_runs_get_only_the_checkpoint_note() -> None:
    result = compare_runs(record(), record(lightning=LIGHTNING_SETTINGS))
    assert result.equal
    assert len(result.notes) == 1 and "loaded the checkpoint" in result.notes[0]
    quiet = {**LIGHTNING_SETTINGS, "num_sanity_val_steps": 0, "test_ckpt_path": None}
    assert compare_runs(record(), record(lightning=quiet)).notes == []
