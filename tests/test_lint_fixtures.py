"""Golden lint fixtures: fixtures/lint/*.py declare their expected findings in `# expect:` comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pl_convert.parsing import parse_module
from pl_convert.rules import LintConfig, apply_fixes, lint_source

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "lint").glob("*.py"))
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>PTL\d{3}(?:\s*,\s*PTL\d{3})*)")


def expected_findings(text: str) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group("codes").split(","))
    return found


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_findings_match_expect_comments(path):
    text = path.read_text(encoding="utf-8")
    findings = lint_source(text, str(path), LintConfig())
    assert {(f.line, f.code) for f in findings} == expected_findings(text)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixing_a_fixture_leaves_valid_code_and_only_unfixable_findings(path):
    text = path.read_text(encoding="utf-8")
    outcome = apply_fixes(text, str(path), LintConfig(), unsafe=True)
    parse_module(outcome.source)
    assert all(f.fix is None for f in outcome.remaining)
    fixable = sum(1 for f in lint_source(text, str(path), LintConfig()) if f.fix is not None)
    assert len(outcome.fixed) >= fixable
    if fixable:
        assert outcome.source != text


def test_seed_patterns_each_have_a_flagged_fixture():
    """The 1.x patterns of the seed tutorials, each flagged in some fixture."""
    flagged: dict[str, set[str]] = {}
    for path in FIXTURES:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for f in lint_source(text, str(path), LintConfig()):
            flagged.setdefault(f.code, set()).add(lines[f.line - 1])
    def any_line(code, needle):
        return any(needle in line for line in flagged.get(code, ()))
    assert any_line("PTL201", "gpus=")
    assert any_line("PTL203", "resume_from_checkpoint=")
    assert any_line("PTL204", "test_dataloaders=")
    assert any_line("PTL205", "def validation_epoch_end")
    assert any_line("PTL207", '"log"')
    assert any_line("PTL106", "return [optimizer], [scheduler]")
    assert any_line("PTL209", "auto_lr_find")


def test_converted_seed_fixture_is_lightning_2_clean_after_fixes():
    path = next(p for p in FIXTURES if p.stem == "seed_mnist_cnn_lightning1x")
    outcome = apply_fixes(path.read_text(encoding="utf-8"), str(path), LintConfig())
    assert outcome.remaining == []
    assert 'accelerator="cpu"' in outcome.source
    assert 'trainer.fit(model, dl_train, dl_valid, ckpt_path="last.ckpt")' in outcome.source
    assert "trainer.test(model, dataloaders=dl_valid)" in outcome.source
