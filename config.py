"""Project configuration: the ``[tool.pl-convert]`` tables of ``pyproject.toml``.

One schema (:data:`TABLES`) names every key of every table, its type, default and meaning; it
validates what a file says (a wrong type is a :class:`ConfigError`, exit 2; an unknown key, in
any table, is a warning naming the known ones) and it writes the README's Configuration section
(``python -m pl_convert.config`` rewrites it, ``--check`` says whether it is current; a test runs
the check). A key is added here, then wired into the command that reads it.

The tables:

* ``[tool.pl-convert]``: which files ``lint`` and ``migrate`` look at (``exclude``,
  ``extend-exclude``, ``respect-gitignore``, ``force-exclude``); the ``lint`` keys may also be
  written here, as a shorthand;
* ``[tool.pl-convert.lint]``, ``[tool.pl-convert.convert]``, ``[tool.pl-convert.migrate]``: one
  per command; ``[tool.pl-convert.verify]`` is reserved for ``verify`` (it has no keys yet).

The nearest ``pyproject.toml`` with a ``[tool.pl-convert]`` table, from the file (or directory)
upward, applies; command-line options override it. This module is imported on every lint run:
it stays cheap (the TOML parser is imported only for a file that has the table).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple


class ConfigError(Exception):
    """A configuration that cannot be used. ``str(error)`` is the user-facing message."""


class Key(NamedTuple):
    """One configuration key: its TOML type, default, meaning and an example value (TOML)."""

    name: str
    kind: str  #: "bool", "string", "choice", "version", "patterns", "selectors", "per-file", "int"
    default: str  #: as the docs show it
    help: str
    example: str  #: a TOML value for the README's example
    choices: tuple[str, ...] = ()


IMPORT_STYLES = ("pytorch_lightning", "lightning")
OUTPUT_FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github", "gitlab")

#: Which files ``lint`` and ``migrate`` look at: ``[tool.pl-convert]`` only.
FILE_KEYS: tuple[Key, ...] = (
    Key("exclude", "patterns", "[]", "Paths to skip (gitignore syntax, relative to this pyproject.toml), in `lint` and `migrate`; `--exclude` replaces it.", '["legacy/", "*_pb2.py"]'),
    Key("extend-exclude", "patterns", "[]", "More paths to skip, added to `exclude` (and to `--exclude`).", '["notebooks/scratch/"]'),
    Key("respect-gitignore", "bool", "true", "Skip what `.gitignore` files (and `.git/info/exclude`) ignore when walking a directory; `--no-respect-gitignore` turns it off.", "true"),
    Key("force-exclude", "bool", "false", "Apply `exclude` even to files named on the command line (as pre-commit does); `--force-exclude`.", "true"),
)

#: ``[tool.pl-convert.lint]`` (or, as a shorthand, ``[tool.pl-convert]``).
LINT_KEYS: tuple[Key, ...] = (
    Key("select", "selectors", '["PTL0", "PTL1", "PTL2", "PTL301"]', "Rules to run: codes (`PTL101`), prefixes (`PTL1`) or `ALL`; `--select` replaces it.", '["PTL1", "PTL2", "PTL3"]'),
    Key("extend-select", "selectors", "[]", "Rules to run in addition to `select`.", '["PTL303"]'),
    Key("ignore", "selectors", "[]", "Rules to skip (codes, prefixes or `ALL`); the most specific selector wins.", '["PTL111"]'),
    Key("per-file-ignores", "per-file", "{}", "Rules to skip in files matching a glob (relative to this pyproject.toml, or a file name).", '{ "tests/*" = ["PTL103"] }'),
    Key("unsafe-fixes", "bool", "false", "Let `--fix` also apply fixes that need review.", "false"),
    Key("unfixable", "selectors", "[]", "Rules whose fixes are never applied (`--unfixable`); their findings are still reported.", '["PTL202"]'),
    Key("target-version", "version", '"2.6"', "The Lightning version the code must run on: rules about later changes stay quiet for older targets.", '"2.0"'),
    Key("exclude", "patterns", "[]", "Paths to skip in `lint` only, added to the global `exclude`.", '["experiments/"]'),
    Key("show-fixes", "bool", "false", "List every fix `--fix` applied (`--show-fixes`).", "true"),
    Key("output-format", "choice", '"full"', "Output format of `lint` (`--format`).", '"concise"', OUTPUT_FORMATS),
)

#: ``[tool.pl-convert.convert]``.
CONVERT_KEYS: tuple[Key, ...] = (
    Key("import-style", "choice", '"pytorch_lightning"', "Converted scripts `import pytorch_lightning as pl` or `import lightning as L` (`--import-style`).", '"lightning"', IMPORT_STYLES),
)

#: ``[tool.pl-convert.migrate]``.
MIGRATE_KEYS: tuple[Key, ...] = (
    Key("import-style", "choice", "the `convert` table's", "How converted files import Lightning (`--import-style`).", '"lightning"', IMPORT_STYLES),
    Key("fix", "bool", "false", "Also apply the linter's safe fixes to Lightning files (`--fix`).", "true"),
    Key("lint", "bool", "true", "Lint Lightning files (`--no-lint` turns it off).", "true"),
    Key("strict", "bool", "false", "Exit 1 when a file is not convertible, unparseable or failed (`--strict`).", "false"),
)

#: table name ("" for ``[tool.pl-convert]`` itself) -> its keys
TABLES: dict[str, tuple[Key, ...]] = {
    "": FILE_KEYS + tuple(k for k in LINT_KEYS if k.name != "exclude"),
    "lint": LINT_KEYS,
    "convert": CONVERT_KEYS,
    "migrate": MIGRATE_KEYS,
    "verify": (),
}

_SELECTOR = re.compile(r"^(ALL|PTL\d{0,3})$")
#: a cheap test for a ``[tool.pl-convert...]`` table before parsing the TOML
_TOOL_TABLE = re.compile(r"^\s*\[\s*tool\s*\.\s*[\"']?pl-convert", re.MULTILINE)


class ProjectConfig(NamedTuple):
    """The validated ``[tool.pl-convert]`` tables of one pyproject.toml (or the defaults)."""

    source: str | None = None  #: the pyproject.toml, None for the defaults
    root: str | None = None  #: its directory: patterns are relative to it
    tables: dict[str, dict[str, Any]] = {}  #: table -> {key: value}, keys as in the schema
    warnings: tuple[str, ...] = ()  #: unknown keys, for the user

    def table(self, name: str) -> dict[str, Any]:
        """The keys set in table ``name`` ("" for ``[tool.pl-convert]``)."""
        return self.tables.get(name, {})

    def get(self, table: str, key: str, default: Any = None) -> Any:
        return self.tables.get(table, {}).get(key, default)


# -- values ----------------------------------------------------------------------------------
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


def _string_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _value(key: Key, value: Any, where: str) -> Any:
    """``value`` checked against ``key``'s type, in the form the commands use."""
    name = key.name
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: '{name}' must be true or false")
        return value
    if key.kind == "patterns":
        return _string_list(value, where, name)
    if key.kind == "selectors":
        return check_selectors(_string_list(value, where, name), f"{where} {name}")
    if key.kind == "per-file":
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{name}' must be a table of glob = [codes]")
        pairs = []
        for pattern, codes in value.items():
            if not isinstance(codes, list):
                raise ConfigError(f"{where}: {name}[{pattern!r}] must be a list of codes")
            pairs.append((pattern, check_selectors(codes, f"{where} {name}")))
        return tuple(pairs)
    if key.kind == "version":
        return parse_version(value, f"{where} {name}")
    if key.kind == "choice":
        if value not in key.choices:
            raise ConfigError(f"{where}: '{name}' must be one of {', '.join(map(repr, key.choices))} (got {value!r})")
        return value
    raise AssertionError(key.kind)  # pragma: no cover - a schema typo


