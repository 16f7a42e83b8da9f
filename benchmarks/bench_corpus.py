"""Convert rate on a tree of real public training code, and the refusal reasons that remain.

Point it at any folder of public PyTorch code (a few cloned repositories, say pytorch/examples,
the plain-PyTorch ``train_torch.py`` side of Lightning's Fabric examples, yunjey's tutorial):

    python benchmarks/bench_corpus.py ~/corpus                 # summary + reasons ranked
    python benchmarks/bench_corpus.py ~/corpus --json out.json # every file's outcome
    python benchmarks/bench_corpus.py ~/corpus --show refused  # list the refused files

For every ``.py`` file it runs the converter (static: nothing is imported or run) and counts the
outcomes: converted (automatic / manual optimization), refused, nothing to do (no training loop,
already Lightning), unparseable. A file "has a training loop" when it calls ``backward()`` and is
not Lightning code. Each converted output is checked to ``compile()`` and to be idempotent
(converting the output again changes nothing). Refusal reasons are grouped by their wording with
names, numbers and quoted code masked, and ranked by count. Nothing is asserted: the figures go
into issue notes and docs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from pl_convert.converter import ConvertOptions, Status, convert_source


def reason_group(message: str) -> str:
    """The wording of a refusal with the script's own names and numbers masked."""
    text = re.sub(r"`[^`]*`", "`…`", message)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\b[A-Za-z_][\w.]*\(\)", "…()", text)
    text = re.sub(r"\b\d+\b", "N", text)
    return text[:160]


def convert_file(path: Path) -> dict:
    try:
        source = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        return {"path": str(path), "status": "unreadable", "reason": str(exc)}
    start = time.perf_counter()
    try:
        result = convert_source(source, ConvertOptions(), str(path))
    except Exception as exc:  # a crash is what this benchmark exists to find
        return {"path": str(path), "status": "crash", "reason": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - start
    record = {
        "path": str(path),
        "status": result.status.value,
        "seconds": round(seconds, 4),
        "training_loop": "backward" in source,
        "reasons": [f"line {r.line}: {r.message}" for r in result.reasons],
    }
    if result.status is Status.CONVERTED:
        record["mode"] = "manual" if "automatic_optimization = False" in (result.output or "") else "automatic"
        try:
            compile(result.output or "", str(path), "exec")
            record["compiles"] = True
        except SyntaxError as exc:
            record["compiles"] = False
            record["compile_error"] = f"line {exc.lineno}: {exc.msg}"
        again = convert_source(result.output or "", ConvertOptions(), str(path))
        record["idempotent"] = (again.output or result.output) == result.output
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every file's outcome here")
    parser.add_argument("--show", choices=["refused", "converted", "crash", "uncompilable"], action="append", default=[])
    parser.add_argument("--top", type=int, default=15, help="how many refusal groups to print")
    args = parser.parse_args(argv)

    files = sorted(p for root in args.roots for p in (root.rglob("*.py") if root.is_dir() else [root]))
    records = [convert_file(p) for p in files]
    counts = Counter(r["status"] for r in records)
    loops = [r for r in records if r.get("training_loop") and r["status"] not in ("already-lightning", "unparseable", "unreadable")]
    converted = [r for r in records if r["status"] == "converted"]
    refused = [r for r in records if r["status"] == "not-convertible"]
    print(f"files: {len(records)}  with a plain training loop (backward, not Lightning): {len(loops)}")
    for status, n in counts.most_common():
        print(f"  {status:20s} {n}")
    if loops:
        modes = Counter(r.get("mode") for r in converted)
        print(f"convert rate over training-loop files: {len(converted)}/{len(loops)} = {len(converted) / len(loops):.0%}"
              f"  (automatic {modes.get('automatic', 0)}, manual {modes.get('manual', 0)})")
    bad_compile = [r for r in converted if not r.get("compiles")]
    not_idem = [r for r in converted if not r.get("idempotent")]
    crashes = [r for r in records if r["status"] == "crash"]
    print(f"crashes: {len(crashes)}  outputs that do not compile: {len(bad_compile)}  non-idempotent: {len(not_idem)}")
    total_seconds = sum(r.get("seconds", 0) for r in records)
    print(f"convert time: {total_seconds:.2f} s for {len(records)} files ({1000 * total_seconds / max(len(records), 1):.1f} ms/file)")
    groups = Counter(reason_group(r["reasons"][0].split(": ", 1)[1]) for r in refused if r["reasons"])
    if groups:
        print("refusal reasons, ranked:")
        for text, n in groups.most_common(args.top):
            print(f"  {n:3d}  {text}")
    wanted = {"refused": refused, "converted": converted, "crash": crashes, "uncompilable": bad_compile}
    for name in args.show:
        print(f"{name}:")
        for r in wanted[name]:
            print(f"  {r['path']}: {'; '.join(r.get('reasons') or [r.get('compile_error') or r.get('reason') or r.get('mode', '')])}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
