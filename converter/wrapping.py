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
    return f"{indent}{head}\n" + "".join(f"{inner}{item},\n" for item in items) + f"{indent}{close}"


def wrap_text(indent: str, text: str, limit: int) -> list[str]:
    """A paragraph of prose (a docstring's) in lines that fit ``limit`` after ``indent``."""
    width = max(limit - len(indent), 40)
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]
