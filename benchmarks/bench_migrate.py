"""Benchmark ``pl-convert migrate --dry-run`` over a large real tree.

The tree is a copy of installed packages' sources (torchvision and pytorch_lightning by
default: a few hundred real files, many of them mentioning torch and Lightning, so the
converter and the linter both run). It prints files/s with 1 and 2 jobs and no cache, and a
re-run with a warm cache.

    python benchmarks/bench_migrate.py                 # torchvision + pytorch_lightning
    python benchmarks/bench_migrate.py --package torch --jobs 1 2 4
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from pl_convert.migrate import cache as result_cache
from pl_convert.migrate.analyze import AnalysisSettings
from pl_convert.migrate.pipeline import MigrateOptions, Mode, execute, prepare


def copy_package_sources(packages: list[str], dest: Path) -> Path:
    """Copy the ``.py`` files of installed ``packages`` to ``dest`` (so nothing reads site-packages)."""
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"package {name!r} is not installed")
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "*.dll"))
    return dest


def lint_config(root: Path):
    try:
        from pl_convert.rules.config import load_config
    except ImportError:
        return None
    return load_config(root)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(root: Path, jobs: int, cache_dir: Path | None) -> tuple[int, float, float, dict]:
    """One dry run; returns (files, wall seconds, CPU seconds, totals)."""
    options = MigrateOptions(
        source=root,
        mode=Mode.DRY_RUN,
        jobs=jobs,
        settings=AnalysisSettings(lint_config=lint_config(root)),
        cache_dir=cache_dir,
    )
    start, cpu_start = time.perf_counter(), cpu_seconds()
    listing = prepare(options)
    run = execute(options, listing)
    elapsed = time.perf_counter() - start
    return run.totals.files, elapsed, cpu_seconds() - cpu_start, run.totals.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", action="append", help="package to copy (repeatable)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    packages = args.package or ["torchvision", "pytorch_lightning"]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"machine: {platform.machine()}, {cpus} cores, Python {platform.python_version()}, load average {load}")
    with tempfile.TemporaryDirectory(prefix="bench_migrate_") as tmp:
        root = copy_package_sources(packages, Path(tmp) / "tree")
        print(f"tree: {' + '.join(packages)} sources copied to {root}")
        totals = {}
        for jobs in args.jobs:
            files, seconds, cpu, totals = run_once(root, jobs, cache_dir=None)
            print(
                f"jobs={jobs}  no cache    {files} files in {seconds:6.2f}s  {files / seconds:7.1f} files/s"
                f"  ({1000 * cpu / files:.0f} ms CPU per file)"
            )
        cache_dir = Path(tmp) / "cache"
        # The cache keys on a fingerprint of pl-convert's own sources (so a development checkout
        # never serves stale results); freeze it here, as it is in an installed release, so that
        # edits to the checkout during the benchmark do not turn the warm run into a cold one.
        frozen = result_cache.tool_fingerprint()
        result_cache.tool_fingerprint = lambda: frozen
        run_once(root, max(args.jobs), cache_dir)  # fill the cache
        files, seconds, cpu, warm = run_once(root, max(args.jobs), cache_dir)
        print(
            f"jobs={max(args.jobs)}  warm cache  {files} files in {seconds:6.2f}s  {files / seconds:7.1f} files/s"
            f"  ({warm['cache_hits']} cache hits)"
        )
        counts = ", ".join(f"{k}={v}" for k, v in totals.items() if k not in ("copied", "symlinks", "cache_hits"))
        print(f"classification: {counts}")


if __name__ == "__main__":
    main()
