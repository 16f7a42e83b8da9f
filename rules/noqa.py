"""Suppression comments.

* ``# noqa`` at the end of a line silences every finding on that line; ``# noqa: PTL101, PTL2``
  only those codes (or prefixes).
* ``# pl-convert: noqa`` on a line of its own silences the whole file;
  ``# pl-convert: noqa: PTL101`` silences that code in the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?", re.IGNORECASE)
_FILE_NOQA = re.compile(
    r"^\s*#\s*pl-convert:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
ALL = ("",)  #: the empty prefix matches every code


def _codes(text: str | None) -> tuple[str, ...]:
    if not text:
        return ALL
    return tuple(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


@dataclass
class Suppressions:
    """The noqa comments of one file."""

    file_codes: tuple[str, ...] = ()
    line_codes: dict[int, tuple[str, ...]] = field(default_factory=dict)

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
    file_codes: list[str] = []
    for match in _FILE_NOQA.finditer(source):
        file_codes.extend(_codes(match.group("codes")))
    result.file_codes = tuple(file_codes)
    for number, text in enumerate(source.splitlines(), start=1):
        if "#" not in text or "noqa" not in text.lower():
            continue
        if _FILE_NOQA.match(text):
            continue
        match = _LINE_NOQA.search(text)
        if match:
            result.line_codes[number] = _codes(match.group("codes"))
    return result
