"""Start-up cost of ``pl-convert lint one_file.py`` (what a pre-commit hook pays on every commit).

Runs, alternating so that load changes hit all of them alike, N times each:

* ``python -c pass`` (the interpreter alone),
* ``python -c "import libcst"`` (the reference: the issue's target is lint within 1.2x of it),
* ``pl-convert lint one_file.py`` (the console script, no cache) on a small Lightning file,
* the same on a file that mentions no torch/Lightning (the pre-filter skips every rule),
* ``pl-convert one_file.py -o -`` (convert),

and prints the median and quartiles of each, the ratio to ``import libcst``, and what each lint
process imported: heavy modules (torch, Lightning, libcst.codemod/matchers, rich), how many rule
modules, and whether libcst (the plain file should need neither libcst nor any rule).

Before measuring it byte-compiles the pl_convert package (``compileall``): an installed package
has ``.pyc`` files, but an editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (or from a
read-only directory) never gets them and would compile every module from source on every run,
about 0.1 s that no user pays.

    python benchmarks/bench_startup.py            # 30 repetitions
    python benchmarks/bench_startup.py -n 100
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import re
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
#: not libcst.metadata: ``import libcst`` itself imports it (positions come from it)
HEAVY = ("torch", "pytorch_lightning", "lightning", "libcst.codemod", "libcst.matchers", "rich")


def pl_convert_command() -> list[str]:
    """The installed console script of this interpreter (not a pyenv/asdf shim on PATH, which
    adds its own start-up), else ``python -m pl_convert.cli``."""
    exe = Path(sysconfig.get_path("scripts")) / "pl-convert"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pl_convert.cli"]


def compile_package() -> Path:
    """Write the ``.pyc`` files of the pl_convert package, as installing it does (only stale or
    missing ones; the fixtures, tests and benchmarks are not part of an install)."""
    spec = importlib.util.find_spec("pl_convert")
    if spec is None or spec.origin is None:
        raise SystemExit("pl_convert is not installed; run: pip install -e .")
    package_dir = Path(spec.origin).resolve().parent
    skip = re.compile(re.escape(str(package_dir)) + r"[/\\](fixtures|tests|benchmarks|build|\.[^/\\]+)[/\\]")
    compileall.compile_dir(str(package_dir), quiet=1, rx=skip)
    return package_dir


def time_once(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def lint_imports(cwd: Path, file: str) -> set[str]:
    """The modules a ``pl-convert lint --no-cache FILE`` process has imported when it ends."""
    probe = (
        "import sys\nfrom pl_convert.cli import main\n"
        f"try:\n    main(['lint', '--no-cache', {file!r}])\n"
        "finally:\n    print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True)
    return set(proc.stderr.split())


def describe_imports(cwd: Path) -> list[str]:
    """Lines on what the lint processes import: heavy modules, rule modules, libcst."""
    lines = []
    for file in ("lit.py", "plain.py"):
        modules = lint_imports(cwd, file)
        heavy = [name for name in HEAVY if name in modules]
        rules = [m for m in modules if m.startswith("pl_convert.rules.checks.ptl")]
        lines.append(
            f"`pl-convert lint {file}` imports: heavy modules: {', '.join(heavy) or 'none'}; "
            f"rule modules: {len(rules)}; libcst: {'yes' if 'libcst' in modules else 'no'}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repeat", type=int, default=30)
    args = parser.parse_args()
    package_dir = compile_package()
    why = " (PYTHONDONTWRITEBYTECODE is set: imports would not write them)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    print(f"byte-compiled {package_dir} first, as an install does{why}")
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
        for line in describe_imports(cwd):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
