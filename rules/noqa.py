"""Suppression comments, and the check that they still suppress something (PTL001).

* ``# noqa`` at the end of a line silences every finding on that line; ``# noqa: PTL101, PTL2``
  only those codes (or prefixes).
* ``# pl-convert: noqa`` on a line of its own silences the whole file;
  ``# pl-convert: noqa: PTL101`` silences that code in the whole file.

Like ruff's RUF100, :func:`unused_noqa_findings` reports ``PTL`` codes in a ``# noqa: ...`` list
that match no rule (``PTL999``) or that silenced nothing on their line although their rule ran,
with a safe fix that removes them. Codes of other tools (``E501``, ``F401``) and blanket
``# noqa`` comments are theirs: never reported.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import LintConfig
    from .findings import Finding

ALL = ("",)  #: the empty prefix matches every code
NOQA_CODE = "PTL001"
NOQA_NAME = "unused-noqa"
_CODES = r"(?::\s*(?P<codes>[A-Z]+[0-9]*(?:(?:\s*,\s*|\s+)[A-Z]+[0-9]*)*))?"


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


class Directive:
    """One noqa comment: where it is, and the codes it lists (``ALL`` for a blanket one)."""

    __slots__ = ("line", "start", "end", "codes_start", "codes_end", "codes", "used", "whole_file")

    def __init__(self, line: int, match: re.Match[str], whole_file: bool) -> None:
        self.line = line
        self.start, self.end = match.start(), match.end()  #: 0-based columns of the comment
        self.codes_start, self.codes_end = match.span("codes")
        self.codes = _codes(match.group("codes"))
        self.used: set[str] = set()  #: the codes that silenced a finding
        self.whole_file = whole_file

    def matching(self, code: str) -> str | None:
        """The first listed code that is a prefix of ``code`` (None: does not silence it)."""
        return next((c for c in self.codes if code.startswith(c)), None)


class Suppressions:
    """The noqa comments of one file."""

    __slots__ = ("file_directives", "line_directives")  # a plain class: cheaper than a dataclass

    def __init__(self) -> None:
        self.file_directives: list[Directive] = []
        self.line_directives: dict[int, Directive] = {}

    @property
    def file_codes(self) -> tuple[str, ...]:
        return tuple(c for d in self.file_directives for c in d.codes)

    @property
    def line_codes(self) -> dict[int, tuple[str, ...]]:
        return {line: d.codes for line, d in self.line_directives.items()}

    def suppresses(self, code: str, line: int) -> bool:
        """Whether a comment silences ``code`` at ``line`` (and remember which one did)."""
        for directive in (self.line_directives.get(line), *self.file_directives):
            if directive is None:
                continue
            matched = directive.matching(code)
            if matched is not None:
                directive.used.add(matched)
                return True
        return False


def parse_suppressions(source: str) -> Suppressions:
    """Read the suppression comments of ``source`` (cheap: regexes over lines with ``noqa``)."""
    result = Suppressions()
    if "noqa" not in source and "NOQA" not in source:
        return result
    line_noqa, file_noqa = _patterns()
    for number, text in enumerate(source.splitlines(), start=1):
        if "#" not in text or "noqa" not in text.lower():
            continue
        match = file_noqa.match(text)
        if match:
            result.file_directives.append(Directive(number, match, whole_file=True))
            continue
        match = line_noqa.search(text)
        if match:
            result.line_directives[number] = Directive(number, match, whole_file=False)
    return result


def unused_noqa_findings(
    source: str, suppressions: Suppressions, config: "LintConfig", path: str | None
) -> list["Finding"]:
    """PTL001 findings: ``PTL`` codes of noqa comments that match no rule, or whose rules ran on
    this file (enabled, for the target version) and found nothing the comment silenced."""
    from .catalog import RULES
    from .findings import SAFE, Edit, Finding, Fix

    active = [
        code for code, (_module, applies_from, _m, _k) in RULES.items()
        if config.is_enabled(code, path) and (applies_from is None or config.targets(applies_from))
    ]
    lines = source.splitlines()
    findings = []
    comments: set[tuple[int, int]] | None = None
    for directive in [*suppressions.file_directives, *suppressions.line_directives.values()]:
        if directive.codes == ALL:
            continue  # a blanket noqa may be another tool's
        unknown = [c for c in directive.codes if c.startswith("PTL") and not any(r.startswith(c) for r in RULES)]
        unused = [
            c for c in directive.codes
            if c.startswith("PTL") and c not in unknown and c not in directive.used
            and any(r.startswith(c) for r in active) and c != NOQA_CODE
        ]
        if not unknown and not unused:
            continue
        if comments is None:
            comments = _comment_spans(source)
        if not any(line == directive.line and start <= directive.start for line, start in comments):
            continue  # "# noqa: PTL999" inside a string is text, not a comment: never edit it
        if NOQA_CODE in directive.codes or (
            not directive.whole_file and suppressions.suppresses(NOQA_CODE, directive.line)
        ) or any(d.matching(NOQA_CODE) for d in suppressions.file_directives):
            continue
        parts = []
        if unused:
            parts.append("unused: " + ", ".join(f"`{c}`" for c in unused))
        if unknown:
            parts.append("unknown: " + ", ".join(f"`{c}`" for c in unknown))
        text = lines[directive.line - 1]
        edit = _removal(text, directive, set(unused) | set(unknown))
        findings.append(
            Finding(
                code=NOQA_CODE,
                name=NOQA_NAME,
                path=path,
                line=directive.line,
                column=directive.start + 1,
                end_line=directive.line,
                end_column=directive.end + 1,
                message=f"Unused `noqa` directive ({'; '.join(parts)})",
                fix=Fix(SAFE, "Remove the unused codes" if len(edit.content) else "Remove the `noqa` comment", (edit,)),
            )
        )
    return findings


def _comment_spans(source: str) -> set[tuple[int, int]]:
    """(line, 0-based column) where each comment starts (tokenize: only files with a noqa
    comment PTL001 would report get here)."""
    import io
    import tokenize

    spans = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                spans.add(token.start)
    except (tokenize.TokenError, SyntaxError):
        pass
    return spans


def _removal(text: str, directive: Directive, drop: set[str]) -> "Edit":
    """The edit that takes ``drop`` out of the directive's code list (the whole comment, and
    the spaces before it, when no code is left)."""
    from .findings import Edit

    original = re.split(r"[\s,]+", text[directive.codes_start : directive.codes_end].strip())
    kept = [c for c in original if c and c.upper() not in drop]
    line = directive.line
    if kept:
        return Edit(line, directive.codes_start + 1, line, directive.codes_end + 1, ", ".join(kept))
    if directive.whole_file:
        return Edit(line, 1, line, len(text) + 1, "")  # the line stays, empty
    start = directive.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Edit(line, start + 1, line, directive.end + 1, "")
