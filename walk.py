"""Walking a source tree: which files are sources, which are other files, what is skipped.

The one walker of pl-convert: ``pl-convert lint DIR`` and ``pl-convert migrate DIR`` list files
with it, so both skip the same things: VCS metadata, caches, virtual environments (by name or by
their ``pyvenv.cfg`` / ``conda-meta`` marker), what ``.gitignore`` files ignore (unless
``respect_gitignore`` is off), and the configured ``exclude`` patterns (gitignore syntax, matched
by :mod:`pl_convert.gitignore`, the one ignore matcher). Hidden directories are walked (``.github``
holds scripts too), as ruff does; ``build/`` and ``dist/`` only when not ignored.

Directory symlinks are never followed (``migrate --out`` recreates them as symlinks), so a
symlink loop cannot hang the walk, and nothing outside the tree is read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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

#: What ``source_files`` holds by default: Python files and Jupyter notebooks.
SOURCE_SUFFIXES: tuple[str, ...] = (".py", ".ipynb")

#: ``exclude(path, is_dir)``: an extra test per entry (absolute path), e.g. lint's per-directory
#: configuration; True leaves the entry out.
ExcludeTest = Callable[[Path, bool], bool]


@dataclass
class TreeListing:
    """What a walk found; every path is relative to the root, with ``/`` separators, sorted."""

    root: Path
    source_files: list[str] = field(default_factory=list)  #: files with one of the source suffixes
    other_files: list[str] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)  #: every kept directory (for --out)
    skipped: list[str] = field(default_factory=list)  #: skipped directories (environments, ignored)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  #: (path, why)


def is_environment_dir(path: Path) -> bool:
    """Whether ``path`` is a virtual environment or conda environment.

    An unreadable directory is not an environment: the walk reports it as unreadable when it
    tries to list it (``Path.exists`` raises ``PermissionError`` inside it on Python < 3.12).
    """
    try:
        return any((path / marker).exists() for marker in ENVIRONMENT_MARKERS)
    except OSError:
        return False


def walk_tree(
    root: Path,
    *,
    respect_gitignore: bool = True,
    excludes: tuple[str, ...] = (),
    skip_paths: tuple[Path, ...] = (),
    exclude: ExcludeTest | None = None,
    source_suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
) -> TreeListing:
    """List ``root``'s files, skipping VCS metadata, environments, caches and ignored paths.

    ``excludes`` are gitignore-style patterns relative to ``root``; ``exclude`` is a further
    test per entry. ``skip_paths`` are absolute directories left out wherever they appear (the
    ``--out`` directory when it lies inside the source, the cache directory). Files ending in
    one of ``source_suffixes`` go to ``source_files``, the rest to ``other_files``.
    """
    root = root.resolve()
    listing = TreeListing(root=root)
    walk = _Walk(respect_gitignore, {p.resolve() for p in skip_paths}, exclude, tuple(source_suffixes), listing)
    walk.directory(root, "", initial_stack(root, respect_gitignore, excludes))
    for names in (listing.source_files, listing.other_files, listing.symlinks, listing.directories, listing.skipped):
        names.sort()
    return listing


class _Walk:
    """One walk's settings, and the recursion over its directories."""

    def __init__(self, respect_gitignore: bool, skip: set[Path], exclude: ExcludeTest | None, suffixes: tuple[str, ...], listing: TreeListing) -> None:
        self.respect_gitignore = respect_gitignore
        self.skip = skip
        self.exclude = exclude
        self.suffixes = suffixes
        self.listing = listing

    def directory(self, directory: Path, rel_dir: str, ignores: IgnoreStack) -> None:
        listing = self.listing
        if self.respect_gitignore:
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
                is_dir = _points_to_dir(entry)
                if not self._left_out(entry, rel, is_dir, ignores):
                    listing.symlinks.append(rel)
                continue
            if stat.S_ISDIR(st.st_mode):
                path = Path(entry.path)
                if (
                    entry.name in ALWAYS_SKIPPED_DIRS
                    or entry.name.endswith(".egg-info")
                    or path in self.skip
                    or self._left_out(entry, rel, True, ignores)
                    or is_environment_dir(path)
                ):
                    listing.skipped.append(rel)
                    continue
                listing.directories.append(rel)
                self.directory(path, rel, ignores)
                continue
            if not stat.S_ISREG(st.st_mode) or self._left_out(entry, rel, False, ignores):
                continue  # sockets, fifos, devices: not project files
            if entry.name.endswith(self.suffixes):
                listing.source_files.append(rel)
            else:
                listing.other_files.append(rel)

    def _left_out(self, entry: os.DirEntry, rel: str, is_dir: bool, ignores: IgnoreStack) -> bool:
        if ignores.is_ignored(rel, is_dir):
            return True
        return self.exclude is not None and self.exclude(Path(entry.path), is_dir)


def _points_to_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:  # dangling link or loop
        return False
