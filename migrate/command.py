"""``pl-convert migrate``: convert and lint a whole codebase, with a report.

Exit codes: 0 the run completed (also when some files were not converted); 1 with ``--strict``
when a file is not convertible, unparseable or failed, or when a file could not be written;
2 for a request that cannot be carried out (missing directory, no Python files, a non-empty
``--out``, uncommitted changes under ``--in-place``, a bad option).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _check_report_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Fail before the (long) run, not after it, when a report cannot be written there."""
    if value is None or value == "-":
        return value
    parent = Path(value).resolve().parent
    if not parent.is_dir():
        raise click.BadParameter(f"directory {parent} does not exist", ctx=ctx, param=param)
    if Path(value).is_dir():
        raise click.BadParameter(f"{value} is a directory", ctx=ctx, param=param)
    return value


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("source", type=click.Path(path_type=Path, file_okay=True, dir_okay=True))
@click.option("--out", "out", metavar="DIR", type=click.Path(path_type=Path), help="Write a complete migrated copy of the tree here.")
@click.option("--in-place", is_flag=True, help="Rewrite files where they are (refuses uncommitted files, and a tree outside git).")
@click.option("--dry-run", is_flag=True, help="Write nothing; report (and --diff) only. The default.")
@click.option("--diff", "show_diff", is_flag=True, help="Print unified diffs of the changes to stdout.")
@click.option("-j", "--jobs", metavar="N", type=click.IntRange(min=0), default=0, help="Worker processes [default: all cores].")
@click.option(
    "--report", "report", callback=_check_report_path, metavar="PATH",
    help="Write the report for people: Markdown, or HTML for a .html name ('-': stdout).",
)
@click.option("--json", "json_report", callback=_check_report_path, metavar="PATH", help="Write the JSON report ('-': stdout).")
@click.option("--force", is_flag=True, help="Write into a non-empty --out; with --in-place, rewrite uncommitted files or a tree outside git.")
@click.option("--fix/--no-fix", default=None, help="Also apply the linter's safe fixes to Lightning files [default: fix in [tool.pl-convert.migrate], else no].")
@click.option("--strict/--no-strict", default=None, help="Exit 1 if any file is not convertible, unparseable or failed.")
@click.option(
    "--import-style", type=click.Choice(["pytorch_lightning", "lightning"]), default=None,
    help="How converted files import Lightning [default: the configuration's, else pytorch_lightning].",
)
@click.option("--lint/--no-lint", "lint_files", default=None, help="Lint Lightning files [default: yes].")
@click.option("--cache-dir", metavar="DIR", type=click.Path(path_type=Path), help="Result cache location [default: ~/.cache/pl-convert].")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Skip paths matching a gitignore-style pattern (repeatable); replaces the configured exclude.")
@click.option("--extend-exclude", multiple=True, metavar="PATTERN", help="Skip these paths too, in addition to the configured exclude.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip what .gitignore files ignore [default: yes].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def migrate(
    source: Path,
    out: Path | None,
    in_place: bool,
    dry_run: bool,
    show_diff: bool,
    jobs: int,
    report: str | None,
    json_report: str | None,
    force: bool,
    fix: bool | None,
    strict: bool | None,
    import_style: str | None,
    lint_files: bool | None,
    cache_dir: Path | None,
    no_cache: bool,
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    respect_gitignore: bool | None,
    quiet: bool,
) -> None:
    """Migrate a whole codebase to Lightning, with a report.

    Every Python file under SOURCE is classified (converted, already Lightning, no training
    code, not convertible, unparseable), converted where possible, and linted when it uses
    Lightning. Converted files keep their paths (unlike `pl-convert FILE.py`, which writes
    FILE_lightning.py beside the original): with --out, SOURCE is copied to DIR (non-Python
    files, modes and symlinks included) with each converted file in place of its original, so
    imports and scripts keep working; with --in-place, git keeps the originals.

    \b
    Exit codes: 0 the run completed (even if some files were not converted);
                1 --strict and a file was not converted, or a file could not be written;
                2 bad request (no such directory, no Python files, non-empty --out, ...).

    \b
      pl-convert migrate repo/ --out migrated/
      pl-convert migrate repo/ --in-place
      pl-convert migrate repo/ --dry-run --diff
      pl-convert migrate repo/ --out m/ --jobs 2 --report report.md --json report.json
    """
    from rich.console import Console

    from .analyze import AnalysisSettings
    from .cache import default_cache_dir
    from .pipeline import MigrateError, MigrateOptions, Mode, execute, prepare
    from .runner import default_jobs

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    modes = [name for name, given in (("--out", out is not None), ("--in-place", in_place), ("--dry-run", dry_run)) if given]
    if len(modes) > 1:
        raise click.UsageError(f"{' and '.join(modes)} cannot be combined: choose one", ctx=click.get_current_context())
    mode = Mode.OUT if out is not None else Mode.IN_PLACE if in_place else Mode.DRY_RUN
    project = _load_project_config(source, err)
    table = project.table("migrate")
    lint = table.get("lint", True) if lint_files is None else lint_files
    fix = table.get("fix", False) if fix is None else fix
    strict = table.get("strict", False) if strict is None else strict
    import_style = import_style or table.get("import-style") or project.get("convert", "import-style") or "pytorch_lightning"
    lint_config = _lint_config(project) if lint else None
    settings = AnalysisSettings(import_style=import_style, lint=lint, fix=fix, lint_config=lint_config)
    top = project.table("")
    patterns = top.get("exclude", ()) if not exclude else ()
    patterns += top.get("extend-exclude", ())
    options = MigrateOptions(
        source=source,
        mode=mode,
        out=out,
        jobs=jobs or default_jobs(),
        settings=settings,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        respect_gitignore=top.get("respect-gitignore", True) if respect_gitignore is None else respect_gitignore,
        excludes=tuple(exclude) + tuple(extend_exclude),
        configured_excludes=(project.root, patterns) if patterns else None,
        force=force,
    )
    start = time.perf_counter()
    try:
        listing = prepare(options)
        from .progress import progress_bar

        with progress_bar(len(listing.source_files), err, enabled=not quiet) as advance:
            run = execute(options, listing, advance)
    except MigrateError as exc:
        err.print("error:", str(exc), style="red" if err.is_terminal else None, markup=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    elapsed = time.perf_counter() - start
    out_console = Console(highlight=False, soft_wrap=True)
    if show_diff:
        from .diffs import print_diff, record_diff

        for record in sorted(run.records, key=lambda r: r.path):
            if record.output is not None:
                print_diff(record_diff(listing.root, record), out_console)
    written, report_failed = _write_reports(run, report, json_report, err)
    if not quiet:
        from .summary import print_summary

        print_summary(run, err, elapsed, written)
        if mode is Mode.DRY_RUN and not dry_run and not show_diff:
            err.print("nothing was written: use --out DIR or --in-place to write the migrated files", style="dim")
    sys.exit(EXIT_PROBLEMS if report_failed else _exit_code(run, strict))


def _load_project_config(source: Path, err):
    """The ``[tool.pl-convert]`` tables found from ``source`` upward (defaults if none). A
    broken configuration is a usage error (exit 2); unknown keys, in any table, are warnings."""
    from ..config import ConfigError, load_project_config

    try:
        config = load_project_config(source if source.exists() else Path.cwd())
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    for warning in config.warnings:
        err.print(f"warning: {warning}", markup=False)
    return config


def _lint_config(project):
    """The lint configuration of ``project`` (None when the rule engine is not installed)."""
    from .lint import lint_available

    if not lint_available():
        return None
    from ..rules.config import lint_config_from

    return lint_config_from(project)


def _write_reports(run, report: str | None, json_report: str | None, err) -> tuple[list[str], bool]:
    """Write the requested reports (atomically); returns the paths written and whether any failed."""
    from ..sourcefile import atomic_write_text
    from .report_render import format_for_path, render_report

    written, failed = [], False
    for path, fmt in ((report, None), (json_report, "json")):
        if path is None:
            continue
        text = render_report(run, fmt or format_for_path(path))
        if path == "-":
            click.echo(text, nl=False)
            continue
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            err.print(f"error: cannot write {path}: {exc.strerror or exc}", markup=False)
            failed = True
            continue
        written.append(path)
    return written, failed


def _exit_code(run, strict: bool) -> int:
    from .records import PROBLEM_STATUSES

    if run.writes.errors:
        return EXIT_PROBLEMS
    if strict and any(record.status in PROBLEM_STATUSES for record in run.records):
        return EXIT_PROBLEMS
    return EXIT_OK
