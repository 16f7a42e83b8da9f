"""``pl-convert lint``, ``pl-convert rules`` and ``pl-convert rule CODE``.

Exit codes of ``lint``: 0 clean, 1 findings remain, 2 usage or input error (a path that does
not exist, a file that cannot be read or parsed, an invalid configuration).
"""

from __future__ import annotations

import sys

import click

FORMAT_CHOICES = ("full", "concise", "json", "sarif", "github")


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--select PTL1,PTL2 --select PTL301`` -> ("PTL1", "PTL2", "PTL301")."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"pl-convert: error: {message}", err=True)
    return click.exceptions.Exit(2)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None, help="Also apply (or show) fixes that need review.")
@click.option("--diff", is_flag=True, help="Show the fixes as a diff; write nothing.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="full", show_default=True, help="Output format.")
@click.option("--select", multiple=True, metavar="CODES", help="Rules to run (codes or prefixes, comma separated); replaces the configured selection.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to run in addition to the configured selection.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules to skip.")
@click.option("--target-version", metavar="X.Y", help="Lightning version the code must run on (default: the newest).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Use this pyproject.toml instead of searching upward.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes (0: automatic).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even if problems remain.")
def lint(paths, fix, unsafe_fixes, diff, fmt, select, extend_select, ignore, target_version, config_path, jobs, no_cache, exit_zero):
    """Lint Lightning code: best practice and the 1.x → 2.x migration.

    \b
      pl-convert lint src/ train.py
      pl-convert lint . --fix                 apply safe fixes
      pl-convert lint . --fix --unsafe-fixes  also fixes that need review
      pl-convert lint . --diff                show fixes, write nothing
      pl-convert lint . --select PTL1 --ignore PTL111 --format json
    """
    from .catalog import unknown_selectors  # not the registry: that imports every rule, and libcst
    from .config import ConfigError, check_selectors, load_config
    from .runner import ConfigResolver, RunOptions, default_jobs, discover, run

    try:
        select_codes = check_selectors(_split(select), "--select")
        extend_codes = check_selectors(_split(extend_select), "--extend-select")
        ignore_codes = check_selectors(_split(ignore), "--ignore")
        unknown = unknown_selectors(select_codes + extend_codes + ignore_codes)
        if unknown:
            raise ConfigError(f"unknown rule selector(s): {', '.join(unknown)} (see `pl-convert rules`)")

        def override(config):
            return config.with_overrides(select_codes, extend_codes, ignore_codes, unsafe_fixes, target_version)

        fixed_config = override(load_config(config_path)) if config_path else None
        if config_path and fixed_config.source is None:
            raise ConfigError(f"{config_path}: no [tool.pl-convert] table")
        resolver = ConfigResolver(override, fixed_config)
        files, missing = discover(list(paths) or ["."], resolver)
        for path in files:
            resolver.for_path(path)  # load (and validate) every configuration up front
        for config in resolver.loaded():
            for warning in config.warnings:
                click.echo(f"pl-convert: warning: {warning}", err=True)
    except ConfigError as exc:
        raise _fail(str(exc))

    options = RunOptions(fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, use_cache=not no_cache, keep_source=fmt == "full")
    workers = jobs or default_jobs(len(files))
    try:
        results = missing + _collect(run(files, resolver, options, workers), len(files))
    except ConfigError as exc:
        raise _fail(str(exc))

    stdout = click.get_text_stream("stdout")
    color = stdout.isatty() and fmt in ("full", "concise")
    if diff:
        for result in results:
            if result.diff:
                stdout.write(result.diff)
        changed = sum(1 for r in results if r.diff)
        fixes = sum(r.fixed for r in results)
        click.echo(f"Would fix {fixes} problem{'s' if fixes != 1 else ''} in {changed} file{'s' if changed != 1 else ''}." if fixes else "No fixes available.", err=True)
        errors = [r for r in results if r.error is not None]
        for result in errors:
            where = f"{result.path}:{result.error_line}" if result.error_line else result.path
            click.echo(f"{where}: error: {result.error}", err=True)
        code = 2 if errors else (1 if changed and not exit_zero else 0)
        raise click.exceptions.Exit(code)

    from .report import render

    render(results, fmt, stdout, color)
    if any(r.error is not None for r in results):
        raise click.exceptions.Exit(2)
    if any(r.findings for r in results) and not exit_zero:
        raise click.exceptions.Exit(1)


def _collect(results, total: int) -> list:
    """Drain the runner, with a progress bar on a terminal for long runs."""
    if total < 50 or not sys.stderr.isatty():
        return list(results)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    collected = []
    with Progress(TextColumn("linting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("lint", total=total)
        for result in results:
            collected.append(result)
            progress.advance(task)
    return collected


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--format", "fmt", type=click.Choice(("text", "json", "markdown")), default="text", show_default=True)
def rules_table(fmt):
    """List every lint rule (code, name, fix, default, message)."""
    import json

    from .docs import FIX_LABELS, default_on
    from .registry import all_rules

    rules = all_rules()
    if fmt == "json":
        data = [
            {
                "code": r.code,
                "name": r.name,
                "message": r.message,
                "fix": r.fix_safety,
                "default": default_on(r),
                "applies_from": ".".join(map(str, r.applies_from)) if r.applies_from else None,
            }
            for r in rules
        ]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    rows = [(r.code, r.name, FIX_LABELS[r.fix_safety], "on" if default_on(r) else "off", r.message) for r in rules]
    header = ("Code", "Name", "Fix", "Default", "Message")
    if fmt == "markdown":
        click.echo("| " + " | ".join(header) + " |")
        click.echo("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            click.echo("| " + " | ".join(row) + " |")
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header, title=f"pl-convert lint rules ({len(rows)})")
        for row in rows:
            table.add_row(*row, style=None if row[3] == "on" else "dim")
        Console().print(table)
        return
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header[:-1])]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("code")
def rule_doc(code):
    """Show one rule's documentation (by code, e.g. PTL101, or by name)."""
    import difflib

    from .docs import rule_markdown
    from .registry import all_rules, rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        candidates = [r.code for r in all_rules()] + [r.name for r in all_rules()]
        close = difflib.get_close_matches(code, candidates, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; see `pl-convert rules`"
        raise _fail(f"unknown rule {code!r}{hint}")
    text = rule_markdown(rule)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        click.echo(text, nl=False)
