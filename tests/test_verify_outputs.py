"""Judging what the scripts report (printed lines, logged metrics), on hand-made records (no training)."""

from __future__ import annotations

import pytest

from pl_convert.verify.compare import Tolerance, compare_runs
from pl_convert.verify.metric_map import MetricMap
from pl_convert.verify.record import RunRecord

LOSSES = [2.3, 1.9, 1.2, 0.8]


def record(printed=(), computed=(), logged=(), trainer_calls=(), **kwargs) -> RunRecord:
    return RunRecord(
        losses=list(LOSSES), final_params_sha256="abc", optimizer_steps=4, params_l2=1.0, device="cpu",
        printed=[list(p) for p in printed], computed=list(computed), logged=list(logged),
        trainer_calls=list(trainer_calls), **kwargs,
    )


LINES = [("60000 10000", 0, "out"), ("[epoch 1, step 2] loss: 1.9", 2, "out"), ("epoch 1: val_acc=0.5780", 4, "out"), ("done", 4, "out")]
VAL_ACC = {"key": "val_acc", "expression": "correct / total", "start_line": 70, "end_line": 80, "called_from": None}
MAP = MetricMap([VAL_ACC], strict=True, how="test")


def computed(key, *values):
    return [{"key": key, "value": v, "step": 4, "error": None} for v in values]


def logged(key, *values, via="self.log"):
    return [{"key": key, "value": v, "step": 4, "via": via, "stage": "validate", "hook": "on_validation_epoch_end"} for v in values]


def test_identical_lines_and_metrics_are_equal_and_counted() -> None:
    a = record(LINES, computed("val_acc", 0.578, 0.61))
    b = record(LINES, logged=logged("val_acc", 0.578, 0.61))
    c = compare_runs(a, b, metric_map=MAP)
    assert c.equal, c.reasons
    assert c.lines_compared == 4 and c.lines_a == c.lines_b == 4
    assert c.metrics_compared == 2 and c.metric_keys == ["val_acc"]
    assert c.first_diff_line is None and c.first_diff_metric is None


def test_a_changed_line_is_named() -> None:
    changed = list(LINES)
    changed[2] = ("epoch 1: val_acc=0.0050", 4, "out")
    c = compare_runs(record(LINES), record(changed))
    assert not c.equal
    assert c.first_diff_line == {"line": 3, "original": "epoch 1: val_acc=0.5780", "converted": "epoch 1: val_acc=0.0050", "step": 4}
    assert any("printed lines differ from line 3" in r and "0.0050" in r for r in c.reasons)
    assert c.lines_compared == 2


def test_a_dropped_line_is_named() -> None:
    c = compare_runs(record(LINES), record(LINES[:2] + LINES[3:]))
    assert not c.equal
    assert c.first_diff_line["line"] == 3 and c.first_diff_line["original"] == "epoch 1: val_acc=0.5780"
    assert any("(4 vs 3 lines)" in r for r in c.reasons)


def test_lines_moved_by_hook_order_within_a_step_are_equal_with_a_note() -> None:
    # an epoch-start print that Lightning runs before the previous epoch's last print
    a = record([("a", 0, "out"), ("end of epoch 1", 4, "out"), ("start of epoch 2", 4, "out"), ("b", 5, "out")])
    b = record([("a", 0, "out"), ("start of epoch 2", 4, "out"), ("end of epoch 1", 3, "out"), ("b", 5, "out")])
    c = compare_runs(a, b)
    assert c.equal, c.reasons
    assert c.moved_lines and any("another order" in n for n in c.notes)


def test_lines_moved_across_steps_are_a_difference() -> None:
    a = record([("x", 0, "out"), ("y", 4, "out")])
    b = record([("y", 0, "out"), ("x", 4, "out")])
    assert not compare_runs(a, b).equal


@pytest.mark.parametrize(
    ("original", "converted", "message"),
    [
        ((0.578, 0.61), (0.578, 0.005), "logged val_acc differs at occurrence 2"),
        ((0.578, 0.61), (0.578,), "computed it 2 time(s), the converted run logged it 1 time(s)"),
        ((0.578,), (0.578, 1.156), "computed it 1 time(s), the converted run logged it 2 time(s)"),
    ],
)
def test_a_logged_metric_must_equal_what_the_original_computed(original, converted, message) -> None:
    c = compare_runs(record(computed=computed("val_acc", *original)), record(logged=logged("val_acc", *converted)), metric_map=MAP)
    assert not c.equal
    assert any(message in r for r in c.reasons), c.reasons
    assert c.first_diff_metric["key"] == "val_acc"


def test_a_metric_never_logged_is_a_difference_only_when_the_map_is_the_conversions() -> None:
    a = record(computed=computed("val_acc", 0.5))
    assert not compare_runs(a, record(), metric_map=MAP).equal
    loose = MetricMap([VAL_ACC], strict=False, how="other script")
    c = compare_runs(a, record(), metric_map=loose)
    assert c.equal and any("not judged" in n for n in c.notes)


def test_an_unreadable_original_value_is_reported_not_judged() -> None:
    a = record(computed=[{"key": "val_acc", "value": None, "step": 4, "error": "correct: NameError"}])
    c = compare_runs(a, record(logged=logged("val_acc", 0.5)), metric_map=MAP)
    assert c.equal and any("could not be read" in n for n in c.notes)


def test_add_scalar_tags_are_compared_with_self_log() -> None:
    a = record(logged=logged("train/loss", 1.0, 0.5, via="add_scalar"))
    assert compare_runs(a, record(logged=logged("train/loss", 1.0, 0.5))).equal
    different = compare_runs(a, record(logged=logged("train/loss", 1.0, 0.25)))
    assert not different.equal and different.first_diff_metric["key"] == "train/loss"


def test_what_trainer_test_returns_is_judged_with_float32_rounding() -> None:
    value = 0.1  # not a float32
    a = record(computed=computed("val_acc", value))
    returned = [{"call": "test", "returned": [{"val_acc": 0.10000000149011612}]}]  # float32(0.1)
    c = compare_runs(a, record(logged=logged("val_acc", value), trainer_calls=returned), metric_map=MAP)
    assert c.equal, c.reasons
    assert c.metrics_compared == 2
    wrong = [{"call": "test", "returned": [{"val_acc": 0.2}]}]
    c = compare_runs(a, record(logged=logged("val_acc", value), trainer_calls=wrong), metric_map=MAP)
    assert any("trainer.test() returned val_acc=0.2" in r for r in c.reasons)


def test_tolerance_compares_printed_numbers_and_metrics_within_it() -> None:
    a = record([("loss 1.00001", 1, "out")], computed("val_acc", 0.5))
    b = record([("loss 1.00002", 1, "out")], logged=logged("val_acc", 0.5 * (1 + 1e-7)))
    assert not compare_runs(a, b, metric_map=MAP).equal
    assert compare_runs(a, b, Tolerance.relative(1e-5), metric_map=MAP).equal
    far = record([("loss 1.5", 1, "out")], logged=logged("val_acc", 0.5))
    assert not compare_runs(a, far, Tolerance.relative(1e-5), metric_map=MAP).equal


def test_devices_mode_reports_outputs_without_judging() -> None:
    a = record(LINES)
    b = record(LINES[:1], test_accuracy=None)
    c = compare_runs(a, b, Tolerance.devices())
    assert c.equal and any("not judged on --compare-devices" in n for n in c.notes)
