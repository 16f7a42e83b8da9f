"""Several processes: how a distributed script is launched, and what each rank trained.

``pl-convert verify --nproc N`` runs a script that starts its own processes (``mp.spawn``), or
one that expects a launcher (``torchrun``: it reads ``LOCAL_RANK``/``WORLD_SIZE``), and its
conversion (Lightning's DDP launcher starts the other ranks by running the script again). The
runner cannot be the parent of those processes' code, so every Python process started below the
run records itself: ``sitecustomize`` (a directory put first on ``PYTHONPATH``) calls
:func:`start_rank_recording` when :data:`RANK_DIR_ENV` is set. A process that joins a process
group (``torch.distributed.init_process_group``) learns its rank there, and at exit writes
``<dir>/<label>.rank<R>.json`` (a :class:`~.record.RunRecord`): its loss trace and the digest of
the parameters it trained (an FSDP model's full parameters, gathered when the group is torn
down: :mod:`.fsdp_params`). Processes that never join a group (the launcher, the spawning parent,
DataLoader workers) write nothing.
"""

from __future__ import annotations

import ast
import atexit
import os
import re
from pathlib import Path

from .record import RunRecord

#: where the per-rank records go (set by the parent for the runner and everything below it)
RANK_DIR_ENV = "PL_CONVERT_VERIFY_RANK_DIR"
#: the run's label ("original", "converted"): the records' file name prefix
RANK_LABEL_ENV = "PL_CONVERT_VERIFY_RANK_LABEL"
#: the seed and thread count every rank starts with (the runner's own ``--seed``/``--threads``)
RANK_SEED_ENV = "PL_CONVERT_VERIFY_RANK_SEED"
RANK_THREADS_ENV = "PL_CONVERT_VERIFY_RANK_THREADS"
#: JSON of ``pl.Trainer`` arguments that replace the script's (``--devices 2``: strategy, devices)
TRAINER_OVERRIDES_ENV = "PL_CONVERT_VERIFY_TRAINER_OVERRIDES"
#: the directory holding our ``sitecustomize.py``
SITE_DIR = Path(__file__).resolve().parent / "rank_site"

LAUNCHERS = ("auto", "self", "torchrun")
_ENV_NAMES = {"LOCAL_RANK", "RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE"}


def detect_launcher(source: str) -> str:
    """``"torchrun"`` when the script reads a launcher's environment (``LOCAL_RANK``, ``RANK``,
    ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE`` from ``os.environ``/``os.getenv``) and starts no
    processes itself (``mp.spawn``); otherwise ``"self"``: run it plainly, it launches itself."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "self"
    spawns = reads_env = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("spawn", "start_processes"):
                spawns = True
            if name in ("get", "getenv") and node.args and _constant(node.args[0]) in _ENV_NAMES:
                reads_env = True
        elif isinstance(node, ast.Subscript) and _constant(node.slice) in _ENV_NAMES:
            reads_env = True
    return "torchrun" if reads_env and not spawns else "self"


def _constant(node) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def rank_env(directory: Path, label: str, seed: int, threads: int) -> dict[str, str]:
    """Environment that makes every Python process of a run record its rank (see module doc)."""
    return {
        RANK_DIR_ENV: str(directory),
        RANK_LABEL_ENV: label,
        RANK_SEED_ENV: str(seed),
        RANK_THREADS_ENV: str(threads),
        "OMP_NUM_THREADS": str(threads or 1),
    }


def rank_record_path(directory: Path, label: str, rank: int) -> Path:
    return Path(directory) / f"{label}.rank{rank}.json"


def read_rank_records(directory: Path, label: str) -> dict[int, RunRecord]:
    """Every rank's record of the run ``label``, by rank."""
    records = {}
    for path in Path(directory).glob(f"{label}.rank*.json"):
        match = re.fullmatch(rf"{re.escape(label)}\.rank(\d+)\.json", path.name)
        if match:
            try:
                records[int(match.group(1))] = RunRecord.read(path)
            except (OSError, ValueError):
                continue
    return dict(sorted(records.items()))


class RankWriter:
    """Learns the process's rank when it joins a process group; writes its record at exit."""

    def __init__(self, recorder, directory: str, label: str) -> None:
        self.recorder = recorder
        self.directory = directory
        self.label = label
        self.rank: int | None = None
        self.world_size: int | None = None

    def install(self) -> None:
        import torch.distributed as dist

        writer = self
        init = dist.init_process_group

        def init_process_group(*args, **kwargs):
            result = init(*args, **kwargs)
            writer.rank, writer.world_size = dist.get_rank(), dist.get_world_size()
            return result

        init_process_group.__doc__ = init.__doc__
        dist.init_process_group = init_process_group
        destroy = dist.destroy_process_group

        def destroy_process_group(*args, **kwargs):
            if not args and not kwargs.get("group"):
                writer.digest_sharded_parameters()
            return destroy(*args, **kwargs)

        destroy_process_group.__doc__ = destroy.__doc__
        dist.destroy_process_group = destroy_process_group
        # ``from torch.distributed import init_process_group`` after this gets the hooked one;
        # Lightning calls it as ``torch.distributed.init_process_group`` too.
        atexit.register(self.write)

    def digest_sharded_parameters(self) -> None:
        """An FSDP run's full parameters, hashed while the process group still exists
        (:mod:`.fsdp_params`); the record then keeps that digest."""
        if self.rank is None or self.recorder.record.final_params_sha256 is not None:
            return
        try:
            self.recorder._digest_parameters()
        except Exception as exc:  # keep the losses; say why the digest is missing
            self.recorder.record.error = f"gathering the FSDP parameters failed: {type(exc).__name__}: {exc}"

    def write(self) -> None:
        if self.rank is None:
            return
        trained = self.recorder.record
        try:
            if trained.final_params_sha256 is None:
                self.recorder._digest_parameters()
        except Exception as exc:  # keep the losses; say why the digest is missing
            trained.error = trained.error or f"hashing the parameters failed: {type(exc).__name__}: {exc}"
        # training only: what a rank prints or logs depends on which process is rank 0's
        record = RunRecord(
            losses=trained.losses, final_params_sha256=trained.final_params_sha256,
            param_tensors=trained.param_tensors, param_count=trained.param_count, params_l2=trained.params_l2,
            optimizers=trained.optimizers, optimizer_steps=trained.optimizer_steps, device=trained.device,
            lightning_backward=trained.lightning_backward, training_step_calls=trained.training_step_calls,
            error=trained.error, lightning={"world_size": self.world_size}, epochs=self.recorder.epoch(),
        )  # fmt: skip
        record.write(rank_record_path(Path(self.directory), self.label, self.rank))


def start_rank_recording(recorder=None) -> RankWriter | None:
    """Record this process's rank (called from ``sitecustomize`` and by the runner)."""
    directory = os.environ.get(RANK_DIR_ENV)
    if not directory:
        return None
    if recorder is None:  # a process below the runner: it starts seeded like the runner's
        from .runner import Recorder, configure_determinism

        threads = int(os.environ.get(RANK_THREADS_ENV) or 1)
        configure_determinism(int(os.environ.get(RANK_SEED_ENV) or 0), threads, "cpu")
        recorder = Recorder(os.environ.get("PL_CONVERT_VERIFY_DATA_ROOT"))
        recorder.install()
    writer = RankWriter(recorder, directory, os.environ.get(RANK_LABEL_ENV, "run"))
    writer.install()
    return writer
