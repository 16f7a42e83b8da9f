"""Start-up of ``pl-convert lint`` (a pre-commit hook pays it on every commit): the rule catalog
that lets the engine import only the rules a file needs, and what a lint run imports.

The time itself is measured by ``benchmarks/bench_startup.py``; these tests keep the causes of a
slow start from coming back: every rule imported for every file, libcst for a file no rule looks
at, stdlib modules only an unusual path needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pl_convert.rules import catalog
from pl_convert.rules.config import LintConfig
from pl_convert.rules.registry import all_rules, discover_rules, rules_for
from pl_convert.rules.rule import Rule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LIGHTNING = """\
import pytorch_lightning as pl
import torch


class Net(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self(x), y)


trainer = pl.Trainer(max_epochs=1, gpus=1)
"""
PLAIN = "def add(a, b):\n    return a + b\n"


# -- the catalog ---------------------------------------------------------------------------------
def test_catalog_describes_the_rule_classes():
    rules = all_rules()  # raises RuntimeError when the catalog is stale
    assert catalog.RULE_CODES == tuple(rule.code for rule in rules)
    assert catalog.stale_entries(rules, Rule.markers) == []
    assert catalog.DEFAULT_MARKERS == Rule.markers


def test_catalog_data_file_is_current():
    assert catalog.main(["--check"]) == 0, "run: python -m pl_convert.rules.catalog"


def test_a_stale_catalog_entry_is_detected():
    real = all_rules()[0]
    changed = type(real.__name__, (real,), {"__module__": real.__module__, "keywords": ("something else",)})
    assert catalog.stale_entries((changed, *all_rules()[1:]), Rule.markers) == [real.code]
    assert catalog.stale_entries(all_rules()[1:], Rule.markers) == [real.code]


def _full_selection(source: str, config: LintConfig, path: str) -> list[str]:
    """What the engine selected before the catalog: every rule class, asked directly."""
    return [
        rule.code
        for rule in all_rules()
        if config.is_enabled(rule.code, path)
        and (rule.applies_from is None or config.targets(rule.applies_from))
        and any(m in source for m in rule.markers)
        and any(k in source for k in rule.keywords)
    ]


def _sources() -> list[str]:
    files = sorted((FIXTURES / "lint").glob("*.py")) + sorted(FIXTURES.glob("*/original.py"))
    examples = [example.code for rule in all_rules() for example in (*rule.VALID, *rule.INVALID)]
    return [LIGHTNING, PLAIN, *(f.read_text(encoding="utf-8") for f in files), *examples]


@pytest.mark.parametrize(
    "config",
    [
        LintConfig(),
        LintConfig(select=("ALL",)),
        LintConfig(select=("PTL2",), ignore=("PTL201",), target_version=(1, 9)),
        LintConfig(select=("PTL1", "PTL3"), per_file_ignores=(("t.py", ("PTL11",)),), target_version=(1, 6)),
    ],
    ids=["default", "all", "ptl2-on-1.9", "per-file-ignores"],
)
def test_candidate_codes_are_the_rules_the_classes_select(config):
    for source in _sources():
        assert catalog.candidate_codes(source, config, "t.py") == _full_selection(source, config, "t.py")


def test_rules_for_gives_the_rule_classes():
    codes = ["PTL101", "PTL201", "PTL303"]
    assert [rule.code for rule in rules_for(codes)] == codes
    assert set(rules_for(codes)) <= set(all_rules())


def test_unknown_selectors_without_loading_rules():
    assert catalog.unknown_selectors(("PTL1", "PTL101", "ALL", "PTL", "PTL9", "PTL1999")) == ["PTL9", "PTL1999"]


def test_discover_rules_is_all_rules_without_the_catalog_check():
    assert discover_rules() == all_rules()


# -- what a lint run imports -----------------------------------------------------------------------
def _lint_in_subprocess(tmp_path: Path, text: str, *args: str) -> dict:
    """Run ``pl-convert lint`` in a fresh interpreter; its exit code and the modules it imported
    (beyond those the interpreter had before pl_convert was imported)."""
    script = tmp_path / "one_file.py"
    script.write_text(text, encoding="utf-8")
    probe = textwrap.dedent(
        f"""
        import json, sys
        before = set(sys.modules)
        from pl_convert.cli import main
        code = main(["lint", *{list(args)!r}, {str(script)!r}])
        new = sorted(set(sys.modules) - before)
        print(json.dumps({{"code": code, "modules": new}}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _rule_modules(modules: list[str]) -> set[str]:
    return {m.rsplit(".", 1)[-1] for m in modules if m.startswith("pl_convert.rules.checks.")}


def test_a_file_that_mentions_no_lightning_needs_neither_libcst_nor_any_rule(tmp_path):
    run = _lint_in_subprocess(tmp_path, PLAIN, "--no-cache")
    assert run["code"] == 0
    assert not [m for m in run["modules"] if m == "libcst" or m.startswith("libcst.")]
    assert _rule_modules(run["modules"]) == set()


def test_selectors_are_validated_without_loading_the_rules(tmp_path):
    run = _lint_in_subprocess(tmp_path, PLAIN, "--no-cache", "--select", "PTL9")
    assert run["code"] == 2
    assert "libcst" not in run["modules"]


def test_a_lightning_file_imports_only_the_rules_it_needs_and_nothing_heavy(tmp_path):
    run = _lint_in_subprocess(tmp_path, LIGHTNING, "--no-cache")
    assert run["code"] == 1  # PTL201
    expected = {catalog.module_of(code) for code in catalog.candidate_codes(LIGHTNING, LintConfig(), "x.py")}
    assert _rule_modules(run["modules"]) - {"_trainer_loaders"} == expected
    assert len(expected) < len(catalog.RULE_CODES) / 2
    heavy = [
        m for m in run["modules"]
        if m.split(".")[0] in ("torch", "lightning", "pytorch_lightning", "rich")
        or m.startswith(("libcst.codemod", "libcst.matchers"))
    ]
    assert heavy == []
    # stdlib modules that only another path needs: the result cache (hashlib), suggestions and
    # diffs (difflib), writing files (tempfile), listing every rule (pkgutil)
    assert [m for m in ("hashlib", "difflib", "tempfile", "pkgutil") if m in run["modules"]] == []
    # a named file needs neither the directory walker nor the notebook layer, and a project
    # without a [tool.pl-convert] table no TOML parser
    assert [m for m in ("pl_convert.walk", "pl_convert.gitignore", "pl_convert.notebook", "tomllib", "json") if m in run["modules"]] == []
