"""Start-up cost of ``pl-convert lint one_file.py`` (what a pre-commit hook pays on every commit).

Runs, alternating so that load changes hit all of them alike, N times each:

* ``python -c pass`` (the interpreter alone),
* ``python -c "import libcst"`` (the reference: the issue's target is lint within 1.2x of it),
* ``pl-convert lint one_file.py`` (the console script, no cache) on a small Lightning file,
* the same on a file that mentions no torch/Lightning (the pre-filter skips every rule),
* ``pl-convert one_file.py -o -`` (convert),

and prints the median and quartiles of each, the ratio to ``import libcst``, and the heavy
modules the lint process imported (torch, Lightning, libcst.codemod/matchers, rich).

    python benchmarks/bench_startup.py            # 30 repetitions
    python benchmarks/bench_startup.py -n 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

LIGHTNING_FILE = '''import pytorch_lightning as pl
import torch


class Net(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.cross_entropy(self(x), y)


trainer = pl.Trainer(max_epochs=1, gpus=1)
'''
PLAIN_FILE = "def add(a, b):\n    return a + b\n"
HEAVY = ("torch", "pytorch_lightning", "lightning", "libcst.codemod", "libcst.matchers", "libcst.metadata", "rich")


def pl_convert_command() -> list[str]:
    """The installed console script of this interpreter (not a pyenv/asdf shim on PATH, which
    adds its own start-up), else ``python -m pl_convert.cli``."""
    exe = Path(sysconfig.get_path("scripts")) / "pl-convert"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pl_convert.cli"]


def time_once(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def heavy_imports(cwd: Path) -> list[str]:
    code = (
        "import sys\nfrom pl_convert.cli import main\n"
        "main(['lint', '--no-cache', 'lit.py'])\n"
    )
    probe = code.replace("main(", "try:\n    main(").replace("])\n", "])\nfinally:\n    import sys as s\n    print('\\n'.join(sorted(s.modules)), file=s.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True)
    modules = set(proc.stderr.split())
    return [name for name in HEAVY if name in modules]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pl-convert-startup-") as tmp:
        cwd = Path(tmp)
        (cwd / "lit.py").write_text(LIGHTNING_FILE, encoding="utf-8")
        (cwd / "plain.py").write_text(PLAIN_FILE, encoding="utf-8")
        (cwd / "train.py").write_text(
            (Path(__file__).resolve().parent.parent / "fixtures" / "feedforward_mnist" / "original.py").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        tool = pl_convert_command()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import libcst'": [sys.executable, "-c", "import libcst"],
            "pl-convert lint lit.py (Lightning file)": [*tool, "lint", "--no-cache", "lit.py"],
            "pl-convert lint plain.py (no torch)": [*tool, "lint", "--no-cache", "plain.py"],
            "pl-convert train.py -o - (convert)": [*tool, "train.py", "-o", "-", "-q"],
        }
        for cmd in commands.values():  # warm the file system cache and .pyc files
            time_once(cmd, cwd)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                samples[name].append(time_once(cmd, cwd))
        load_after = os.getloadavg()[0]
        reference = statistics.median(samples["python -c 'import libcst'"])
        print(f"{args.repeat} runs each, interleaved; load average {load_before:.1f} -> {load_after:.1f}; {tool[0]}")
        print(f"{'command':<42} {'median s':>9} {'q1':>7} {'q3':>7} {'vs import libcst':>17}")
        for name, values in samples.items():
            q1, _, q3 = statistics.quantiles(values, n=4)
            median = statistics.median(values)
            print(f"{name:<42} {median:9.3f} {q1:7.3f} {q3:7.3f} {median / reference:16.2f}x")
        print(f"heavy modules imported by `pl-convert lint lit.py`: {', '.join(heavy_imports(cwd)) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
