"""``pl-convert SCRIPT.py``: the convert command (file I/O, output and exit codes only)."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from ..api_knowledge import LIGHTNING_IMPORT_STYLES
from ..config import ConfigError, load_project_config
from ..notebook import is_notebook, read_notebook
from ..sourcefile import SourceError, atomic_write_text, read_source
from .. import converter  # its convert_source, looked up at each call (tests replace it)
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


def _import_style(option: str | None, scripts, console) -> str | None:
    """``--import-style``, else ``import-style`` of ``[tool.pl-convert.convert]`` (found from the
    first script upward), else the default. None (after printing why) for a broken configuration."""
    try:
        config = load_project_config(scripts[0] if scripts[0].exists() else Path.cwd())
    except ConfigError as exc:
        from rich.markup import escape

        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return None
    for warning in config.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)
    return option or config.get("convert", "import-style") or "pytorch_lightning"


class _Input:
    """A script or a notebook to convert: its Python text, and how output goes back to a file."""

    def __init__(self, script: Path) -> None:

        self.notebook = None
        if script.is_dir():
            raise SourceError(
                script, f"is a directory, expected a Python file; to convert every script in it, run `pl-convert migrate {script}`"
            )
        if is_notebook(script):
            self.notebook = read_notebook(script)
            self.text, self.encoding = self.notebook.python_source, "utf-8"
        else:
            source = read_source(script)
            self.text, self.encoding = source.text, source.encoding

    def where(self, name: str, line: int) -> str:
        """``train.py:12`` or ``nb.ipynb:cell 4:3``."""
        if not line:
            return name
        if self.notebook is not None:
            cell, in_cell = self.notebook.locate(line)
            return f"{name}:cell {cell}:{in_cell}"
        return f"{name}:{line}"

    def span(self, start: int, end: int) -> str:
        """``lines 3-9`` or, in a notebook, ``cell 4, lines 1-7``."""
        if self.notebook is None or not start:
            return f"line {start}" if start == end else f"lines {start}-{end}"
        cell, first = self.notebook.locate(start)
        end_cell, last = self.notebook.locate(end)
        if cell != end_cell:
            return f"cells {cell}-{end_cell}"
        return f"cell {cell}, " + (f"line {first}" if first == last else f"lines {first}-{last}")

    def output(self, converted: str) -> str:
        """The file content for ``converted`` (a notebook's JSON with the changed cells)."""
        return converted if self.notebook is None else self.notebook.rebuild(converted)

    def diff(self, converted: str, name: str, new_name: str) -> str:
        if self.notebook is None:
            return unified_diff(self.text, converted, name, new_name)
        return self.notebook.diff(converted, f"a/{name}", f"b/{new_name}")


def _report_changes(console, result, source: _Input, source_name: str, target: str | None, verb: str) -> None:
    from rich.markup import escape

    if target:
        console.print(f"[bold green]{verb}[/] {escape(source_name)} → {escape(target)}")
    else:
        console.print(f"[bold green]{verb}[/] {escape(source_name)}")
    for change in result.changes:
        where = source.span(change.start_line, change.end_line) if change.start_line else "top"
        console.print(f"  [cyan]{where:>13}[/]  {escape(change.description)}")
    if result.notes:
        console.print("[bold yellow]Review:[/]")
        for note in result.notes:
            where = source.span(note.line, note.line) if note.line else "file"
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
    default=None,
    help="Emit `import pytorch_lightning as pl` or `import lightning as L` [default: import-style of [tool.pl-convert.convert], else pytorch_lightning].",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
def convert(scripts, output, in_place, show_diff, check, force, explain, import_style, quiet):
    """Convert plain PyTorch training scripts (or Jupyter notebooks) to PyTorch Lightning.

    Writes SCRIPT_lightning.py (NB_lightning.ipynb) next to each SCRIPT and prints each change
    with its source lines, and every point to review. A notebook keeps its outputs, metadata and
    untouched cells byte for byte, and its IPython magics. For a whole directory, use
    `pl-convert migrate DIR`. Exit codes: 0 converted or nothing to do, 1 not convertible
    (nothing written), 2 usage or input error.
    """
    modes = sum(bool(m) for m in (output, in_place, show_diff, check))
    if modes > 1:
        raise click.UsageError("use only one of --output, --in-place, --diff and --check")
    if output and len(scripts) > 1:
        raise click.UsageError("--output takes a single script")
    console = _console()
    import_style = _import_style(import_style, scripts, console)
    if import_style is None:
        sys.exit(EXIT_ERROR)
    options = ConvertOptions(import_style=import_style)
    exit_code = EXIT_OK
    for script in scripts:
        name = str(script)
        try:
            source = _Input(script)
        except SourceError as exc:
            from rich.markup import escape

            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        if source.notebook is not None and not source.notebook.cells:
            if not quiet:
                language = source.notebook.language
                why = f"is a {language} notebook" if language and not source.notebook.is_python else "has no Python code cells"
                console.print(f"nothing to do: {name} {why}")
            continue
        result = converter.convert_source(source.text, options, path=name)
        if explain and result.explanation and not quiet:
            console.print(f"[bold]{name}[/]")
            console.print(result.explanation, markup=False)
        if result.status is Status.UNPARSEABLE:
            reason = result.reasons[0]
            console.print(f"error: {source.where(name, reason.line)}: {reason.message}", markup=False, highlight=False, style="bold red" if console.is_terminal else None)
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        if result.status is Status.NOT_CONVERTIBLE:
            console.print(f"[bold red]not convertible:[/] {name} (nothing written)")
            for reason in result.reasons:
                console.print(f"  {source.where(name, reason.line)}: {reason.message}", markup=False)
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
        try:
            content = source.output(converted)
        except SourceError as exc:  # a notebook whose IPython lines were inside rewritten code
            console.print(f"[bold red]not convertible:[/] {name} (nothing written)")
            console.print(f"  {name}: {exc.message}", markup=False)
            exit_code = max(exit_code, EXIT_NOT_CONVERTIBLE)
            continue
        if check:
            if converted != source.text:
                console.print(f"would convert {name}")
                exit_code = max(exit_code, EXIT_NOT_CONVERTIBLE)
            continue
        if show_diff:
            _print_diff(source.diff(converted, name, str(default_output_path(script))))
            if not quiet:
                _report_changes(console, result, source, name, None, "Would convert")
            continue
        if output == "-":
            sys.stdout.buffer.write(content.encode(source.encoding))
            sys.stdout.flush()
            if not quiet:
                _report_changes(console, result, source, name, None, "Converted")
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
            atomic_write_text(target, content, source.encoding, like=script)
        except OSError as exc:
            console.print(f"[bold red]error:[/] cannot write {target}: {exc.strerror or exc}")
            exit_code = max(exit_code, EXIT_ERROR)
            continue
        if not quiet:
            _report_changes(console, result, source, name, str(target), "Converted")
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
