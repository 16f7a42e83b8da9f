"""pl-convert next to TorchFix and Fixit on the same files, in one run.

The corpus is the installed ``torch``, ``torchvision`` and ``pytorch_lightning`` sources (every
development machine has them); ``--packages`` picks a subset for a quicker run. Prints, side by
side: files/s and lines/s (wall clock), CPU seconds, findings, and each run's throughput
relative to TorchFix (the issue's target: pl-convert lint with 2 jobs >= 5x TorchFix with 2
jobs); then ``migrate --dry-run`` files/s with 1 and 2 jobs over a copy of the corpus, with
its count of ``error`` records (pl-convert crashing on a file: must be 0).

    python benchmarks/bench_compare.py                                   # everything
    python benchmarks/bench_compare.py --packages torchvision,pytorch_lightning
    python benchmarks/bench_compare.py --no-fixit --no-migrate

TorchFix pins libcst<1.6 and Fixit brings its own dependencies: each runs from its own
virtualenv (created on first use under ``--venv-dir``), never from this environment. The
machine's load average is printed next to every row: figures taken on a busy machine are only
comparable within the same run. Nothing is asserted; figures go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    tool: str
    jobs: str
    wall: float
    cpu: float
    findings: int | str
    load: float


def corpus_dirs(packages: list[str]) -> list[Path]:
    dirs = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"{name} is not installed; the benchmark reads its sources")
        dirs.append(Path(next(iter(spec.submodule_search_locations))))
    return dirs


def python_files(dirs: list[Path]) -> list[Path]:
    return [p for d in dirs for p in sorted(d.rglob("*.py")) if "__pycache__" not in p.parts]


def count_lines(files: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds (all the command's processes) and the finished process."""
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    return time.perf_counter() - start, children_cpu() - cpu, proc


def load() -> float:
    return os.getloadavg()[0]


