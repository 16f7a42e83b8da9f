"""benchmarks/bench_fuzz.py (the 10,000-program fuzz run is not in CI): its generators, its
checks, and docs/fuzz.md, which only the benchmark writes (``--write-doc``)."""

from __future__ import annotations

import ast
import importlib.util
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("bench_fuzz", REPO / "benchmarks" / "bench_fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fuzz"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_the_doc_is_what_the_benchmark_renders() -> None:
    text = bench.DOC.read_text(encoding="utf-8")
    summary = bench.summary_in_doc(text)
    assert summary is not None, "docs/fuzz.md has no summary: python benchmarks/bench_fuzz.py --write-doc"
    assert bench.render_doc(summary) == text, "docs/fuzz.md was edited by hand: rerun bench_fuzz.py --write-doc"
    assert text.startswith("# Fuzz benchmark\n\n" + bench.DOC_HEAD)
    figures = text[text.index(bench.FIGURES_START):text.index(bench.FIGURES_END)]
    for row in ("| crashes |", "| outputs failing compile() |", "| non-idempotent outputs |", "| wall time |"):
        assert row in figures
    assert sum(summary.per_kind.values()) == summary.examples == sum(summary.statuses.values())
    assert set(summary.per_kind) == set(bench.GENERATORS)


def test_renamed_loop_variables_take_the_converters_names() -> None:
    source = "for step, (x, y) in enumerate(loader):\n    loss = model(x)\n    loss.backward()\n"
    renamed = bench.rename_to_converter_names(source, random.Random(3))
    names = {n.id for n in ast.walk(ast.parse(renamed)) if isinstance(n, ast.Name)}
    assert names & set(bench.CONVERTER_NAMES) - {"loss", "model"}, renamed


def test_examples_are_reproducible_and_every_generator_runs() -> None:
    fixtures = bench.fixture_sources()
    programs = ["x = 1\nfor a in b:\n    print(a)\n"]
    for kind in bench.GENERATORS:
        first = bench.generate(kind, 7, 0, fixtures, programs)
        assert first == bench.generate(kind, 7, 0, fixtures, programs)
        ast.parse(first)
    assert bench.generate("mutated", 7, 0, fixtures, programs) != bench.generate("mutated", 7, 1, fixtures, programs)


def test_a_small_run_is_clean() -> None:
    outcomes = bench.run_chunk((0, 8, 0, None))
    assert [o["kind"] for o in outcomes] == list(bench.GENERATORS) * 2
    assert [o for o in outcomes if o["failure"]] == []
    summary = bench.summarise(outcomes, 1, 1.0)
    assert summary.clean and summary.examples == 8


@pytest.mark.parametrize(
    ("output", "again", "failure"),
    [("def f(:\n", None, "compile"), ("x = 1\n", "CONVERTED", "not-idempotent"), ("x = 1\n", "ALREADY_LIGHTNING", None)],
)
def test_the_checks_catch_what_they_count(monkeypatch: pytest.MonkeyPatch, output: str, again: str | None, failure) -> None:
    from pl_convert import converter
    from pl_convert.converter import Status

    calls = []

    def fake(source, options=None, path=None):
        calls.append(source)
        if len(calls) == 1:
            return SimpleNamespace(status=Status.CONVERTED, output=output, reasons=[])
        status = Status[again]
        return SimpleNamespace(status=status, output="y = 2\n" if status is Status.CONVERTED else None, reasons=[])

    monkeypatch.setattr(converter, "convert_source", fake)
    from pl_convert.rules.config import LintConfig

    status, found, _ = bench.check("import torch\n", "pytorch_lightning", LintConfig(select=("ALL",)))
    assert found == failure


def test_a_crash_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    from pl_convert import converter
    from pl_convert.rules.config import LintConfig

    def boom(source, options=None, path=None):
        raise RuntimeError("bug")

    monkeypatch.setattr(converter, "convert_source", boom)
    assert bench.check("x = 1\n", "lightning", LintConfig()) == ("", "crash", "convert: RuntimeError: bug")
