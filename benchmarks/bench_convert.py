"""Convert time per script: ``convert_source`` on every fixture original, in one process.

Each script is converted ``--repeat`` times (after one warm-up run, which also pays for the
imports); the median and the minimum per script are printed in milliseconds, then the sum of
the medians over all fixtures, and the time a fresh interpreter takes to import the converter
and convert one script.
CPU time (``time.process_time``) is printed next to wall time: on a shared machine it is the
steadier figure.

    python benchmarks/bench_convert.py            # 20 runs per script
    python benchmarks/bench_convert.py -n 50 --case function_style
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def first_conversion_time(source_path: Path, repeat: int = 5) -> float:
    """Median seconds for a fresh interpreter to import the converter and convert one script
    (what ``pl-convert train.py`` pays besides the CLI: every import, the idioms' discovery)."""
    probe = (
        "import time; t = time.perf_counter(); from pl_convert.converter import convert_source; "
        f"convert_source(open({str(source_path)!r}, encoding='utf-8').read()); print(time.perf_counter() - t)"
    )
    values = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
        values.append(float(out.strip()))
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repeat", type=int, default=20)
    parser.add_argument("--case", action="append", help="only this fixture (repeatable)")
    args = parser.parse_args(argv)
    from pl_convert.converter import ConvertOptions, convert_source

    cases = sorted(p.parent.name for p in FIXTURES.glob("*/original.py"))
    if args.case:
        cases = [c for c in cases if c in args.case]
    options = ConvertOptions()
    print(f"{args.repeat} runs per script; load average {os.getloadavg()[0]:.1f}")
    print(f"{'case':<26} {'status':<16} {'median ms':>9} {'min ms':>8} {'cpu ms':>8}")
    total_wall = total_cpu = 0.0
    for case in cases:
        source = (FIXTURES / case / "original.py").read_text(encoding="utf-8")
        result = convert_source(source, options)  # warm-up
        wall, cpu = [], []
        for _ in range(args.repeat):
            w, c = time.perf_counter(), time.process_time()
            convert_source(source, options)
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
        median, best, cpu_median = statistics.median(wall), min(wall), statistics.median(cpu)
        total_wall += median
        total_cpu += cpu_median
        print(f"{case:<26} {result.status.value:<16} {median * 1000:9.1f} {best * 1000:8.1f} {cpu_median * 1000:8.1f}")
    print(f"{'all ' + str(len(cases)) + ' scripts':<43} {total_wall * 1000:9.1f} {'':>8} {total_cpu * 1000:8.1f}")
    print(f"mean per script: {total_wall / len(cases) * 1000:.1f} ms wall, {total_cpu / len(cases) * 1000:.1f} ms CPU")
    first = first_conversion_time(FIXTURES / "feedforward_mnist" / "original.py")
    print(f"imports + first conversion (feedforward_mnist) in a fresh interpreter: {first * 1000:.0f} ms (median of 5)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
