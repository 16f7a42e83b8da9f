"""Every converter fixture pair trains the same: ``fixtures/<case>/original.py`` vs ``expected.py``.

Cases are found by glob at collection time (test id = case name). Each pair trains at the case's
own epoch count (the 2-epoch cases exist to cross the epoch boundary) on the 5,000-digit MNIST on
CPU and must come out equal on training (bitwise, unless the case's ``verify.toml`` says
``bitwise = false`` with a reason), on the lines the scripts print and on every metric the
conversion logs. The converted run must really be Lightning training: ``Trainer.fit`` ran and
every step's backward came through ``LightningModule.backward`` from ``training_step``. Each run
also re-checks its row of docs/parity.md (verdict and counts), which keeps that page current.
A distributed case (``nproc`` in fixtures/cases.toml) runs on that many CPU processes, launched
the way the original launches itself, and must be equal rank by rank.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pl_convert.verify import parity_table
from pl_convert.verify.case_settings import CaseSettingsError, case_processes, load_case_settings
from pl_convert.verify.epochs import find_epoch_constant, find_epoch_option

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
PAIRS = parity_table.pairs(FIXTURES_DIR)
SETTINGS_FILES = sorted(FIXTURES_DIR.glob("*/verify.toml"))
DOC_ROWS = {row.case: row for row in parity_table.parse_rows(parity_table.DOC.read_text(encoding="utf-8"))}


def _cases() -> list:
    if not PAIRS:
        return [pytest.param(None, id="no-pairs", marks=pytest.mark.skip(reason="no fixture pairs yet"))]
    return [pytest.param(case, id=case.name) for case in PAIRS]


def _describe(result) -> str:
    data = result.to_dict()
    lines = [f"verdict: {data['verdict']}", *data["reasons"], *(f"note: {n}" for n in data["notes"])]
    for side in (result.a, result.b):
        if not side.ok:
            lines += [f"{side.script.label}: {side.failure()}", side.stderr_tail]
    return "\n".join(lines)


def own_epochs(original: Path) -> int:
    """The epoch count the original trains by default: its EPOCHS-like constant or --epochs default."""
    tree = ast.parse(original.read_text(encoding="utf-8"))
    constant = find_epoch_constant(tree)
    if constant is not None:
        return constant.value.value
    option = find_epoch_option(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(isinstance(a, ast.Constant) and a.value == option for a in node.args):
            return next(k.value.value for k in node.keywords if k.arg == "default")
    raise AssertionError(f"{original}: no epoch count found")


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases())
def test_fixture_pair_trains_the_same(case: Path, mnist_root: Path, tmp_path: Path) -> None:
    settings = load_case_settings(case)
    if settings.skip:
        pytest.skip(settings.skip)
    result = parity_table.verify_case(case, mnist_root, work_parent=tmp_path)
    assert result.exit_code == 0, _describe(result)
    if case_processes(case)[0]:
        check_ranks(case, result)
    else:
        check_one_process(case, settings, result)
    assert list(tmp_path.iterdir()) == []
    # docs/parity.md states this run's verdict and counts
    row = parity_table.row_of(case.name, result, 0.0)
    assert case.name in DOC_ROWS, f"{case.name} is missing from docs/parity.md: python -m pl_convert.verify.parity_table --write"
    assert DOC_ROWS[case.name].reproducible() == row.reproducible(), (
        "docs/parity.md is not current (python -m pl_convert.verify.parity_table --write)"
    )


def check_ranks(case: Path, result) -> None:
    """Every rank trained the same, bitwise, at the case's own epoch count, the conversion by Lightning."""
    nproc, _ = case_processes(case)
    comparison = result.comparison
    assert comparison.max_abs_diff == 0.0 and comparison.digest_equal
    assert [r["rank"] for r in comparison.ranks] == list(range(nproc))
    epochs = own_epochs(case / "original.py")
    for rank in range(nproc):
        original, converted = result.a.ranks[rank], result.b.ranks[rank]
        assert len(original.losses) == len(converted.losses) > 0
        assert original.epochs == converted.epochs == epochs, (rank, original.epochs, converted.epochs)
        assert converted.lightning_backward == len(converted.losses)
        assert converted.training_step_calls > 0
        assert original.lightning_backward == 0
        assert converted.lightning["world_size"] == original.lightning["world_size"] == nproc


