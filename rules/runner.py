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

#: what ``pl-convert lint DIR`` reads: Python sources, stubs and Jupyter notebooks
LINTED_SUFFIXES = (".py", ".pyi", ".ipynb")


class RunOptions(NamedTuple):
    """How each file is processed. (A NamedTuple, not a frozen dataclass: several times cheaper
    to define, and this module is imported on every lint.)"""

    fix: bool = False
    unsafe_fixes: bool | None = None  #: None: the configuration decides
    diff: bool = False
    use_cache: bool = True
    keep_source: bool = True  #: attach the text to results with findings (for code frames)
    add_noqa: bool = False  #: write ``# noqa: CODES`` on every line with findings
    write: bool = True  #: write fixes back to the file (False for stdin: ``output`` holds them)
    cache_dir: str | None = None  #: ``--cache-dir``


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


class Discovery(NamedTuple):
    """What the command line's paths name: the files to lint, paths that do not exist (as
    error results), and files named explicitly that are not Python (skipped, with a warning)."""

    files: list[str]
    errors: list[FileResult]
    not_python: list[str]


def discover(paths: list[str], resolver: ConfigResolver) -> Discovery:
    """The files under ``paths``, walked with the shared walker (:mod:`pl_convert.walk`: the
    same skips as ``migrate``, ``.gitignore`` unless ``respect-gitignore`` is off, ``exclude``).

    A file named explicitly is linted if it is Python (``.py``, ``.pyi``, a notebook, or a
    script with a ``python`` shebang) unless ``force-exclude`` is on and ``exclude`` matches it
    (or a directory above it), as ruff does for pre-commit's explicit file lists.
    """
    files: list[str] = []
    errors: list[FileResult] = []
    not_python: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in paths:
        if os.path.isdir(given):
            config = resolver.for_path(os.path.join(given, "x.py"))
            if config.force_exclude and config.is_excluded(given, True):
                continue
            from ..walk import walk_tree  # only directories need the walker

            def excluded(path: Path, is_dir: bool) -> bool:
                return resolver.for_path(str(path / "x.py") if is_dir else str(path)).is_excluded(path, is_dir)

            listing = walk_tree(
                Path(given), respect_gitignore=config.respect_gitignore, exclude=excluded, source_suffixes=LINTED_SUFFIXES
            )
            # links to files are linted where they are (a loop or a dangling link: an error)
            links = [rel for rel in listing.symlinks if rel.endswith(LINTED_SUFFIXES) and not os.path.isdir(os.path.join(given, rel))]
            for rel in sorted(listing.source_files + links):
                add(os.path.normpath(os.path.join(given, rel)))
        elif os.path.exists(given):
            config = resolver.for_path(given)
            if config.force_exclude and config.is_excluded(given):
                continue
            if given.endswith(LINTED_SUFFIXES) or _has_python_shebang(given):
                add(given)
            else:
                not_python.append(given)
        else:
            errors.append(FileResult(given, error="no such file or directory"))
    return Discovery(files, errors, not_python)


