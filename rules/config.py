"""Lint configuration: ``[tool.pl-convert]`` in ``pyproject.toml``, plus rule selection.

Example::

    [tool.pl-convert]
    select = ["PTL1", "PTL2", "PTL301"]   # prefixes or codes; "ALL" for everything
    ignore = ["PTL111"]
    per-file-ignores = { "tests/*" = ["PTL103"] }
    unsafe-fixes = false
    target-version = "2.0"                 # the Lightning version the code must run on

The keys may also live in a ``[tool.pl-convert.lint]`` table. The tables ``convert``,
``migrate`` and ``verify`` belong to the other commands; any other key is reported.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

#: Rule groups that run unless deselected (PTL3xx, performance, is opt-in).
DEFAULT_SELECT: tuple[str, ...] = ("PTL1", "PTL2")
#: The newest Lightning release the rules know; the default target.
LATEST_LIGHTNING: tuple[int, int] = (2, 6)

KNOWN_KEYS = {
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "unsafe-fixes",
    "target-version",
    "exclude",
}
#: Sub-tables owned by other pl-convert commands: not the linter's to judge.
OTHER_TABLES = {"convert", "migrate", "verify"}

_SELECTOR = re.compile(r"^(ALL|PTL\d{0,3})$")
#: a cheap test for a ``[tool.pl-convert...]`` table before parsing the TOML
_TOOL_TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*[\"']?pl-convert", re.MULTILINE)


class ConfigError(Exception):
    """A configuration that cannot be used. ``str(error)`` is the user-facing message."""


@dataclass(frozen=True)
class LintConfig:
    """Which rules run, on which Lightning version, and how fixes are applied."""

    select: tuple[str, ...] = DEFAULT_SELECT
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unsafe_fixes: bool = False
    target_version: tuple[int, int] = LATEST_LIGHTNING
    exclude: tuple[str, ...] = ()
    root: str | None = None  #: directory of the pyproject.toml it came from
    source: str | None = None  #: the pyproject.toml it came from
    warnings: tuple[str, ...] = ()  #: unknown keys and the like, for the user

    # -- selection ------------------------------------------------------------------------
    def is_enabled(self, code: str, path: str | None = None) -> bool:
        """Whether rule ``code`` runs (on ``path``): the most specific selector wins."""
        chosen = _best_match(code, self.select + self.extend_select)
        ignored = _best_match(code, self.ignore + self.ignores_for(path))
        return chosen > ignored

    def ignores_for(self, path: str | None) -> tuple[str, ...]:
        """The codes ``per-file-ignores`` switches off for ``path``."""
        if path is None or not self.per_file_ignores:
            return ()
        rel = _relative_posix(path, self.root)
        name = PurePosixPath(rel).name
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(name, pattern):
                codes.extend(ignored)
        return tuple(codes)

    def is_excluded(self, path: str) -> bool:
        """Whether ``exclude`` patterns skip ``path`` during directory discovery."""
        if not self.exclude:
            return False
        rel = _relative_posix(path, self.root)
        parts = PurePosixPath(rel).parts
        for pattern in self.exclude:
            if fnmatch.fnmatch(rel, pattern) or any(fnmatch.fnmatch(p, pattern) for p in parts):
                return True
        return False

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
    ) -> "LintConfig":
        """The command line on top of the file: ``--select`` replaces, the rest extend."""
        config = self
        if select:
            config = replace(config, select=tuple(select))
        if extend_select:
            config = replace(config, extend_select=config.extend_select + tuple(extend_select))
        if ignore:
            config = replace(config, ignore=config.ignore + tuple(ignore))
        if unsafe_fixes is not None:
            config = replace(config, unsafe_fixes=unsafe_fixes)
        if target_version is not None:
            config = replace(config, target_version=parse_version(target_version, "--target-version"))
        return config

    def fingerprint(self) -> str:
        """A stable hash of everything that changes findings (for the result cache)."""
        import hashlib  # only the result cache needs it; not imported on every start-up
        import json

        data = {
            "select": self.select,
            "extend_select": self.extend_select,
            "ignore": self.ignore,
            "per_file_ignores": self.per_file_ignores,
            "target": self.target_version,
            "root": self.root,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


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


def check_selectors(selectors: tuple[str, ...] | list[str], where: str) -> tuple[str, ...]:
    """Validate rule selectors (``PTL``, ``PTL1``, ``PTL101``, ``ALL``); raise ConfigError."""
    cleaned = []
    for selector in selectors:
        s = str(selector).strip().upper()
        if not _SELECTOR.match(s):
            raise ConfigError(
                f"{where}: invalid rule selector {selector!r} (expected a code such as PTL101, "
                "a prefix such as PTL1, or ALL)"
            )
        cleaned.append(s)
    return tuple(cleaned)


def parse_version(value: Any, where: str) -> tuple[int, int]:
    """``"2.0"``, ``"2.1.3"``, ``"lightning>=2.0"`` or ``2.0`` -> ``(major, minor)``."""
    match = re.search(r"(\d+)\.(\d+)", str(value))
    if not match:
        raise ConfigError(f"{where}: cannot read the Lightning version {value!r} (expected e.g. \"2.0\")")
    return int(match.group(1)), int(match.group(2))


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise ConfigError(f"{path}: reading pyproject.toml needs Python 3.11+ or the 'tomli' package") from None
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _tool_table(data: dict[str, Any]) -> dict[str, Any] | None:
    table = data.get("tool", {}).get("pl-convert")
    return table if isinstance(table, dict) else None


def config_from_table(table: dict[str, Any], source: str, root: str) -> LintConfig:
    """Build a :class:`LintConfig` from a ``[tool.pl-convert]`` table (validated)."""
    where = f"{source} [tool.pl-convert]"
    merged: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in table.items():
        if key == "lint" and isinstance(value, dict):
            merged.update(value)
        elif key in OTHER_TABLES:
            continue
        else:
            merged[key] = value
    kwargs: dict[str, Any] = {"source": source, "root": root}
    for key, value in merged.items():
        norm = key.replace("_", "-")
        if norm not in KNOWN_KEYS:
            known = ", ".join(sorted(KNOWN_KEYS))
            warnings.append(f"{where}: unknown key {key!r} (known keys: {known})")
            continue
        if norm in ("select", "extend-select", "ignore", "exclude"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: '{key}' must be a list of strings")
            if norm == "exclude":
                kwargs["exclude"] = tuple(value)
            else:
                kwargs[norm.replace("-", "_")] = check_selectors(value, f"{where} {key}")
        elif norm == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: 'per-file-ignores' must be a table of glob = [codes]")
            pairs = []
            for pattern, codes in value.items():
                if not isinstance(codes, list):
                    raise ConfigError(f"{where}: per-file-ignores[{pattern!r}] must be a list of codes")
                pairs.append((pattern, check_selectors(codes, f"{where} per-file-ignores")))
            kwargs["per_file_ignores"] = tuple(pairs)
        elif norm == "unsafe-fixes":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: 'unsafe-fixes' must be true or false")
            kwargs["unsafe_fixes"] = value
        elif norm == "target-version":
            kwargs["target_version"] = parse_version(value, f"{where} target-version")
    kwargs["warnings"] = tuple(warnings)
    return LintConfig(**kwargs)


def find_pyproject(start: str | os.PathLike) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.pl-convert]`` table, from ``start`` up."""
    p = Path(start).resolve()
    directory = p if p.is_dir() else p.parent
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if _TOOL_TABLE.search(text) and _tool_table(_load_toml(candidate)) is not None:
                return candidate
    return None


def load_config(path: str | os.PathLike) -> LintConfig:
    """The configuration that applies to ``path`` (a file or directory), searched upward.

    ``path`` may also be a ``pyproject.toml`` itself. Without any ``[tool.pl-convert]`` table
    the defaults apply. Raises :class:`ConfigError` for invalid values.
    """
    p = Path(path)
    if p.name == "pyproject.toml" and p.is_file():
        pyproject: Path | None = p
    else:
        pyproject = find_pyproject(p)
    if pyproject is None:
        return LintConfig()
    table = _tool_table(_load_toml(pyproject)) or {}
    return config_from_table(table, str(pyproject), str(pyproject.parent))
