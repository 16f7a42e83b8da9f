"""Jupyter notebooks as Python source, and back: shared by convert, lint and migrate.

A notebook's Python is its code cells, concatenated in order (``python_source``), with IPython
syntax masked so that a Python parser accepts it: line magics (``%matplotlib inline``), shell
escapes (``!pip install x``, ``files = !ls``), help (``obj?``) and the first line of a Python
cell magic (``%%time``) each become a call, ``__ipython_magic__(N)`` (what IPython itself runs is
a call too, ``get_ipython().run_line_magic(...)``: the converter treats it as code with effects,
which it must keep where it runs), or a plain comment before the first Python statement and for
continuation lines, which keeps every line where it was; a cell whose cell magic is not Python
(``%%bash``, ``%%writefile``) is left out. Lint parses that text once; convert converts it as it
would a script.

:meth:`Notebook.rebuild` puts a changed text back: each output line goes to the cell its input
line came from (new lines to the cell of the line before them), magics are restored (indented
as the line that replaced them), and only the ``source`` values of changed cells are rewritten,
in place in the original JSON text, in the original style (a list of lines or one string, the
same indentation, ``ensure_ascii`` as the file had it). Every other byte (outputs, metadata,
unchanged cells, key order, indentation, trailing newline) stays as it was.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .sourcefile import SourceError

NOTEBOOK_SUFFIX = ".ipynb"
#: Notebooks carry outputs (images, tables): a larger limit than for Python files.
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
#: Cell magics whose body is Python: the cell is kept, its first line masked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "mprun"})

_MAGIC_TOKEN = "pl-convert-magic"
#: a masked line: a call (indentation, token), or a comment (indentation, "-cont" for a
#: continuation line, token)
_PLACEHOLDER = re.compile(r"^([ \t]*)(?:__ipython_magic__\((\d+)\)|# pl-convert-magic(-cont)?:(\d+))[ \t]*$")
_ASSIGNED_MAGIC = re.compile(r"^[ \t]*[\w.]+(?:[ \t]*,[ \t]*[\w.]+)*[ \t]*=[ \t]*[!%]")
_HELP = re.compile(r"^[ \t]*(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})[ \t]*$")
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[0-7])[0-9a-fA-F]{4}")


def is_notebook(path: str | Path) -> bool:
    return str(path).endswith(NOTEBOOK_SUFFIX)


@dataclass
class Cell:
    """One code cell that takes part in the Python source."""

    number: int  #: 1-based, among all the notebook's cells (what ``nb.ipynb:cell 4`` names)
    index: int  #: 0-based position in ``cells``
    text: str  #: the source as written (magics included)
    masked: str  #: the source with magics masked, ending with a newline unless empty
    start_line: int = 0  #: 1-based first line in ``python_source``
    span: tuple[int, int] = (0, 0)  #: the ``source`` value's offsets in the JSON text
    magics: dict[int, str] = field(default_factory=dict)  #: token -> original line

    @property
    def line_count(self) -> int:
        return self.masked.count("\n")


class Notebook:
    """A parsed notebook: its JSON text, and the Python of its code cells."""

    def __init__(self, raw: str, path: str | None, cells: list[Cell], language: str | None) -> None:
        self.raw = raw
        self.path = path
        self.cells = cells  #: the code cells in the Python source, in order
        self.language = language  #: the kernel's language, None when the notebook does not say
        self.python_source = "".join(cell.masked for cell in cells)
        self._starts = [cell.start_line for cell in cells]

    @property
    def is_python(self) -> bool:
        return self.language in (None, "python") or (self.language or "").startswith("python")

    # -- positions -------------------------------------------------------------------------
    def locate(self, line: int) -> tuple[int, int]:
        """(cell number, line in the cell) of line ``line`` of :attr:`python_source`."""
        if not self.cells:
            return 1, line
        position = max(0, bisect.bisect_right(self._starts, line) - 1)
        cell = self.cells[position]
        return cell.number, line - cell.start_line + 1

    def cell_lines(self) -> dict[int, list[str]]:
        """Each cell's lines as written, by cell number (for code frames)."""
        return {cell.number: cell.text.splitlines() for cell in self.cells}

    # -- writing back ----------------------------------------------------------------------
    def new_cell_texts(self, new_source: str) -> dict[int, str]:
        """The cells that ``new_source`` (a changed :attr:`python_source`) changes: cell number
        -> new text, magics restored. Raises :class:`SourceError` if a magic was lost."""
        owner: list[int] = []
        old_lines: list[str] = []
        for position, cell in enumerate(self.cells):
            lines = cell.masked.splitlines(keepends=True)
            old_lines += lines
            owner += [position] * len(lines)
        new_lines = new_source.splitlines(keepends=True)
        assigned: list[list[str]] = [[] for _ in self.cells]
        import difflib

        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(j2 - j1):
                    assigned[owner[i1 + k]].append(new_lines[j1 + k])
            elif tag in ("insert", "replace"):
                # new text joins the cell of the line it replaces, else of the line before it
                position = owner[i1] if tag == "replace" else (owner[i1 - 1] if i1 > 0 else 0)
                if assigned:
                    assigned[position].extend(new_lines[j1:j2])
        tokens = {token: (cell, line) for cell in self.cells for token, line in cell.magics.items()}
        seen: set[int] = set()
        changed: dict[int, str] = {}
        for cell, lines in zip(self.cells, assigned):
            text = "".join(lines)
            if text == cell.masked:
                for token in cell.magics:
                    seen.add(token)
                continue
            restored = _unmask(text, tokens, seen)
            if not cell.text.endswith("\n") and restored.endswith("\n"):
                restored = restored[:-1]
            if restored != cell.text:
                changed[cell.number] = restored
        lost = [token for token in tokens if token not in seen]
        if lost:
            cell, line = tokens[min(lost)]
            raise SourceError(
                self.path,
                f"cell {cell.number}: the IPython line `{line.strip()}` was in code that had to be "
                "rewritten; move it to a cell of its own and run again",
            )
        return changed

    def rebuild(self, new_source: str) -> str:
        """The notebook's JSON text with :attr:`python_source` replaced by ``new_source``."""
        return self.with_cells(self.new_cell_texts(new_source))

    def with_cells(self, texts: dict[int, str]) -> str:
        """The JSON text with the ``source`` of the cells in ``texts`` (by number) replaced."""
        if not texts:
            return self.raw
        by_number = {cell.number: cell for cell in self.cells}
        ensure_ascii = _ensure_ascii(self.raw)
        pieces: list[str] = []
        cursor = 0
        for number in sorted(texts, key=lambda n: by_number[n].span[0]):
            cell = by_number[number]
            start, end = cell.span
            pieces += [self.raw[cursor:start], _encode_source(texts[number], self.raw, start, end, ensure_ascii)]
            cursor = end
        pieces.append(self.raw[cursor:])
        return "".join(pieces)

    def diff(self, new_source: str, from_name: str, to_name: str) -> str:
        """Unified diffs of the cells ``new_source`` changes, one per cell (``--- a/nb.ipynb:cell 4``)."""
        before = {cell.number: cell.text for cell in self.cells}
        return cells_diff(before, {**before, **self.new_cell_texts(new_source)}, from_name, to_name)

    def diff_to(self, after: "Notebook", from_name: str, to_name: str) -> str:
        """Unified diffs of the cells that differ in ``after`` (this notebook, rewritten)."""
        return cells_diff(
            {cell.number: cell.text for cell in self.cells}, {cell.number: cell.text for cell in after.cells}, from_name, to_name
        )


