"""The real `pre-commit`, installing this repository's `.pre-commit-hooks.yaml` hooks.

The hook repository is a temporary git repo holding a copy of the working tree (so the test
does not depend on what the lead has committed); pre-commit builds its own virtualenv from it
(`language: python`), installing libcst/click/rich from the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BAD = "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1)\n"
GOOD = "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, accelerator=\"gpu\", devices=1)\n"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A committed copy of the working tree (tracked and untracked, not ignored files)."""
    pytest.importorskip("pre_commit")
    dest = tmp_path_factory.mktemp("hookrepo")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = REPO / rel
        if source.is_file() and not rel.startswith(("tests/", "benchmarks/", "fixtures/", "docs/")):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "hooks")
    return dest, git(dest, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def notebook(*cells: str) -> str:
    import json

    document = {
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c.splitlines(keepends=True)} for c in cells],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1) + "\n"


def make_project(tmp_path: Path, hook_repo: tuple[Path, str], hook_id: str, files: dict[str, str]) -> Path:
    repo, rev = hook_repo
    project = tmp_path
    project.mkdir(parents=True, exist_ok=True)
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo.as_posix()}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n", encoding="utf-8"
    )
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    git(project, "init", "-q")
    git(project, "add", "-A")
    return project


def pre_commit(project: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


def test_hook_ids_and_entries():
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"pl-convert-lint", "pl-convert-fix"}
    assert hooks["pl-convert-lint"]["entry"].startswith("pl-convert lint")
    assert "--fix" in hooks["pl-convert-fix"]["entry"]
    for hook in hooks.values():
        # pre-commit names files explicitly: the configured exclude must still apply
        assert "--force-exclude" in hook["entry"].split()
        assert "jupyter" in hook["types_or"]


def test_hooks_fail_on_bad_code_pass_on_good_code_and_fix(tmp_path, hook_repo, pre_commit_home):
    # one test, so that one process builds the hook environment once (pytest-xdist)
    bad = pre_commit(make_project(tmp_path / "bad", hook_repo, "pl-convert-lint", {"train.py": BAD}), pre_commit_home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "PTL201" in bad.stdout and "Failed" in bad.stdout

    good = pre_commit(make_project(tmp_path / "good", hook_repo, "pl-convert-lint", {"train.py": GOOD}), pre_commit_home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    project = make_project(tmp_path / "fix", hook_repo, "pl-convert-fix", {"train.py": BAD})
    fixed = pre_commit(project, pre_commit_home)
    assert fixed.returncode == 1  # pre-commit fails a run that modified files
    assert "files were modified by this hook" in fixed.stdout
    assert (project / "train.py").read_text(encoding="utf-8") == GOOD
    assert pre_commit(project, pre_commit_home).returncode == 0

    # exclude = ["legacy"]: `pl-convert lint .` skips legacy/, and so does the hook, although
    # pre-commit names legacy/old.py explicitly (--force-exclude)
    files = {
        "pyproject.toml": '[tool.pl-convert]\nexclude = ["legacy"]\n',
        "train.py": GOOD,
        "legacy/old.py": BAD,
    }
    excluded = pre_commit(make_project(tmp_path / "excluded", hook_repo, "pl-convert-lint", files), pre_commit_home)
    assert excluded.returncode == 0, excluded.stdout + excluded.stderr
    assert "PTL201" not in excluded.stdout
    files["pyproject.toml"] = "[tool.pl-convert]\n"
    included = pre_commit(make_project(tmp_path / "included", hook_repo, "pl-convert-lint", files), pre_commit_home)
    assert included.returncode == 1 and "legacy/old.py:2:" in included.stdout

    # notebooks are linted too, findings located by cell
    nb = pre_commit(make_project(tmp_path / "nb", hook_repo, "pl-convert-lint", {"nb.ipynb": notebook("%matplotlib inline", BAD)}), pre_commit_home)
    assert nb.returncode == 1 and "nb.ipynb:cell 2:2:" in nb.stdout, nb.stdout
