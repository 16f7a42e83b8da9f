"""A content-addressed cache of per-file results, so re-runs over large trees are fast.

An entry's key is the SHA-256 of the file's bytes, pl-convert's version (plus a fingerprint of
its installed sources, so a development checkout never serves stale results), the conversion
options and the lint configuration. The path is not part of the key (a file moved or copied
elsewhere is still a hit) unless the lint configuration has per-file settings. Entries are small JSON files written atomically, so concurrent runs
and interrupted runs cannot corrupt the cache; an unreadable entry is simply a miss.

The cache lives in the user's cache directory (like black's), not in the source tree, because
``migrate --out`` promises to leave the source untouched.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .records import FileRecord, FileStatus

#: Bump when the layout of a cache entry changes.
CACHE_FORMAT = 1

#: Parts of the package whose code decides a file's result.
_RESULT_SOURCES = ("converter", "rules", "migrate", "parsing.py", "sourcefile.py", "notebook.py", "config.py", "__init__.py")


def default_cache_dir() -> Path:
    """``$PL_CONVERT_CACHE_DIR``, else ``$XDG_CACHE_HOME/pl-convert``, else ``~/.cache/pl-convert``."""
    explicit = os.environ.get("PL_CONVERT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pl-convert"


def tool_fingerprint() -> str:
    """pl-convert's version plus a digest of its result-deciding sources (names, sizes, mtimes)."""
    from .. import __version__

    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for part in _RESULT_SOURCES:
        path = package / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            digest.update(f"{file.relative_to(package)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return f"{__version__}-{digest.hexdigest()[:16]}"


def canonical(value: Any) -> Any:
    """A JSON-able, order-stable form of settings (dataclasses, enums, sets, paths)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


class ResultCache:
    """Per-file results on disk, under ``directory/migrate/<fingerprint>/``."""

    def __init__(self, directory: Path, settings: Any, path_dependent: bool = False):
        fingerprint = tool_fingerprint()
        self.path_dependent = path_dependent
        self.directory = Path(directory) / "migrate" / fingerprint
        settings_json = json.dumps(canonical(settings), sort_keys=True)
        self._salt = f"{CACHE_FORMAT}\0{fingerprint}\0{settings_json}\0".encode()
        self.hits = 0
        self.misses = 0

    def key(self, data: bytes, path: str = "") -> str:
        """The key of a file with content ``data`` (at ``path``, when results depend on it)."""
        salt = self._salt + (path.encode("utf-8", "surrogateescape") + b"\0" if self.path_dependent else b"")
        return hashlib.sha256(salt + data).hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str, path: str) -> FileRecord | None:
        """The cached record for ``key``, re-labelled with ``path``; None on a miss."""
        try:
            data = json.loads(self._entry(key).read_text(encoding="utf-8"))
            record = FileRecord.from_dict(data, path=path)
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        record.cached = True
        self.hits += 1
        return record

    def put(self, key: str, record: FileRecord) -> None:
        """Store ``record`` (not internal errors: those may be transient). Failures are ignored:
        a cache that cannot be written only makes the next run slower."""
        if record.status is FileStatus.ERROR:
            return
        entry = self._entry(key)
        payload = json.dumps(record.to_dict(include_output=True), ensure_ascii=False)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".entry.", dir=entry.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(tmp, entry)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            pass
