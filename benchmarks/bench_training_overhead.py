"""Epoch time of each converted fixture next to its original, on the same data and device.

For every golden pair (``fixtures/<case>/original.py`` + ``expected.py``) both scripts run
through ``verify``'s runner (subprocess, temporary working directory, MNIST from
``--data-root``, one torch thread, one after the other so they do not compete) with 1 and then
with 3 epochs; the time per epoch is (wall(3) - wall(1)) / 2, which cancels start-up (imports,
Trainer set-up, data loading). Prints both and the overhead per epoch of the Lightning version
(Lightning's own parity tests allow about 0.05-0.3 s per epoch), both in CPU seconds of the
training subprocess (steady on a shared machine) and in wall seconds. The load average is printed
next to every row.

    python benchmarks/bench_training_overhead.py                        # every golden pair
    python benchmarks/bench_training_overhead.py --fixtures feedforward_mnist,cnn_classifier
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


LEAN_TRAINER = "enable_progress_bar=False, enable_model_summary=False, logger=False, enable_checkpointing=False, "


def lean(source: str) -> str:
    """The converted script with Lightning's extras off, as Lightning's own parity benchmarks run
    it: no progress bar, summary, logger or checkpoints, and no per-step ``train_loss`` logging."""
    import re

    source = re.sub(r"\.Trainer\(", ".Trainer(" + LEAN_TRAINER, source)
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith('self.log("train_loss"')) + "\n"


def run_time(path: Path, label: str, epochs: int, data_root: Path, transform=None) -> tuple[float, float] | None:
    """(wall seconds, CPU seconds of the training subprocess) of one run of ``path`` (None: it failed).

    The CPU time (user + sys of the finished child, from ``getrusage``) is what the run cost with
    one torch thread, and barely moves when other work shares the machine; wall time does.
    """
    import resource
    import tempfile

    from pl_convert.verify.session import Script, VerifyOptions, run_one

    options = VerifyOptions(epochs=epochs, data_root=data_root, parallel=False, threads=1)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="pl-convert-overhead-") as workdir:
        source = path.read_text(encoding="utf-8")
        outcome = run_one(Script(label=label, path=path, source=transform(source) if transform else source), options, Path(workdir), [])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not outcome.ok:
        print(f"  {path.parent.name}/{path.name} failed: {outcome.failure()}", file=sys.stderr)
        return None
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return outcome.wall_time_s, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", help="comma-separated case names (default: every golden pair)")
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pl-convert-bench" / "data")
    parser.add_argument("--epochs", type=int, default=3, help="the longer run's epochs (the shorter has 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each length; the best per-epoch figure is kept")
    parser.add_argument("--lean", action="store_true", help="run the converted scripts without progress bar, logger, checkpoints and per-step logging (framework overhead only)")
    args = parser.parse_args()
    from pl_convert.verify.session import prepare_data

    prepare_data(args.data_root)
    cases = sorted(p.parent.name for p in FIXTURES.glob("*/expected.py"))
    if args.fixtures:
        cases = [c for c in cases if c in args.fixtures.split(",")]
    span = args.epochs - 1
    print(f"per-epoch time = (time({args.epochs} epochs) - time(1 epoch)) / {span}, best of {args.repeat}; CPU, 1 torch thread"
          + ("; converted scripts run lean (" + LEAN_TRAINER.rstrip(", ") + ", no per-step train_loss)" if args.lean else "; converted scripts as emitted"))
    print(f"{'fixture':<24} {'orig CPU s/ep':>13} {'conv CPU s/ep':>13} {'overhead CPU':>12} {'orig wall':>9} {'conv wall':>9} {'overhead wall':>13} {'load':>5}")
    for case in cases:
        per_epoch: dict[str, tuple[float, float] | None] = {}
        for label, name in (("original", "original.py"), ("converted", "expected.py")):
            transform = lean if (args.lean and label == "converted") else None
            best = None
            for _ in range(args.repeat):
                short = run_time(FIXTURES / case / name, label, 1, args.data_root, transform)
                long = run_time(FIXTURES / case / name, label, args.epochs, args.data_root, transform)
                if short is None or long is None:
                    best = None
                    break
                value = ((long[0] - short[0]) / span, (long[1] - short[1]) / span)
                best = value if best is None else (min(best[0], value[0]), min(best[1], value[1]))
            per_epoch[label] = best
        original, converted = per_epoch["original"], per_epoch["converted"]
        if original is None or converted is None:
            print(f"{case:<24} {'failed':>13}")
            continue
        print(
            f"{case:<24} {original[1]:13.2f} {converted[1]:13.2f} {converted[1] - original[1]:+12.2f} "
            f"{original[0]:9.2f} {converted[0]:9.2f} {converted[0] - original[0]:+13.2f} {os.getloadavg()[0]:5.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
