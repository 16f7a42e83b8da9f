"""The content of a migration report, independent of its format (Markdown, HTML).

Building the content once keeps the Markdown and HTML reports saying the same things in the
same order; the renderers only decide how it looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from .pipeline import MigrationRun, Mode
from .records import FileRecord, FileStatus, LineMessage, cell_prefix

#: Order of the per-file sections: what needs a person first.
SECTION_ORDER = (
    FileStatus.ERROR,
    FileStatus.UNPARSEABLE,
    FileStatus.NOT_CONVERTIBLE,
    FileStatus.CONVERTED,
    FileStatus.ALREADY_LIGHTNING,
    FileStatus.NO_TRAINING_CODE,
)

SECTION_TITLES = {
    FileStatus.ERROR: "Errors (pl-convert failed; please report these)",
    FileStatus.UNPARSEABLE: "Unparseable",
    FileStatus.NOT_CONVERTIBLE: "Not convertible",
    FileStatus.CONVERTED: "Converted",
    FileStatus.ALREADY_LIGHTNING: "Already Lightning",
    FileStatus.NO_TRAINING_CODE: "No training code (untouched)",
}


@dataclass(frozen=True)
class Span:
    """A run of inline text; ``code`` renders it as code."""

    text: str
    code: bool = False


Inline = tuple[Span, ...]


def inline(*parts: str | Span) -> Inline:
    """Build inline content: plain strings are text, :class:`Span` as given."""
    return tuple(p if isinstance(p, Span) else Span(p) for p in parts)


def code(text: str) -> Span:
    return Span(text, code=True)


def message(text: str) -> tuple[Span, ...]:
    """A message whose ``backticked`` parts are code (as pl-convert's messages write them)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: keep the text as it is
        return (Span(text),)
    return tuple(Span(part, code=bool(i % 2)) for i, part in enumerate(parts) if part)


@dataclass
class ItemGroup:
    """A labelled list inside a file's section ("Changes", "Review", ...)."""

    heading: Inline
    items: list[Inline] = field(default_factory=list)


@dataclass
class FileSection:
    path: str
    status: FileStatus
    groups: list[ItemGroup] = field(default_factory=list)


@dataclass
class StatusSection:
    status: FileStatus
    title: str
    files: list[FileSection] = field(default_factory=list)
    compact: list[str] = field(default_factory=list)  #: paths listed without a section of their own


@dataclass
class ReportContent:
    title: str
    subtitle: Inline
    totals_rows: list[tuple[str, int]]
    headline: list[Inline]
    sections: list[StatusSection]
    write_errors: list[tuple[str, str]]
    next_step: tuple[Inline, str] | None = None  #: (what it does, the command), the report's end


def build_report(run: MigrationRun) -> ReportContent:
    """What the report says about ``run``."""
    options = run.options
    totals = run.totals
    destination = {
        Mode.OUT: inline(" → ", code(f"{options.out}/")),
        Mode.IN_PLACE: inline(" (rewritten in place)"),
        Mode.DRY_RUN: inline(" (dry run: nothing written)"),
    }[options.mode]
    subtitle = inline(code(f"{options.source}/"), *destination, f" · pl-convert {__version__}")
    rows = [(status.label, totals.count(status)) for status in FileStatus]
    rows.append(("total", totals.files))
    rate = totals.convert_rate
    with_loop = totals.count(FileStatus.CONVERTED) + totals.count(FileStatus.NOT_CONVERTIBLE)
    if rate is None:
        rate_line = inline("Convert rate: n/a (no file has a training loop to convert).")
    else:
        rate_line = inline(
            f"Convert rate: {rate:.0%} ({totals.count(FileStatus.CONVERTED)} of {with_loop} "
            "files with a training loop converted)."
        )
    headline = [
        rate_line,
        inline(f"Lint findings left: {totals.findings}. Points to review: {totals.notes}."),
    ]
    if options.mode is Mode.OUT:
        headline.append(inline(f"Also copied: {totals.copied} non-Python file(s) and {totals.symlinks} symlink(s)."))
    by_status: dict[FileStatus, list[FileRecord]] = {status: [] for status in FileStatus}
    for record in sorted(run.records, key=lambda r: r.path):
        by_status[record.status].append(record)
    sections = []
    for status in SECTION_ORDER:
        records = by_status[status]
        if not records:
            continue
        section = StatusSection(status, SECTION_TITLES[status])
        for record in records:
            groups = file_groups(record)
            if groups:
                section.files.append(FileSection(record.path, record.status, groups))
            else:
                section.compact.append(record.path)
        sections.append(section)
    from .next_step import safe_fix_command, safe_fix_count

    command = safe_fix_command(run)
    next_step = None
    if command is not None:
        count = safe_fix_count(run)
        next_step = (inline(f"Apply the {count} remaining safe lint fix{'es' if count != 1 else ''}:"), command)
    return ReportContent("pl-convert migration report", subtitle, rows, headline, sections, run.writes.errors, next_step)


def file_groups(record: FileRecord) -> list[ItemGroup]:
    """The lists shown for one file; empty when there is nothing to say beyond its status."""
    groups = []
    if record.error is not None:
        groups.append(ItemGroup(inline("Error"), [inline(_at(record.error), *message(record.error.message))]))
    if record.reasons:
        groups.append(
            ItemGroup(inline("Why it was not converted"), [inline(_at(r), *message(r.message)) for r in record.reasons])
        )
    if record.changes:
        groups.append(
            ItemGroup(
                inline("What changed (lines of the original)"),
                [inline(f"{c.where()}: ", *message(c.description)) for c in record.changes],
            )
        )
    if record.notes:
        items = []
        for note in record.notes:
            where = _at(LineMessage(note.line, "", note.cell)).rstrip(": ")
            marker = (
                f" (marker at {cell_prefix(note.output_cell)}line {note.output_line} of the new file)"
                if note.output_line is not None
                else " (no marker in the new file)"
            )
            items.append(inline(f"{where}{marker}: " if where else f"{marker.strip()}: ", *message(note.message)))
        groups.append(ItemGroup(inline("To review (each marked ", code("# pl-convert: review"), " in the new file)"), items))
    if record.fixes_applied:
        groups.append(ItemGroup(inline("Lint fixes applied"), [inline(f"{record.fixes_applied} safe fix(es)")]))
    if record.findings:
        which = "the converted file" if record.status is FileStatus.CONVERTED else "the file"
        groups.append(
            ItemGroup(inline(f"Lint findings left (lines of {which})"), [finding_item(f) for f in record.findings])
        )
    return groups


def _at(entry: LineMessage) -> str:
    where = entry.where()
    return f"{where}: " if where else ""


def finding_item(finding: dict[str, Any]) -> Inline:
    """``line 3:5 PTL101 (removed-device-flags): message (safe fix)``."""
    line, column = finding.get("line"), finding.get("column")
    where = cell_prefix(finding.get("cell")) + f"line {line}" + (f":{column}" if column is not None else "") if line else "file"
    fix = finding.get("fix")
    safety = fix.get("safety") if isinstance(fix, dict) else getattr(fix, "safety", None)
    suffix = f" ({safety} fix available)" if safety else ""
    name = finding.get("name")
    label = f"{finding.get('code', '?')}" + (f" {name}" if name else "")
    return inline(f"{where} ", code(label), ": ", *message(str(finding.get("message", ""))), suffix)