def check_one_process(case: Path, settings, result) -> None:
    comparison, original, converted = result.comparison, result.a.record, result.b.record
    if settings.bitwise:
        assert comparison.max_abs_diff == 0.0
        assert comparison.digest_equal
    assert comparison.steps_compared > 0
    # a conversion, trained by Lightning, at the case's own epoch count
    epochs = own_epochs(case / "original.py")
    assert converted.epochs == epochs, (converted.epochs, epochs)
    if "DataLoader" in (case / "original.py").read_text(encoding="utf-8"):
        assert original.epochs == epochs, (original.epochs, epochs)
    else:  # batches by index arithmetic: no loader to count; the equal loss trace says it all
        assert original.epochs is None
    calls = [call["call"] for call in converted.trainer_calls]
    assert calls[:1] == ["fit"], calls
    assert converted.lightning_backward == len(converted.losses) > 0
    assert converted.training_step_calls > 0
    assert converted.lightning.get("max_epochs") == epochs
    # everything the conversion logs as an epoch metric was compared with the original's value
    assert result.metric_map.strict, "expected.py is not the converter's output (tests/test_converter_golden.py)"
    logged_keys = {m["key"] for m in result.metric_map.metrics}
    assert logged_keys <= set(comparison.metric_keys), logged_keys - set(comparison.metric_keys)
    assert comparison.lines_compared == comparison.lines_a > 0


def test_parity_page_lists_every_case_and_its_text_is_current() -> None:
    text = parity_table.DOC.read_text(encoding="utf-8")
    rows = parity_table.parse_rows(text)
    refused = parity_table.refused(FIXTURES_DIR)
    assert [r.case for r in rows] == sorted(c.name for c in PAIRS + refused)
    for case in refused:  # what the converter says about them today
        assert next(r for r in rows if r.case == case.name).verdict == parity_table.refused_row(case).verdict
    measured = re.search(r"Measured on (\S+) with (.+?); seed 0", text)
    assert measured, "docs/parity.md has no 'Measured on ... with ...' line"
    assert parity_table.render(rows, measured.group(2), measured.group(1)) == text, (
        "docs/parity.md is not what parity_table renders: python -m pl_convert.verify.parity_table --write"
    )


@pytest.mark.parametrize("path", [pytest.param(p, id=p.parent.name) for p in SETTINGS_FILES] or [None])
def test_verify_settings_are_valid(path: Path | None) -> None:
    if path is None:
        pytest.skip("no fixtures/<case>/verify.toml yet")
    load_case_settings(path.parent)  # raises CaseSettingsError with the file and the problem


# -- the settings file itself -----------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "verify.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_no_settings_file_means_bitwise(tmp_path: Path) -> None:
    settings = load_case_settings(tmp_path)
    assert settings.bitwise and settings.tolerance().mode == "exact"


def test_tolerance_with_a_reason(tmp_path: Path) -> None:
    settings = load_case_settings(write(tmp_path, 'bitwise = false\nreason = "AMP"\nrtol = 1e-4\n'))
    tolerance = settings.tolerance()
    assert tolerance.mode == "tolerance" and tolerance.rtol == 1e-4 and "AMP" in tolerance.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bitwise = false\n", "needs a reason"),
        ('bitwise = false\nreason = "  "\n', "needs a reason"),
        ("bitwse = false\n", "unknown keys"),
        ("skip = true\n", "skip must be the reason"),
        ("args = [1]\n", "args must be a list of strings"),
        ("bitwise = \n", "verify.toml"),
    ],
)
def test_bad_settings_are_refused_with_the_file_name(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CaseSettingsError, match=message) as info:
        load_case_settings(write(tmp_path, text))
    assert str(tmp_path) in str(info.value)
