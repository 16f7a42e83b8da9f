"""``pl-convert lint``, ``pl-convert rules`` and ``pl-convert rule CODE``.

Exit codes of ``lint``: 0 clean, 1 findings remain, 2 usage or input error (a path that does
not exist, a file that cannot be read or parsed, an invalid configuration).
"""

from __future__ import annotations

import sys

import click

from ..config import OUTPUT_FORMATS as FORMAT_CHOICES  # noqa: F401 - one list of formats


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--select PTL1,PTL2 --select PTL301`` -> ("PTL1", "PTL2", "PTL301")."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"pl-convert: error: {message}", err=True)
    return click.exceptions.Exit(2)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--fix-only", is_flag=True, help="Apply safe fixes; report only what was fixed, exit 0 whatever is left.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None, help="Also apply (or show) fixes that need review.")
@click.option("--show-fixes/--no-show-fixes", "show_fixes", default=None, help="List every fix --fix applied.")
@click.option("--diff", is_flag=True, help="Show the fixes as a diff; write nothing.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODES` to every line with findings (adopt the linter on existing code).")
@click.option("--format", "--output-format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None, help="Output format [default: full, or output-format in the configuration].")
@click.option("--statistics", is_flag=True, help="Count findings per rule instead of listing them.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, writable=True), help="Write the report to this file instead of stdout.")
@click.option("--select", multiple=True, metavar="CODES", help="Rules to run (codes or prefixes, comma separated); replaces the configured selection.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to run in addition to the configured selection.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules to skip (ALL: every rule).")
@click.option("--unfixable", multiple=True, metavar="CODES", help="Rules whose fixes are never applied.")
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Paths to skip (gitignore syntax); replaces the configured exclude.")
@click.option("--extend-exclude", multiple=True, metavar="PATTERN", help="Paths to skip, in addition to the configured exclude.")
@click.option("--force-exclude/--no-force-exclude", default=None, help="Apply exclude to files named on the command line too (for pre-commit).")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip what .gitignore ignores when walking directories [default: respect].")
@click.option("--target-version", metavar="X.Y", help="Lightning version the code must run on (default: the newest).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Use this pyproject.toml instead of searching upward.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--stdin-filename", metavar="PATH", help="The path of the text read from stdin (`-`): for configuration, exclusion and messages.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes (0: automatic).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Keep the result cache here [default: .pl_convert_cache in the project].")
@click.option("--show-files", is_flag=True, help="List the files that would be linted, and exit.")
@click.option("--show-settings", is_flag=True, help="Print the configuration that applies to the first path, and exit.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even if problems remain.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 if --fix changed anything, even if no problem remains.")
@click.option("-q", "--quiet", count=True, help="Print findings only, no summary (-qq: print nothing).")
@click.option("-s", "--silent", is_flag=True, help="Print nothing (-qq); the exit code says it all.")
@click.option("-v", "--verbose", is_flag=True, help="Say which configuration and files are used.")
def lint(
    paths, fix, fix_only, unsafe_fixes, show_fixes, diff, add_noqa, fmt, statistics, output_file, select, extend_select,
    ignore, unfixable, exclude, extend_exclude, force_exclude, respect_gitignore, target_version, config_path, isolated,
    stdin_filename, jobs, no_cache, cache_dir, show_files, show_settings, exit_zero, exit_non_zero_on_fix, quiet, silent, verbose,
):
    """Lint Lightning code: best practice and the 1.x → 2.x migration.

    PATHS are files (Python, notebooks) and directories (walked like `migrate`: .gitignore,
    exclude and environments are skipped); `-` reads stdin. Exit codes: 0 clean, 1 findings
    remain, 2 usage or input error (a missing path, an unreadable or unparseable file, an
    invalid configuration, only non-Python files named).

    \b
      pl-convert lint src/ train.py nb.ipynb
      pl-convert lint . --fix                 apply safe fixes
      pl-convert lint . --fix --unsafe-fixes  also fixes that need review
      pl-convert lint . --diff                show fixes, write nothing
      pl-convert lint . --statistics          findings per rule
      pl-convert lint . --add-noqa            silence today's findings, check new code
      pl-convert lint - --stdin-filename src/train.py < src/train.py
      pl-convert lint . --select PTL1 --ignore PTL111 --format json -o report.json
    """
    from .catalog import unknown_selectors  # not the registry: that imports every rule, and libcst
    from .config import ConfigError, LintConfig, check_selectors, load_config
    from .runner import ConfigResolver, RunOptions, default_jobs, discover, run

    fix = fix or fix_only
    quiet = 2 if silent else quiet
    if sum(map(bool, (fix, diff, add_noqa))) > 1:
        raise _fail("use only one of --fix (--fix-only), --diff and --add-noqa")
    reading_stdin = list(paths) == ["-"] or (not paths and stdin_filename is not None)
    if "-" in paths and not reading_stdin:
        raise _fail("`-` (stdin) cannot be combined with other paths")
    try:
        select_codes = check_selectors(_split(select), "--select")
        extend_codes = check_selectors(_split(extend_select), "--extend-select")
        ignore_codes = check_selectors(_split(ignore), "--ignore")
        unfixable_codes = check_selectors(_split(unfixable), "--unfixable")
        unknown = unknown_selectors(select_codes + extend_codes + ignore_codes + unfixable_codes)
        if unknown:
            raise ConfigError(f"unknown rule selector(s): {', '.join(unknown)} (see `pl-convert rules`)")

        def override(config):
            return config.with_overrides(
                select_codes, extend_codes, ignore_codes, unsafe_fixes, target_version,
                exclude=exclude or None, extend_exclude=extend_exclude, respect_gitignore=respect_gitignore,
                force_exclude=force_exclude, show_fixes=show_fixes, unfixable=unfixable_codes,
            )

        fixed_config = None
        if isolated:
            fixed_config = override(LintConfig())
        elif config_path:
            fixed_config = override(load_config(config_path))
        resolver = ConfigResolver(override, fixed_config)
        if reading_stdin:
            discovery = None
            resolver.for_path(stdin_filename or "-")
        else:
            discovery = discover(list(paths) or ["."], resolver)
            for path in discovery.files:
                resolver.for_path(path)  # load (and validate) every configuration up front
        main_config = resolver.for_path(stdin_filename or (paths[0] if paths and paths[0] != "-" else "x.py"))
        for config in resolver.loaded():
            for warning in config.warnings:
                _warn(warning)
    except ConfigError as exc:
        raise _fail(str(exc))

    fmt = fmt or main_config.output_format or "full"
    show_fixes = main_config.show_fixes
    if show_settings:
        _print_settings(main_config)
        raise click.exceptions.Exit(0)
    if show_files:
        for path in discovery.files if discovery is not None else [stdin_filename or "-"]:
            click.echo(path)
        raise click.exceptions.Exit(0)
    if verbose:
        for config in resolver.loaded():
            _info(f"configuration: {config.source or 'defaults (no [tool.pl-convert] table found)'}")
    if discovery is not None:
        for path in discovery.not_python:
            _warn(f"{path}: not a Python file or notebook (.py, .pyi, .ipynb): skipped")
        if not discovery.files and not discovery.errors:
            if discovery.not_python:
                raise _fail("no Python file to lint among the paths given")
            if quiet < 2:
                _warn("no Python files found under the given paths")
            raise click.exceptions.Exit(0)
        if verbose:
            _info(f"checking {len(discovery.files)} file{'s' if len(discovery.files) != 1 else ''}")

    options = RunOptions(
        fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, use_cache=not no_cache,
        keep_source=fmt == "full" and not statistics, add_noqa=add_noqa, cache_dir=cache_dir,
    )
    if reading_stdin:
        results = _lint_stdin(stdin_filename, resolver, options)
    else:
        workers = jobs or default_jobs(len(discovery.files))
        try:
            results = discovery.errors + _collect(run(discovery.files, resolver, options, workers), len(discovery.files))
        except ConfigError as exc:
            raise _fail(str(exc))

    if fix_only:
        raise click.exceptions.Exit(_report_fixes_only(results, quiet, show_fixes, output_file))
    code = _report(results, fmt, output_file, statistics, quiet, show_fixes, diff, add_noqa, reading_stdin and (fix or add_noqa))
    if code == 0 and exit_non_zero_on_fix and any(r.fixed for r in results) and not add_noqa:
        code = 1
    if code == 1 and exit_zero:
        code = 0
    raise click.exceptions.Exit(code)


def _lint_stdin(stdin_filename, resolver, options) -> list:
    """Lint the text on stdin; with --fix (or --add-noqa) the fixed text goes to stdout."""
    from .findings import FileResult
    from .runner import lint_stdin

    data = click.get_binary_stream("stdin").read()
    path = stdin_filename or "-"
    config = resolver.for_path(path)
    if stdin_filename and config.force_exclude and config.is_excluded(stdin_filename):
        if options.fix or options.add_noqa:
            click.get_binary_stream("stdout").write(data)
        return []
    result = lint_stdin(data, path, config, options)
    if options.fix or options.add_noqa:
        # an editor replaces its buffer with what comes back: the input when nothing changed
        out = click.get_binary_stream("stdout")
        if result.output is not None:
            out.write(result.output.encode("utf-8"))
        else:
            out.write(data)
        out.flush()
    return [result] if result.findings or result.error or result.fixed or result.diff else [FileResult(path)]


def _report(results, fmt, output_file, statistics, quiet, show_fixes, diff, add_noqa, stdout_taken) -> int:
    """Print (or write) the report; the exit code."""
    errors = [r for r in results if r.error is not None]
    if output_file:
        stream = open(output_file, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    elif stdout_taken:
        stream = click.get_text_stream("stderr")  # stdout carries the fixed text
    else:
        stream = click.get_text_stream("stdout")
    try:
        color = not output_file and stream.isatty() and fmt in ("full", "concise")
        if add_noqa:
            added = sum(r.fixed for r in results)
            files = sum(1 for r in results if r.fixed)
            if quiet < 2:
                click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''} to {files} file{'s' if files != 1 else ''}.", err=True)
            for result in errors:
                where = f"{result.path}:{result.error_line}" if result.error_line else result.path
                click.echo(f"{where}: error: {result.error}", err=True)
            return 2 if errors else 0
        if diff:
            for result in results:
                if result.diff:
                    stream.write(result.diff)
            changed = sum(1 for r in results if r.diff)
            fixes = sum(r.fixed for r in results)
            if quiet < 2:
                click.echo(f"Would fix {fixes} problem{'s' if fixes != 1 else ''} in {changed} file{'s' if changed != 1 else ''}." if fixes else "No fixes available.", err=True)
            for result in errors:
                where = f"{result.path}:{result.error_line}" if result.error_line else result.path
                click.echo(f"{where}: error: {result.error}", err=True)
            return 2 if errors else (1 if changed else 0)
        from .report import render, write_statistics

        if quiet < 2:
            if statistics:
                write_statistics(results, fmt, stream, color)
            else:
                render(results, fmt, stream, color, quiet=quiet > 0, show_fixes=show_fixes)
    finally:
        if output_file:
            stream.close()
    if errors:
        return 2
    return 1 if any(r.findings for r in results) else 0


def _report_fixes_only(results, quiet: int, show_fixes: bool, output_file) -> int:
    """``--fix-only``: what was fixed (and files that could not be read); 0 unless an error."""
    from .report import Printer, _fixes_applied

    errors = [r for r in results if r.error is not None]
    stream = open(output_file, "w", encoding="utf-8") if output_file else click.get_text_stream("stdout")  # noqa: SIM115
    try:
        printer = Printer(stream, color=not output_file and stream.isatty())
        for result in errors if quiet < 2 else ():
            where = f"{result.path}:{result.error_line}" if result.error_line else result.path
            printer.line((f"{where}: error: {result.error}", ""))
        fixed = sum(r.fixed for r in results)
        if show_fixes and fixed:
            _fixes_applied(printer, results)
        if quiet == 0:
            printer.line((f"Fixed {fixed} problem{'s' if fixed != 1 else ''}." if fixed else "No fixes applied.", "bold"))
    finally:
        if output_file:
            stream.close()
    return 2 if errors else 0


def _print_settings(config) -> None:
    """``--show-settings``: the resolved configuration, one field a line."""
    from dataclasses import fields

    click.echo(f"configuration: {config.source or 'defaults (no [tool.pl-convert] table found)'}")
    for field in fields(config):
        if field.name not in ("source", "warnings"):
            click.echo(f"  {field.name.replace('_', '-')} = {getattr(config, field.name)!r}")


def _warn(message: str) -> None:
    click.echo(f"pl-convert: warning: {message}", err=True)


def _info(message: str) -> None:
    click.echo(f"pl-convert: {message}", err=True)


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
    """Show one rule's documentation (by code, e.g. PTL101, or by name); a prefix (PTL1) lists
    the rules it selects."""
    from .docs import rule_markdown
    from .registry import all_rules, rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        prefix = code.strip().upper()
        selected = [r for r in all_rules() if prefix.startswith("PTL") and r.code.startswith(prefix)]
        if selected:
            click.echo(f"{prefix} selects {len(selected)} rule{'s' if len(selected) != 1 else ''}; `pl-convert rule CODE` shows one:")
            width = max(len(r.name) for r in selected)
            for r in selected:
                click.echo(f"  {r.code}  {r.name.ljust(width)}  {r.message}")
            return
        raise _fail(f"unknown rule {code!r}{_nearest_rule(code, all_rules())}")
    text = rule_markdown(rule)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        click.echo(text, nl=False)


def _nearest_rule(code: str, rules) -> str:
    """``; did you mean PTL201?`` for a mistyped code or name: the same length and at most two
    characters off (a code), or close in spelling (a name); else a pointer to the list."""
    import difflib

    wanted = code.strip()
    if wanted.upper().startswith("PTL"):
        upper = wanted.upper()
        digits = upper[3:].replace("O", "0").replace("I", "1").replace("L", "1")  # look-alikes
        if any(r.code == "PTL" + digits for r in rules):
            return f"; did you mean PTL{digits}?"
        close = [r.code for r in rules if len(r.code) == len(upper) and sum(a != b for a, b in zip(r.code, upper)) == 1]
        if len(close) == 1:
            return f"; did you mean {close[0]}?"
        return "; see `pl-convert rules` for the codes"
    names = difflib.get_close_matches(wanted.lower(), [r.name for r in rules], n=1, cutoff=0.75)
    return f"; did you mean {names[0]}?" if names else "; see `pl-convert rules`"
