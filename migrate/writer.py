"""Writing a migration's results: a complete output tree (``--out``) or the files in place.

Every Python file is written atomically (:func:`pl_convert.sourcefile.atomic_write_text`, in
its own encoding, keeping its mode); other files are copied with :func:`shutil.copy2` (mode and
times kept); symlinks are recreated as symlinks. Failures are collected per path, never raised,
so one unwritable file does not stop the rest.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..sourcefile import atomic_write_text
from .records import FileRecord
from ..walk import TreeListing


@dataclass
class WriteStats:
    """What was written, and what could not be."""

    written: int = 0  #: Python files rewritten (converted / fixed)
    unchanged: int = 0  #: Python files copied unchanged to --out
    copied: int = 0  #: other (non-Python) files copied to --out
    symlinks: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  #: (path, why)


def write_out_tree(listing: TreeListing, records: list[FileRecord], out: Path) -> WriteStats:
    """Build the complete output tree under ``out``: converted files at their own paths."""
    stats = WriteStats()
    root = listing.root
    out.mkdir(parents=True, exist_ok=True)
    for rel in listing.directories:
        _guard(stats, rel, lambda rel=rel: (out / rel).mkdir(parents=True, exist_ok=True))
    by_path = {record.path: record for record in records}
    for rel in listing.source_files:
        record = by_path.get(rel)
        if record is not None and record.output is not None:
            if _guard(stats, rel, lambda: _write_text(out / rel, record, like=root / rel)):
                stats.written += 1
        elif _guard(stats, rel, lambda rel=rel: _copy_file(root / rel, out / rel)):
            stats.unchanged += 1
    for rel in listing.other_files:
        if _guard(stats, rel, lambda rel=rel: _copy_file(root / rel, out / rel)):
            stats.copied += 1
    for rel in listing.symlinks:
        if _guard(stats, rel, lambda rel=rel: _copy_symlink(root, rel, out)):
            stats.symlinks += 1
    # Directory modes last: a read-only source directory must not stop its own files' copies.
    for rel in sorted(listing.directories, key=lambda r: r.count("/"), reverse=True):
        _guard(stats, rel, lambda rel=rel: shutil.copystat(root / rel, out / rel))
    return stats


def write_in_place(root: Path, records: list[FileRecord]) -> WriteStats:
    """Rewrite the changed files where they are, atomically."""
    stats = WriteStats()
    for record in records:
        if record.output is None:
            continue
        if _guard(stats, record.path, lambda record=record: _write_text(root / record.path, record)):
            stats.written += 1
    return stats


def _guard(stats: WriteStats, rel: str, action) -> bool:
    try:
        action()
    except OSError as exc:
        stats.errors.append((rel, exc.strerror or str(exc)))
        return False
    except UnicodeEncodeError as exc:
        stats.errors.append((rel, f"cannot encode the output: {exc}"))
        return False
    return True


def _write_text(dest: Path, record: FileRecord, like: Path | None = None) -> None:
    assert record.output is not None
    if dest.is_symlink():  # never write through a link left over in --out --force
        dest.unlink()
    atomic_write_text(dest, record.output, record.encoding, like=like)


def _clear(dest: Path) -> None:
    """Make room for ``dest`` (``--force`` over an earlier output): remove a file or link.
    A directory in the way is an error (never deleted, never written into)."""
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a directory is in the way", str(dest))


def _copy_file(src: Path, dest: Path) -> None:
    _clear(dest)
    shutil.copy2(src, dest, follow_symlinks=False)


def _copy_symlink(root: Path, rel: str, out: Path) -> None:
    """Recreate the link ``root/rel`` at ``out/rel``.

    Relative targets are kept verbatim (they resolve inside the new tree the same way). An
    absolute target inside the source tree is made relative, so the copy points into the output
    tree rather than back into the source.
    """
    src = root / rel
    dest = out / rel
    target = os.readlink(src)
    if os.path.isabs(target):
        try:
            inside = Path(target).relative_to(root)
        except ValueError:
            inside = None
        if inside is not None:
            target = os.path.relpath(out / inside, dest.parent)
    _clear(dest)
    os.symlink(target, dest)