def ensure_venv(venv: Path, package: str, exe_name: str) -> Path:
    """The ``exe_name`` console script of ``package``, installed in its own virtualenv."""
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    exe = bindir / exe_name
    if not exe.exists():
        print(f"creating a virtualenv for {package} in {venv} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(bindir / "pip"), "install", "-q", package], check=True)
    return exe


def tool_version(exe: Path) -> str:
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
    return out.split()[-1] if out else "?"


def run_pl_convert_lint(dirs: list[Path], jobs: int) -> Row:
    cmd = [sys.executable, "-m", "pl_convert.cli", "lint", *map(str, dirs), "--no-cache", "--jobs", str(jobs),
           "--format", "json", "--exit-zero"]
    before = load()
    wall, cpu, proc = timed(cmd)
    if proc.returncode not in (0, 2):  # 2: files of the corpus that do not parse are reported
        sys.exit(f"pl-convert lint failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    findings = [f for f in json.loads(proc.stdout or "[]") if f["code"] != "PTL000"]
    return Row("pl-convert lint (default rules, --no-cache)", str(jobs), wall, cpu, len(findings), before)


def run_torchfix(exe: Path, dirs: list[Path], jobs: int) -> Row:
    before = load()
    wall, cpu, proc = timed([str(exe), "--jobs", str(jobs), *map(str, dirs)])
    findings = sum(1 for line in proc.stdout.splitlines() if ": TOR" in line)
    return Row(f"TorchFix {tool_version(exe)} (default rules)", str(jobs), wall, cpu, findings, before)


def run_fixit(exe: Path, dirs: list[Path]) -> Row:
    # Fixit has no --jobs: it runs a process pool over all cores itself.
    before = load()
    wall, cpu, proc = timed([str(exe), "lint", *map(str, dirs)], cwd=Path(tempfile.gettempdir()))
    findings = len(re.findall(r"^\S+@\d+:\d+ ", proc.stdout, re.MULTILINE))  # path@line:col Rule: message
    return Row(f"Fixit {tool_version(exe)} (default rules)", f"{os.cpu_count()}*", wall, cpu, findings, before)


def run_migrate(tree: Path, jobs: int) -> tuple[Row, int, int]:
    """``migrate --dry-run`` over ``tree``; returns the row, the file count and error records."""
    before = load()
    wall, cpu, proc = timed([sys.executable, "-m", "pl_convert.cli", "migrate", str(tree), "--dry-run", "--no-cache",
                             "--jobs", str(jobs), "-q", "--json", "-"])
    if proc.returncode != 0:
        sys.exit(f"migrate failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    records = json.loads(proc.stdout)["files"]
    errors = [r for r in records if r["status"] == "error"]
    for record in errors[:20]:
        print(f"  error record: {record['path']}: {record['error']['message']}", file=sys.stderr)
    return Row("pl-convert migrate --dry-run (--no-cache)", str(jobs), wall, cpu, f"{len(errors)} errors", before), len(records), len(errors)


def print_table(rows: list[Row], files: int, lines: int, reference: Row | None) -> None:
    print(f"{'tool':<46} {'jobs':>4} {'wall s':>8} {'files/s':>8} {'lines/s':>9} {'CPU s':>7} {'findings':>10} {'vs TorchFix':>11} {'load':>5}")
    for row in rows:
        ratio = f"{reference.wall / row.wall:.1f}x" if reference else "-"
        print(f"{row.tool:<46} {row.jobs:>4} {row.wall:8.1f} {files / row.wall:8.1f} {lines / row.wall:9,.0f} "
              f"{row.cpu:7.1f} {row.findings!s:>10} {ratio:>11} {row.load:5.1f}", flush=True)


def run_all(args: argparse.Namespace, tree: Path, dirs: list[Path]) -> None:
    files = python_files(dirs)
    lines = count_lines(files)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    print(f"corpus: {', '.join(d.name for d in dirs)}: {len(files)} files, {lines:,} lines; load average at start {load():.1f}")
    print()

    rows = [run_pl_convert_lint(dirs, jobs) for jobs in (1, 2)]
    torchfix = None
    if not args.no_torchfix:
        exe = ensure_venv(args.venv_dir / "torchfix-venv", "torchfix", "torchfix")
        torchfix = run_torchfix(exe, dirs, 2)
        rows.append(torchfix)
    if not args.no_fixit:
        rows.append(run_fixit(ensure_venv(args.venv_dir / "fixit-venv", "fixit", "fixit"), dirs))
    print_table(rows, len(files), lines, torchfix)
    if torchfix:
        ratio = torchfix.wall / rows[1].wall
        cpu_ratio = torchfix.cpu / rows[1].cpu
        print(f"\npl-convert lint --jobs 2 vs TorchFix --jobs 2: {ratio:.1f}x the throughput, {cpu_ratio:.1f}x less CPU (target >= 5x)")
    if not args.no_migrate:
        print()
        migrate_rows = []
        for jobs in (1, 2):
            row, count, _ = run_migrate(tree, jobs)
            migrate_rows.append(row)
        print_table(migrate_rows, count, lines, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pl-convert-bench"
    parser.add_argument("--packages", default="torch,torchvision,pytorch_lightning")
    parser.add_argument("--venv-dir", type=Path, default=cache, help="where TorchFix's and Fixit's virtualenvs live")
    parser.add_argument("--no-torchfix", action="store_true")
    parser.add_argument("--no-fixit", action="store_true")
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args()

    sources = corpus_dirs(args.packages.split(","))
    with tempfile.TemporaryDirectory(prefix="pl-convert-bench-") as tmp:
        # A copy: Fixit skips files under site-packages, and migrate takes one root.
        tree = Path(tmp) / "corpus"
        for directory in sources:
            shutil.copytree(directory, tree / directory.name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "*.dll"))
        dirs = [tree / directory.name for directory in sources]
        run_all(args, tree, dirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
