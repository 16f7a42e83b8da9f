"""Code produced by the converter lints clean under the default selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from pl_convert.rules import LintConfig, lint_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = sorted(p for p in FIXTURES.glob("*/expected.py"))
ORIGINALS = sorted(p for p in FIXTURES.glob("*/original.py"))


def _describe(findings) -> str:
    return "\n".join(f"{f.line}:{f.column} {f.code} {f.message}" for f in findings)


@pytest.mark.skipif(not GOLDEN, reason="the converter has no golden fixtures yet")
@pytest.mark.parametrize("path", GOLDEN, ids=[p.parent.name for p in GOLDEN])
def test_converter_golden_output_lints_clean(path):
    findings = lint_source(path.read_text(encoding="utf-8"), str(path), LintConfig())
    assert findings == [], _describe(findings)


@pytest.mark.skipif(not ORIGINALS, reason="the converter has no fixtures yet")
@pytest.mark.parametrize("path", ORIGINALS, ids=[p.parent.name for p in ORIGINALS])
@pytest.mark.parametrize("style", ["pytorch_lightning", "lightning"])
def test_fresh_conversion_lints_clean(path, style):
    from pl_convert.converter import ConvertOptions, Status, convert_source

    result = convert_source(path.read_text(encoding="utf-8"), ConvertOptions(import_style=style), str(path))
    if result.status is not Status.CONVERTED:
        pytest.skip(f"not converted: {result.status.value}")
    findings = lint_source(result.output, str(path), LintConfig())
    assert findings == [], _describe(findings)


def test_converter_shaped_code_lints_clean():
    """The shape the converter emits (fixtures/lint/converter_style_output.py), in both styles."""
    text = (FIXTURES / "lint" / "converter_style_output.py").read_text(encoding="utf-8")
    assert lint_source(text, "out.py", LintConfig()) == []
    lightning = text.replace("import pytorch_lightning as pl", "import lightning as L").replace("pl.", "L.")
    assert lint_source(lightning, "out.py", LintConfig()) == []
