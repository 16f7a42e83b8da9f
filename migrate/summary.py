"""The end-of-run summary on the terminal (rich table in a terminal, plain lines when piped)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from .pipeline import MigrationRun, Mode
from .records import PROBLEM_STATUSES, FileStatus

STATUS_STYLES = {
    FileStatus.CONVERTED: "green",
    FileStatus.ALREADY_LIGHTNING: "cyan",
    FileStatus.NO_TRAINING_CODE: "dim",
    FileStatus.NOT_CONVERTIBLE: "yellow",
    FileStatus.UNPARSEABLE: "red",
    FileStatus.ERROR: "bold red",
}

#: Problem files listed on the terminal before "see the report".
MAX_LISTED = 20


def problem_lines(run: MigrationRun) -> list[tuple[FileStatus, str]]:
    """``path:line: status: message`` for every file that needs a person (errors first)."""
    lines = []
    order = {FileStatus.ERROR: 0, FileStatus.UNPARSEABLE: 1, FileStatus.NOT_CONVERTIBLE: 2}
    for record in sorted(run.records, key=lambda r: (order.get(r.status, 9), r.path)):
        if record.status not in PROBLEM_STATUSES:
            continue
        entries = [record.error] if record.error is not None else record.reasons[:1]
        entry = entries[0] if entries else None
        where = record.path
        if entry is not None and entry.line:
            where += (f":cell {entry.cell}" if entry.cell is not None else "") + f":{entry.line}"
        message = entry.message if entry is not None else ""
        lines.append((record.status, f"{where}: {record.status.value}: {message}"))
    return lines


def print_summary(run: MigrationRun, console: Console, elapsed: float, report_paths: list[str]) -> None:
    """Totals, the convert rate, problem files and where the reports went."""
    totals = run.totals
    rate = totals.convert_rate
    speed = totals.files / elapsed if elapsed > 0 else 0.0
    problems = problem_lines(run)
    if console.is_terminal:
        from rich.table import Table

        table = Table(title=_title(run), title_justify="left", show_edge=False, box=None, padding=(0, 2))
        table.add_column("status")
        table.add_column("files", justify="right")
        for status in FileStatus:
            count = totals.count(status)
            style = STATUS_STYLES[status] if count else "dim"
            table.add_row(f"[{style}]{status.label}[/]", f"[{style}]{count}[/]")
        table.add_row("[bold]total[/]", f"[bold]{totals.files}[/]")
        console.print(table)
        for status, line in problems[:MAX_LISTED]:
            console.print(f"  [{STATUS_STYLES[status]}]{escape(line)}[/]")
    else:
        console.print(_title(run), highlight=False)
        for status in FileStatus:
            console.print(f"  {status.value}: {totals.count(status)}", highlight=False)
        console.print(f"  total: {totals.files}", highlight=False)
        for _, line in problems[:MAX_LISTED]:
            console.print(f"  {line}", highlight=False, markup=False)
    if len(problems) > MAX_LISTED:
        console.print(f"  ... and {len(problems) - MAX_LISTED} more (see the report)", highlight=False)
    facts = ["convert rate " + ("n/a" if rate is None else f"{rate:.0%}")]
    facts.append(f"{totals.findings} lint finding(s)")
    facts.append(f"{totals.notes} point(s) to review")
    if totals.changed:
        facts.append(f"{totals.changed} file(s) {'would change' if run.options.mode is Mode.DRY_RUN else 'rewritten'}")
    facts.append(f"{totals.cache_hits} cached")
    facts.append(f"{elapsed:.1f}s, {speed:.0f} files/s")
    console.print(" · ".join(facts), highlight=False, markup=False)
    for path, why in run.writes.errors:
        console.print(f"error: cannot write {path}: {why}", style="red", highlight=False, markup=False)
    for path in report_paths:
        console.print(f"report: {path}", highlight=False, markup=False)
    from .next_step import safe_fix_command, safe_fix_count

    command = safe_fix_command(run)
    if command is not None:
        count = safe_fix_count(run)
        console.print(f"apply the {count} remaining safe lint fix{'es' if count != 1 else ''}: {command}", highlight=False, markup=False)


def _title(run: MigrationRun) -> str:
    options = run.options
    if options.mode is Mode.OUT:
        return f"pl-convert migrate: {options.source} -> {options.out}"
    if options.mode is Mode.IN_PLACE:
        return f"pl-convert migrate: {options.source} (in place)"
    return f"pl-convert migrate: {options.source} (dry run, nothing written)"
