"""Walking a source tree: which files are Python sources, which are copied, what is skipped.

Directory symlinks are never followed (they are recreated as symlinks in ``--out``), so a
symlink loop cannot hang the walk, and nothing outside the tree is read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .gitignore import IgnoreFile, IgnoreStack, initial_stack

#: Directory names that are never part of a project's sources.
ALWAYS_SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "site-packages",
        "node_modules",
        ".tox",
        ".nox",
        ".venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".pl_convert_cache",
        ".ipynb_checkpoints",
        ".eggs",
    }
)

#: Files whose presence marks a directory as a Python environment (venv, virtualenv, conda).
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")

PYTHON_SUFFIX = ".py"


@dataclass
class TreeListing:
    """What a walk found; every path is relative to the root, with ``/`` separators, sorted."""

    root: Path
    python_files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)  #: every kept directory (for --out)
    skipped: list[str] = field(default_factory=list)  #: skipped directories (environments, ignored)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  #: (path, why)


def is_environment_dir(path: Path) -> bool:
    """Whether ``path`` is a virtual environment or conda environment."""
    return any((path / marker).exists() for marker in ENVIRONMENT_MARKERS)


def walk_tree(
    root: Path,
    *,
    respect_gitignore: bool = True,
    excludes: tuple[str, ...] = (),
    skip_paths: tuple[Path, ...] = (),
) -> TreeListing:
    """List ``root``'s files, skipping VCS metadata, environments, caches and ignored paths.

    ``skip_paths`` are absolute directories left out wherever they appear (the ``--out``
    directory when it lies inside the source, the cache directory).
    """
    root = root.resolve()
    listing = TreeListing(root=root)
    skip = {p.resolve() for p in skip_paths}
    _walk_dir(root, "", initial_stack(root, respect_gitignore, excludes), respect_gitignore, skip, listing)
    for names in (listing.python_files, listing.other_files, listing.symlinks, listing.directories, listing.skipped):
        names.sort()
    return listing


def _walk_dir(
    directory: Path,
    rel_dir: str,
    ignores: IgnoreStack,
    respect_gitignore: bool,
    skip: set[Path],
    listing: TreeListing,
) -> None:
    if respect_gitignore:
        ignores = ignores.push(IgnoreFile.load(directory / ".gitignore", rel_dir))
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        listing.unreadable.append((rel_dir or ".", exc.strerror or str(exc)))
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            listing.unreadable.append((rel, exc.strerror or str(exc)))
            continue
        if stat.S_ISLNK(st.st_mode):
            if not ignores.is_ignored(rel, _points_to_dir(entry)):
                listing.symlinks.append(rel)
            continue
        if stat.S_ISDIR(st.st_mode):
            path = Path(entry.path)
            if (
                entry.name in ALWAYS_SKIPPED_DIRS
                or path in skip
                or ignores.is_ignored(rel, True)
                or is_environment_dir(path)
            ):
                listing.skipped.append(rel)
                continue
            listing.directories.append(rel)
            _walk_dir(path, rel, ignores, respect_gitignore, skip, listing)
            continue
        if not stat.S_ISREG(st.st_mode) or ignores.is_ignored(rel, False):
            continue  # sockets, fifos, devices: not project files
        if entry.name.endswith(PYTHON_SUFFIX):
            listing.python_files.append(rel)
        else:
            listing.other_files.append(rel)


def _points_to_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:  # dangling link or loop
        return False
