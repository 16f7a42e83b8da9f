"""The lint result cache: findings keyed by file content, path, tool version and configuration.

Entries live in ``.pl_convert_cache/lint/`` under the project root (the directory of the
``pyproject.toml`` that configured the run, else the current directory), which gets a
``.gitignore`` of its own. A cache that cannot be written is silently not used: caching is an
optimisation, never a failure. Only files that some rule looks at are cached (see the runner):
for the others, linting is one CPython parse, cheaper than hashing them.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__
from .config import LintConfig

CACHE_DIR_NAME = ".pl_convert_cache"


@lru_cache(maxsize=1)
def _rules_signature() -> str:
    """Changes whenever a rule module changes (so editing a rule invalidates the cache)."""
    digest = hashlib.sha256(__version__.encode())
    here = os.path.dirname(os.path.abspath(__file__))
    entries = []
    for directory in (here, os.path.join(here, "checks")):
        try:
            with os.scandir(directory) as listing:  # not Path.glob: this runs on every cached lint
                entries += [entry for entry in listing if entry.name.endswith(".py")]
        except OSError:
            continue
    for entry in sorted(entries, key=lambda e: e.path):
        try:
            stat = entry.stat()
        except OSError:
            continue
        digest.update(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cache_root(config: LintConfig, cache_dir: str | None = None) -> Path:
    """``cache_dir/lint`` (``--cache-dir``, ``$PL_CONVERT_LINT_CACHE_DIR``), else
    ``.pl_convert_cache/lint`` in the project root (the configuration's directory, else the
    current one)."""
    explicit = cache_dir or os.environ.get("PL_CONVERT_LINT_CACHE_DIR")
    if explicit:
        return Path(explicit) / "lint"
    base = Path(config.root) if config.root else Path.cwd()
    return base / CACHE_DIR_NAME / "lint"


def cache_key(text: str, path: str, config: LintConfig) -> str:
    digest = hashlib.sha256()
    for part in (_rules_signature(), config.fingerprint(), os.path.abspath(path), text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def load(root: Path, key: str) -> dict[str, Any] | None:
    try:
        with open(root / key[:2] / f"{key}.json", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def store(root: Path, key: str, data: dict[str, Any]) -> None:
    """Write an entry atomically (readers never see half of one), but without the fsync of
    :func:`~pl_convert.sourcefile.atomic_write_bytes`: an entry lost in a crash is only a miss,
    and syncing costs more than linting a file."""
    directory = root / key[:2]
    tmp = directory / f".{key}.{os.getpid()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        ignore = root.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by pl-convert\n*\n", encoding="utf-8")
        tmp.write_bytes(json.dumps(data).encode("utf-8"))
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
