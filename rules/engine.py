"""The lint engine: parse once, run every selected rule in one traversal, report findings.

Cost control, in order: a text pre-filter, from the catalog's data (rules only run on files that
mention what they look for; a file no rule cares about is only syntax-checked, by CPython's
parser, and costs neither libcst nor a single rule module), one parse, the import of only the
rules that passed the pre-filter, one walk over the tree that skips whitespace nodes and calls
each rule only for the node types it handles, and positions (a full code-generation pass) only
for files that have findings. The walk and the positions live in :mod:`.traversal`.
"""

from __future__ import annotations

import ast

from ..parsing import parse_module
from ..sourcefile import SourceError
from .catalog import candidate_codes
from .config import LintConfig
from .findings import Finding
from .noqa import NOQA_CODE


def lint_source(source: str, path: str | None = None, config: LintConfig | None = None) -> list[Finding]:
    """Lint Python source text; return the findings sorted by position.

    Raises :class:`~pl_convert.sourcefile.SourceError` if the text cannot be parsed. Never
    imports or runs the code being linted.
    """
    config = config or LintConfig()
    codes = candidate_codes(source, config, path)
    suppressions = None
    if NOQA_CODE in codes:  # PTL001 judges the noqa comments after the other rules ran
        from .noqa import parse_suppressions

        codes.remove(NOQA_CODE)
        suppressions = parse_suppressions(source)
    if not codes:
        _syntax_check(source, path)
        findings: list[Finding] = []
    else:
        try:
            module = parse_module(source, path)
        except SourceError as exc:
            raise _better_error(exc, source, path) from None
        # here, not at the top: they import libcst, which a file with no rule to run never needs
        from .registry import rules_for
        from .traversal import run_rules

        findings = run_rules(module, source, path, config, rules_for(codes), suppressions)
    if suppressions is not None:
        from .noqa import unused_noqa_findings

        extra = unused_noqa_findings(source, suppressions, config, path)
        if extra:
            findings = sorted(findings + extra, key=Finding.sort_key)
    if config.unfixable:
        findings = [f if f.fix is None or config.is_fixable(f.code) else f._replace(fix=None) for f in findings]
    return findings


def _syntax_check(source: str, path: str | None) -> None:
    """A file no rule needs to look at still has to be valid Python (fast: the C parser;
    libcst decides, with a proper message, only when the C parser objects)."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        try:
            parse_module(source, path)
        except SourceError as exc:
            raise _better_error(exc, source, path) from None


def _better_error(exc: SourceError, source: str, path: str | None) -> SourceError:
    if "Python 2" in exc.message:
        return exc
    return _python_syntax_error(source, path) or exc


def _python_syntax_error(source: str, path: str | None) -> SourceError | None:
    """Python's own location and wording for a syntax error (libcst's parser can point a line
    late); None when Python accepts the text or the libcst message is more specific."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        if exc.lineno is None:
            return None
        return SourceError(path, f"syntax error: {exc.msg}", line=exc.lineno)
    except (ValueError, MemoryError, RecursionError):
        return None
    return None


__all__ = ["lint_source", "SourceError"]
