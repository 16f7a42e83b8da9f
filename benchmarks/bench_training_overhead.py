"""Epoch time of each converted fixture next to its original, on the same data and device.

For every golden pair (``fixtures/<case>/original.py`` + ``expected.py``) both scripts run
through ``verify``'s runner (subprocess, temporary working directory, MNIST from
``--data-root``, one torch thread, one after the other so they do not compete) with 1 and then
with 3 epochs; the time per epoch is (wall(3) - wall(1)) / 2, which cancels start-up (imports,
Trainer set-up, data loading). Prints both and the overhead per epoch of the Lightning version
(Lightning's own parity tests allow about 0.05-0.3 s per epoch). The load average is printed
next to every row: on a shared machine repeat the run and compare within one run only.

    python benchmarks/bench_training_overhead.py                        # every golden pair
    python benchmarks/bench_training_overhead.py --fixtures feedforward_mnist,cnn_classifier
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def wall_time(path: Path, label: str, epochs: int, data_root: Path) -> float | None:
    """Wall seconds of one run of ``path`` (None when it failed)."""
    import tempfile

    from pl_convert.verify.session import Script, VerifyOptions, run_one

    options = VerifyOptions(epochs=epochs, data_root=data_root, parallel=False, threads=1)
    with tempfile.TemporaryDirectory(prefix="pl-convert-overhead-") as workdir:
        outcome = run_one(Script(label=label, path=path, source=path.read_text(encoding="utf-8")), options, Path(workdir), [])
    if not outcome.ok:
        print(f"  {path.parent.name}/{path.name} failed: {outcome.failure()}", file=sys.stderr)
        return None
    return outcome.wall_time_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", help="comma-separated case names (default: every golden pair)")
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pl-convert-bench" / "data")
    parser.add_argument("--epochs", type=int, default=3, help="the longer run's epochs (the shorter has 1)")
    args = parser.parse_args()
    from pl_convert.verify.session import prepare_data

    prepare_data(args.data_root)
    cases = sorted(p.parent.name for p in FIXTURES.glob("*/expected.py"))
    if args.fixtures:
        cases = [c for c in cases if c in args.fixtures.split(",")]
    span = args.epochs - 1
    print(f"per-epoch wall time = (wall({args.epochs} epochs) - wall(1 epoch)) / {span}; CPU, 1 torch thread")
    print(f"{'fixture':<24} {'original s/epoch':>17} {'converted s/epoch':>18} {'overhead s/epoch':>17} {'load':>5}")
    for case in cases:
        times = {}
        for label, name in (("original", "original.py"), ("converted", "expected.py")):
            short = wall_time(FIXTURES / case / name, label, 1, args.data_root)
            long = wall_time(FIXTURES / case / name, label, args.epochs, args.data_root)
            times[label] = None if short is None or long is None else (long - short) / span
        original, converted = times["original"], times["converted"]
        if original is None or converted is None:
            print(f"{case:<24} {'failed':>17}")
            continue
        print(f"{case:<24} {original:17.2f} {converted:18.2f} {converted - original:+17.2f} {os.getloadavg()[0]:5.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
