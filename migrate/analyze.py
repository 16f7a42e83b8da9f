"""Classifying and converting one file: bytes in, :class:`FileRecord` out.

Runs in the worker processes. Pure: it never touches the disk, and it never raises: a failure
of pl-convert itself on one file becomes an ``error`` record, so one bad file never stops a run.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Any

from ..notebook import NOTEBOOK_SUFFIX
from ..sourcefile import SourceError, SourceText, decode_source
from .records import ChangeRecord, FileRecord, FileStatus, LineMessage, ReviewNote

#: A file that mentions none of these cannot hold a training loop or Lightning code, so it is
#: classified without running the converter (only its syntax is checked). Deliberately broad.
TRAINING_CODE_HINTS = ("torch", "lightning", "backward", "zero_grad", "optimizer", "Trainer")

REVIEW_MARKER = "# pl-convert: review"

#: Characters the converter may emit that a file in a legacy encoding (latin-1, say) cannot hold.
_ASCII_FALLBACKS = {"\u2014": "-", "\u2013": "-", "\u2192": "->", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "..."}


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything besides a file's content that decides its result (part of the cache key)."""

    import_style: str = "pytorch_lightning"
    lint: bool = True
    fix: bool = False
    lint_config: Any | None = None


def may_contain_training_code(text: str) -> bool:
    """Cheap pre-filter: False only when the text mentions nothing a training loop needs."""
    return any(hint in text for hint in TRAINING_CODE_HINTS)


def analyze_file(path: str, data: bytes, settings: AnalysisSettings, lint_path: str | None = None) -> FileRecord:
    """Classify, convert and lint one file. Never raises (except for KeyboardInterrupt).

    ``path`` names the file in the record (relative to the migrated root); ``lint_path`` is
    where it lives on disk, for the lint configuration's per-file settings (default: ``path``).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of user code are not ours to print
            return _analyze(path, data, settings, lint_path or path)
    except Exception as exc:  # noqa: BLE001 - any crash becomes this file's error record
        message = f"internal error: {type(exc).__name__}: {exc}".strip()
        return FileRecord(path, FileStatus.ERROR, error=LineMessage(0, message[:500]))


def _analyze(path: str, data: bytes, settings: AnalysisSettings, lint_path: str) -> FileRecord:
    if path.endswith(NOTEBOOK_SUFFIX):
        return _analyze_notebook(path, data, settings, lint_path)
    try:
        source = decode_source(data, path)
    except SourceError as exc:
        return FileRecord(path, FileStatus.UNPARSEABLE, error=LineMessage(exc.line or 0, exc.message))
    return _analyze_text(path, source.text, source.encoding, settings, lint_path)


def _analyze_text(path: str, text: str, encoding: str, settings: AnalysisSettings, lint_path: str) -> FileRecord:
    """Classify, convert and lint Python text (``record.output``: the new text, if any)."""
    source = SourceText(text, encoding, path)
    if not may_contain_training_code(text):
        error = syntax_error(text, path)
        if error is not None:
            return FileRecord(path, FileStatus.UNPARSEABLE, error=error, encoding=source.encoding)
        return FileRecord(path, FileStatus.NO_TRAINING_CODE, encoding=source.encoding)

    from ..converter import ConvertOptions, Status, convert_source

    options = ConvertOptions(import_style=settings.import_style, review_markers=True)
    result = convert_source(text, options, path=path)
    record = FileRecord(path, FileStatus.NO_TRAINING_CODE, encoding=source.encoding)
    if result.status is Status.UNPARSEABLE:
        first = result.reasons[0] if result.reasons else None
        record.status = FileStatus.UNPARSEABLE
        # the same wording (and CPython's more precise line) as files without training code
        record.error = syntax_error(text, path) or (
            LineMessage(first.line, first.message) if first else LineMessage(0, "cannot parse")
        )
    elif result.status is Status.NO_TRAINING_LOOP:
        record.status = FileStatus.NO_TRAINING_CODE
    elif result.status is Status.NOT_CONVERTIBLE:
        record.status = FileStatus.NOT_CONVERTIBLE
        record.reasons = [LineMessage(r.line, r.message) for r in result.reasons]
    elif result.status is Status.ALREADY_LIGHTNING:
        record.status = FileStatus.ALREADY_LIGHTNING
        _lint_into(record, text, lint_path, settings)
    elif result.status is Status.CONVERTED:
        record.status = FileStatus.CONVERTED
        output = encodable(result.output or text, source.encoding)
        record.changes = [ChangeRecord(c.start_line, c.end_line, c.description) for c in result.changes]
        record.notes = locate_review_notes([(n.line, n.message) for n in result.notes], output)
        record.output = output
        _lint_into(record, output, lint_path, settings)
    else:  # pragma: no cover - a new converter status this module does not know yet
        raise ValueError(f"unknown conversion status {result.status!r}")
    if record.output is not None and record.output == text:
        record.output = None
    return record


def _analyze_notebook(path: str, data: bytes, settings: AnalysisSettings, lint_path: str) -> FileRecord:
    """A notebook: its code cells' Python analysed as one script, the result put back into the
    cells (every other byte of the file kept), and every line given as a cell's own."""
    from ..notebook import parse_notebook, parse_notebook_bytes

    try:
        notebook = parse_notebook_bytes(data, path)
    except SourceError as exc:
        return FileRecord(path, FileStatus.UNPARSEABLE, error=LineMessage(exc.line or 0, exc.message))
    if not notebook.cells:
        return FileRecord(path, FileStatus.NO_TRAINING_CODE)
    record = _analyze_text(path, notebook.python_source, "utf-8", settings, lint_path)

    def located(line: int) -> tuple[int | None, int]:
        if not line:
            return None, 0
        cell, in_cell = notebook.locate(line)
        return cell, in_cell

    if record.error is not None:
        cell, line = located(record.error.line)
        record.error = LineMessage(line, record.error.message, cell)
    record.reasons = [LineMessage(located(r.line)[1], r.message, located(r.line)[0]) for r in record.reasons]
    changes = []
    for change in record.changes:
        cell, start = located(change.start_line)
        end_cell, end = located(change.end_line)
        changes.append(ChangeRecord(start, end if end_cell == cell else start, change.description, cell))
    record.changes = changes
    after = notebook
    if record.output is not None:
        try:
            new_raw = notebook.rebuild(record.output)
        except SourceError as exc:  # an IPython line inside the rewritten loop
            return FileRecord(path, FileStatus.NOT_CONVERTIBLE, reasons=[LineMessage(0, exc.message)], encoding="utf-8")
        after = parse_notebook(new_raw, path)
        record.output = new_raw if new_raw != notebook.raw else None
    notes = []
    for note in record.notes:
        cell, line = located(note.line)
        out_cell, out_line = (None, note.output_line) if note.output_line is None else after.locate(note.output_line)
        notes.append(ReviewNote(line, note.message, out_line, cell, out_cell))
    record.notes = notes
    for finding in record.findings:
        cell, line = after.locate(finding["line"])
        shift = finding["line"] - line
        finding.update(cell=cell, line=line, end_line=finding["end_line"] - shift)
        fix = finding.get("fix")
        for edit in (fix or {}).get("edits", ()):
            edit.update(line=edit["line"] - shift, end_line=edit["end_line"] - shift)
    record.encoding = "utf-8"
    return record


