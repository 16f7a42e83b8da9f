"""The command that applies a migration's remaining safe lint fixes (the end of every report)."""

from __future__ import annotations

import shlex
from pathlib import PurePath

from .pipeline import MigrationRun, Mode
from .records import FileStatus

#: More files than this: the command names the directory instead of every file.
MAX_LISTED_PATHS = 10


def safe_fix_count(run: MigrationRun) -> int:
    """Lint findings left whose fix is safe."""
    return sum(1 for record in run.records for finding in record.findings if _is_safe(finding))


def safe_fix_command(run: MigrationRun) -> str | None:
    """The exact command that applies the remaining safe fixes, or None when there are none.

    Written files (``--out``, ``--in-place``) are fixed with ``pl-convert lint --fix``; after a
    dry run, converted files exist only in the report, so the command is the migration itself,
    written in place with ``--fix`` (files that were already Lightning are on disk as they are:
    ``lint --fix`` does for them).
    """
    records = [r for r in run.records if any(_is_safe(f) for f in r.findings)]
    if not records:
        return None
    options = run.options
    if options.mode is Mode.DRY_RUN and any(r.status is not FileStatus.ALREADY_LIGHTNING for r in records):
        return shlex.join(["pl-convert", "migrate", str(options.source), "--in-place", "--fix"])
    base = options.out if options.mode is Mode.OUT and options.out is not None else options.source
    if len(records) > MAX_LISTED_PATHS:
        return shlex.join(["pl-convert", "lint", "--fix", str(base)])
    paths = [str(PurePath(base) / record.path) for record in sorted(records, key=lambda r: r.path)]
    return shlex.join(["pl-convert", "lint", "--fix", *paths])


def _is_safe(finding: dict) -> bool:
    fix = finding.get("fix")
    return isinstance(fix, dict) and fix.get("safety") == "safe"
