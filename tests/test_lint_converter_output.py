"""Code produced by the converter lints clean under the default selection, except for PTL301.

PTL301 (a DataLoader feeding the Trainer without ``num_workers``) is on by default, and the
converter deliberately keeps the script's own DataLoaders as they are: workers change how random
augmentations are seeded, so a converted script with workers would no longer train on the same
numbers as the original (``pl-convert verify`` would fail), and the conversion report says so.
So converted output may carry PTL301, but only on a DataLoader call that was already in the
original script, line for line: the converter never writes a worker-less loader of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pl_convert.rules import LintConfig, lint_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = sorted(p for p in FIXTURES.glob("*/expected.py"))
ORIGINALS = sorted(p for p in FIXTURES.glob("*/original.py"))
KEPT_FROM_THE_SCRIPT = "PTL301"


def _describe(findings) -> str:
    return "\n".join(f"{f.line}:{f.column} {f.code} {f.message}" for f in findings)


def _assert_clean_but_the_scripts_own_loaders(output: str, original: str) -> None:
    findings = lint_source(output, "converted.py", LintConfig())
    assert [f for f in findings if f.code != KEPT_FROM_THE_SCRIPT] == [], _describe(findings)
    original_lines = {line.strip() for line in original.splitlines()}
    # the script's loaders, also where the conversion edited one (its DistributedSampler removed)
    loaders = {line.split("=")[0].strip() for line in original.splitlines() if "DataLoader(" in line and "=" in line}
    for finding in findings:
        line = output.splitlines()[finding.line - 1].strip()
        assert line in original_lines or line.split("=")[0].strip() in loaders, f"PTL301 on a loader the converter wrote: {line}"


@pytest.mark.skipif(not GOLDEN, reason="the converter has no golden fixtures yet")
@pytest.mark.parametrize("path", GOLDEN, ids=[p.parent.name for p in GOLDEN])
def test_converter_golden_output_lints_clean(path):
    original = (path.parent / "original.py").read_text(encoding="utf-8")
    _assert_clean_but_the_scripts_own_loaders(path.read_text(encoding="utf-8"), original)


@pytest.mark.skipif(not ORIGINALS, reason="the converter has no fixtures yet")
@pytest.mark.parametrize("path", ORIGINALS, ids=[p.parent.name for p in ORIGINALS])
@pytest.mark.parametrize("style", ["pytorch_lightning", "lightning"])
def test_fresh_conversion_lints_clean(path, style):
    from pl_convert.converter import ConvertOptions, Status, convert_source

    original = path.read_text(encoding="utf-8")
    result = convert_source(original, ConvertOptions(import_style=style), str(path))
    if result.status is not Status.CONVERTED:
        pytest.skip(f"not converted: {result.status.value}")
    _assert_clean_but_the_scripts_own_loaders(result.output, original)


def test_converted_scripts_with_workers_lint_clean():
    """A script whose loaders have workers converts to output with no finding at all."""
    from pl_convert.converter import ConvertOptions, Status, convert_source

    converted = 0
    for path in ORIGINALS:
        original = path.read_text(encoding="utf-8")
        if "DataLoader(" not in original:
            continue
        with_workers = original.replace("DataLoader(", "DataLoader(num_workers=2, persistent_workers=True, dataset=")
        if "dataset=dataset=" in with_workers or "dataset=datasets." in with_workers:
            continue
        result = convert_source(with_workers, ConvertOptions(), str(path))
        if result.status is not Status.CONVERTED:
            continue
        converted += 1
        findings = lint_source(result.output, "converted.py", LintConfig())
        assert findings == [], f"{path.parent.name}:\n{_describe(findings)}"
    assert converted >= 1


def test_converter_shaped_code_lints_clean():
    """The shape the converter emits (fixtures/lint/converter_style_output.py), in both styles:
    only the script's own worker-less loaders (PTL301) are reported."""
    text = (FIXTURES / "lint" / "converter_style_output.py").read_text(encoding="utf-8")
    assert {f.code for f in lint_source(text, "out.py", LintConfig())} == {KEPT_FROM_THE_SCRIPT}
    lightning = text.replace("import pytorch_lightning as pl", "import lightning as L").replace("pl.", "L.")
    assert {f.code for f in lint_source(lightning, "out.py", LintConfig())} == {KEPT_FROM_THE_SCRIPT}
