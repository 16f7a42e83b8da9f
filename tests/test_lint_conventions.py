"""ruff's command-line conventions in `pl-convert lint`: statistics, output file, quiet and
verbose, show-fixes, stdin for editors, unused/unknown noqa (PTL001), add-noqa, exclusion of
explicitly named files, non-Python files, `--ignore ALL`, `pl-convert rule PREFIX`, and the
command line itself (mistyped commands, directories, `python -m pl_convert`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.cli import cli

BAD = textwrap.dedent(
    """\
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader
    class Net(pl.LightningModule):
        def training_step(self, batch, batch_idx):
            return self(batch.cuda()).sum()
    trainer = pl.Trainer(max_epochs=1, gpus=1)
    trainer.fit(Net(), DataLoader(ds))
    """
)
FIXED_SAFE = BAD.replace("gpus=1", 'accelerator="gpu", devices=1')
GOOD = "import lightning as L\ntrainer = L.Trainer(max_epochs=1)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(cli, ["lint", *map(str, args)], input=input, catch_exceptions=False)


# -- reporting ------------------------------------------------------------------------------------
def test_statistics_count_findings_per_rule(project):
    result = run("bad.py", "good.py", "--statistics", "--no-cache")
    assert result.exit_code == 1
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows == [
        ["1", "PTL103", "    device-move-in-lightning-module"],
        ["1", "PTL201", "[*] removed-device-trainer-argument"],
        ["1", "PTL301", "    dataloader-few-workers"],
    ]
    data = json.loads(run("bad.py", "bad.py", ".", "--statistics", "--format", "json", "--no-cache").stdout)
    assert {(row["code"], row["count"], row["fixable"]) for row in data} == {("PTL103", 1, False), ("PTL201", 1, True), ("PTL301", 1, False)}


def test_output_file_takes_the_report(project):
    result = run("bad.py", "--format", "json", "--output-file", "report.json", "--no-cache")
    assert result.exit_code == 1 and result.stdout == ""
    assert {item["code"] for item in json.loads((project / "report.json").read_text())} == {"PTL103", "PTL201", "PTL301"}
    run("bad.py", "-o", "report.txt", "--no-cache")
    text = (project / "report.txt").read_text()
    assert "bad.py:6:36: PTL201" in text and "Found 3 problems." in text and "\x1b[" not in text


def test_quiet_prints_findings_only_and_qq_nothing(project):
    quiet = run("bad.py", "-q", "--no-cache")
    assert quiet.exit_code == 1 and "bad.py:6:36: PTL201" in quiet.stdout and "Found" not in quiet.stdout
    assert run("good.py", "-q").stdout == ""  # no "All checks passed!"
    silent = run("bad.py", "-qq", "--no-cache")
    assert silent.exit_code == 1 and silent.output == ""


def test_verbose_names_the_configuration_and_the_file_count(project):
    (project / "pyproject.toml").write_text("[tool.pl-convert]\n", encoding="utf-8")
    result = run(".", "-v", "--no-cache")
    assert f"configuration: {project / 'pyproject.toml'}" in result.stderr
    assert "checking 2 files" in result.stderr


def test_show_fixes_lists_what_fix_fixed(project):
    result = run("bad.py", "--fix", "--show-fixes", "--no-cache")
    assert result.exit_code == 1  # PTL103 and PTL301 remain
    assert "Fixes applied:\n  bad.py: 1 × PTL201 (removed-device-trainer-argument)\n" in result.stdout
    assert (project / "bad.py").read_text() == FIXED_SAFE
    assert "Fixes applied" not in run("bad.py", "--fix", "--no-cache").stdout


def test_exit_non_zero_on_fix(project):
    (project / "only_fixable.py").write_text("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1)\n", encoding="utf-8")
    assert run("only_fixable.py", "--fix", "--exit-non-zero-on-fix", "--no-cache").exit_code == 1
    assert run("only_fixable.py", "--fix", "--exit-non-zero-on-fix", "--no-cache").exit_code == 0  # nothing left to fix


def test_fix_only_fixes_and_reports_only_the_fixes(project):
    result = run("bad.py", "--fix-only", "--show-fixes", "--no-cache")
    assert result.exit_code == 0  # PTL103 and PTL301 are left, and not this run's business
    assert result.stdout == "Fixes applied:\n  bad.py: 1 × PTL201 (removed-device-trainer-argument)\nFixed 1 problem.\n"
    assert (project / "bad.py").read_text() == FIXED_SAFE
    assert run("bad.py", "--fix-only").stdout == "No fixes applied.\n"


def test_unfixable_rules_are_reported_without_a_fix(project):
    result = run("bad.py", "--unfixable", "PTL2", "--fix", "--no-cache")
    assert result.exit_code == 1 and "PTL201 " in result.stdout and "PTL201 [*]" not in result.stdout
    assert (project / "bad.py").read_text() == BAD


def test_gitlab_and_json_lines_formats(project):
    gitlab = json.loads(run("bad.py", "--format", "gitlab", "--no-cache").stdout)
    assert {issue["check_name"] for issue in gitlab} == {"PTL103", "PTL201", "PTL301"}
    assert all(issue["location"]["path"] == "bad.py" and len(issue["fingerprint"]) == 64 for issue in gitlab)
    assert len({issue["fingerprint"] for issue in gitlab}) == 3
    lines = run("bad.py", "--format", "json-lines", "--no-cache").stdout.splitlines()
    assert [json.loads(line)["code"] for line in lines] == ["PTL103", "PTL201", "PTL301"]


def test_silent_prints_nothing(project):
    result = run("bad.py", "--silent", "--no-cache")
    assert result.exit_code == 1 and result.output == ""


def test_cache_dir_and_show_files_and_show_settings(project):
    (project / "pyproject.toml").write_text('[tool.pl-convert.lint]\nignore = ["PTL301"]\n', encoding="utf-8")
    assert run("bad.py", "--cache-dir", "elsewhere").exit_code == 1
    assert list((project / "elsewhere" / "lint").rglob("*.json")) and not (project / ".pl_convert_cache").exists()
    files = run(".", "--show-files")
    assert files.exit_code == 0 and files.stdout.split() == ["bad.py", "good.py"]
    settings = run("bad.py", "--show-settings", "--extend-select", "PTL303")
    assert settings.exit_code == 0
    assert f"configuration: {project / 'pyproject.toml'}" in settings.stdout
    assert "  ignore = ('PTL301',)" in settings.stdout and "  cli-extend-select = ('PTL303',)" in settings.stdout


# -- stdin ----------------------------------------------------------------------------------------
def test_stdin_is_linted_as_the_named_file(project):
    (project / "pyproject.toml").write_text('[tool.pl-convert]\nper-file-ignores = { "src/*" = ["PTL103"] }\n', encoding="utf-8")
    result = run("-", "--stdin-filename", "src/train.py", "--no-cache", input=BAD)
    assert result.exit_code == 1
    assert "src/train.py:6:36: PTL201" in result.stdout and "PTL103" not in result.stdout  # its config applies
    assert not (project / "src").exists()


def test_stdin_fix_prints_the_fixed_text_and_reports_on_stderr(project):
    result = run("-", "--stdin-filename", "train.py", "--fix", "--no-cache", input=BAD)
    assert result.exit_code == 1
    assert result.stdout == FIXED_SAFE
    assert "train.py:5:21: PTL103" in result.stderr and "Fixed 1 problem." in result.stderr
    clean = run("-", "--fix", "--no-cache", input=GOOD)
    assert clean.exit_code == 0 and clean.stdout == GOOD  # an editor gets its buffer back unchanged
    diff = run("-", "--stdin-filename", "train.py", "--diff", "--no-cache", input=BAD)
    assert diff.exit_code == 1 and '+trainer = pl.Trainer(max_epochs=1, accelerator="gpu", devices=1)' in diff.stdout


def test_stdin_of_an_excluded_file_with_force_exclude_is_passed_through(project):
    (project / "pyproject.toml").write_text('[tool.pl-convert]\nexclude = ["legacy"]\n', encoding="utf-8")
    result = run("-", "--stdin-filename", "legacy/old.py", "--force-exclude", "--fix", input=BAD)
    assert result.exit_code == 0 and result.stdout == BAD


def test_stdin_cannot_be_mixed_with_paths(project):
    result = run("-", "bad.py")
    assert result.exit_code == 2 and "cannot be combined" in result.stderr


# -- noqa -----------------------------------------------------------------------------------------
def test_unknown_and_unused_noqa_codes_are_reported_and_fixed(project):
    source = BAD.replace("gpus=1)", "gpus=1)  # noqa: PTL201, PTL999").replace(
        "return self(batch.cuda()).sum()", "return self(batch.cuda()).sum()  # noqa: PTL103, PTL104, E501"
    ).replace("import pytorch_lightning as pl", "import pytorch_lightning as pl  # noqa")
    (project / "n.py").write_text(source, encoding="utf-8")
    result = run("n.py", "--format", "concise", "--no-cache")
    assert "n.py:6:45: PTL001 [*] Unused `noqa` directive (unknown: `PTL999`)" in result.stdout
    assert "n.py:5:42: PTL001 [*] Unused `noqa` directive (unused: `PTL104`)" in result.stdout
    assert result.stdout.count("PTL001") == 2  # E501 and the blanket noqa belong to other tools
    assert run("n.py", "--fix", "--no-cache").exit_code == 1
    fixed = (project / "n.py").read_text()
    assert "# noqa: PTL201\n" in fixed and "# noqa: PTL103, E501\n" in fixed and "pl  # noqa\n" in fixed
    assert "PTL001" not in run("n.py", "--no-cache").stdout


def test_add_noqa_silences_todays_findings_and_nothing_else(project):
    (project / "multi.py").write_text(
        'import pytorch_lightning as pl\ndoc = """\ntrainer = pl.Trainer(gpus=1)\n"""\ntrainer = pl.Trainer(max_epochs=1,\n    gpus=1)  # keep\n', encoding="utf-8"
    )
    result = run("bad.py", "multi.py", "good.py", "--add-noqa", "--no-cache")
    assert result.exit_code == 0
    assert "Added 4 noqa directives to 2 files." in result.stderr
    assert (project / "bad.py").read_text() == (
        BAD.replace("sum()\n", "sum()  # noqa: PTL103\n").replace("gpus=1)\n", "gpus=1)  # noqa: PTL201\n").replace("(ds))\n", "(ds))  # noqa: PTL301\n")
    )
    assert "    gpus=1)  # keep  # noqa: PTL201\n" in (project / "multi.py").read_text()
    assert (project / "good.py").read_text() == GOOD
    after = run(".", "--no-cache")
    assert after.exit_code == 0, after.output
    # a second run adds nothing; a new finding on a line with a noqa comment merges into it
    assert "Added 0 noqa directives" in run(".", "--add-noqa", "--no-cache").stderr
    text = (project / "bad.py").read_text().replace("max_epochs=1, gpus=1)", "max_epochs=1, gpus=1, precision=16)")
    (project / "bad.py").write_text(text)
    run("bad.py", "--add-noqa", "--no-cache")
    assert "precision=16)  # noqa: PTL201, PTL208\n" in (project / "bad.py").read_text()


# -- which files ----------------------------------------------------------------------------------
def test_force_exclude_applies_exclude_to_named_files(project):
    (project / "pyproject.toml").write_text('[tool.pl-convert]\nexclude = ["legacy/"]\n', encoding="utf-8")
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BAD, encoding="utf-8")
    assert "legacy" not in run(".", "--no-cache").stdout
    assert run("legacy/old.py", "--no-cache").exit_code == 1  # named: linted, as ruff does
    excluded = run("legacy/old.py", "--force-exclude", "--no-cache")
    assert excluded.exit_code == 0 and "PTL201" not in excluded.output
    assert run("legacy", "--force-exclude", "--no-cache").exit_code == 0  # a named directory too
    cli_exclude = run("bad.py", "--exclude", "bad.py", "--force-exclude")
    assert cli_exclude.exit_code == 0


def test_a_named_file_that_is_not_python_is_skipped_with_a_warning(project):
    (project / "README.md").write_text("# hello\n", encoding="utf-8")
    alone = run("README.md")
    assert alone.exit_code == 2
    assert "README.md: not a Python file or notebook (.py, .pyi, .ipynb): skipped" in alone.stderr
    assert "no Python file to lint" in alone.stderr and "All checks passed" not in alone.output
    mixed = run("README.md", "bad.py", "--no-cache")
    assert mixed.exit_code == 1 and "skipped" in mixed.stderr and "PTL201" in mixed.stdout
    (project / "tool").write_text("#!/usr/bin/env python3\n" + BAD, encoding="utf-8")
    assert "tool:7:36: PTL201" in run("tool", "--no-cache").stdout  # a python script without .py


def test_a_directory_without_python_files_warns_and_exits_0(project):
    (project / "empty").mkdir()
    result = run("empty")
    assert result.exit_code == 0
    assert "no Python files found" in result.stderr and "All checks passed" not in result.output


def test_ignore_all_alone_turns_every_rule_off(project):
    result = run("bad.py", "--ignore", "ALL", "--no-cache")
    assert result.exit_code == 0 and "All checks passed!" in result.stdout
    only = run("bad.py", "--ignore", "ALL", "--extend-select", "PTL201", "--format", "concise", "--no-cache")
    assert [line.split(": ")[1].split()[0] for line in only.stdout.splitlines() if ": PTL" in line] == ["PTL201"]


def test_isolated_ignores_the_configuration(project):
    (project / "pyproject.toml").write_text('[tool.pl-convert]\nignore = ["ALL"]\n', encoding="utf-8")
    assert run("bad.py", "--no-cache").exit_code == 0
    assert run("bad.py", "--isolated", "--no-cache").exit_code == 1


# -- rule docs ------------------------------------------------------------------------------------
def test_rule_prefix_lists_its_rules_and_a_typo_gets_the_real_code():
    runner = CliRunner()
    prefix = runner.invoke(cli, ["rule", "PTL1"])
    assert prefix.exit_code == 0
    assert prefix.output.startswith("PTL1 selects 18 rules")
    assert "PTL101  mixed-lightning-imports" in prefix.output and "PTL301" not in prefix.output
    typo = runner.invoke(cli, ["rule", "PTL2O1"])
    assert typo.exit_code == 2 and "did you mean PTL201?" in typo.output
    unknown = runner.invoke(cli, ["rule", "PTL999"])
    assert unknown.exit_code == 2 and "did you mean" not in unknown.output and "pl-convert rules" in unknown.output


# -- the command line ---------------------------------------------------------------------------------
@pytest.mark.parametrize("word, meant", [("lnt", "lint"), ("check", "lint"), ("migrat", "migrate"), ("verfy", "verify")])
def test_a_mistyped_command_is_not_taken_for_a_file(project, word, meant):
    result = CliRunner().invoke(cli, [word, "bad.py"])
    assert result.exit_code == 2
    assert f"`{word}` is neither a command nor a file; did you mean `pl-convert {meant}`?" in result.stderr
    assert "no such file" not in result.output


def test_an_existing_file_named_like_a_command_typo_is_still_converted(project):
    (project / "lnt").write_text("x = 1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lnt"])
    assert result.exit_code == 0 and "nothing to do" in result.stderr


def test_a_directory_points_at_migrate(project):
    (project / "adir").mkdir()
    result = CliRunner().invoke(cli, ["adir/"])
    assert result.exit_code == 2
    assert "run `pl-convert migrate adir`" in result.stderr


def test_python_dash_m_pl_convert(project):
    env = {**os.environ}
    result = subprocess.run([sys.executable, "-m", "pl_convert", "lint", "bad.py", "--no-cache", "--format", "concise"], capture_output=True, text=True, env=env, cwd=project)
    assert result.returncode == 1 and "bad.py:6:36: PTL201" in result.stdout
    version = subprocess.run([sys.executable, "-m", "pl_convert", "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and version.stdout.startswith("pl-convert, version")


def test_docs_cli_names_every_lint_option():
    from pl_convert.rules.command import lint

    text = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [opt for param in lint.params for opt in (*param.opts, *param.secondary_opts) if opt.startswith("-") and f"`{opt}`" not in text]
    assert missing == [], "document these in docs/cli.md"
