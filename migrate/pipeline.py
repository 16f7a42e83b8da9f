"""A whole migration: check the request, walk the tree, analyse the files, write the results.

``prepare`` (checks and walk) and ``execute`` (analysis and writes) are separate so that the
command can size its progress bar between them; :func:`migrate_tree` runs both.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .analyze import AnalysisSettings
from .cache import ResultCache
from ..gitignore import find_git_root
from .gitcheck import dirty_among, git_state
from .lint import is_path_dependent
from .records import FileRecord, Totals
from .runner import analyze_files, default_jobs
from ..walk import TreeListing, walk_tree
from .writer import WriteStats, write_in_place, write_out_tree


class MigrateError(Exception):
    """A request that cannot be carried out; ``str(error)`` is the message for the user."""


class Mode(str, enum.Enum):
    """Where the results go."""

    OUT = "out"  #: a new, complete tree (``--out DIR``)
    IN_PLACE = "in-place"  #: rewrite files where they are
    DRY_RUN = "dry-run"  #: write nothing (reports and diffs only)


@dataclass
class MigrateOptions:
    """A migration request (what the command line says)."""

    source: Path
    mode: Mode = Mode.DRY_RUN
    out: Path | None = None
    jobs: int = field(default_factory=default_jobs)
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    cache_dir: Path | None = None  #: None: no cache
    respect_gitignore: bool = True
    excludes: tuple[str, ...] = ()  #: gitignore-style patterns relative to ``source`` (--exclude)
    #: (directory, patterns) of ``exclude`` in ``[tool.pl-convert]`` (relative to that directory)
    configured_excludes: tuple[str | None, tuple[str, ...]] | None = None
    force: bool = False  #: write into a non-empty --out / rewrite in place uncommitted files or outside git


@dataclass
class MigrationRun:
    """Everything a migration did, for the reports."""

    options: MigrateOptions
    listing: TreeListing
    records: list[FileRecord]
    writes: WriteStats
    totals: Totals


def prepare(options: MigrateOptions) -> TreeListing:
    """Check the request and list the tree. Raises :class:`MigrateError` for bad requests."""
    source = options.source
    if not source.exists():
        raise MigrateError(f"{source}: no such directory")
    if not source.is_dir():
        raise MigrateError(f"{source}: not a directory (use `pl-convert FILE.py` for one file)")
    root = source.resolve()
    skip: list[Path] = []
    if options.mode is Mode.OUT:
        if options.out is None:
            raise MigrateError("--out needs a directory")
        out = options.out.resolve()
        if out == root:
            raise MigrateError("--out is the source directory itself; use --in-place to rewrite it")
        if root in out.parents:
            skip.append(out)  # an output inside the source is never part of the source
        if out in root.parents:
            raise MigrateError(f"--out {options.out} contains the source directory; choose another place")
        if out.exists() and not out.is_dir():
            raise MigrateError(f"--out {options.out} exists and is not a directory")
        if out.is_dir() and any(out.iterdir()) and not options.force:
            raise MigrateError(
                f"--out {options.out} exists and is not empty; choose an empty or new directory, "
                "or pass --force to write into it"
            )
    if options.mode is Mode.IN_PLACE and not options.force and find_git_root(root) is None:
        raise MigrateError(
            f"{source} is not in a git repository: --in-place would rewrite files with no way to "
            "review or undo the change; commit the tree to git first, write a copy with --out DIR, "
            "or pass --force"
        )
    if options.cache_dir is not None and root in options.cache_dir.resolve().parents:
        skip.append(options.cache_dir.resolve())
    exclude = None
    if options.configured_excludes is not None:
        from ..gitignore import PatternSet

        patterns = PatternSet(*options.configured_excludes)
        exclude = patterns.matches
    listing = walk_tree(
        root, respect_gitignore=options.respect_gitignore, excludes=options.excludes, skip_paths=tuple(skip), exclude=exclude
    )
    if not listing.source_files:
        raise MigrateError(f"{source}: no Python files or notebooks found (after skipping environments and ignored paths)")
    return listing


def execute(
    options: MigrateOptions, listing: TreeListing, advance: Callable[[int], None] | None = None
) -> MigrationRun:
    """Analyse every Python file of ``listing`` and write the results for ``options.mode``.

    ``--in-place`` raises :class:`MigrateError` (before writing anything) when files it would
    rewrite have uncommitted changes, unless ``options.force``.
    """
    cache = None
    if options.cache_dir is not None:
        path_dependent = is_path_dependent(options.settings.lint_config)
        cache = ResultCache(options.cache_dir, options.settings, path_dependent=path_dependent)
    records = analyze_files(
        listing.root, listing.source_files, options.settings, jobs=options.jobs, cache=cache, advance=advance
    )
    writes = WriteStats()
    if options.mode is Mode.OUT:
        assert options.out is not None
        writes = write_out_tree(listing, records, options.out.resolve())
    elif options.mode is Mode.IN_PLACE:
        to_write = [record.path for record in records if record.output is not None]
        if to_write and not options.force:
            check_clean_for_in_place(listing.root, to_write)
        writes = write_in_place(listing.root, records)
    totals = Totals.of(records, copied=writes.copied, symlinks=writes.symlinks)
    return MigrationRun(options, listing, records, writes, totals)


def check_clean_for_in_place(root: Path, rel_paths: list[str]) -> None:
    """Refuse (``MigrateError``) to rewrite files git reports as changed or untracked."""
    state = git_state(root)
    if not state.in_repository:
        return
    if state.problem is not None:
        raise MigrateError(f"--in-place: {state.problem}; pass --force to rewrite files anyway")
    dirty = dirty_among(root, rel_paths, state)
    if dirty:
        shown = "\n".join(f"  {rel}" for rel in dirty[:20])
        more = f"\n  ... and {len(dirty) - 20} more" if len(dirty) > 20 else ""
        raise MigrateError(
            f"--in-place would rewrite {len(dirty)} file(s) with uncommitted changes:\n{shown}{more}\n"
            "commit or stash them first (so the migration can be reviewed and undone), "
            "or pass --force"
        )


def migrate_tree(options: MigrateOptions, advance: Callable[[int], None] | None = None) -> MigrationRun:
    """:func:`prepare` then :func:`execute`."""
    return execute(options, prepare(options), advance)