def validate(data: dict[str, Any], source: str, root: str) -> ProjectConfig:
    """Check a ``[tool.pl-convert]`` table (with its sub-tables) against :data:`TABLES`."""
    tables: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for table_name, keys in TABLES.items():
        raw = data if table_name == "" else data.get(table_name, {})
        heading = "[tool.pl-convert" + (f".{table_name}]" if table_name else "]")
        where = f"{source} {heading}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table")
        by_name = {key.name: key for key in keys}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if table_name == "" and name in TABLES and isinstance(value, dict):
                continue  # a sub-table, judged on its own
            key = by_name.get(name.replace("_", "-"))
            if key is None:
                warnings.append(_unknown_key(where, name, table_name))
                continue
            values[key.name] = _value(key, value, where)
        tables[table_name] = values
    return ProjectConfig(source, root, tables, tuple(warnings))


def _unknown_key(where: str, name: str, table_name: str) -> str:
    keys = TABLES[table_name]
    if not keys:
        return f"{where}: unknown key {name!r} (this table has no keys yet)"
    known = ", ".join(sorted({key.name for key in keys}))
    elsewhere = [other for other, other_keys in TABLES.items() if other != table_name and any(k.name == name for k in other_keys)]
    hint = ""
    if elsewhere:
        hint = f"; it belongs in [tool.pl-convert{'.' + elsewhere[0] if elsewhere[0] else ''}]"
    return f"{where}: unknown key {name!r}{hint} (known keys: {known})"


