"""Running the per-file analysis over many files: in-process or on a process pool, with the cache.

Work is sent to the pool in chunks of paths; each worker reads its files, consults the cache,
analyses misses and stores them. A worker process that dies (a crash in a C extension, the
out-of-memory killer) breaks the pool: the files that were in flight are then retried one per
fresh process, so that only the file that really kills its worker is recorded as an error.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..sourcefile import MAX_SOURCE_BYTES
from .analyze import AnalysisSettings, analyze_file
from .cache import ResultCache
from .records import FileRecord, FileStatus, LineMessage

#: ``advance(count)``: called in the main process as files finish.
ProgressCallback = Callable[[int], None]

MAX_CHUNK = 16


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def read_file_bytes(path: Path) -> bytes | LineMessage:
    """The bytes of ``path``, or why they cannot be read (too large, permissions, vanished)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return LineMessage(0, "not a regular file")
        if st.st_size > MAX_SOURCE_BYTES:
            return LineMessage(
                0, f"file is too large ({st.st_size / 1e6:.1f} MB; the limit is {MAX_SOURCE_BYTES / 1e6:.0f} MB)"
            )
        return path.read_bytes()
    except OSError as exc:
        return LineMessage(0, f"cannot read: {exc.strerror or exc}")


def process_file(root: Path, rel_path: str, settings: AnalysisSettings, cache: ResultCache | None) -> FileRecord:
    """Read, look up, analyse and cache one file. Never raises (except KeyboardInterrupt)."""
    try:
        data = read_file_bytes(root / rel_path)
        if isinstance(data, LineMessage):
            return FileRecord(rel_path, FileStatus.UNPARSEABLE, error=data)
        key = cache.key(data, rel_path) if cache is not None else None
        if cache is not None and key is not None:
            cached = cache.get(key, rel_path)
            if cached is not None:
                return cached
        record = analyze_file(rel_path, data, settings, lint_path=str(root / rel_path))
        if cache is not None and key is not None:
            cache.put(key, record)
        return record
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the run
        return FileRecord(rel_path, FileStatus.ERROR, error=LineMessage(0, f"internal error: {type(exc).__name__}: {exc}"))


def process_chunk(
    root: Path, rel_paths: Sequence[str], settings: AnalysisSettings, cache: ResultCache | None
) -> list[FileRecord]:
    """:func:`process_file` over a chunk (the unit of work sent to a pool worker)."""
    return [process_file(root, rel, settings, cache) for rel in rel_paths]


def _warm_up() -> None:
    """Import the converter and libcst once per worker, before the first chunk arrives."""
    try:
        import libcst  # noqa: F401

        from .. import converter  # noqa: F401
    except Exception:  # noqa: BLE001 - a worker that cannot import fails per file, with a record
        pass


def chunk_size(count: int, jobs: int) -> int:
    """About eight chunks per worker (for balance), at most :data:`MAX_CHUNK` files each."""
    return max(1, min(MAX_CHUNK, math.ceil(count / (jobs * 8))))


def analyze_files(
    root: Path,
    rel_paths: Sequence[str],
    settings: AnalysisSettings,
    *,
    jobs: int = 1,
    cache: ResultCache | None = None,
    advance: ProgressCallback | None = None,
) -> list[FileRecord]:
    """Analyse ``rel_paths`` under ``root``; records come back in the order of ``rel_paths``."""
    advance = advance or (lambda count: None)
    if jobs <= 1 or len(rel_paths) <= 1:
        records = []
        for rel in rel_paths:
            records.append(process_file(root, rel, settings, cache))
            advance(1)
        return records
    size = chunk_size(len(rel_paths), jobs)
    chunks = [list(rel_paths[i : i + size]) for i in range(0, len(rel_paths), size)]
    by_path: dict[str, FileRecord] = {}
    in_flight = _run_pool(root, chunks, settings, cache, jobs, advance, by_path)
    for rel in in_flight:  # the pool broke: isolate the culprit(s), one file per process
        leftover = _run_pool(root, [[rel]], settings, cache, 1, advance, by_path)
        for lost in leftover:
            message = "internal error: the worker process died while converting this file"
            by_path[lost] = FileRecord(lost, FileStatus.ERROR, error=LineMessage(0, message))
            advance(1)
    return [by_path[rel] for rel in rel_paths]


def _run_pool(
    root: Path,
    chunks: list[list[str]],
    settings: AnalysisSettings,
    cache: ResultCache | None,
    jobs: int,
    advance: ProgressCallback,
    by_path: dict[str, FileRecord],
) -> list[str]:
    """Run ``chunks`` on a pool; fill ``by_path``; return the paths lost to a broken pool."""
    lost: list[str] = []
    executor = ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), initializer=_warm_up)
    try:
        futures: dict[Future, list[str]] = {
            executor.submit(process_chunk, root, chunk, settings, cache): chunk for chunk in chunks
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = futures[future]
                try:
                    records = future.result()
                except BrokenProcessPool:
                    lost.extend(chunk)
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. a record that cannot be pickled
                    message = f"internal error: {type(exc).__name__}: {exc}"
                    records = [FileRecord(rel, FileStatus.ERROR, error=LineMessage(0, message)) for rel in chunk]
                for record in records:
                    by_path[record.path] = record
                advance(len(records))
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return lost