def cells_diff(before: dict[int, str], after: dict[int, str], from_name: str, to_name: str) -> str:
    """One unified diff per cell whose text differs, headed ``--- from_name:cell N``."""
    import difflib

    out: list[str] = []
    for number in sorted(before.keys() | after.keys()):
        old, new = before.get(number, ""), after.get(number, "")
        if old != new:
            out += difflib.unified_diff(
                _lines_for_diff(old), _lines_for_diff(new), f"{from_name}:cell {number}", f"{to_name}:cell {number}"
            )
    return "".join(out)


def _lines_for_diff(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


# -- reading ---------------------------------------------------------------------------------
def read_notebook(path: str | Path) -> Notebook:
    """Read and parse a notebook. Raises :class:`SourceError` with a clear message."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise SourceError(path, f"notebook is too large ({size / 1e6:.1f} MB; the limit is {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB)")
        data = p.read_bytes()
    except FileNotFoundError:
        raise SourceError(path, "no such file") from None
    except IsADirectoryError:
        raise SourceError(path, "is a directory, expected a notebook") from None
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_notebook_bytes(data, str(path))


def parse_notebook_bytes(data: bytes, path: str | None = None) -> Notebook:
    """Decode (UTF-8, as the format requires) and parse notebook bytes."""
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not a notebook: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    return parse_notebook(raw, path)


def parse_notebook(raw: str, path: str | None = None) -> Notebook:
    """Parse a notebook's JSON text. Raises :class:`SourceError` for anything that is not an
    nbformat 4 notebook."""
    body = raw[1:] if raw.startswith("\ufeff") else raw
    offset = len(raw) - len(body)
    try:
        document = json.loads(body)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise SourceError(path, f"not a notebook: invalid JSON ({getattr(exc, 'msg', exc)})", line=line) from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        if isinstance(document, dict) and "worksheets" in document:
            raise SourceError(path, "nbformat 3 notebooks are not supported; upgrade it with `jupyter nbconvert --to notebook`")
        raise SourceError(path, "not a notebook: no \"cells\" list")
    spans = _source_spans(body)
    if len(spans) != len(document["cells"]):  # pragma: no cover - the scanner and json disagree
        raise SourceError(path, "not a notebook: cannot locate the cells' sources")
    language = _language(document.get("metadata"))
    cells: list[Cell] = []
    token = 0
    line = 1
    header = True  # no Python statement yet: magics become plain comments (see _mask)
    for index, (raw_cell, span) in enumerate(zip(document["cells"], spans)):
        if not isinstance(raw_cell, dict) or raw_cell.get("cell_type") != "code" or span is None:
            continue
        source = raw_cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        if not isinstance(text, str):
            raise SourceError(path, f"cell {index + 1}: \"source\" is neither a string nor a list of strings")
        masked, magics, token, header = _mask(text, token, header)
        if masked is None:
            continue  # %%bash and friends: not Python
        cell = Cell(index + 1, index, text, masked, line, (span[0] + offset, span[1] + offset), magics)
        line += cell.line_count
        cells.append(cell)
    notebook = Notebook(raw, path, cells, language)
    if not notebook.is_python:
        notebook = Notebook(raw, path, [], language)  # an R or Julia notebook: no Python cells
    return notebook


def _language(metadata) -> str | None:
    if not isinstance(metadata, dict):
        return None
    for holder, key in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(holder, {})
        if isinstance(value, dict) and isinstance(value.get(key), str):
            return value[key].lower()
    return None


def _source_spans(text: str) -> list[tuple[int, int] | None]:
    """The offsets of each cell's ``"source"`` value in the JSON text (None: a cell without one).

    A small scanner over the document's structure, down to ``cells[i].source``; every other
    value is skipped with the C decoder."""
    decoder = json.JSONDecoder()
    whitespace = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        return whitespace.match(text, i).end()

    def value_end(i: int) -> int:
        return decoder.raw_decode(text, i)[1]

    def walk_object(i: int, visit) -> int:
        """``visit(key, value_start) -> value_end`` for each member of the object at ``i``."""
        i = skip(i + 1)
        if text[i] == "}":
            return i + 1
        while True:
            key, i = json.decoder.scanstring(text, i + 1)
            i = skip(skip(i) + 1)  # the colon
            i = skip(visit(key, i))
            if text[i] == "}":
                return i + 1
            i = skip(i + 1)  # the comma

    def walk_array(i: int, visit) -> int:
        i = skip(i + 1)
        if text[i] == "]":
            return i + 1
        while True:
            i = skip(visit(i))
            if text[i] == "]":
                return i + 1
            i = skip(i + 1)

    spans: list[tuple[int, int] | None] = []

    def cell(i: int) -> int:
        found: list[tuple[int, int] | None] = [None]

        def member(key: str, start: int) -> int:
            end = value_end(start)
            if key == "source":
                found[0] = (start, end)
            return end

        end = walk_object(i, member) if text[i] == "{" else value_end(i)
        spans.append(found[0])
        return end

    def top(key: str, start: int) -> int:
        if key == "cells" and text[start] == "[" and not spans:
            return walk_array(start, cell)
        return value_end(start)

    walk_object(skip(0), top)
    return spans


# -- masking IPython syntax ------------------------------------------------------------------
def _mask(text: str, token: int, header: bool) -> tuple[str | None, dict[int, str], int, bool]:
    """``text`` with its IPython lines masked, the originals by token, the next token, and
    whether the notebook's header (no Python statement yet) goes on. The masked text is None
    when the cell is a cell magic whose body is not Python.

    In the header, a magic becomes a comment (``# pl-convert-magic:N``), not a call: the
    imports a conversion adds then go after it, as they must after ``!pip install lightning``;
    everywhere else a call holds its place (a comment may not be a block's only line, and goes
    with the statement after it when that statement is rewritten)."""
    lines = text.splitlines(keepends=True)
    magics: dict[int, str] = {}
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(None, 1)[0] if len(first) > 2 else ""
        if name not in PYTHON_CELL_MAGICS:
            return None, {}, token, header
    out: list[str] = []
    in_string = False  # inside a triple-quoted string
    depth = 0  # open brackets
    python_continues = False  # the previous Python line ended with a backslash
    magic_continues = False  # the previous magic line ended with a backslash
    for line in lines:
        body = line.rstrip("\r\n")
        ending = line[len(body):] or "\n"
        stripped = body.lstrip()
        indent = body[: len(body) - len(stripped)]
        at_statement_start = not (in_string or depth or python_continues)
        if magic_continues or (at_statement_start and _is_magic(stripped, body)):
            magics[token] = body
            if magic_continues or (header and not indent):
                out.append(f"{indent}# {_MAGIC_TOKEN}{'-cont' if magic_continues else ''}:{token}{ending}")
            else:
                out.append(f"{indent}__ipython_magic__({token}){ending}")
            token += 1
            magic_continues = body.endswith("\\")
            continue
        if stripped and not stripped.startswith("#"):
            header = False
        out.append(line)
        in_string, depth = _scan_line(body, in_string, depth)
        python_continues = body.endswith("\\") and not in_string
    masked = "".join(out)
    if masked and not masked.endswith("\n"):
        masked += "\n"
    return masked, magics, token, header


def _is_magic(stripped: str, line: str) -> bool:
    if not stripped:
        return False
    if stripped[0] in "%!":
        return True
    return bool(_HELP.match(line) or _ASSIGNED_MAGIC.match(line))


_STRINGS_AND_COMMENTS = re.compile(r"""[rRbBuUfF]*(?:'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")|#.*""")


def _scan_line(line: str, in_string: bool, depth: int) -> tuple[bool, int]:
    """Whether a triple-quoted string is open after ``line``, and the open bracket count (a
    heuristic for masking: IPython syntax only starts a statement, never continues one)."""
    for quote in ('"""', "'''"):
        if line.count(quote) % 2:
            return not in_string, depth
    if in_string:
        return True, depth
    code = _STRINGS_AND_COMMENTS.sub("", line)
    depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
    return False, max(depth, 0)


def _unmask(text: str, tokens: dict[int, tuple[Cell, str]], seen: set[int]) -> str:
    """Put the IPython lines back in place of their placeholders."""
    if _MAGIC_TOKEN not in text and "__ipython_magic__" not in text:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = _PLACEHOLDER.match(body)
        token = None if match is None else int(match.group(2) or match.group(4))
        if token is None or token not in tokens:
            out.append(line)
            continue
        seen.add(token)
        original = tokens[token][1]
        if not match.group(3):  # a magic's first line, at its placeholder's indentation
            original = match.group(1) + original.lstrip()
        out.append(original + line[len(body):])
    return "".join(out)


# -- writing JSON in the file's own style ------------------------------------------------------
def _ensure_ascii(raw: str) -> bool:
    """Whether the file escapes non-ASCII characters (``json.dump``'s default) or writes them
    as they are (nbformat's way); a file with neither keeps nbformat's."""
    if any(ord(char) > 127 for char in raw):
        return False
    return _NON_ASCII_ESCAPE.search(raw) is not None


def _encode_source(text: str, raw: str, start: int, end: int, ensure_ascii: bool) -> str:
    """A cell's new ``source`` value, written as the old one was (a string, or a list of lines
    on one line or one per line with the same indentation)."""
    old = raw[start:end]
    if not old.startswith("["):
        return json.dumps(text, ensure_ascii=ensure_ascii)
    lines = text.splitlines(keepends=True)
    if not lines:
        return "[]"
    items = [json.dumps(line, ensure_ascii=ensure_ascii) for line in lines]
    key_line = raw[raw.rfind("\n", 0, start) + 1 : start]
    key_indent = key_line[: len(key_line) - len(key_line.lstrip(" \t"))]
    if "\n" not in old:
        if old != "[]" or "\n" not in raw[:start]:  # a one-line list, or a one-line document
            sample = old if old.count('"') > 2 else raw
            separator = ", " if sample.count('", "') + sample.count(", \"") >= sample.count('","') + sample.count(',"') else ","
            return "[" + separator.join(items) + "]"
        item_indent = key_indent + _indent_unit(raw)
        close_indent = key_indent
    else:
        after_bracket = old[old.index("\n") + 1 :]
        item_indent = after_bracket[: len(after_bracket) - len(after_bracket.lstrip(" \t"))]
        close_indent = old[old.rindex("\n") + 1 : -1]
    return "[\n" + ",\n".join(item_indent + item for item in items) + "\n" + close_indent + "]"


def _indent_unit(raw: str) -> str:
    """The document's indentation step (the second line's leading whitespace)."""
    match = re.search(r"\n([ \t]+)\S", raw)
    return match.group(1) if match else " "
