"""Unified diffs of what a migration changes (``--diff``)."""

from __future__ import annotations

import difflib
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..sourcefile import SourceError, read_source
from .records import FileRecord

_LINE_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def unified_diff(path: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff of one file (``a/`` and ``b/`` prefixes)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def record_diff(root: Path, record: FileRecord) -> str:
    """The diff of a changed record against the file on disk ("" when unchanged)."""
    if record.output is None:
        return ""
    try:
        if record.path.endswith(".ipynb"):  # the cells that changed, not the JSON
            from ..notebook import parse_notebook, read_notebook

            after = parse_notebook(record.output, record.path)
            return read_notebook(root / record.path).diff_to(after, f"a/{record.path}", f"b/{record.path}")
        before = read_source(root / record.path).text
    except SourceError as exc:
        return f"# cannot diff {record.path}: {exc.message}\n"
    return unified_diff(record.path, before, record.output)


def print_diff(diff: str, console: Console) -> None:
    """Print a diff: coloured in a terminal, verbatim otherwise (so it can be piped to patch)."""
    if not console.is_terminal:
        console.file.write(diff)
        return
    for line in diff.splitlines():
        style = next((s for prefix, s in _LINE_STYLES if line.startswith(prefix)), "")
        console.print(Text(line, style=style), soft_wrap=True)
