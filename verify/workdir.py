"""A disposable copy of a script's directory, for one verify run.

A script runs from its own directory as it would in its repository: relative paths such as
``results/`` or ``checkpoint/`` (folders the repository ships), sibling modules and files next
to it work, and nothing it writes reaches the original directory. The copy skips what a run
does not need (``.git``, virtual environments, caches, the verify working directory and data
root); files larger than :data:`LARGE_FILE` bytes, and every file once :data:`COPY_BUDGET`
bytes have been copied, are symbolic links instead (datasets and checkpoints are read, rarely
rewritten): :func:`changed_links` tells afterwards whether a run wrote through one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

LARGE_FILE = 16 * 1024 * 1024
COPY_BUDGET = 256 * 1024 * 1024
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
             ".pl_convert_cache", "node_modules", ".tox", ".nox", ".ipynb_checkpoints"}


@dataclass
class DirectoryCopy:
    """What :func:`copy_directory` made."""

    root: Path
    copied: int = 0
    copied_bytes: int = 0
    #: link path in the copy -> (original file, its (size, mtime_ns) when linked)
    links: dict[Path, tuple[Path, tuple[int, int]]] = field(default_factory=dict)


def _is_virtualenv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file() or (path / "conda-meta").is_dir()


def copy_directory(source: Path, target: Path, skip: list[Path] | None = None) -> DirectoryCopy:
    """Copy ``source`` into the new directory ``target`` (see the module docstring)."""
    source = source.resolve()
    skipped = {p.resolve() for p in (skip or []) if p is not None}
    result = DirectoryCopy(target)
    target.mkdir(parents=True)
    for current, dirs, files in os.walk(source, followlinks=False):
        here = Path(current)
        relative = here.relative_to(source)
        kept = []
        for name in sorted(dirs):
            path = here / name
            if name in SKIP_DIRS or path.resolve() in skipped or _is_virtualenv(path):
                continue
            if path.is_symlink():  # a link to a folder stays a link (to the same place)
                (target / relative / name).symlink_to(os.readlink(path))
                continue
            (target / relative / name).mkdir()
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = here / name
            destination = target / relative / name
            if path.resolve() in skipped:
                continue
            if path.is_symlink():
                destination.symlink_to(os.readlink(path))
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            if stat.st_size > LARGE_FILE or result.copied_bytes + stat.st_size > COPY_BUDGET:
                destination.symlink_to(path)
                result.links[destination] = (path, (stat.st_size, stat.st_mtime_ns))
                continue
            try:
                shutil.copy2(path, destination)
            except OSError:  # unreadable: the run sees it missing, as it would see it unreadable
                continue
            result.copied += 1
            result.copied_bytes += stat.st_size
    return result


def changed_links(copy: DirectoryCopy) -> list[Path]:
    """Original files reached through a link of the copy that changed while the run went on."""
    changed = []
    for original, before in copy.links.values():
        try:
            stat = original.stat()
        except OSError:
            changed.append(original)
            continue
        if (stat.st_size, stat.st_mtime_ns) != before:
            changed.append(original)
    return changed
