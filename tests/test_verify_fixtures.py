"""Every converter fixture pair trains the same: ``fixtures/<case>/original.py`` vs ``expected.py``.

Cases are found by glob at collection time (test id = case name). Each pair trains one short
epoch on the 5,000-digit MNIST on CPU and must come out equal: bitwise, unless the case's
``verify.toml`` says ``bitwise = false`` with a reason (then within its tolerance).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pl_convert.verify.case_settings import CaseSettingsError, load_case_settings
from pl_convert.verify.scripts import read_script
from pl_convert.verify.session import VerifyOptions, verify_scripts

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
PAIRS = sorted(p.parent for p in FIXTURES_DIR.glob("*/expected.py") if (p.parent / "original.py").is_file())
SETTINGS_FILES = sorted(FIXTURES_DIR.glob("*/verify.toml"))


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


@pytest.mark.slow
@pytest.mark.parametrize("case", _cases())
def test_fixture_pair_trains_the_same(case: Path, mnist_root: Path, tmp_path: Path) -> None:
    settings = load_case_settings(case)
    if settings.skip:
        pytest.skip(settings.skip)
    original = read_script(case / "original.py", "original")
    converted = read_script(case / "expected.py", "converted")
    options = VerifyOptions(
        epochs=1, data_root=mnist_root, timeout=settings.timeout, args=list(settings.args), work_parent=tmp_path
    )
    result = verify_scripts(original, converted, options, settings.tolerance())
    assert result.exit_code == 0, _describe(result)
    if settings.bitwise:
        assert result.comparison.max_abs_diff == 0.0
        assert result.comparison.digest_equal
    assert result.comparison.steps_compared > 0
    assert list(tmp_path.iterdir()) == []


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
