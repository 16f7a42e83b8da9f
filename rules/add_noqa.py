"""``pl-convert lint --add-noqa``: a ``# noqa: CODES`` comment on every line with findings.

For adopting the linter on an existing codebase: today's findings are silenced where they are,
new code is checked from now on, and PTL001 reports each comment once it silences nothing. Codes
merge into a ``# noqa: ...`` already on the line. A line that ends inside a multi-line string or
with a backslash continuation cannot take a comment; its findings are left as they are.
"""

from __future__ import annotations

import io
import tokenize

from .findings import Finding
from .noqa import ALL, NOQA_CODE, parse_suppressions


def add_noqa(source: str, findings: list[Finding]) -> tuple[str, int]:
    """``source`` with noqa comments for ``findings``, and how many lines got one."""
    wanted: dict[int, set[str]] = {}
    for finding in findings:
        if finding.code != NOQA_CODE:
            wanted.setdefault(finding.line, set()).add(finding.code)
    if not wanted:
        return source, 0
    closed = _lines_that_cannot_take_a_comment(source)
    suppressions = parse_suppressions(source)
    lines = source.splitlines(keepends=True)
    added = 0
    for number, codes in sorted(wanted.items()):
        if number in closed or not 1 <= number <= len(lines):
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        directive = suppressions.line_directives.get(number)
        if directive is not None:
            if directive.codes == ALL:
                continue
            listed = body[directive.codes_start : directive.codes_end]
            merged = sorted({*directive.codes, *codes})
            if set(merged) == set(directive.codes):
                continue
            body = body[: directive.codes_start] + ", ".join(merged) + body[directive.codes_end :]
            assert listed  # the codes of a directive with codes are never empty
        else:
            body = body.rstrip() + "  # noqa: " + ", ".join(sorted(codes))
        lines[number - 1] = body + ending
        added += 1
    return "".join(lines), added


def _lines_that_cannot_take_a_comment(source: str) -> set[int]:
    """Lines that end inside a string token, or with a backslash continuation."""
    closed: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.start[0] != token.end[0] and token.type in (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)):
                closed.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    for number, line in enumerate(source.splitlines(), start=1):
        if line.endswith("\\"):
            closed.add(number)
    return closed
