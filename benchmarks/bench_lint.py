"""Lint speed on a large real corpus: the installed torch, torchvision and pytorch_lightning
sources, with pl-convert (1 and 2 processes, no cache) next to TorchFix on the same files.

    python benchmarks/bench_lint.py                 # all of it (creates TorchFix's venv once)
    python benchmarks/bench_lint.py --no-torchfix   # pl-convert only
    python benchmarks/bench_lint.py --packages torchvision,pytorch_lightning   # a quicker corpus

TorchFix pins an older libcst, so it runs from its own virtualenv (``--torchfix-venv``, by
default under the user cache directory), never from this environment. Prints files/s and
lines/s (wall clock) and the CPU seconds of each run (steadier on a busy machine); records
nothing. Figures go into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def corpus_dirs(packages: list[str]) -> list[Path]:
    dirs = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"{name} is not installed; the benchmark lints its sources")
        dirs.append(Path(next(iter(spec.submodule_search_locations))))
    return dirs


def corpus_stats(dirs: list[Path]) -> tuple[int, int]:
    files = lines = 0
    skip = {"__pycache__"}
    for directory in dirs:
        for root, subdirs, names in os.walk(directory):
            subdirs[:] = [d for d in subdirs if d not in skip and not d.startswith(".")]
            for name in names:
                if name.endswith(".py"):
                    files += 1
                    with open(os.path.join(root, name), "rb") as handle:
                        lines += sum(1 for _ in handle)
    return files, lines


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: CPU seconds of the last timed command (all its processes); steadier than wall time on a
#: busy machine
LAST_CPU = [0.0]


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    LAST_CPU[0] = _children_cpu() - cpu
    return time.perf_counter() - start, proc


def run_pl_convert(dirs: list[Path], jobs: int) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pl_convert.cli", "lint", *map(str, dirs), "--no-cache", "--jobs", str(jobs),
           "--select", "ALL", "--format", "json", "--exit-zero"]
    seconds, proc = timed(cmd)
    if proc.returncode not in (0, 2):  # 2: a file of the corpus that does not parse is reported, not fatal
        sys.exit(f"pl-convert failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, len(json.loads(proc.stdout or "[]"))


def run_full_traversal(dirs: list[Path]) -> tuple[float, int, int]:
    """In-process, one job, every rule on every file (the text pre-filter disabled): what a
    file costs when it does mention Lightning."""
    from pl_convert.rules.config import LintConfig
    from pl_convert.rules.engine import lint_source
    from pl_convert.rules.registry import all_rules
    from pl_convert.sourcefile import SourceError, read_source

    for rule in all_rules():
        rule.keywords = rule.markers = ("",)
    config = LintConfig(select=("ALL",))
    paths = [p for d in dirs for p in d.rglob("*.py") if "__pycache__" not in p.parts]
    findings = errors = 0
    start = time.perf_counter()
    for path in paths:
        try:
            findings += len(lint_source(read_source(path).text, str(path), config))
        except SourceError:
            errors += 1
    return time.perf_counter() - start, findings, errors


def ensure_torchfix(venv: Path) -> Path:
    exe = venv / ("Scripts" if os.name == "nt" else "bin") / "torchfix"
    if not exe.exists():
        print(f"creating TorchFix's virtualenv in {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = venv / ("Scripts" if os.name == "nt" else "bin") / "pip"
        subprocess.run([str(pip), "install", "-q", "torchfix"], check=True)
    return exe


def run_torchfix(exe: Path, dirs: list[Path], jobs: int) -> tuple[float, int]:
    seconds, proc = timed([str(exe), "--select", "ALL", "--jobs", str(jobs), *map(str, dirs)])
    findings = sum(1 for line in proc.stdout.splitlines() if ": TOR" in line)
    return seconds, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pl-convert-bench"
    parser.add_argument("--torchfix-venv", type=Path, default=cache / "torchfix-venv")
    parser.add_argument("--no-torchfix", action="store_true")
    parser.add_argument("--jobs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--packages", default="torch,torchvision,pytorch_lightning",
                        help="installed packages whose sources form the corpus")
    args = parser.parse_args()
    dirs = corpus_dirs(args.packages.split(","))
    files, lines = corpus_stats(dirs)
    print(f"corpus: {', '.join(d.name for d in dirs)}: {files} files, {lines:,} lines")
    print(f"{'tool':<42} {'jobs':>4} {'wall s':>8} {'files/s':>9} {'lines/s':>11} {'CPU s':>8} {'findings':>9}", flush=True)

    def row(tool: str, jobs: int | str, seconds: float, findings: int, cpu: float | None = None) -> None:
        cpu = LAST_CPU[0] if cpu is None else cpu
        print(f"{tool:<42} {jobs:>4} {seconds:8.2f} {files / seconds:9.0f} {lines / seconds:11,.0f} {cpu:8.1f} {findings:9}", flush=True)

    job_counts = [int(j) for j in args.jobs.split(",")]
    for jobs in job_counts:
        seconds, findings = run_pl_convert(dirs, jobs)
        row("pl-convert lint (--select ALL, no cache)", jobs, seconds, findings)
    if not args.no_torchfix:
        exe = ensure_torchfix(args.torchfix_venv)
        version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
        for jobs in job_counts:
            seconds, findings = run_torchfix(exe, dirs, jobs)
            row(f"TorchFix {version} (--select ALL)", jobs, seconds, findings)
    cpu_start = time.process_time()
    seconds, findings, errors = run_full_traversal(dirs)
    row("pl-convert, pre-filter off (in-process)", 1, seconds, findings, time.process_time() - cpu_start)
    if errors:
        print(f"({errors} files of the corpus could not be parsed and were reported as errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