def _lint_into(record: FileRecord, text: str, lint_path: str, settings: AnalysisSettings) -> None:
    """Lint ``text`` (with ``settings.fix``: apply the safe fixes first) into ``record``."""
    if not settings.lint:
        return
    from .lint import lint_text

    fixed, applied, findings = lint_text(text, lint_path, settings.lint_config, fix=settings.fix)
    if applied:
        record.output = encodable(fixed, record.encoding)
        record.fixes_applied = applied
    for finding in findings:
        finding["path"] = record.path  # the report's paths are relative to the migrated root
    record.findings = findings


def syntax_error(text: str, path: str) -> LineMessage | None:
    """The syntax error of ``text``, or None when libcst can parse it.

    CPython's parser is the fast path and gives the better line and message ("'(' was never
    closed" at the opening line); libcst decides (it accepts a few constructs newer than the
    running Python) and contributes its Python 2 hints.
    """
    try:
        ast.parse(text)
        return None
    except SyntaxError as exc:
        cpython: LineMessage | None = LineMessage(exc.lineno or 0, f"syntax error: {exc.msg}")
    except (ValueError, MemoryError, RecursionError):  # NUL bytes, pathological nesting
        cpython = None
    from ..parsing import parse_module

    try:
        parse_module(text, path)
    except SourceError as exc:
        if cpython is None or "Python 2" in exc.message:
            return LineMessage(cpython.line if cpython else exc.line or 0, exc.message)
        return cpython
    return None


def encodable(text: str, encoding: str) -> str:
    """``text``, made writable in ``encoding``.

    The converter's own text (review markers use an em dash) may not exist in a legacy
    encoding such as latin-1; such characters become ASCII look-alikes, and anything else
    a backslash escape, rather than failing to write the file.
    """
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    for char, replacement in _ASCII_FALLBACKS.items():
        text = text.replace(char, replacement)
    return text.encode(encoding, errors="backslashreplace").decode(encoding)


_MARKER_RE = re.compile(re.escape(REVIEW_MARKER) + r"\s*(?:\u2014|-|:)?\s*(?P<message>.*)$")


def locate_review_notes(notes: list[tuple[int, str]], output: str) -> list[ReviewNote]:
    """Pair each review note with the ``# pl-convert: review`` marker carrying it in ``output``.

    Markers are matched by message, in order; a note whose marker is missing keeps
    ``output_line=None`` (the report then says so, rather than pointing at the wrong line).
    """
    markers: list[tuple[int, str]] = []
    for number, line in enumerate(output.splitlines(), start=1):
        found = _MARKER_RE.search(line)
        if found:
            markers.append((number, found.group("message").strip()))
    used: set[int] = set()
    located = []
    for line, message in notes:
        output_line = None
        wanted = _normalise(message)
        for index, (number, marker_message) in enumerate(markers):
            if index in used:
                continue
            have = _normalise(marker_message)
            if have and (wanted.startswith(have) or have.startswith(wanted) or wanted in have):
                used.add(index)
                output_line = number
                break
        located.append(ReviewNote(line, message, output_line))
    return located


def _normalise(message: str) -> str:
    for char, replacement in _ASCII_FALLBACKS.items():
        message = message.replace(char, replacement)
    return " ".join(message.split()).rstrip(".").lower()
