"""Golden fixture pairs: fixtures/<case>/original.py -> expected.py (or refused.txt).

Refresh the goldens with ``pytest tests/test_converter_golden.py --update-golden``; review the
diff before committing it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from pl_convert.converter import ConvertOptions, Status, convert_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(p.parent.name for p in FIXTURES.glob("*/original.py"))


def _refusal_text(result) -> str:
    return "".join(f"line {r.line}: {r.message}\n" for r in result.reasons)


@functools.lru_cache(maxsize=None)
def _convert(case: str):
    source = (FIXTURES / case / "original.py").read_text(encoding="utf-8")
    return source, convert_source(source, ConvertOptions(), path=f"fixtures/{case}/original.py")


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, update_golden: bool) -> None:
    source, result = _convert(case)
    expected_py = FIXTURES / case / "expected.py"
    refused_txt = FIXTURES / case / "refused.txt"
    if update_golden:
        if result.status is Status.CONVERTED:
            expected_py.write_text(result.output, encoding="utf-8")
            refused_txt.unlink(missing_ok=True)
        elif result.status is Status.NOT_CONVERTIBLE:
            refused_txt.write_text(_refusal_text(result), encoding="utf-8")
            expected_py.unlink(missing_ok=True)
        else:
            pytest.fail(f"{case}: unexpected status {result.status.value}")
    if refused_txt.exists():
        assert result.status is Status.NOT_CONVERTIBLE, f"{case} was expected to be refused"
        assert _refusal_text(result) == refused_txt.read_text(encoding="utf-8")
        assert result.output is None
        return
    assert expected_py.exists(), f"{case} has no expected.py (run pytest --update-golden)"
    assert result.status is Status.CONVERTED, [r.message for r in result.reasons]
    assert result.output == expected_py.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_expected_is_idempotent_and_compiles(case: str) -> None:
    expected_py = FIXTURES / case / "expected.py"
    if not expected_py.exists():
        pytest.skip("refused case")
    text = expected_py.read_text(encoding="utf-8")
    compile(text, str(expected_py), "exec")
    again = convert_source(text)
    assert again.status is Status.ALREADY_LIGHTNING
    assert again.output is None


@pytest.mark.parametrize("case", CASES)
def test_unchanged_lines_are_byte_identical(case: str) -> None:
    """Every line outside the changed spans appears in the output, in order."""
    source, result = _convert(case)
    if result.status is not Status.CONVERTED:
        pytest.skip("refused case")
    changed: set[int] = set()
    for change in result.changes:
        changed.update(range(change.start_line, change.end_line + 1))
    lines = source.splitlines()
    # statements removed with their own comment lines: tolerate comment/blank lines only
    kept = [
        line
        for number, line in enumerate(lines, 1)
        if number not in changed and line.strip() and not line.lstrip().startswith("#")
    ]
    output_lines = result.output.splitlines()
    position = 0
    for line in kept:
        assert line in output_lines[position:], f"{case}: unchanged line lost or reordered: {line!r}"
        position = output_lines.index(line, position) + 1


def test_lightning_import_style() -> None:
    source, result = _convert("feedforward_mnist")
    styled = convert_source(source, ConvertOptions(import_style="lightning"))
    assert styled.status is Status.CONVERTED
    assert "import lightning as L" in styled.output
    assert "L.LightningModule" in styled.output and "L.Trainer(" in styled.output
    assert "pytorch_lightning" not in styled.output


@pytest.mark.parametrize("case", CASES)
def test_converted_output_lints_clean(case: str) -> None:
    """What the converter writes passes the linter's default rules."""
    from pl_convert.rules import lint_source

    expected_py = FIXTURES / case / "expected.py"
    if not expected_py.exists():
        pytest.skip("refused case")
    text = expected_py.read_text(encoding="utf-8")
    findings = lint_source(text, path=str(expected_py))
    # PTL301 (on by default) may flag the script's own DataLoaders, which the converter keeps as
    # they are on purpose (workers reseed augmentations): only on lines of the original script
    # (a loader the conversion edited, e.g. its DistributedSampler removed, is still the script's own)
    original_lines = (FIXTURES / case / "original.py").read_text(encoding="utf-8").splitlines()
    original = {line.strip() for line in original_lines}
    loaders = {line.split("=")[0].strip() for line in original_lines if "DataLoader(" in line and "=" in line}
    lines = text.splitlines()
    findings = [f for f in findings if not (f.code == "PTL301" and (lines[f.line - 1].strip() in original or lines[f.line - 1].split("=")[0].strip() in loaders))]
    assert [f"{f.line}: {f.code} {f.message}" for f in findings] == []
