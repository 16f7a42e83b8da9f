"""Suppression comments.

* ``# noqa`` at the end of a line silences every finding on that line; ``# noqa: PTL101, PTL2``
  only those codes (or prefixes).
* ``# pl-convert: noqa`` on a line of its own silences the whole file;
  ``# pl-convert: noqa: PTL101`` silences that code in the whole file.
"""

from __future__ import annotations

import re
from functools import lru_cache

ALL = ("",)  #: the empty prefix matches every code
_CODES = r"(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?"


@lru_cache(maxsize=None)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(line noqa, file noqa), compiled on first use: most files have no noqa comment, and
    these case-insensitive patterns take over a millisecond to compile."""
    line = re.compile(r"#\s*noqa" + _CODES, re.IGNORECASE)
    file = re.compile(r"^\s*#\s*pl-convert:\s*noqa" + _CODES + r"\s*$", re.IGNORECASE | re.MULTILINE)
    return line, file


def _codes(text: str | None) -> tuple[str, ...]:
    if not text:
        return ALL
    return tuple(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


class Suppressions:
    """The noqa comments of one file."""

    __slots__ = ("file_codes", "line_codes")  # a plain class: cheaper to define than a dataclass

    def __init__(self) -> None:
        self.file_codes: tuple[str, ...] = ()
        self.line_codes: dict[int, tuple[str, ...]] = {}

    def suppresses(self, code: str, line: int) -> bool:
        if any(code.startswith(c) for c in self.file_codes):
            return True
        codes = self.line_codes.get(line)
        return codes is not None and any(code.startswith(c) for c in codes)


def parse_suppressions(source: str) -> Suppressions:
    """Read the suppression comments of ``source`` (cheap: regexes over lines with ``noqa``)."""
    result = Suppressions()
    if "noqa" not in source and "NOQA" not in source:
        return result
    line_noqa, file_noqa = _patterns()
    file_codes: list[str] = []
    for match in file_noqa.finditer(source):
        file_codes.extend(_codes(match.group("codes")))
    result.file_codes = tuple(file_codes)
    for number, text in enumerate(source.splitlines(), start=1):
        if "#" not in text or "noqa" not in text.lower():
            continue
        if file_noqa.match(text):
            continue
        match = line_noqa.search(text)
        if match:
            result.line_codes[number] = _codes(match.group("codes"))
    return result
