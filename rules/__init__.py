"""The Lightning linter: a rule engine, the ``PTL`` rules and their fixes.

Public API (kept light to import: libcst is loaded on first use)::

    from pl_convert.rules import lint_source, fix_source, Finding, LintConfig
    findings = lint_source(text, path="train.py")          # raises SourceError if unparseable
    new_text, remaining = fix_source(text, config, unsafe=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import LintConfig, load_config
from .findings import Edit, Finding, Fix

if TYPE_CHECKING:
    from .fixes import FixOutcome

__all__ = ["lint_source", "fix_source", "apply_fixes", "Finding", "Fix", "Edit", "LintConfig", "load_config"]


def lint_source(source: str, path: str | None = None, config: LintConfig | None = None) -> list[Finding]:
    """Lint Python source text and return its findings (see :mod:`.engine`).

    Raises :class:`pl_convert.sourcefile.SourceError` when the text cannot be parsed.
    """
    from .engine import lint_source as _lint

    return _lint(source, path, config)


def fix_source(
    source: str, config: LintConfig | None = None, unsafe: bool = False, path: str | None = None
) -> tuple[str, list[Finding]]:
    """Apply the safe fixes (and unsafe ones with ``unsafe=True``) until stable.

    Returns ``(new_source, remaining_findings)``.
    """
    from .fixes import fix_source as _fix

    return _fix(source, config, unsafe=unsafe, path=path)


def apply_fixes(source: str, path: str | None = None, config: LintConfig | None = None, unsafe: bool | None = None) -> "FixOutcome":
    """Like :func:`fix_source`, also returning which findings were fixed."""
    from .fixes import apply_fixes as _apply

    return _apply(source, path, config, unsafe)