# -- files -----------------------------------------------------------------------------------
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
    tool = data.get("tool", {})
    table = tool.get("pl-convert") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


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


def load_project_config(path: str | os.PathLike) -> ProjectConfig:
    """The configuration that applies to ``path`` (a file or directory), searched upward;
    ``path`` may also be a ``pyproject.toml`` itself. Without any ``[tool.pl-convert]`` table
    the defaults apply. Raises :class:`ConfigError` for invalid values."""
    p = Path(path)
    pyproject = p if (p.name == "pyproject.toml" and p.is_file()) else find_pyproject(p)
    if pyproject is None:
        return ProjectConfig()
    table = _tool_table(_load_toml(pyproject))
    if table is None:
        raise ConfigError(f"{pyproject}: no [tool.pl-convert] table")
    return validate(table, str(pyproject), str(pyproject.parent))


def all_warnings(configs) -> list[str]:
    """The warnings of ``configs``, once per pyproject.toml."""
    seen: set[str | None] = set()
    out: list[str] = []
    for config in configs:
        if config.source not in seen:
            seen.add(config.source)
            out.extend(config.warnings)
    return out


# -- the README's Configuration section ------------------------------------------------------
README_START = "<!-- configuration keys: generated by `python -m pl_convert.config`; a test keeps it current -->"
README_END = "<!-- end of configuration keys -->"


def keys_markdown() -> str:
    """Every key of every table: an example ``pyproject.toml`` and one table per section."""
    lines = ["```toml"]
    for table_name, keys in TABLES.items():
        shown = [k for k in keys if not (table_name == "" and k in LINT_KEYS)]
        if not shown:
            continue
        lines.append("[tool.pl-convert" + (f".{table_name}]" if table_name else "]"))
        lines += [f"{key.name} = {key.example}" for key in shown]
        lines.append("")
    lines[-1] = "```"
    lines.append("")
    for table_name, keys in TABLES.items():
        heading = "[tool.pl-convert" + (f".{table_name}]" if table_name else "]")
        lines.append(f"**`{heading}`**" + (_TABLE_NOTES.get(table_name, "")))
        lines.append("")
        shown = [k for k in keys if not (table_name == "" and k in LINT_KEYS)]
        if not shown:
            continue
        lines += ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
        for key in shown:
            kind = " \\| ".join(f'`"{c}"`' for c in key.choices) if key.choices else _KIND_LABELS[key.kind]
            lines.append(f"| `{key.name}` | {kind} | {_code(key.default)} | {key.help} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_KIND_LABELS = {
    "bool": "bool",
    "patterns": "list of patterns",
    "selectors": "list of rule selectors",
    "per-file": "table of glob = [selectors]",
    "version": "version string",
}
_TABLE_NOTES = {
    "": ": which files `lint` and `migrate` read (the `lint` keys may also be written here).",
    "lint": ": `pl-convert lint` (the `lint` table wins over the same key in `[tool.pl-convert]`).",
    "convert": ": `pl-convert SCRIPT.py`.",
    "migrate": ": `pl-convert migrate`.",
    "verify": ": reserved for `pl-convert verify`, which has no configuration keys yet (any key here is reported).",
}


def _code(default: str) -> str:
    return default if default.startswith("the ") else f"`{default}`"


def readme_with_keys(readme: str) -> str:
    """``readme`` with the text between the markers replaced by :func:`keys_markdown`."""
    start = readme.index(README_START) + len(README_START)
    end = readme.index(README_END)
    return readme[:start] + "\n\n" + keys_markdown() + "\n" + readme[end:]


def main(argv: list[str] | None = None) -> int:
    """Rewrite README.md's key list (``--check``: only say whether it is current)."""
    from .sourcefile import write_generated

    args = sys.argv[1:] if argv is None else argv
    readme = Path(__file__).resolve().parent / "README.md"
    text = readme_with_keys(readme.read_text(encoding="utf-8"))
    return write_generated(readme, text, "--check" in args, "python -m pl_convert.config")

if __name__ == "__main__":
    sys.exit(main())