def _has_python_shebang(path: str) -> bool:
    """An extension-less script that starts ``#!/usr/bin/env python``: Python all the same."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(200)
    except OSError:
        return True  # let lint_file report why it cannot be read
    return first.startswith(b"#!") and b"python" in first


def lint_file(path: str, config: LintConfig, options: RunOptions) -> FileResult:
    """Lint (and fix) one file. Never raises for bad input: errors go into the result."""
    if path.endswith(".ipynb"):
        return _lint_notebook(path, config, options)
    result = FileResult(path)
    try:
        source = read_source(path)
    except SourceError as exc:
        result.error, result.error_line = exc.message, exc.line
        return result
    new_text = lint_text(source.text, path, config, options, result)
    if new_text is not None and options.write:
        try:
            atomic_write_text(path, new_text, encoding=source.encoding)
        except OSError as exc:
            result.error = f"cannot write the fixes: {exc.strerror or exc}"
            result.fixed = 0
    return result


def lint_text(text: str, path: str, config: LintConfig, options: RunOptions, result: FileResult, notebook=None) -> str | None:
    """Lint ``text`` (the content of ``path``) into ``result``: findings, fixes, the diff.
    Returns the new text when fixes (or ``--add-noqa``) changed it and it is to be written,
    else None. ``notebook``: the :class:`~pl_convert.notebook.Notebook` ``text`` is the Python
    of (the diff is then per cell)."""
    from .engine import lint_source

    plain = not options.fix and not options.diff and not options.add_noqa
    key = root = None
    if plain and options.use_cache and candidate_codes(text, config, path):
        # Only files some rule looks at: for the others, linting is one CPython parse, cheaper
        # than a lookup (hashing, and importing hashlib), and they would litter the cache.
        from . import cache

        root = cache.cache_root(config, options.cache_dir)
        key = cache.cache_key(text, path, config)
        hit = cache.load(root, key)
        if hit is not None:
            result.findings = [Finding.from_dict(f) for f in hit["findings"]]
            result.error, result.error_line = hit["error"], hit["error_line"]
            if result.findings and options.keep_source:
                result.source = text
            return None
    new_text = None
    try:
        if plain:
            result.findings = lint_source(text, path, config)
        elif options.add_noqa:
            from .add_noqa import add_noqa

            findings = lint_source(text, path, config)
            changed, added = add_noqa(text, findings)
            result.fixed = added
            result.findings = [] if added else findings
            if changed != text:
                new_text = changed
        else:
            from .fixes import apply_fixes

            outcome = apply_fixes(text, path, config, unsafe=options.unsafe_fixes)
            result.findings = outcome.remaining
            result.fixed = len(outcome.fixed)
            result.fixed_findings = outcome.fixed
            if outcome.source != text:
                if options.diff:
                    result.diff = _diff(text, outcome.source, path, notebook)
                else:
                    new_text = outcome.source
    except SourceError as exc:
        result.findings = []
        result.error, result.error_line = exc.message, exc.line
    if key is not None and root is not None:
        cache.store(root, key, result.to_cache())
    if result.findings and options.keep_source:
        result.source = new_text if new_text is not None else text
    return new_text


def _diff(before: str, after: str, path: str, notebook) -> str:
    name = relative(path)
    if notebook is not None:
        return notebook.diff(after, name, name)
    import difflib

    return "".join(
        difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=name, tofile=name)
    )


def _lint_notebook(path: str, config: LintConfig, options: RunOptions, raw: str | None = None) -> FileResult:
    """Lint a notebook: its code cells' Python, parsed once; findings in cell coordinates;
    fixes written back into the cells (every other byte of the file kept)."""
    from ..notebook import parse_notebook, read_notebook

    result = FileResult(path)
    try:
        notebook = read_notebook(path) if raw is None else parse_notebook(raw, path)
        new_text = lint_text(notebook.python_source, path, config, options, result, notebook)
        if new_text is not None:
            result.output = notebook.rebuild(new_text)
            if options.write:
                atomic_write_text(path, result.output, encoding="utf-8")
            notebook = parse_notebook(result.output, path)  # for the code frames
    except SourceError as exc:
        result.findings = []
        result.error, result.error_line = exc.message, exc.line
        return result
    except OSError as exc:
        result.error = f"cannot write the fixes: {exc.strerror or exc}"
        result.fixed = 0
        return result
    if result.error_line is not None and notebook.cells:
        cell, line = notebook.locate(result.error_line)
        result.error, result.error_line = f"cell {cell}, line {line}: {result.error}", None
    result.findings = [_in_cell(finding, notebook) for finding in result.findings]
    result.fixed_findings = [_in_cell(finding, notebook) for finding in result.fixed_findings]
    if result.findings and options.keep_source:
        result.source = None
        result.cell_lines = notebook.cell_lines()
    return result


def _in_cell(finding: Finding, notebook) -> Finding:
    """``finding`` with cell-relative lines (its fix's edits too)."""
    cell, line = notebook.locate(finding.line)
    shift = finding.line - line
    fix = finding.fix
    if fix is not None:
        fix = fix._replace(edits=tuple(e._replace(line=e.line - shift, end_line=e.end_line - shift) for e in fix.edits))
    return finding._replace(cell=cell, line=line, end_line=finding.end_line - shift, fix=fix)


def lint_stdin(data: bytes, path: str, config: LintConfig, options: RunOptions) -> FileResult:
    """Lint text read from stdin as the file ``path`` (editors: ``--stdin-filename``); fixes
    go into ``result.output``, never to disk."""
    options = options._replace(write=False)
    if path.endswith(".ipynb"):
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            return FileResult(path, error="not a notebook: not UTF-8")
        return _lint_notebook(path, config, options, raw=raw)
    from ..sourcefile import decode_source

    result = FileResult(path)
    try:
        source = decode_source(data, path)
    except SourceError as exc:
        result.error, result.error_line = exc.message, exc.line
        return result
    new_text = lint_text(source.text, path, config, options, result)
    if new_text is not None:
        result.output = new_text
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


__all__ = ["RunOptions", "ConfigResolver", "Discovery", "discover", "lint_file", "run", "default_jobs"]
