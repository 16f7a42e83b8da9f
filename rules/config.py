"""Lint configuration: the ``lint`` keys of ``[tool.pl-convert]`` (see :mod:`pl_convert.config`,
the schema of every table), the command line on top, and rule selection.

Example::

    [tool.pl-convert]
    exclude = ["legacy/"]                  # gitignore syntax, relative to this file

    [tool.pl-convert.lint]
    select = ["PTL1", "PTL2", "PTL3"]      # prefixes or codes; "ALL" for everything
    ignore = ["PTL111"]
    per-file-ignores = { "tests/*" = ["PTL103"] }
    target-version = "2.0"                 # the Lightning version the code must run on

Selection works in layers, as ruff's does: the default selection; the configuration (a ``select``,
or ``--select``, replaces the default, and competes with ``extend-select`` and ``ignore`` by
specificity, an ignore winning a tie; without ``select``, ``extend-select`` and ``ignore`` are a
layer over the default, so ``ignore = ["ALL"]`` turns everything off); the command line's
``--extend-select`` / ``--ignore`` on top (``--ignore ALL`` alone turns everything off); then
``per-file-ignores``, which always win.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath

from ..config import (  # noqa: F401 - re-exported: the rules' public configuration API
    ConfigError,
    ProjectConfig,
    check_selectors,
    load_project_config,
    parse_version,
)

#: Rules that run unless deselected: PTL0 (noqa hygiene), PTL1, PTL2, and PTL301 of PTL3.
DEFAULT_SELECT: tuple[str, ...] = ("PTL0", "PTL1", "PTL2", "PTL301")
#: The newest Lightning release the rules know; the default target.
LATEST_LIGHTNING: tuple[int, int] = (2, 6)


@dataclass(frozen=True)
class LintConfig:
    """Which rules run, on which Lightning version, on which files, and how fixes are applied."""

    select: tuple[str, ...] = DEFAULT_SELECT
    #: False: ``select`` is a base the configuration's extend-select / ignore sit on (the
    #: defaults); True: it was configured, and competes with them by specificity
    select_given: bool = False
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unsafe_fixes: bool = False
    unfixable: tuple[str, ...] = ()  #: rules whose fixes are never applied
    target_version: tuple[int, int] = LATEST_LIGHTNING
    exclude: tuple[str, ...] = ()  #: gitignore-style patterns, relative to ``root`` (``--exclude`` replaces them)
    extend_exclude: tuple[str, ...] = ()  #: more patterns (``extend-exclude``, the lint table's ``exclude``)
    respect_gitignore: bool = True
    force_exclude: bool = False
    show_fixes: bool = False
    output_format: str | None = None  #: None: the command's default
    cli_extend_select: tuple[str, ...] = ()  #: the command line's layer (see the module doc)
    cli_ignore: tuple[str, ...] = ()
    cli_exclude: tuple[str, ...] = ()  #: ``--exclude`` / ``--extend-exclude``, relative to ``cli_root``
    cli_root: str | None = None  #: the current directory of the command line
    root: str | None = None  #: directory of the pyproject.toml it came from
    source: str | None = None  #: the pyproject.toml it came from
    warnings: tuple[str, ...] = ()  #: unknown keys and the like, for the user

    # -- selection ------------------------------------------------------------------------
    def is_enabled(self, code: str, path: str | None = None) -> bool:
        """Whether rule ``code`` runs (on ``path``)."""
        if self.select_given:
            enabled = _best_match(code, self.select + self.extend_select) > _best_match(code, self.ignore)
        else:
            enabled = _layer(code, _best_match(code, self.select) >= 0, self.extend_select, self.ignore)
        if self.cli_extend_select or self.cli_ignore:
            enabled = _layer(code, enabled, self.cli_extend_select, self.cli_ignore)
        if enabled and self.per_file_ignores and _best_match(code, self.ignores_for(path)) >= 0:
            return False
        return enabled

    def ignores_for(self, path: str | None) -> tuple[str, ...]:
        """The codes ``per-file-ignores`` switches off for ``path``."""
        if path is None or not self.per_file_ignores:
            return ()
        rel = _relative_posix(path, self.root)
        name = PurePosixPath(rel).name
        import fnmatch  # only configurations with per-file-ignores need it

        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(name, pattern):
                codes.extend(ignored)
        return tuple(codes)

    def is_excluded(self, path: str | Path, is_dir: bool = False) -> bool:
        """Whether the ``exclude`` patterns (gitignore syntax) match ``path`` or a directory
        above it."""
        for patterns in (self.exclude, self.extend_exclude):
            if patterns and _patterns(self.root, patterns).matches(path, is_dir):
                return True
        return bool(self.cli_exclude) and _patterns(self.cli_root, self.cli_exclude).matches(path, is_dir)

    def targets(self, version: tuple[int, int]) -> bool:
        """True when the target Lightning version is ``version`` or newer."""
        return self.target_version >= version

    def with_overrides(
        self,
        select: tuple[str, ...] | None = None,
        extend_select: tuple[str, ...] = (),
        ignore: tuple[str, ...] = (),
        unsafe_fixes: bool | None = None,
        target_version: str | None = None,
        exclude: tuple[str, ...] | None = None,
        extend_exclude: tuple[str, ...] = (),
        respect_gitignore: bool | None = None,
        force_exclude: bool | None = None,
        show_fixes: bool | None = None,
        unfixable: tuple[str, ...] = (),
    ) -> "LintConfig":
        """The command line on top of the file: ``--select`` replaces the configured selection,
        ``--extend-select`` / ``--ignore`` are a layer above it; ``--exclude`` replaces the
        configured patterns (command-line patterns are relative to the current directory)."""
        config = self
        if select:
            config = replace(config, select=tuple(select), select_given=True, extend_select=())
        if extend_select or ignore:
            config = replace(config, cli_extend_select=config.cli_extend_select + tuple(extend_select), cli_ignore=config.cli_ignore + tuple(ignore))
        if unsafe_fixes is not None:
            config = replace(config, unsafe_fixes=unsafe_fixes)
        if target_version is not None:
            config = replace(config, target_version=parse_version(target_version, "--target-version"))
        if exclude is not None or extend_exclude:
            import os

            kept = config.exclude if exclude is None else ()
            cli = config.cli_exclude + tuple(exclude or ()) + tuple(extend_exclude)
            config = replace(config, exclude=kept, cli_exclude=cli, cli_root=os.getcwd())
        if respect_gitignore is not None:
            config = replace(config, respect_gitignore=respect_gitignore)
        if force_exclude is not None:
            config = replace(config, force_exclude=force_exclude)
        if show_fixes is not None:
            config = replace(config, show_fixes=show_fixes)
        if unfixable:
            config = replace(config, unfixable=config.unfixable + tuple(unfixable))
        return config

    def is_fixable(self, code: str) -> bool:
        """Whether fixes of rule ``code`` may be offered and applied (``unfixable``)."""
        return not self.unfixable or _best_match(code, self.unfixable) < 0

    def fingerprint(self) -> str:
        """A stable hash of everything that changes findings (for the result cache)."""
        import hashlib  # only the result cache needs it; not imported on every start-up
        import json

        data = {
            "select": self.select,
            "select_given": self.select_given,
            "extend_select": self.extend_select,
            "ignore": self.ignore,
            "cli": [self.cli_extend_select, self.cli_ignore],
            "per_file_ignores": self.per_file_ignores,
            "target": self.target_version,
            "unfixable": self.unfixable,
            "root": self.root,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@lru_cache(maxsize=64)
def _patterns(root: str | None, patterns: tuple[str, ...]):
    from ..gitignore import PatternSet  # only configurations with excludes need the matcher

    return PatternSet(root, patterns)


def _layer(code: str, enabled: bool, extend_select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    """A layer without ``select`` on top of ``enabled``: the more specific of its selectors
    decides (an ignore on a tie); a rule neither names keeps its state."""
    chosen, ignored = _best_match(code, extend_select), _best_match(code, ignore)
    if chosen > ignored:
        return True
    if ignored >= 0:
        return False
    return enabled


def _best_match(code: str, selectors: tuple[str, ...]) -> int:
    """Length of the longest selector that is a prefix of ``code`` (``ALL`` counts 0), or -1."""
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best


def _relative_posix(path: str, root: str | None) -> str:
    p = Path(path)
    if root is not None:
        try:
            return p.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return p.as_posix()


def lint_config_from(project: ProjectConfig) -> LintConfig:
    """The :class:`LintConfig` of a project configuration: ``[tool.pl-convert.lint]`` keys win
    over the same keys written directly under ``[tool.pl-convert]``."""
    top, lint = project.table(""), project.table("lint")
    merged = {**top, **lint}
    kwargs = {
        "source": project.source,
        "root": project.root,
        "warnings": project.warnings,
        "select_given": "select" in merged,
        "exclude": top.get("exclude", ()),
        "extend_exclude": top.get("extend-exclude", ()) + lint.get("exclude", ()),
    }
    for key, field in (
        ("select", "select"), ("extend-select", "extend_select"), ("ignore", "ignore"),
        ("per-file-ignores", "per_file_ignores"), ("unsafe-fixes", "unsafe_fixes"), ("unfixable", "unfixable"),
        ("target-version", "target_version"), ("respect-gitignore", "respect_gitignore"),
        ("force-exclude", "force_exclude"), ("show-fixes", "show_fixes"), ("output-format", "output_format"),
    ):
        if key in merged:
            kwargs[field] = merged[key]
    return LintConfig(**kwargs)


def load_config(path) -> LintConfig:
    """The lint configuration that applies to ``path`` (a file or directory), searched upward;
    ``path`` may also be a ``pyproject.toml``. Raises :class:`ConfigError` for invalid values."""
    return lint_config_from(load_project_config(path))
