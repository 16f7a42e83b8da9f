"""The lint step of a migration: the one place that talks to :mod:`pl_convert.rules`."""

from __future__ import annotations

from typing import Any


def lint_available() -> bool:
    """Whether the rule engine is installed (it is imported lazily, in the workers)."""
    try:
        from ..rules import apply_fixes, lint_source  # noqa: F401
    except ImportError:
        return False
    return True


def is_path_dependent(config: Any | None) -> bool:
    """Whether findings depend on a file's path under ``config`` (per-file ignores, excludes),
    so that the cache must key on the path too."""
    return bool(config is not None and any(getattr(config, name, ()) for name in ("per_file_ignores", "exclude", "extend_exclude")))


def lint_text(
    text: str, path: str, config: Any | None, *, fix: bool = False
) -> tuple[str, int, list[dict[str, Any]]]:
    """Lint ``text`` (``path`` is where it lives, for per-file configuration).

    With ``fix``, the linter's safe fixes (and unsafe ones if the configuration opts in) are
    applied first. Returns the (possibly fixed) text, how many fixes were applied, and the
    remaining findings as JSON records, sorted by position. Files the configuration excludes
    are not linted.
    """
    if config is not None and hasattr(config, "is_excluded") and config.is_excluded(path):
        return text, 0, []
    if fix:
        from ..rules import apply_fixes

        outcome = apply_fixes(text, path, config)
        text, applied, findings = outcome.source, len(outcome.fixed), outcome.remaining
    else:
        from ..rules import lint_source

        applied, findings = 0, lint_source(text, path, config)
    ordered = sorted(findings, key=lambda f: (f.line, f.column, f.code))
    return text, applied, [finding.to_dict() for finding in ordered]
