"""Verify every fixture pair and print the figures as a Markdown table (for ``docs/parity.md``).

    python -m pl_convert.verify.parity_table fixtures/ --data-root data
    python -m pl_convert.verify.parity_table fixtures/ --device cuda          # both on the GPU
    python -m pl_convert.verify.parity_table fixtures/ --compare-devices      # original, CPU vs GPU

Exit status 0 when every case came out equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .case_settings import load_case_settings
from .compare import Tolerance
from .scripts import device_pair, read_script
from .session import VerifyOptions, VerifyResult, verify_scripts


def _acc(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table_row(case: str, result: VerifyResult, seconds: float) -> str:
    """One Markdown table row for a case."""
    a, b, c = result.a.record, result.b.record, result.comparison
    verdict = result.to_dict()["verdict"]
    if c is None:
        failure = "; ".join(f"{o.script.label}: {o.failure()}" for o in (result.a, result.b) if not o.ok)
        return f"| {case} | {verdict}: {failure} | | | | | | {seconds:.0f} |"
    max_diff = "n/a" if c.max_abs_diff is None else ("0.0" if c.max_abs_diff == 0 else f"{c.max_abs_diff:.3g}")
    rel = "n/a" if c.max_rel_diff is None else f"{c.max_rel_diff:.2g}"
    return (
        f"| {case} | {verdict} | {c.steps_compared} | {max_diff} | {rel} | "
        f"{'yes' if c.digest_equal else 'no'} | {_acc(a.test_accuracy)} / {_acc(b.test_accuracy)} | {seconds:.0f} |"
    )


HEADER = (
    "| case | verdict | steps | max abs Δloss | max rel Δloss | same params | test acc % (a / b) | s |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--compare-devices", action="store_true")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args(argv)

    cases = sorted(p.parent for p in args.fixtures.glob("*/expected.py") if (p.parent / "original.py").is_file())
    if args.only:
        cases = [c for c in cases if c.name in args.only]
    print(HEADER, flush=True)
    all_equal = True
    for case in cases:
        settings = load_case_settings(case)
        if settings.skip:
            print(f"| {case.name} | skipped: {settings.skip} | | | | | | |", flush=True)
            continue
        if args.compare_devices:
            a, b = device_pair(case / "original.py")
            tolerance = Tolerance.devices()
        else:
            a = read_script(case / "original.py", "original", args.device)
            b = read_script(case / "expected.py", "converted", args.device)
            tolerance = settings.tolerance()
        options = VerifyOptions(epochs=args.epochs, data_root=args.data_root, timeout=settings.timeout, args=list(settings.args))
        start = time.perf_counter()
        result = verify_scripts(a, b, options, tolerance)
        all_equal &= result.equal
        print(table_row(case.name, result, time.perf_counter() - start), flush=True)
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
