"""Which files have uncommitted changes (for ``--in-place``, which refuses to touch them)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..gitignore import find_git_root


@dataclass(frozen=True)
class GitState:
    """The outcome of asking git about a tree."""

    in_repository: bool
    dirty: frozenset[Path] = frozenset()  #: absolute paths with uncommitted changes or untracked
    problem: str | None = None  #: set when git could not be asked (then nothing is known)


def git_state(root: Path) -> GitState:
    """Modified, staged, deleted and untracked files under ``root``.

    Not a repository (no ``.git`` above ``root``): ``in_repository=False``. A repository git
    cannot read (git missing, "dubious ownership", a broken index): ``problem`` says why.
    """
    root = root.resolve()
    if find_git_root(root) is None:
        return GitState(in_repository=False)
    git = shutil.which("git")
    if git is None:
        return GitState(True, problem="git is not installed, so uncommitted changes cannot be checked")
    try:
        top = subprocess.run(
            [git, "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=60
        )
        status = subprocess.run(
            [git, "-C", str(root), "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."],
            capture_output=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return GitState(True, problem=f"cannot run git: {exc}")
    if top.returncode != 0 or status.returncode != 0:
        message = (top.stderr or status.stderr.decode(errors="replace")).strip().splitlines()
        return GitState(True, problem=f"git status failed: {message[-1] if message else 'unknown error'}")
    toplevel = Path(top.stdout.strip())
    return GitState(True, dirty=frozenset(toplevel / p for p in parse_porcelain_z(status.stdout)))


def parse_porcelain_z(output: bytes) -> list[str]:
    """Paths in ``git status --porcelain=v1 -z`` output (both sides of a rename)."""
    fields = output.decode("utf-8", errors="surrogateescape").split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        paths.append(path)
        if "R" in code or "C" in code:  # the original path follows as its own field
            if i < len(fields) and fields[i]:
                paths.append(fields[i])
            i += 1
    return paths


def dirty_among(root: Path, rel_paths: list[str], state: GitState) -> list[str]:
    """The members of ``rel_paths`` (relative to ``root``) that git reports as uncommitted."""
    root = root.resolve()
    return [rel for rel in rel_paths if (root / rel) in state.dirty]
