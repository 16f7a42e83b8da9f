"""``pl-convert migrate``: convert and lint a whole codebase, with a report.

Layers, one job each:

- :mod:`pl_convert.walk` (shared with ``pl-convert lint``, with :mod:`pl_convert.gitignore`) lists
  the tree: sources, other files, symlinks; skips VCS metadata, environments, caches and what
  ``.gitignore`` ignores;
- :mod:`.analyze` classifies one file (bytes in, :class:`~.records.FileRecord` out; never raises),
  using the converter and the linter (:mod:`.lint`);
- :mod:`.runner` runs that over many files, in a process pool, with the :mod:`.cache`;
- :mod:`.writer` writes the output tree or the files in place; :mod:`.gitcheck` guards
  ``--in-place``;
- :mod:`.pipeline` ties these together; :mod:`.report_model` / :mod:`.report_render` and
  :mod:`.summary` report; :mod:`.command` is the click command.

Python API::

    from pl_convert.migrate import MigrateOptions, Mode, migrate_tree
    run = migrate_tree(MigrateOptions(Path("repo"), Mode.OUT, out=Path("migrated")))
    run.totals.convert_rate, [r.status for r in run.records]
"""

from __future__ import annotations

from .pipeline import MigrateError, MigrateOptions, MigrationRun, Mode, migrate_tree
from .records import FileRecord, FileStatus, Totals

__all__ = ["MigrateError", "MigrateOptions", "MigrationRun", "Mode", "migrate_tree", "FileRecord", "FileStatus", "Totals"]
