"""`pl-convert lint`, `pl-convert rules` and `pl-convert rule`: exit codes, formats, fixes, cache."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.cli import cli

BAD = textwrap.dedent(
    """
    import pytorch_lightning as pl
    class Net(pl.LightningModule):
        def training_step(self, batch, batch_idx):
            return self(batch.cuda()).sum()
    trainer = pl.Trainer(max_epochs=1, gpus=1)
    trainer.test(Net(), test_dataloaders=loader)
    """
).lstrip()
GOOD = "import lightning as L\ntrainer = L.Trainer(max_epochs=1)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, ["lint", *args], catch_exceptions=False)


def test_clean_file_exits_0(project):
    result = run("good.py")
    assert result.exit_code == 0
    assert "All checks passed!" in result.output


def test_findings_exit_1_with_code_frames_and_summary(project):
    result = run("bad.py", "--no-cache")
    assert result.exit_code == 1
    assert "bad.py:5:36: PTL201 [*]" in result.output
    assert "5 | trainer = pl.Trainer(max_epochs=1, gpus=1)" in result.output
    assert "^^^^^^ PTL201" in result.output
    assert "bad.py:4:21: PTL103 [-]" in result.output
    assert "Found 3 problems. [*] 2 fixable with `--fix`. [-] 1 more with `--fix --unsafe-fixes`." in result.output


def test_missing_path_and_unparseable_file_exit_2_but_the_rest_is_reported(project):
    (project / "broken.py").write_text("import pytorch_lightning as pl\ndef f(:\n    pass\n", encoding="utf-8")
    (project / "latin.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    result = run("broken.py", "bad.py", "nope.py", "latin.py", "--format", "concise", "--no-cache")
    assert result.exit_code == 2
    assert "nope.py: error: no such file or directory" in result.output
    assert "broken.py:2: error: syntax error" in result.output
    assert "latin.py: error:" in result.output and "encoding" in result.output
    assert "bad.py:5:36: PTL201" in result.output
    assert "3 files could not be checked." in result.output


def test_directory_discovery_uses_the_walker_of_migrate(project):
    # one walker for lint and migrate: environments (by name or pyvenv.cfg) and .gitignore'd
    # paths are skipped; hidden directories such as .github are walked, as ruff does
    (project / ".gitignore").write_text("build/\n", encoding="utf-8")
    for directory in (".venv", "build", "env", ".github/scripts", "pkg"):
        (project / directory).mkdir(parents=True)
        (project / directory / "x.py").write_text(BAD, encoding="utf-8")
    (project / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")

    def linted(*extra):
        result = run(".", "--format", "concise", "--no-cache", "--select", "PTL201", *extra)
        return {line.split(":")[0].replace("\\", "/") for line in result.output.splitlines() if "PTL201" in line}

    assert linted() == {"bad.py", "pkg/x.py", ".github/scripts/x.py"}
    assert linted("--no-respect-gitignore") == {"bad.py", "pkg/x.py", ".github/scripts/x.py", "build/x.py"}


def test_fix_applies_safe_fixes_in_place(project):
    result = run("bad.py", "--fix", "--no-cache")
    assert result.exit_code == 1  # the unsafe PTL103 remains
    fixed = (project / "bad.py").read_text(encoding="utf-8")
    assert 'accelerator="gpu", devices=1' in fixed
    assert "trainer.test(Net(), dataloaders=loader)" in fixed
    assert "batch.cuda()" in fixed
    assert "Fixed 2 problems." in result.output
    result = run("bad.py", "--fix", "--unsafe-fixes", "--no-cache")
    assert result.exit_code == 0
    assert "batch.to(self.device)" in (project / "bad.py").read_text(encoding="utf-8")


def test_unsafe_fixes_from_configuration(project):
    (project / "pyproject.toml").write_text("[tool.pl-convert]\nunsafe-fixes = true\n", encoding="utf-8")
    assert run("bad.py", "--fix", "--no-cache").exit_code == 0
    assert "batch.to(self.device)" in (project / "bad.py").read_text(encoding="utf-8")


def test_diff_shows_fixes_and_writes_nothing(project):
    result = run("bad.py", "--diff", "--no-cache")
    assert result.exit_code == 1
    assert "-trainer = pl.Trainer(max_epochs=1, gpus=1)" in result.output
    assert '+trainer = pl.Trainer(max_epochs=1, accelerator="gpu", devices=1)' in result.output
    assert "batch.to(self.device)" not in result.output
    assert (project / "bad.py").read_text(encoding="utf-8") == BAD
    assert run("good.py", "--diff").exit_code == 0


def test_json_output(project):
    result = run("bad.py", "good.py", "--format", "json", "--no-cache")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [d["code"] for d in data] == ["PTL103", "PTL201", "PTL204"]
    for item in data:
        assert {"code", "name", "path", "line", "column", "end_line", "end_column", "message", "fix"} <= set(item)
    gpus = data[1]
    assert gpus["path"] == "bad.py" and gpus["line"] == 5 and gpus["name"] == "removed-device-trainer-argument"
    assert gpus["fix"]["safety"] == "safe" and gpus["fix"]["edits"]


def test_sarif_output_is_code_scanning_shaped(project):
    result = run("bad.py", "--format", "sarif", "--no-cache")
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0" and "sarif" in sarif["$schema"]
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert len(rules) >= 30 and all({"id", "shortDescription", "help"} <= set(r) for r in rules)
    ids = [r["id"] for r in rules]
    for res in run_["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        region = res["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.py"
    assert {r["ruleId"] for r in run_["results"]} == {"PTL103", "PTL201", "PTL204"}


def test_sarif_validates_against_the_schema_shape(project):
    jsonschema = pytest.importorskip("jsonschema")
    # the parts of SARIF 2.1.0 GitHub code scanning requires, as a schema
    schema = {
        "type": "object",
        "required": ["version", "runs"],
        "properties": {
            "version": {"const": "2.1.0"},
            "runs": {"type": "array", "items": {
                "type": "object", "required": ["tool", "results"],
                "properties": {
                    "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {"type": "object", "required": ["name", "rules"]}}},
                    "results": {"type": "array", "items": {
                        "type": "object", "required": ["ruleId", "message", "locations"],
                        "properties": {"message": {"type": "object", "required": ["text"]}, "level": {"enum": ["none", "note", "warning", "error"]}},
                    }},
                },
            }},
        },
    }
    jsonschema.validate(json.loads(run("bad.py", "--format", "sarif", "--no-cache").output), schema)


def test_github_annotations(project):
    result = run("bad.py", "--format", "github", "--no-cache")
    lines = result.output.splitlines()
    assert lines[1] == (
        "::error title=pl-convert (PTL201),file=bad.py,line=5,col=36,endLine=5,endColumn=42::"
        "PTL201 `Trainer(gpus=...)` was removed in Lightning 2.0; use `accelerator=\"gpu\", devices=...`"
    )
    assert all(line.startswith("::error ") for line in lines)


def test_select_and_ignore(project):
    assert run("bad.py", "--select", "PTL103", "--format", "concise", "--no-cache").output.count("PTL") == 1
    out = run("bad.py", "--ignore", "PTL1,PTL204", "--format", "concise", "--no-cache").output
    assert "PTL201" in out and "PTL103" not in out and "PTL204" not in out
    result = run("bad.py", "--select", "PTL9")
    assert result.exit_code == 2 and "unknown rule selector" in result.output
    result = run("bad.py", "--select", "E501")
    assert result.exit_code == 2 and "invalid rule selector" in result.output


def test_configuration_is_found_upward_and_unknown_keys_reported(project):
    (project / "pyproject.toml").write_text(
        '[tool.pl-convert]\nignore = ["PTL201"]\nper-file-ignores = { "sub/*" = ["PTL204"] }\nlinelength = 3\n', encoding="utf-8"
    )
    (project / "sub").mkdir()
    (project / "sub" / "bad.py").write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", "bad.py", "sub/bad.py", "--format", "concise", "--no-cache"])
    assert "unknown key 'linelength'" in result.stderr
    assert "PTL201" not in result.stdout
    assert "bad.py:6:" in result.stdout and "sub/bad.py:6:" not in result.stdout.replace("\\", "/")


def test_invalid_configuration_exits_2(project):
    (project / "pyproject.toml").write_text('[tool.pl-convert]\nselect = "PTL1"\n', encoding="utf-8")
    result = run("bad.py")
    assert result.exit_code == 2 and "list of strings" in result.output


def test_cache_is_written_read_and_bypassed(project):
    assert run("bad.py", "--format", "json").exit_code == 1
    entries = list((project / ".pl_convert_cache" / "lint").rglob("*.json"))
    assert len(entries) == 1
    assert (project / ".pl_convert_cache" / ".gitignore").read_text().strip().endswith("*")
    data = json.loads(entries[0].read_text())
    data["findings"][0]["message"] = "from the cache"
    entries[0].write_text(json.dumps(data))
    assert "from the cache" in run("bad.py", "--format", "json").output
    assert "from the cache" not in run("bad.py", "--format", "json", "--no-cache").output
    # changing the file changes the key
    (project / "bad.py").write_text(BAD + "\n", encoding="utf-8")
    assert "from the cache" not in run("bad.py", "--format", "json").output


def test_no_cache_writes_nothing_and_files_no_rule_reads_are_not_cached(project):
    (project / "plain.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    assert run("bad.py", "plain.py", "--no-cache").exit_code == 1
    assert not (project / ".pl_convert_cache").exists()
    assert run("plain.py").exit_code == 0  # one CPython parse: cheaper than a cache lookup
    assert not (project / ".pl_convert_cache").exists()
    assert run("plain.py", "good.py").exit_code == 0
    assert len(list((project / ".pl_convert_cache" / "lint").rglob("*.json"))) == 1
    assert not list((project / ".pl_convert_cache").rglob("*.tmp"))


def test_jobs_give_the_same_results(project):
    for i in range(6):
        (project / f"m{i}.py").write_text(BAD, encoding="utf-8")
    one = json.loads(run(".", "--format", "json", "--no-cache", "--jobs", "1").output)
    two = json.loads(run(".", "--format", "json", "--no-cache", "--jobs", "2").output)
    assert one == two and len(one) == 7 * 3


def test_exit_zero(project):
    assert run("bad.py", "--exit-zero", "--no-cache").exit_code == 0


def test_rules_table_and_rule_doc():
    runner = CliRunner()
    table = runner.invoke(cli, ["rules"])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split()[:4] == ["Code", "Name", "Fix", "Default"]
    assert len(lines) >= 31 and any(line.startswith("PTL301") and " on " in line for line in lines)
    assert any(line.startswith("PTL302") and " off " in line for line in lines)
    data = json.loads(runner.invoke(cli, ["rules", "--format", "json"]).output)
    assert {"code", "name", "message", "fix", "default"} <= set(data[0])
    doc = runner.invoke(cli, ["rule", "PTL201"])
    assert doc.exit_code == 0
    for section in ("# PTL201 `removed-device-trainer-argument`", "## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert section in doc.output
    assert runner.invoke(cli, ["rule", "removed-device-trainer-argument"]).output == doc.output
    missing = runner.invoke(cli, ["rule", "PTL2O1"])
    assert missing.exit_code == 2 and "did you mean" in missing.output


def test_docs_rules_md_is_current():
    from pl_convert.rules.docs import rules_markdown

    path = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == rules_markdown(), "run: python -m pl_convert.rules.docs"
