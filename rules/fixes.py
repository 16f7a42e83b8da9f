"""Applying fixes: text edits, non-overlapping, re-linting until nothing fixable is left."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sourcefile import SourceError
from .config import LintConfig
from .findings import Edit, Finding

#: a fix loop that has not settled after this many rounds is stopped (a rule fighting another)
MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    """The result of :func:`apply_fixes`: the new text, what was fixed and what remains."""

    source: str
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def _offsets(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (positions refer to ``text``)."""
    starts = _offsets(text)

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    spans = sorted(((offset(e.line, e.column), offset(e.end_line, e.end_column), e.content) for e in edits))
    out: list[str] = []
    cursor = 0
    for start, end, content in spans:
        out.append(text[cursor:start])
        out.append(content)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _choose(findings: list[Finding], unsafe: bool) -> list[Finding]:
    """Fixable findings whose edits do not overlap an earlier chosen one."""
    chosen: list[Finding] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or (not fix.is_safe and not unsafe):
            continue
        spans = [((e.line, e.column), (e.end_line, e.end_column)) for e in fix.edits]
        if any(s < t_end and t_start < e or s == t_start for s, e in spans for t_start, t_end in taken):
            continue
        chosen.append(finding)
        taken.extend(spans)
    return chosen


def apply_fixes(source: str, path: str | None = None, config: LintConfig | None = None, unsafe: bool | None = None) -> FixOutcome:
    """Fix ``source`` (safe fixes; unsafe ones too with ``unsafe`` or ``config.unsafe_fixes``),
    re-linting after each round until no applicable fix is left.

    Raises :class:`SourceError` if ``source`` itself cannot be parsed. A round whose result no
    longer parses is discarded (a rule bug must never corrupt a file).
    """
    from .engine import lint_source

    config = config or LintConfig()
    allow_unsafe = config.unsafe_fixes if unsafe is None else unsafe
    findings = lint_source(source, path, config)
    fixed: list[Finding] = []
    for _ in range(MAX_ROUNDS):
        chosen = _choose(findings, allow_unsafe)
        if not chosen:
            break
        candidate = apply_edits(source, [edit for f in chosen for edit in f.fix.edits])  # type: ignore[union-attr]
        try:
            new_findings = lint_source(candidate, path, config)
        except SourceError:
            break
        if candidate == source:
            break
        source, findings = candidate, new_findings
        fixed.extend(chosen)
    return FixOutcome(source, fixed, findings)


def fix_source(source: str, config: LintConfig | None = None, unsafe: bool = False, path: str | None = None) -> tuple[str, list[Finding]]:
    """Apply fixes to ``source``; return ``(new_source, remaining_findings)``."""
    outcome = apply_fixes(source, path, config, unsafe=unsafe or bool(config and config.unsafe_fixes))
    return outcome.source, outcome.remaining
