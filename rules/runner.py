"""Running the linter over files: discovery, per-directory configuration, the cache, fixes,
and process parallelism (``--jobs``). Pure of output: it returns :class:`FileResult` objects."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from ..sourcefile import SourceError, atomic_write_text, read_source
from .catalog import candidate_codes
from .config import LintConfig, load_config
from .findings import FileResult, Finding

#: directories never searched when a directory is given
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "build", "dist",
     "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".pl_convert_cache", ".eggs"}
)


class RunOptions(NamedTuple):
    """How each file is processed. (A NamedTuple, not a frozen dataclass: several times cheaper
    to define, and this module is imported on every lint.)"""

    fix: bool = False
    unsafe_fixes: bool | None = None  #: None: the configuration decides
    diff: bool = False
    use_cache: bool = True
    keep_source: bool = True  #: attach the text to results with findings (for code frames)


class ConfigResolver:
    """The configuration for each file: the nearest ``[tool.pl-convert]`` from the file's
    directory upward (cached per directory), with command-line overrides on top."""

    def __init__(self, override: Callable[[LintConfig], LintConfig], fixed: LintConfig | None = None) -> None:
        self._override = override
        self._fixed = fixed
        self._by_dir: dict[str, LintConfig] = {}

    def for_path(self, path: str) -> LintConfig:
        if self._fixed is not None:
            return self._fixed
        directory = os.path.dirname(os.path.abspath(path))
        config = self._by_dir.get(directory)
        if config is None:
            config = self._override(load_config(directory))
            self._by_dir[directory] = config
        return config

    def loaded(self) -> list[LintConfig]:
        seen: dict[str | None, LintConfig] = {}
        for config in [*self._by_dir.values(), *([self._fixed] if self._fixed else [])]:
            seen.setdefault(config.source, config)
        return list(seen.values())


def discover(paths: list[str], resolver: ConfigResolver) -> tuple[list[str], list[FileResult]]:
    """Python files under ``paths`` (files given explicitly are always taken), and an error
    result for each path that does not exist."""
    files: list[str] = []
    errors: list[FileResult] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in paths:
        if os.path.isdir(given):
            for root, dirs, names in os.walk(given):
                config = resolver.for_path(os.path.join(root, "x.py"))
                dirs[:] = sorted(
                    d for d in dirs
                    if d not in SKIP_DIRS and not d.startswith(".") and not d.endswith(".egg-info")
                    and not config.is_excluded(os.path.join(root, d))
                )
                for name in sorted(names):
                    if name.endswith((".py", ".pyi")):
                        full = os.path.join(root, name)
                        if not config.is_excluded(full):
                            add(os.path.normpath(full))
        elif os.path.exists(given):
            add(given)
        else:
            errors.append(FileResult(given, error="no such file or directory"))
    return files, errors


def lint_file(path: str, config: LintConfig, options: RunOptions) -> FileResult:
    """Lint (and fix) one file. Never raises for bad input: errors go into the result."""
    from .engine import lint_source

    result = FileResult(path)
    try:
        source = read_source(path)
    except SourceError as exc:
        result.error, result.error_line = exc.message, exc.line
        return result
    text = source.text
    plain = not options.fix and not options.diff
    key = root = None
    if plain and options.use_cache and candidate_codes(text, config, path):
        # Only files some rule looks at: for the others, linting is one CPython parse, cheaper
        # than a lookup (hashing, and importing hashlib), and they would litter the cache.
        from . import cache

        root = cache.cache_root(config)
        key = cache.cache_key(text, path, config)
        hit = cache.load(root, key)
        if hit is not None:
            result.findings = [Finding.from_dict(f) for f in hit["findings"]]
            result.error, result.error_line = hit["error"], hit["error_line"]
            if result.findings and options.keep_source:
                result.source = text
            return result
    try:
        if plain:
            result.findings = lint_source(text, path, config)
        else:
            from .fixes import apply_fixes

            outcome = apply_fixes(text, path, config, unsafe=options.unsafe_fixes)
            result.findings = outcome.remaining
            result.fixed = len(outcome.fixed)
            if outcome.source != text:
                if options.diff:
                    import difflib

                    result.diff = "".join(
                        difflib.unified_diff(
                            text.splitlines(keepends=True), outcome.source.splitlines(keepends=True),
                            fromfile=relative(path), tofile=relative(path),
                        )
                    )
                else:
                    try:
                        atomic_write_text(path, outcome.source, encoding=source.encoding)
                    except OSError as exc:
                        result.error = f"cannot write the fixes: {exc.strerror or exc}"
                        result.fixed = 0
                    text = outcome.source
    except SourceError as exc:
        result.findings = []
        result.error, result.error_line = exc.message, exc.line
    if key is not None and root is not None:
        cache.store(root, key, result.to_cache())
    if result.findings and options.keep_source:
        result.source = text
    return result


def _lint_job(job: tuple[str, LintConfig, RunOptions]) -> FileResult:
    return lint_file(*job)


def run(files: list[str], resolver: ConfigResolver, options: RunOptions, jobs: int = 1) -> Iterator[FileResult]:
    """Lint ``files``, yielding results as they complete (in input order with one job)."""
    work = [(path, resolver.for_path(path), options) for path in files]
    if jobs <= 1 or len(work) < 2:
        for job in work:
            yield _lint_job(job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    chunk = max(1, min(32, len(work) // (jobs * 8) or 1))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield from pool.map(_lint_job, work, chunksize=chunk)


def default_jobs(file_count: int) -> int:
    """One process for small runs (start-up dominates); all CPUs for large ones."""
    if file_count < 64:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, cpus)


def relative(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


__all__ = ["RunOptions", "ConfigResolver", "discover", "lint_file", "run", "default_jobs", "Path"]
