"""Line wrapping of the code the converter writes, the way black would write it.

Only generated statements are wrapped (the Trainer, the module's construction, what
``configure_optimizers`` returns, the class docstring); the script's own lines are never
touched. The line length is the file's own: 88 (black's default) unless the script already
has longer lines (up to 120).
"""

from __future__ import annotations

import textwrap

DEFAULT_LINE_LENGTH = 88
MAX_LINE_LENGTH = 120


def line_length(source: str) -> int:
    """The line length the script is written to: 88, or its longest line when that is longer
    (up to 120)."""
    longest = max((len(line) for line in source.splitlines()), default=0)
    return min(max(DEFAULT_LINE_LENGTH, longest), MAX_LINE_LENGTH)


def wrap_bracketed(indent: str, head: str, items: list[str], close: str, unit: str, limit: int) -> str:
    """``head`` + ``items`` joined by commas + ``close`` (``head`` ends with the opening bracket).

    As black: on one line when it fits; else the items on one line of their own, indented one
    more level; else one item per line with a trailing comma.
    """
    one_line = f"{indent}{head}{', '.join(items)}{close}"
    if len(one_line) <= limit or not items:
        return one_line
    inner = indent + unit
    middle = f"{inner}{', '.join(items)}"
    if len(middle) <= limit:
        return f"{indent}{head}\n{middle}\n{indent}{close}"
    return f"{indent}{head}\n" + "".join(line for item in items for line in _item_lines(inner, item, unit, limit)) + f"{indent}{close}"


def _item_lines(indent: str, item: str, unit: str, limit: int) -> list[str]:
    """One item of a one-per-line list, with its trailing comma; a call that still does not fit
    (``strategy=FSDPStrategy(...)``) is split the same way, one level down."""
    if len(f"{indent}{item},") <= limit:
        return [f"{indent}{item},\n"]
    call = split_call(item)
    if call is None:
        return [f"{indent}{item},\n"]
    head, arguments = call
    return [wrap_bracketed(indent, head, arguments, ")", unit, limit) + ",\n"]


def split_call(code: str) -> tuple[str, list[str]] | None:
    """``("f(", ["a", "b=c"])`` for ``f(a, b=c)`` (also ``x=f(...)``): the text up to the call's
    opening bracket and its top-level arguments; None when ``code`` is not one call ending with
    its closing bracket. Commas inside brackets and strings stay inside their argument."""
    depth, quote, start, opening = 0, "", 0, -1
    arguments: list[str] = []
    for index, char in enumerate(code):
        if quote:
            if char == quote and code[index - 1] != "\\":
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
            if depth == 1:
                if char != "(" or opening != -1:
                    return None
                opening, start = index, index + 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                if index != len(code) - 1:
                    return None
                arguments.append(code[start:index].strip())
        elif char == "," and depth == 1:
            arguments.append(code[start:index].strip())
            start = index + 1
    if opening <= 0 or depth != 0 or quote or not code.endswith(")"):
        return None
    return code[: opening + 1], [a for a in arguments if a]


def wrap_text(indent: str, text: str, limit: int) -> list[str]:
    """A paragraph of prose (a docstring's) in lines that fit ``limit`` after ``indent``."""
    width = max(limit - len(indent), 40)
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]
