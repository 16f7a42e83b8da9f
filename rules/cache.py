"""The lint result cache: findings keyed by file content, path, tool version and configuration.

Entries live in ``.pl_convert_cache/lint/`` under the project root (the directory of the
``pyproject.toml`` that configured the run, else the current directory). A cache that cannot be
written is silently not used: caching is an optimisation, never a failure.
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
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *(here / "checks").glob("*.py")]):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cache_root(config: LintConfig) -> Path:
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
    from ..sourcefile import atomic_write_bytes

    try:
        directory = root / key[:2]
        directory.mkdir(parents=True, exist_ok=True)
        top = root.parent
        ignore = top / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by pl-convert\n*\n", encoding="utf-8")
        atomic_write_bytes(directory / f"{key}.json", json.dumps(data).encode("utf-8"))
    except OSError:
        pass
