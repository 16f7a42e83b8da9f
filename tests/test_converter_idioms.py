"""The conversion idioms as plugins: found by the registry, documented, shown by fixtures, listed
by the CLI and in docs/conversions.md; and the converter's architecture (no import cycles, no
private names across modules, a cheap API knowledge module)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pl_convert.cli import main
from pl_convert.converter.docs import conversions_markdown, sections
from pl_convert.converter import Status, convert_source
from pl_convert.converter.idiom import SECTIONS, Example, Idiom
from pl_convert.converter.registry import all_idioms, idiom_by_name

ROOT = Path(__file__).resolve().parent.parent
IDIOMS = all_idioms()
STAGES = [name for name, value in vars(Idiom).items() if callable(value) and not name.startswith("_") and name not in ("documentation", "implements")]


@pytest.mark.parametrize("idiom", IDIOMS, ids=[i.name for i in IDIOMS])
def test_idiom_is_documented_and_shown_by_a_fixture(idiom: type[Idiom]) -> None:
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", idiom.name)
    assert idiom.title and "→" in idiom.title, "the title says what the pattern becomes"
    summary, found = sections(idiom)
    assert summary, "a one-paragraph summary of the pattern"
    assert list(found) == list(SECTIONS), f"docstring sections must be {SECTIONS}"
    assert all(found[s] for s in SECTIONS)
    assert idiom.fixtures, "at least one golden fixture pair shows the idiom"
    for case in idiom.fixtures:
        assert (ROOT / "fixtures" / case / "original.py").is_file(), case
        assert (ROOT / "fixtures" / case / "expected.py").is_file() or (ROOT / "fixtures" / case / "refused.txt").is_file(), case
    assert any(idiom.implements(stage) for stage in STAGES), "an idiom takes part in at least one stage"
    assert idiom.examples, "at least one example (it doubles as a test and shows in the docs)"


EXAMPLES = [pytest.param(idiom, example, id=f"{idiom.name}-{n}") for idiom in IDIOMS for n, example in enumerate(idiom.examples)]


@pytest.mark.parametrize(("idiom", "example"), EXAMPLES)
def test_idiom_example(idiom: type[Idiom], example: Example) -> None:
    result = convert_source(example.script)
    if example.refused:
        assert result.status is Status.NOT_CONVERTIBLE and example.refused in result.reasons[0].message, result.reasons
        return
    assert result.status is Status.CONVERTED, [r.message for r in result.reasons]
    compile(result.output, f"<{idiom.name} example>", "exec")
    converted = result.output.split("import pytorch_lightning as pl\n", 1)[1]  # the preamble's imports say nothing
    for text in example.after:
        assert text in converted, f"{text!r} not in:\n{converted}"
    for text in example.absent:
        assert text not in converted, f"{text!r} still in:\n{converted}"
    if example.note:
        assert any(example.note in note.message for note in result.notes), [n.message for n in result.notes]


def test_one_idiom_per_module_and_every_module_has_one() -> None:
    modules = sorted(p.stem for p in (ROOT / "converter" / "idioms").glob("*.py") if p.stem != "__init__")
    assert sorted(i.__module__.rsplit(".", 1)[-1] for i in IDIOMS) == modules


def test_lookup_by_name() -> None:
    assert idiom_by_name("gradient-clipping").name == "gradient-clipping"
    assert idiom_by_name("Gradient_Clipping").name == "gradient-clipping"
    assert idiom_by_name("nope") is None


def test_docs_conversions_md_is_current() -> None:
    path = ROOT / "docs" / "conversions.md"
    assert path.read_text(encoding="utf-8") == conversions_markdown(), "run: python -m pl_convert.converter.docs"


def test_cli_lists_and_shows_conversions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conversions", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed] == sorted(i.name for i in IDIOMS)
    assert main(["conversion", "gradient-clipping"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# `gradient-clipping`") and "## Becomes" in page and "clip_grad_norm" in page
    assert main(["conversion", "clipping"]) == 2
    assert "did you mean gradient-clipping" in capsys.readouterr().err


def _import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "benchmarks" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_has_no_import_cycles_nor_private_imports() -> None:
    graph = _import_graph()
    start, edges = graph.graph("converter")
    cycles = [g for g in graph.strongly_connected(list(edges), lambda n: [t for t, _, _ in edges.get(n, [])]) if len(g) > 1]
    assert cycles == []
    inside = [m for m in edges if m.startswith("pl_convert.converter")]
    private = [(m, t, n) for m in inside for t, _, names in edges[m] for n in names if n.startswith("_") and not n.startswith("__")]
    assert private == []
    local = [(m, t) for m in inside for t, is_local, _ in edges[m] if is_local]
    assert local == [("pl_convert.converter", "pl_convert.converter.pipeline")]  # the lazy import of convert_source


def test_api_knowledge_is_cheap_to_import() -> None:
    probe = "import sys, pl_convert.api_knowledge; print(sorted(m for m in ('libcst', 'torch', 'rich', 'click') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
