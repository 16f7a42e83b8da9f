"""What verify's instrumentation costs: a fixture's original run plainly, then under the runner.

    python benchmarks/bench_verify_overhead.py                       # cnn_classifier, 3 repeats
    python benchmarks/bench_verify_overhead.py --case checkpoint_best --repeat 5

Three ways, each in a fresh interpreter with one torch thread, in a copy of the case's directory
with the 5,000-digit MNIST: ``python original.py``; the runner without a metric map (loss and
step hooks, printed lines, the virtual clock, Lightning hooks); the runner with the conversion's
metric map (adds the span tracer, ``sys.settrace`` on the script's frames). It prints the best
wall and CPU seconds of each (imports included) and the overhead against the plain run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="cnn_classifier")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from pl_convert.converter import convert_source
    from pl_convert.verify.mnist import ensure_mnist

    original = REPO / "fixtures" / args.case / "original.py"
    metrics = [asdict(m) for m in convert_source(original.read_text(encoding="utf-8")).metrics]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ensure_mnist(work / "data")
        script = work / "original.py"
        shutil.copy(original, script)
        (work / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        runner = [sys.executable, "-m", "pl_convert.verify.runner", "--source", str(script), "--path", str(script),
                  "--record", str(work / "record.json"), "--data-root", str(work / "data")]
        ways = {
            "python original.py": [sys.executable, str(script)],
            "runner, no metric map": [*runner, "--"],
            f"runner, metric map ({len(metrics)} metrics)": [*runner, "--metrics", str(work / "metrics.json"), "--"],
        }
        results = {}
        for name, command in ways.items():
            timings = [run(command, work) for _ in range(args.repeat)]
            results[name] = (min(t[0] for t in timings), min(t[1] for t in timings))
    plain_wall, plain_cpu = results["python original.py"]
    print(f"case {args.case}, best of {args.repeat}, one torch thread, load average {os.getloadavg()[0]:.1f}")
    print(f"| way | wall s | CPU s | CPU vs plain |\n| --- | ---: | ---: | ---: |")
    for name, (wall, cpu) in results.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / plain_cpu:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
