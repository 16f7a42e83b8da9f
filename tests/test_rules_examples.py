"""Every rule's VALID / INVALID examples, run as tests (the rule's own documentation)."""

from __future__ import annotations

import re

import pytest

from pl_convert.parsing import parse_module
from pl_convert.rules import LintConfig, apply_fixes, lint_source
from pl_convert.rules.config import LATEST_LIGHTNING
from pl_convert.rules.registry import all_rules

RULES = all_rules()


def _config(rule, example) -> LintConfig:
    return LintConfig(select=(rule.code,), target_version=example.target_version or LATEST_LIGHTNING)


def _cases(kind: str):
    for rule in RULES:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.code}-{kind.lower()}-{index}")


@pytest.mark.parametrize("rule, example", list(_cases("VALID")))
def test_valid_example_is_not_flagged(rule, example):
    findings = lint_source(example.code, "example.py", _config(rule, example))
    assert [f for f in findings if f.code == rule.code] == []


@pytest.mark.parametrize("rule, example", list(_cases("INVALID")))
def test_invalid_example_is_flagged_and_fixed_as_documented(rule, example):
    config = _config(rule, example)
    findings = [f for f in lint_source(example.code, "example.py", config) if f.code == rule.code]
    assert findings, f"{rule.code} did not flag:\n{example.code}"
    for finding in findings:
        assert finding.name == rule.name
        assert finding.message
        assert 1 <= finding.line <= finding.end_line
    if example.line is not None:
        assert example.line in {f.line for f in findings}
    fixes = [f.fix for f in findings if f.fix is not None]
    if example.fixed is None:
        assert fixes == [], "an example without `fixed` documents that there is no fix"
        return
    assert fixes, "the example documents a fix, but none was offered"
    if rule.fix_safety in ("safe", "unsafe"):
        assert {fix.safety for fix in fixes} == {rule.fix_safety}
    outcome = apply_fixes(example.code, "example.py", config, unsafe=True)
    assert outcome.source == example.fixed
    parse_module(outcome.source)  # fixes never produce invalid code
    # a second pass has nothing left to fix for this rule
    again = [f for f in lint_source(outcome.source, "example.py", config) if f.code == rule.code]
    assert all(f.fix is None for f in again)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_is_documented(rule):
    assert re.fullmatch(r"PTL[0123]\d\d", rule.code) and rule.code != "PTL000"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.name)
    assert rule.message and not rule.message.endswith(".")
    doc = rule.documentation()
    for section in ("## What it does", "## Why is this bad?"):
        assert section in doc, f"{rule.code} docstring lacks {section!r}"
    assert ("## Fix safety" in doc) == rule.has_fix()
    assert rule.VALID and rule.INVALID
    # whether a rule has a fix is derived from its examples
    assert rule.has_fix() == any(example.fixed is not None for example in rule.INVALID)


def test_there_are_at_least_thirty_rules_with_unique_codes_and_names():
    assert len(RULES) >= 30
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
