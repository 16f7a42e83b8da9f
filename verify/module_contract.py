"""Many converted scripts through a short two-process DDP fit and the module checks, in one launch.

    python -m pl_convert.verify.module_contract --data-root data a_lightning.py b_lightning.py ...

Issue 14's "done when": each conversion's LightningModule pickles, loads from its last checkpoint
(:mod:`.module_checks`) and fits under ``strategy="ddp"`` on two CPU processes. Starting two
fresh processes per script (torch, Lightning and torchvision imported each time) costs far more
than the few batches trained, so :func:`check_scripts` starts one ``torchrun --nproc-per-node 2``
group for all of them: each rank joins the process group once (gloo), then runs every script in
turn as ``__main__`` (its own argv, a fresh module), every ``pl.Trainer`` overridden to a short fit
(``devices=2``, ``strategy="ddp"``, four batches, one epoch, a checkpoint at the end, its own
``default_root_dir``; a module optimized by hand gets ``find_unused_parameters=True``, as its
docstring asks: :func:`.ddp_run.allow_unused_parameters`); Lightning finds the process group
already there and uses it. After each
script, rank 0 runs the module checks; each rank writes ``<out>/rank<R>.json``: per script, the
error (if any), the losses its backward calls saw, and the checks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

#: a short fit: one epoch of four batches per rank (a 4-step accumulation steps once), no sanity check, a checkpoint at its end
SHORT_FIT = {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "max_epochs": 1, "max_steps": -1,
             "limit_train_batches": 4, "limit_val_batches": 1, "limit_test_batches": 1, "num_sanity_val_steps": 0,
             "enable_checkpointing": True, "logger": False, "enable_progress_bar": False}


def check_scripts(scripts: dict[str, str], data_root: Path, workdir: Path, timeout: float = 900) -> dict[str, dict]:
    """Run every ``{name: converted source}`` through the group; ``{name: result}`` where a result
    is ``{"ranks": {rank: {"error", "losses"}}, "checks": [...], "error": str | None}``."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "data").exists():
        (workdir / "data").symlink_to(Path(data_root).resolve(), target_is_directory=True)
    paths = []
    for name, source in scripts.items():
        path = workdir / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        paths.append(str(path))
    out = workdir / "results"
    out.mkdir(exist_ok=True)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PL_CONVERT_VERIFY_DATA_ROOT": str(Path(data_root).resolve())}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "pl_convert.verify.module_contract", "--out", str(out), *paths]
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
        launch_error = None if done.returncode == 0 else f"the group exited with {done.returncode}: {done.stderr[-2000:]}"
    except subprocess.TimeoutExpired:
        launch_error = f"the group timed out after {timeout:.0f} s"
    ranks = {}
    for rank in (0, 1):
        file = out / f"rank{rank}.json"
        ranks[rank] = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    results = {}
    for name in scripts:
        per_rank = {rank: ranks[rank].get(name) for rank in ranks}
        missing = [rank for rank, value in per_rank.items() if value is None]
        results[name] = {
            "ranks": {rank: value for rank, value in per_rank.items() if value is not None},
            "checks": (per_rank[0] or {}).get("checks", []),
            "error": f"no result from rank(s) {missing}: {launch_error or 'the group stopped before it'}" if missing else None,
        }
    return results


# -- inside the group (each rank) ---------------------------------------------------------------


class _Capture:
    def __init__(self) -> None:
        self.losses: list[float] = []
        self.fit = None
        self.root: str = "."


def _install(capture: _Capture) -> None:
    import pytorch_lightning as pl

    from .ddp_run import allow_unused_parameters
    from .module_checks import FitCapture, state_digest

    init, fit, backward = pl.Trainer.__init__, pl.Trainer.fit, pl.LightningModule.backward

    def short_init(trainer, *args, **kwargs):
        kwargs.update(SHORT_FIT)
        kwargs["default_root_dir"] = capture.root
        return init(trainer, *args, **kwargs)

    def captured_fit(trainer, *args, **kwargs):
        module = args[0] if args else kwargs.get("model")
        allow_unused_parameters(trainer, module)
        result = fit(trainer, *args, **kwargs)
        capture.fit = FitCapture(module, trainer, state_digest(module), int(trainer.global_step))
        return result

    def recorded_backward(module, loss, *args, **kwargs):
        try:
            capture.losses.append(float(loss.detach().float().sum()))
        except Exception:
            capture.losses.append(float("nan"))
        return backward(module, loss, *args, **kwargs)

    pl.Trainer.__init__, pl.Trainer.fit, pl.LightningModule.backward = short_init, captured_fit, recorded_backward
    try:  # a script's MNIST root without MNIST reads the verify data root (offline), as under the runner
        import torchvision.datasets.mnist as mnist

        from .runner import Recorder

        Recorder(os.environ.get("PL_CONVERT_VERIFY_DATA_ROOT"))._hook_mnist(mnist)
    except ImportError:
        pass


def _run(path: str, capture: _Capture, rank: int) -> dict:
    from .module_checks import run_module_checks

    source = Path(path).read_text(encoding="utf-8")
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": path, "__builtins__": __builtins__, "__spec__": None})
    saved_main, saved_argv = sys.modules.get("__main__"), sys.argv
    sys.modules["__main__"], sys.argv = module, [path]
    capture.losses, capture.fit = [], None
    capture.root = str(Path(path).with_suffix("")) + "_root"
    result: dict = {"error": None, "losses": [], "checks": []}
    start = time.perf_counter()
    try:
        exec(compile(source, path, "exec"), module.__dict__)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            result["error"] = f"exited with {exc.code}"
    except BaseException as exc:  # the script's failure is its result
        result["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    result["losses"] = capture.losses
    if rank == 0 and result["error"] is None:
        result["checks"] = run_module_checks(capture.fit)
    result["seconds"] = time.perf_counter() - start
    sys.modules["__main__"], sys.argv = saved_main, saved_argv
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("scripts", nargs="+")
    args = parser.parse_args(argv)
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", timeout=timedelta(seconds=120))
    rank = dist.get_rank()
    capture = _Capture()
    _install(capture)
    results = {}
    out = Path(args.out) / f"rank{rank}.json"
    for path in args.scripts:
        torch.manual_seed(0)
        results[Path(path).stem] = _run(path, capture, rank)
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")  # what is done survives a hang
        dist.barrier()
    dist.destroy_process_group()
    return 0


def finite(losses: list[float]) -> bool:
    return bool(losses) and all(math.isfinite(v) for v in losses)


if __name__ == "__main__":
    sys.exit(main())
