"""``pl-convert SCRIPT.py``: the convert command (file I/O, output and exit codes only)."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from ..api_knowledge import LIGHTNING_IMPORT_STYLES
from ..sourcefile import SourceError, atomic_write_text, read_source
from . import convert_source
from .docs import idiom_markdown
from .registry import all_idioms, idiom_by_name
from .result import ConvertOptions, Status

EXIT_OK = 0
EXIT_NOT_CONVERTIBLE = 1
EXIT_ERROR = 2


def default_output_path(path: Path) -> Path:
    """``train.py`` -> ``train_lightning.py`` next to it."""
    return path.with_name(f"{path.stem}_lightning{path.suffix or '.py'}")


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def unified_diff(before: str, after: str, path: str, new_path: str | None = None) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{new_path or path}",
        )
    )


def _print_diff(diff: str) -> None:
    if not diff:
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.syntax import Syntax

        Console().print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
    else:
        click.echo(diff, nl=False)


def _report(console, result, source_name: str, target: str | None, verb: str) -> None:
    from rich.markup import escape

    if target:
        console.print(f"[bold green]{verb}[/] {escape(source_name)} → {escape(target)}")
    else:
        console.print(f"[bold green]{verb}[/] {escape(source_name)}")
    for change in result.changes:
        where = change.where() if change.start_line else "top"
        console.print(f"  [cyan]{where:>13}[/]  {escape(change.description)}")
    if result.notes:
        console.print("[bold yellow]Review:[/]")
        for note in result.notes:
            where = f"line {note.line}" if note.line else "file"
            console.print(f"  [yellow]{where:>13}[/]  {escape(note.message)}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=str, default=None, help="Output file ('-' for stdout). Default: SCRIPT_lightning.py next to SCRIPT.")
@click.option("--in-place", is_flag=True, help="Rewrite the script itself.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the unified diff; write nothing.")
@click.option("--check", is_flag=True, help="Exit 1 if the script would change; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--explain", is_flag=True, help="Print what the converter found and plans to emit.")
@click.option(
    "--import-style",
    type=click.Choice(list(LIGHTNING_IMPORT_STYLES)),
    default="pytorch_lightning",
    show_default=True,
    help="Emit `import pytorch_lightning as pl` or `import lightning as L`.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
def convert(scripts, output, in_place, show_diff, check, force, explain, import_style, quiet):
    """Convert plain PyTorch training scripts to PyTorch Lightning.

    Writes SCRIPT_lightning.py next to each SCRIPT and prints each change with its source
    lines, and every point to review. Exit codes: 0 converted or nothing to do, 1 not
    convertible (nothing written), 2 usage or input error.
    """
    modes = sum(bool(m) for m in (output, in_place, show_diff, check))
    if modes > 1:
        raise click.UsageError("use only one of --output, --in-place, --diff and --check")
    if output and len(scripts) > 1:
        raise click.UsageError("--output takes a single script")
    console = _console()
    options = ConvertOptions(import_style=import_style)
    exit_code = EXIT_OK
    for script in scripts:
        name = str(script)
        try:
            source = read_source(script)
        except SourceError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        result = convert_source(source.text, options, path=name)
        if explain and result.explanation and not quiet:
            console.print(f"[bold]{name}[/]")
            console.print(result.explanation, markup=False)
        if result.status is Status.UNPARSEABLE:
            reason = result.reasons[0]
            where = f"{name}:{reason.line}" if reason.line else name
            console.print(f"[bold red]error:[/] {where}: {reason.message}", markup=True, highlight=False)
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        if result.status is Status.NOT_CONVERTIBLE:
            console.print(f"[bold red]not convertible:[/] {name} (nothing written)")
            for reason in result.reasons:
                where = f"{name}:{reason.line}" if reason.line else name
                console.print(f"  {where}: {reason.message}", markup=False)
            exit_code = max(exit_code, EXIT_NOT_CONVERTIBLE)
            continue
        if result.status is Status.ALREADY_LIGHTNING:
            if not quiet:
                console.print(f"nothing to do: {name} already uses Lightning")
            continue
        if result.status is Status.NO_TRAINING_LOOP:
            if not quiet:
                console.print(f"nothing to do: {name} has no training loop (no loss.backward() call)")
            continue

        converted = result.output or source.text
        try:
            converted.encode(source.encoding)
        except UnicodeEncodeError:
            converted = converted.replace("\u2014", "-")  # the review marker's dash, for legacy encodings
        if check:
            if converted != source.text:
                console.print(f"would convert {name}")
                exit_code = max(exit_code, EXIT_NOT_CONVERTIBLE)
            continue
        if show_diff:
            _print_diff(unified_diff(source.text, converted, name, str(default_output_path(script))))
            if not quiet:
                _report(console, result, name, None, "Would convert")
            continue
        if output == "-":
            sys.stdout.buffer.write(converted.encode(source.encoding))
            sys.stdout.flush()
            if not quiet:
                _report(console, result, name, None, "Converted")
            continue
        target = script if in_place else Path(output) if output else default_output_path(script)
        if not in_place and target.exists() and not force:
            console.print(f"[bold red]error:[/] {target} exists; use --force to overwrite it")
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        if target.exists() and target.is_dir():
            console.print(f"[bold red]error:[/] {target} is a directory")
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        try:
            atomic_write_text(target, converted, source.encoding, like=script)
        except OSError as exc:
            console.print(f"[bold red]error:[/] cannot write {target}: {exc.strerror or exc}")
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        if not quiet:
            _report(console, result, name, str(target), "Converted")
    sys.exit(exit_code)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--format", "fmt", type=click.Choice(("text", "json", "markdown")), default="text", show_default=True)
def conversions_table(fmt):
    """List every conversion idiom (name, what it becomes, fixtures)."""
    idioms = sorted(all_idioms(), key=lambda idiom: idiom.name)
    if fmt == "json":
        data = [{"name": i.name, "title": i.title, "fixtures": list(i.fixtures), "module": i.__module__.rsplit(".", 1)[-1]} for i in idioms]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    rows = [(i.name, i.title, ", ".join(i.fixtures)) for i in idioms]
    header = ("Idiom", "What it becomes", "Fixtures")
    if fmt == "markdown":
        click.echo("| " + " | ".join(header) + " |")
        click.echo("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            click.echo("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        return
    if sys.stdout.isatty():
        from rich.console import Console  # lazily, as everywhere in the CLI
        from rich.table import Table

        table = Table(*header, title=f"pl-convert conversions ({len(rows)})")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    width = max(len(row[0]) for row in rows)
    for name, title, fixtures in rows:
        click.echo(f"{name.ljust(width)}  {title}  [{fixtures}]")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name")
def conversion_doc(name):
    """Show one conversion idiom's documentation (e.g. gradient-clipping)."""
    idiom = idiom_by_name(name)
    if idiom is None:
        close = difflib.get_close_matches(name, [i.name for i in all_idioms()], n=1)
        hint = f"; did you mean {close[0]}?" if close else "; see `pl-convert conversions`"
        click.echo(f"pl-convert: error: unknown conversion {name!r}{hint}", err=True)
        raise click.exceptions.Exit(EXIT_ERROR)
    text = idiom_markdown(idiom)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        click.echo(text, nl=False)
