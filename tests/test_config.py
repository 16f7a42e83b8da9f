"""``[tool.pl-convert]``: every key of every table acts, through the commands; every unknown key
warns, in every table and under every command; the README's key list is the schema's."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert import config as project_config
from pl_convert.cli import cli
from pl_convert.rules.config import DEFAULT_SELECT, LATEST_LIGHTNING

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SCRIPT = (FIXTURES / "feedforward_mnist" / "original.py").read_text(encoding="utf-8")
BAD = textwrap.dedent(
    """\
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader
    class Net(pl.LightningModule):
        def training_step(self, batch, batch_idx):
            return self(batch.cuda()).sum()
    trainer = pl.Trainer(max_epochs=1, gpus=1)
    trainer.fit(Net(), DataLoader(ds, num_workers=4))
    """
)


def invoke(cwd: Path, *args):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def table(name: str, body: str) -> str:
    return f"[tool.pl-convert{'.' + name if name else ''}]\n{body}\n"


def lint_codes(root: Path, *args) -> set[tuple[str, str]]:
    """(path, code) of every finding of ``pl-convert lint`` in ``root``."""
    result = invoke(root, "lint", *args, "--no-cache", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return {(item["path"].replace("\\", "/"), item["code"]) for item in json.loads(result.stdout)}


def migrated(root: Path, *args) -> dict:
    report = root.parent / f"{root.name}-report.json"
    result = invoke(root.parent, "migrate", root, "--json", report, "--no-cache", "-j", "1", *args)
    data = json.loads(report.read_text(encoding="utf-8"))
    return {"exit": result.exit_code, "files": {f["path"]: f for f in data["files"]}, "stderr": result.stderr}


# -- one check per key: the key changes what the command does ---------------------------------------
def check_exclude(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'exclude = ["legacy"]'), "a.py": BAD, "legacy/old.py": BAD})
    assert {p for p, _ in lint_codes(root, ".")} == {"a.py"}
    if where == "":  # the global exclude: migrate skips it too; the lint table's is lint-only
        assert set(migrated(root)["files"]) == {"a.py"}
    else:
        assert set(migrated(root)["files"]) == {"a.py", "legacy/old.py"}


def check_extend_exclude(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'exclude = ["legacy"]\nextend-exclude = ["gen_*.py"]'), "a.py": BAD, "gen_x.py": BAD, "legacy/old.py": BAD})
    assert {p for p, _ in lint_codes(root, ".")} == {"a.py"}
    assert set(migrated(root)["files"]) == {"a.py"}
    # --exclude replaces the configured exclude; extend-exclude still applies
    assert {p for p, _ in lint_codes(root, ".", "--exclude", "a.py")} == {"legacy/old.py"}


def check_respect_gitignore(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {".gitignore": "generated/\n", "a.py": BAD, "generated/g.py": BAD})
    assert {p for p, _ in lint_codes(root, ".")} == {"a.py"}
    write(root, {"pyproject.toml": table(where, "respect-gitignore = false")})
    assert {p for p, _ in lint_codes(root, ".")} == {"a.py", "generated/g.py"}
    assert set(migrated(root)["files"]) == {"a.py", "generated/g.py"}


def check_force_exclude(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'exclude = ["legacy"]'), "legacy/old.py": BAD})
    assert {p for p, _ in lint_codes(root, "legacy/old.py")} != set()  # named explicitly: linted
    write(root, {"pyproject.toml": table(where, 'exclude = ["legacy"]\nforce-exclude = true')})
    result = invoke(root, "lint", "legacy/old.py", "--no-cache")
    assert result.exit_code == 0 and "PTL201" not in result.stdout


def check_select(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'select = ["PTL2"]'), "a.py": BAD})
    assert {c for _, c in lint_codes(root, "a.py")} == {"PTL201"}


def check_extend_select(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"a.py": BAD})
    assert "PTL303" not in {c for _, c in lint_codes(root, "a.py")}
    write(root, {"pyproject.toml": table(where, 'extend-select = ["PTL303"]')})
    assert "PTL303" in {c for _, c in lint_codes(root, "a.py")}


def check_ignore(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'ignore = ["PTL201"]'), "a.py": BAD})
    assert {c for _, c in lint_codes(root, "a.py")} == {"PTL103"}


def check_per_file_ignores(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'per-file-ignores = { "tests/*" = ["PTL1"] }'), "a.py": BAD, "tests/t.py": BAD})
    codes = lint_codes(root, ".")
    assert ("a.py", "PTL103") in codes and ("tests/t.py", "PTL103") not in codes and ("tests/t.py", "PTL201") in codes


def check_unsafe_fixes(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, "unsafe-fixes = true"), "a.py": BAD})
    assert invoke(root, "lint", "a.py", "--fix", "--no-cache").exit_code == 0
    assert "batch.to(self.device)" in (root / "a.py").read_text(encoding="utf-8")


def check_unfixable(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'unfixable = ["PTL201"]'), "a.py": BAD})
    assert invoke(root, "lint", "a.py", "--fix", "--no-cache").exit_code == 1
    assert "gpus=1" in (root / "a.py").read_text(encoding="utf-8")  # reported, never fixed
    assert "PTL201 [*]" not in invoke(root, "lint", "a.py", "--no-cache").stdout


def check_target_version(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'target-version = "1.9"'), "a.py": BAD})
    assert "PTL201" not in {c for _, c in lint_codes(root, "a.py")}  # gpus= is fine before 2.0


def check_lint_exclude(tmp_path: Path, where: str) -> None:
    check_exclude(tmp_path, where)


def check_show_fixes(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, "show-fixes = true"), "a.py": BAD})
    result = invoke(root, "lint", "a.py", "--fix", "--no-cache")
    assert "Fixes applied:" in result.stdout and "a.py: 1 × PTL201 (removed-device-trainer-argument)" in result.stdout


def check_output_format(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'output-format = "concise"'), "a.py": BAD})
    result = invoke(root, "lint", "a.py", "--no-cache")
    assert "a.py:6:36: PTL201" in result.stdout and " | " not in result.stdout  # no code frames
    assert json.loads(invoke(root, "lint", "a.py", "--no-cache", "--format", "json").stdout)  # the option wins


def check_convert_import_style(tmp_path: Path, where: str) -> None:
    root = write(tmp_path, {"pyproject.toml": table(where, 'import-style = "lightning"'), "train.py": SCRIPT})
    result = invoke(root, "train.py", "-o", "-")
    assert result.exit_code == 0 and "import lightning as L\n" in result.stdout and "pytorch_lightning" not in result.stdout
    result = invoke(root, "train.py", "-o", "-", "--import-style", "pytorch_lightning")
    assert "import pytorch_lightning as pl\n" in result.stdout  # the option wins


def check_migrate_import_style(tmp_path: Path, where: str) -> None:
    src = write(tmp_path / "src", {"train.py": SCRIPT})
    write(tmp_path, {"pyproject.toml": table(where, 'import-style = "lightning"')})
    invoke(tmp_path, "migrate", "src", "--out", "out", "--no-cache", "-j", "1")
    assert "import lightning as L\n" in (tmp_path / "out" / "train.py").read_text(encoding="utf-8")
    # without the migrate key, the convert table's applies
    write(tmp_path, {"pyproject.toml": table("convert", 'import-style = "lightning"')})
    invoke(tmp_path, "migrate", "src", "--out", "out2", "--no-cache", "-j", "1")
    assert "import lightning as L\n" in (tmp_path / "out2" / "train.py").read_text(encoding="utf-8")
    assert src.exists()


def check_migrate_fix(tmp_path: Path, where: str) -> None:
    root = write(tmp_path / "src", {"a.py": BAD})
    assert migrated(root)["files"]["a.py"]["fixes_applied"] == 0
    write(tmp_path, {"pyproject.toml": table(where, "fix = true")})
    assert migrated(root)["files"]["a.py"]["fixes_applied"] == 1
    assert migrated(root, "--no-fix")["files"]["a.py"]["fixes_applied"] == 0


def check_migrate_lint(tmp_path: Path, where: str) -> None:
    root = write(tmp_path / "src", {"a.py": BAD})
    assert migrated(root)["files"]["a.py"]["findings"]
    write(tmp_path, {"pyproject.toml": table(where, "lint = false")})
    assert migrated(root)["files"]["a.py"]["findings"] == []


def check_migrate_strict(tmp_path: Path, where: str) -> None:
    root = write(tmp_path / "src", {"broken.py": "import torch\ndef f(:\n"})
    assert migrated(root)["exit"] == 0
    write(tmp_path, {"pyproject.toml": table(where, "strict = true")})
    assert migrated(root)["exit"] == 1
    assert migrated(root, "--no-strict")["exit"] == 0


KEY_CHECKS = {
    ("", "exclude"): check_exclude,
    ("", "extend-exclude"): check_extend_exclude,
    ("", "respect-gitignore"): check_respect_gitignore,
    ("", "force-exclude"): check_force_exclude,
    **{("", name): check for name, check in {
        "select": check_select, "extend-select": check_extend_select, "ignore": check_ignore,
        "per-file-ignores": check_per_file_ignores, "unsafe-fixes": check_unsafe_fixes, "unfixable": check_unfixable,
        "target-version": check_target_version, "show-fixes": check_show_fixes, "output-format": check_output_format,
    }.items()},
    ("lint", "select"): check_select,
    ("lint", "extend-select"): check_extend_select,
    ("lint", "ignore"): check_ignore,
    ("lint", "per-file-ignores"): check_per_file_ignores,
    ("lint", "unsafe-fixes"): check_unsafe_fixes,
    ("lint", "unfixable"): check_unfixable,
    ("lint", "target-version"): check_target_version,
    ("lint", "exclude"): check_lint_exclude,
    ("lint", "show-fixes"): check_show_fixes,
    ("lint", "output-format"): check_output_format,
    ("convert", "import-style"): check_convert_import_style,
    ("migrate", "import-style"): check_migrate_import_style,
    ("migrate", "fix"): check_migrate_fix,
    ("migrate", "lint"): check_migrate_lint,
    ("migrate", "strict"): check_migrate_strict,
}


def test_every_key_of_the_schema_has_a_check():
    keys = {(name, key.name) for name, keys in project_config.TABLES.items() for key in keys}
    assert keys == set(KEY_CHECKS)


@pytest.mark.parametrize("where, key", sorted(KEY_CHECKS), ids=[f"{w or 'tool.pl-convert'}.{k}" for w, k in sorted(KEY_CHECKS)])
def test_every_key_acts(tmp_path: Path, where: str, key: str):
    KEY_CHECKS[(where, key)](tmp_path, where)


# -- unknown keys and bad values ---------------------------------------------------------------------
UNKNOWN_EVERYWHERE = "".join(
    table(name, f"{name or 'top'}-typo = 1") for name in ("", "lint", "convert", "migrate", "verify")
)


@pytest.mark.parametrize(
    "command",
    [("lint", "a.py", "--no-cache"), ("a.py", "--diff"), ("migrate", ".", "--no-cache", "-j", "1")],
    ids=["lint", "convert", "migrate"],
)
def test_an_unknown_key_warns_in_every_table_under_every_command(tmp_path: Path, command):
    root = write(tmp_path, {"pyproject.toml": UNKNOWN_EVERYWHERE, "a.py": "import torch\n"})
    result = invoke(root, *command)
    for name in ("top", "lint", "convert", "migrate", "verify"):
        assert f"unknown key '{name}-typo'" in result.stderr, (name, result.stderr)
    assert "[tool.pl-convert.migrate]: unknown key 'migrate-typo' (known keys: fix, import-style, lint, strict)" in result.stderr


def test_a_key_in_the_wrong_table_says_where_it_belongs(tmp_path: Path):
    root = write(tmp_path, {"pyproject.toml": table("convert", 'select = ["PTL1"]'), "a.py": "x = 1\n"})
    result = invoke(root, "lint", "a.py")
    assert "[tool.pl-convert.convert]: unknown key 'select'; it belongs in [tool.pl-convert]" in result.stderr


@pytest.mark.parametrize(
    "body, message",
    [
        (table("convert", 'import-style = "keras"'), "'import-style' must be one of 'pytorch_lightning', 'lightning'"),
        (table("migrate", 'fix = "yes"'), "'fix' must be true or false"),
        (table("", 'exclude = "legacy"'), "'exclude' must be a list of strings"),
        (table("lint", 'output-format = "xml"'), "'output-format' must be one of"),
        ("[tool.pl-convert]\nlint = 3\n", "[tool.pl-convert.lint] must be a table"),
    ],
)
def test_a_bad_value_is_exit_2_for_every_command(tmp_path: Path, body: str, message: str):
    root = write(tmp_path, {"pyproject.toml": body, "a.py": "import torch\n"})
    for command in (("lint", "a.py"), ("a.py",), ("migrate", ".", "-j", "1", "--no-cache")):
        result = invoke(root, *command)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.stderr


# -- the README --------------------------------------------------------------------------------------
def test_readme_configuration_section_is_the_schema():
    assert project_config.main(["--check"]) == 0, "run: python -m pl_convert.config"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Configuration" in readme and "## pre-commit" in readme
    for keys in project_config.TABLES.values():
        for key in keys:
            assert f"| `{key.name}` |" in readme


def test_documented_defaults_are_the_real_ones():
    documented = {key.name: key.default for key in project_config.LINT_KEYS}
    assert documented["select"] == json.dumps(list(DEFAULT_SELECT))
    assert documented["target-version"] == json.dumps(".".join(map(str, LATEST_LIGHTNING)))


def test_readme_pre_commit_snippet_names_real_hooks():
    import yaml

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("## pre-commit", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    hooks = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    used = {hook["id"] for repo in yaml.safe_load(snippet)["repos"] for hook in repo["hooks"]}
    assert used and used <= hooks
