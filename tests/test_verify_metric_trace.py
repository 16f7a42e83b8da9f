"""The converter's map of logged metrics, and the tracer that reads their values in the original."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pl_convert.converter import LoggedMetric, convert_source
from pl_convert.verify.metric_trace import MetricTracer, scalar

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SCRIPT = textwrap.dedent(
    """\
    def evaluate(batches):
        total = 0
        for b in batches:
            total += b
        mean = sum(x for x in batches) / len(batches)
        return total

    best = 0
    for epoch in range(3):
        for step in range(2):
            pass
        val = evaluate([epoch, 1, 2])
        best = max(best, val)
    final = evaluate([10, 20])
    """
)


def run_traced(metrics: list[dict], path: str = "/virtual/script.py") -> list[dict]:
    tracer = MetricTracer(path, metrics, step=lambda: 0)
    code = compile(SCRIPT, path, "exec")
    tracer.install()
    try:
        exec(code, {"__name__": "__main__"})
    finally:
        tracer.uninstall()
    return tracer.records


def metric(key, expression, start, end, called_from=None) -> dict:
    return {"key": key, "expression": expression, "start_line": start, "end_line": end, "called_from": called_from}


def values(records, key):
    return [r["value"] for r in records if r["key"] == key]


def test_values_are_read_when_execution_leaves_the_lines_once_per_epoch() -> None:
    records = run_traced([
        metric("val_total", "total", 2, 5, called_from=[12, 12]),  # only the call from line 12
        metric("val_best", "best", 12, 13),
        metric("test_total", "total", 2, 5, called_from=[14, 14]),
        metric("val_mean", "mean", 2, 5, called_from=[12, 12]),
    ])
    assert values(records, "val_total") == [3.0, 4.0, 5.0]
    assert values(records, "val_best") == [3.0, 4.0, 5.0]
    assert values(records, "test_total") == [30.0]
    assert values(records, "val_mean") == [1.0, 4 / 3, 5 / 3]  # the generator's frame is not the span's
    assert all(r["error"] is None for r in records)


def test_an_expression_that_cannot_be_read_is_recorded_as_an_error() -> None:
    records = run_traced([metric("val_x", "undefined_name", 12, 13)])
    assert len(records) == 3 and records[0]["value"] is None and "NameError" in records[0]["error"]


def test_other_files_are_not_traced() -> None:
    assert run_traced([metric("val_best", "best", 12, 13)], path="/virtual/other.py") != []
    tracer = MetricTracer("/virtual/script.py", [metric("val_best", "best", 12, 13)], step=lambda: 0)
    tracer.install()
    try:
        exec(compile(SCRIPT, "/virtual/not_the_script.py", "exec"), {})
    finally:
        tracer.uninstall()
    assert tracer.records == []


def test_scalar_reads_numbers_and_one_element_tensors() -> None:
    import torch

    assert scalar(3) == (3.0, None) and scalar(True) == (1.0, None)
    assert scalar(torch.tensor([2.5])) == (2.5, None)
    assert scalar(torch.tensor(7)) == (7.0, None)
    value, error = scalar(torch.ones(3))
    assert value is None and "3 elements" in error
    assert scalar("text")[1] == "not a number: str"


def test_the_converter_says_where_the_original_computes_each_logged_metric() -> None:
    source = (FIXTURES / "checkpoint_best" / "original.py").read_text(encoding="utf-8")
    result = convert_source(source)
    by_key = {m.key: m for m in result.metrics}
    assert set(by_key) == {"val_best_acc", "val_acc", "test_acc"}
    lines = source.splitlines()
    # the test accuracy is what accuracy() returns, which validation and test both call: the
    # expression is in the function's own terms, and the call site tells the two apart
    test = by_key["test_acc"]
    assert test.expression == "correct / len(loader.dataset)"
    assert lines[test.start_line - 1].strip() == "model.eval()"
    assert "test_acc = accuracy(model, test_loader)" in lines[test.called_from[0] - 1]
    # val_acc and best_acc are set in the epoch loop, after the call, in the script's own scope
    for key in ("val_acc", "val_best_acc"):
        m = by_key[key]
        assert m.called_from is None and "val_acc = accuracy(model, val_loader)" in lines[m.start_line - 1]
        assert "saved new best model" in lines[m.end_line - 1]
    assert isinstance(test, LoggedMetric)
    for m in result.metrics:  # every logged key is in the output
        assert f'self.log("{m.key}"' in result.output
