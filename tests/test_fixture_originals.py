"""The converter's input fixtures (``fixtures/<case>/original.py``) are real, runnable scripts.

Every case is found by glob at collection time (test id = case name). Each original must
compile, expose its epoch count where ``pl-convert verify`` can set it (a module-level
constant or an argparse ``--epochs`` option), be described in ``fixtures/cases.toml`` and listed in the generated ``fixtures/README.md``, and — the
slow part — train to completion offline on CPU with the 5,000-digit MNIST in ``./data``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pl_convert.verify import fixture_docs

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
ORIGINALS = sorted(FIXTURES_DIR.glob("*/original.py"))
#: keys of a distributed case in cases.toml: its process count and its launcher
LAUNCH_KEYS = ("nproc", "launcher")
CASES = [pytest.param(path, id=path.parent.name) for path in ORIGINALS]
RUN_TIME_LIMIT_S = 300  # a hang guard: a script needs 5-13 CPU-seconds, more on a loaded box

EPOCH_NAME = re.compile(r"epoch", re.IGNORECASE)


def _module_level_epoch_constant(tree: ast.Module) -> bool:
    """True when the module assigns a literal int to a name such as ``EPOCHS``/``num_epochs``."""
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not (isinstance(value, ast.Constant) and type(value.value) is int):
            continue
        if any(isinstance(t, ast.Name) and EPOCH_NAME.search(t.id) for t in targets):
            return True
    return False


def _argparse_epochs_option(tree: ast.Module) -> bool:
    """True when some ``add_argument("--epochs", ...)`` call exists."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and any(isinstance(a, ast.Constant) and a.value == "--epochs" for a in node.args)
        ):
            return True
    return False


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("EPOCHS = 2\n", True),
        ("num_epochs: int = 1\n", True),
        ("p.add_argument('--epochs', type=int, default=1)\n", True),
        ("def main():\n    epochs = 3\n", False),  # not module level
        ("EPOCHS = '2'\n", False),  # not an int
        ("p.add_argument('--n-epochs', type=int)\n", False),
        ("lr = 0.1\n", False),
    ],
)
def test_epoch_count_detection(source: str, found: bool) -> None:
    tree = ast.parse(source)
    assert (_module_level_epoch_constant(tree) or _argparse_epochs_option(tree)) is found


def test_there_are_fixtures() -> None:
    assert len(ORIGINALS) >= 7, f"expected the issue-2 cases in {FIXTURES_DIR}"


@pytest.mark.parametrize("original", CASES)
def test_original_compiles(original: Path) -> None:
    compile(original.read_bytes(), str(original), "exec", dont_inherit=True)


@pytest.mark.parametrize("original", CASES)
def test_original_exposes_epoch_count(original: Path) -> None:
    tree = ast.parse(original.read_bytes(), str(original))
    assert _module_level_epoch_constant(tree) or _argparse_epochs_option(tree), (
        f"{original}: no module-level epoch constant and no argparse --epochs option"
    )


def test_readme_lists_every_case() -> None:
    readme = (FIXTURES_DIR / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\|\s*`([a-z0-9_]+)`\s*\|", readme, flags=re.MULTILINE))
    on_disk = {path.parent.name for path in ORIGINALS}
    assert on_disk - listed == set(), "cases missing from fixtures/README.md"
    assert listed - on_disk == set(), "fixtures/README.md lists cases that do not exist"


def test_every_case_is_described_in_cases_toml() -> None:
    descriptions = fixture_docs.load_descriptions()
    on_disk = {path.parent.name for path in ORIGINALS}
    assert set(descriptions) == on_disk
    for case, fields in descriptions.items():
        text = {k: v for k, v in fields.items() if k not in LAUNCH_KEYS}
        assert set(text) == {"pattern", "after", "watch"} and all(v.strip() for v in text.values()), case
        # a distributed case says how many processes it runs, and torchrun if the launcher starts them
        assert set(fields) - set(text) <= {"nproc", "launcher"}, case
        assert fields.get("launcher", "torchrun") == "torchrun" and ("launcher" not in fields or "nproc" in fields), case
        assert isinstance(fields.get("nproc", 2), int) and fields.get("nproc", 2) >= 2, case


def test_readme_is_generated_from_the_converters_results() -> None:
    """The converter column says what the converter does today (status, mode, Trainer, notes)."""
    readme = (FIXTURES_DIR / "README.md").read_text(encoding="utf-8")
    assert readme == fixture_docs.render(), "fixtures/README.md is stale: python -m pl_convert.verify.fixture_docs --write"
    row = next(line for line in readme.splitlines() if line.startswith("| `ddp_boilerplate`"))
    assert "**not-convertible**" in row  # the converter refuses hand-written distributed training
    row = next(line for line in readme.splitlines() if line.startswith("| `data_parallel`"))
    assert "devices=1" in row and "nn.DataParallel removed" in row and "strategy=" not in row.split(" | ")[3].split("note")[0]


@pytest.mark.slow
@pytest.mark.parametrize("original", CASES)
def test_original_trains(original: Path, mnist_root: Path, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(mnist_root.resolve(), target_is_directory=True)
    # one intra-op thread per script: pytest -n 2 already keeps both cores busy, and
    # oversubscribed torch threads slow a run down several-fold
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    fields = fixture_docs.load_descriptions()[original.parent.name]
    command = [sys.executable, str(original)]
    if fields.get("launcher") == "torchrun":  # the script reads RANK/WORLD_SIZE that torchrun sets
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(fields["nproc"]), str(original)]
    try:
        proc = subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIME_LIMIT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{original.parent.name} ran longer than {RUN_TIME_LIMIT_S} s: {exc.stderr!r}")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip(), "the script printed nothing (it should report its final metric)"
