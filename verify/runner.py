"""Run one training script under instrumentation and write what it trained as JSON.

    python -m pl_convert.verify.runner --source FILE --path SCRIPT_PATH --record OUT.json -- ARGS...

This is the child process of ``pl-convert verify``. The script itself is not modified: it runs as
``__main__`` exactly as ``python SCRIPT_PATH ARGS...`` would run it (``sys.argv``, ``__file__``,
the script's directory first on ``sys.path``), from the text in ``--source`` (so that a converted
script held only in memory runs as if it sat next to the original). Before it starts, the runner

* seeds ``random``, ``numpy`` and ``torch`` with ``--seed`` and turns on deterministic algorithms
  (``CUBLAS_WORKSPACE_CONFIG`` is set by the parent, before CUDA starts);
* records the value of every loss passed to ``Tensor.backward`` / ``torch.autograd.backward``:
  a plain loop calls it directly, Lightning's automatic and manual optimization end in the same
  call, so the traces of an original and its conversion line up step by step;
* keeps every ``torch.optim.Optimizer`` constructed, counts optimizer steps, and remembers the
  model that owns each optimizer's parameters;
* hooks Lightning's ``Trainer.fit/validate/test`` (when the script imports Lightning) to collect
  ``trainer.callback_metrics`` and what ``validate``/``test`` return, ``LightningModule.log``
  (every value logged), ``LightningModule.backward`` and ``Strategy.training_step`` (so that a
  run proves its steps came from Lightning), and torchvision's ``MNIST`` to serve the verify
  data root to a script whose own data root has no MNIST (offline; never a download);
* on a machine without CUDA, lets Lightning's ``FSDPStrategy`` run on CPU processes as the
  originals' FSDP does (:mod:`.fsdp_cpu`: ``device_id=torch.device("cpu")``, nothing else changed);
* keeps every line the script's own code prints and every ``SummaryWriter.add_scalar`` it
  calls, and gives its code a virtual clock (:mod:`.script_output`);
* with ``--metrics``, records the values the script computes for the metrics its conversion logs
  (:mod:`.metric_trace`);
* with ``--progress``, keeps a small JSON file up to date (steps so far, epoch) for the parent.

When the script ends, the runner hashes the trained parameters (an FSDP model's gathered whole:
:mod:`.fsdp_params`), evaluates the trained model on
the script's own MNIST test set (the accuracy is reported, never used to judge equality), and
writes a :class:`~pl_convert.verify.record.RunRecord`.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.abc
import json
import linecache
import math
import os
import random
import sys
import time
import traceback
import types
import warnings
from pathlib import Path
from typing import Any, Callable

from .fsdp_cpu import keep_connector_check, substitute_cpu_fsdp
from .metric_trace import MetricTracer, scalar
from .record import RunRecord
from .script_output import PrintedLines, ScriptFiles, install_virtual_clock

#: environment variable carrying the verify data root into the child
DATA_ROOT_ENV = "PL_CONVERT_VERIFY_DATA_ROOT"


class _PostImportHooks(importlib.abc.MetaPathFinder):
    """Call a function with a module right after it is imported (for modules imported later)."""

    def __init__(self) -> None:
        self.hooks: dict[str, list[Callable[[types.ModuleType], None]]] = {}

    def register(self, name: str, hook: Callable[[types.ModuleType], None]) -> None:
        module = sys.modules.get(name)
        if module is not None:
            hook(module)
        else:
            self.hooks.setdefault(name, []).append(hook)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.hooks:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _HookedLoader(spec.loader, self.hooks.pop(fullname))
                return spec
        return None


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader, hooks) -> None:
        self.loader = loader
        self.hooks = hooks

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        for hook in self.hooks:
            hook(module)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... for tracebacks
        return getattr(self.loader, name)


class Recorder:
    """Collects the loss trace, optimizers, trainers' metrics and datasets of one run."""

    def __init__(self, data_root: str | None, script_path: str = "", progress_path: str | None = None) -> None:
        self.record = RunRecord()
        self.optimizers: list[Any] = []  # strong refs: a script's main() may drop them
        self.models: list[Any] = []
        self.test_datasets: list[Any] = []
        self.data_root = data_root
        self._in_backward = False
        self._in_lightning_backward = False
        self.files = ScriptFiles(script_path) if script_path else None
        self.printed = PrintedLines(self.files, self.steps) if self.files else None
        self.progress_path = progress_path
        self._progress_written = 0.0
        self._loader_iterations: dict[int, int] = {}
        self._last_loader: int | None = None
        #: the training loader's iterations in which a training step ran (a probe such as
        #: ``next(iter(loader))`` for the batch size is an iteration without one, not an epoch)
        self._stepped_iterations: set[int] = set()
        self._train_loader: int | None = None
        self.last_fit = None  #: :class:`~.module_checks.FitCapture` of the last fit that returned
        self.fit_called = False

    def steps(self) -> int:
        """Training steps (backward calls) recorded so far."""
        return len(self.record.losses)

    def epoch(self) -> int | None:
        """Epochs started so far (iterations over the training loader in which a training step
        ran), None before training."""
        if self._train_loader is None:
            return None
        return len(self._stepped_iterations)

    # -- losses ---------------------------------------------------------------------------
    def _record_loss(self, tensor) -> None:
        try:
            value = tensor.detach()
            value = value.sum() if value.numel() != 1 else value.reshape(())
            self.record.losses.append(float(value.item()))
        except Exception:  # a tensor we cannot read (meta, ...): keep the step, no value
            self.record.losses.append(float("nan"))
        if self._train_loader is None:
            self._train_loader = self._last_loader  # the loader iterated when training started
        if self._train_loader is not None:
            self._stepped_iterations.add(self._loader_iterations.get(self._train_loader, 0))
        if self._in_lightning_backward:
            self.record.lightning_backward += 1
        self.write_progress()

    def write_progress(self, force: bool = False) -> None:
        """Keep ``--progress`` current (at most twice a second): steps so far and the epoch."""
        if not self.progress_path:
            return
        now = time.monotonic()
        if not force and now - self._progress_written < 0.5:
            return
        self._progress_written = now
        try:
            temporary = f"{self.progress_path}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({"steps": self.steps(), "epoch": self.epoch()}, handle)
            os.replace(temporary, self.progress_path)
        except OSError:
            pass

    def install(self) -> None:
        import torch

        recorder = self
        tensor_backward = torch.Tensor.backward
        autograd_backward = torch.autograd.backward

        def backward(self, *args, **kwargs):
            if recorder._in_backward:
                return tensor_backward(self, *args, **kwargs)
            recorder._record_loss(self)
            recorder._in_backward = True
            try:
                return tensor_backward(self, *args, **kwargs)
            finally:
                recorder._in_backward = False

        def autograd_backward_hooked(tensors, *args, **kwargs):
            if recorder._in_backward:
                return autograd_backward(tensors, *args, **kwargs)
            for tensor in [tensors] if isinstance(tensors, torch.Tensor) else list(tensors):
                recorder._record_loss(tensor)
            recorder._in_backward = True
            try:
                return autograd_backward(tensors, *args, **kwargs)
            finally:
                recorder._in_backward = False

        torch.Tensor.backward = backward
        torch.autograd.backward = autograd_backward_hooked

        optimizer_init = torch.optim.Optimizer.__init__

        def init(self, *args, **kwargs):
            optimizer_init(self, *args, **kwargs)
            recorder._add_optimizer(self)

        torch.optim.Optimizer.__init__ = init

        def count_step(optimizer, args, kwargs):
            recorder.record.optimizer_steps += 1

        from torch.optim.optimizer import register_optimizer_step_post_hook

        register_optimizer_step_post_hook(count_step)

        loader_iter = torch.utils.data.DataLoader.__iter__

        def iterate(loader):
            key = id(loader)
            recorder._loader_iterations[key] = recorder._loader_iterations.get(key, 0) + 1
            recorder._last_loader = key
            return loader_iter(loader)

        torch.utils.data.DataLoader.__iter__ = iterate

        if self.printed is not None:
            self.printed.install()
            install_virtual_clock(self.files)

        hooks = _PostImportHooks()
        sys.meta_path.insert(0, hooks)
        for package in ("pytorch_lightning", "lightning.pytorch"):
            hooks.register(f"{package}.trainer.trainer", self._hook_trainer)
            hooks.register(f"{package}.core.module", self._hook_module)
            hooks.register(f"{package}.strategies.strategy", self._hook_strategy)
            hooks.register(f"{package}.strategies", substitute_cpu_fsdp)
            hooks.register(f"{package}.trainer.connectors.accelerator_connector", keep_connector_check)
        hooks.register("torchvision.datasets.mnist", self._hook_mnist)
        hooks.register("torch.utils.tensorboard.writer", self._hook_summary_writer)

    def _add_optimizer(self, optimizer) -> None:
        if any(o is optimizer for o in self.optimizers):
            return
        self.optimizers.append(optimizer)
        model = _owning_module(optimizer)
        if model is not None and not any(m is model for m in self.models):
            self.models.append(model)

    # -- Lightning ------------------------------------------------------------------------
    def _hook_trainer(self, module: types.ModuleType) -> None:
        recorder = self
        trainer_class = module.Trainer
        overrides = os.environ.get("PL_CONVERT_VERIFY_TRAINER_OVERRIDES")
        if overrides:
            _override_trainer_arguments(trainer_class, json.loads(overrides))
        for name in ("fit", "validate", "test"):
            method = getattr(trainer_class, name)

            def wrapped(trainer, *args, _method=method, _name=name, **kwargs):
                call = {"call": _name, "returned": None}
                recorder.record.trainer_calls.append(call)
                try:
                    if _name == "fit" and overrides:  # --devices N: what the module's docstring asks DDP for
                        from .ddp_run import allow_unused_parameters

                        allow_unused_parameters(trainer, args[0] if args else kwargs.get("model"))
                    returned = _method(trainer, *args, **kwargs)
                    call["returned"] = _returned_metrics(returned)
                    if _name == "fit":
                        recorder._capture_fit(trainer, args[0] if args else kwargs.get("model"))
                    return returned
                finally:
                    recorder._collect_metrics(trainer)
                    recorder._collect_settings(trainer, _name)

            wrapped.__name__ = name
            wrapped.__doc__ = method.__doc__
            setattr(trainer_class, name, wrapped)

    def _capture_fit(self, trainer, module) -> None:
        from .module_checks import FitCapture, fit_digest

        self.fit_called = True
        try:
            digest, sharded = fit_digest(module, trainer)
            self.last_fit = FitCapture(module, trainer, digest, int(trainer.global_step), sharded)
        except Exception:  # the checks then say nothing was captured
            self.last_fit = None

    def _hook_module(self, module: types.ModuleType) -> None:
        """``LightningModule.log`` (``log_dict`` calls it) and ``LightningModule.backward``."""
        recorder = self
        module_class = module.LightningModule
        log = module_class.log
        backward = module_class.backward

        def logged(lightning_module, *args, **kwargs):
            name = args[0] if args else kwargs.get("name")
            value = args[1] if len(args) > 1 else kwargs.get("value")
            trainer = getattr(lightning_module, "_trainer", None)
            if not (trainer is not None and getattr(trainer, "sanity_checking", False)):
                stage = getattr(getattr(getattr(trainer, "state", None), "stage", None), "value", None)
                recorder._add_logged(name, value, "self.log", stage, getattr(lightning_module, "_current_fx_name", None))
            return log(lightning_module, *args, **kwargs)

        def lightning_backward(lightning_module, *args, **kwargs):
            recorder._in_lightning_backward = True
            try:
                return backward(lightning_module, *args, **kwargs)
            finally:
                recorder._in_lightning_backward = False

        logged.__doc__, lightning_backward.__doc__ = log.__doc__, backward.__doc__
        module_class.log = logged
        module_class.backward = lightning_backward

    def _hook_strategy(self, module: types.ModuleType) -> None:
        recorder = self
        strategy_class = module.Strategy
        training_step = strategy_class.training_step

        def counted(strategy, *args, **kwargs):
            recorder.record.training_step_calls += 1
            return training_step(strategy, *args, **kwargs)

        strategy_class.training_step = counted

    def _hook_summary_writer(self, module: types.ModuleType) -> None:
        """``SummaryWriter.add_scalar`` called from the script's code (Lightning's logger calls it too)."""
        recorder = self
        writer_class = module.SummaryWriter
        add_scalar = writer_class.add_scalar

        def recorded(writer, tag, scalar_value, *args, **kwargs):
            if recorder.files is not None and sys._getframe(1).f_code.co_filename in recorder.files:
                recorder._add_logged(tag, scalar_value, "add_scalar", None, None)
            return add_scalar(writer, tag, scalar_value, *args, **kwargs)

        writer_class.add_scalar = recorded

    def _add_logged(self, key, value, via: str, stage, hook) -> None:
        number, error = scalar(value)
        entry = {"key": str(key), "value": number, "step": self.steps(), "via": via, "stage": stage, "hook": hook}
        if error:
            entry["error"] = error
        self.record.logged.append(entry)

    def _collect_metrics(self, trainer) -> None:
        try:
            metrics = dict(trainer.callback_metrics)
        except Exception:
            return
        for key, value in metrics.items():
            try:
                self.record.logged_metrics[str(key)] = float(value)
            except (TypeError, ValueError, RuntimeError):
                pass

    def _collect_settings(self, trainer, call: str) -> None:
        """Remember the Trainer settings that are known to change numbers after a conversion."""
        settings = self.record.lightning
        try:
            if call == "fit":
                val_batches = getattr(trainer, "num_val_batches", None) or []
                settings.update(
                    {
                        "num_sanity_val_steps": _number(getattr(trainer, "num_sanity_val_steps", None)),
                        "validation_batches": _number(sum(val_batches) if isinstance(val_batches, list) else val_batches),
                        "max_epochs": trainer.max_epochs,
                        "epochs_run": trainer.current_epoch,
                        "max_steps": trainer.max_steps,
                        "accumulate_grad_batches": trainer.accumulate_grad_batches,
                        "checkpointing": trainer.checkpoint_callback is not None,
                        "schedulers": [
                            {"name": type(c.scheduler).__name__, "interval": c.interval, "frequency": c.frequency}
                            for c in trainer.lr_scheduler_configs
                        ],
                    }
                )
            elif trainer.ckpt_path:
                settings[f"{call}_ckpt_path"] = str(trainer.ckpt_path)
        except Exception:  # a Lightning version without one of these: report what we have
            pass

    # -- data -----------------------------------------------------------------------------
    def _hook_mnist(self, module: types.ModuleType) -> None:
        recorder = self
        mnist_class = module.MNIST
        original_init = mnist_class.__init__

        def init(dataset, root, *args, **kwargs):
            # Only MNIST itself (its subclasses read other files): a root without MNIST gets the
            # verify data root, so the script neither downloads nor fails offline.
            if type(dataset) is mnist_class and recorder.data_root and not _has_mnist(root):
                root = recorder.data_root
            original_init(dataset, root, *args, **kwargs)
            if type(dataset) is mnist_class and getattr(dataset, "train", True) is False:
                recorder.test_datasets.append(dataset)  # strong: main() may drop it

        mnist_class.__init__ = init

    # -- end of run -----------------------------------------------------------------------
    def finish(self) -> None:
        self._digest_parameters()
        self._evaluate_test_accuracy()

    def _trained_parameters(self) -> list:
        seen: set[int] = set()
        params = []
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if id(param) not in seen:
                        seen.add(id(param))
                        params.append(param)
        return params

    def _digest_parameters(self) -> None:
        import torch

        params = self._trained_parameters()
        self.record.optimizers = len(self.optimizers)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            from .fsdp_params import digest_full_parameters, fsdp_roots

            roots = fsdp_roots()  # sharded: the full parameters, gathered (a collective, every rank)
            if roots and digest_full_parameters(self.record, roots):
                return
        digest = hashlib.sha256()
        squares = 0.0
        count = 0
        for param in params:
            data = param.detach().to("cpu").contiguous()
            digest.update(f"{data.dtype}{tuple(data.shape)}".encode())
            digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
            squares += float(data.double().pow(2).sum())
            count += data.numel()
        self.record.optimizers = len(self.optimizers)
        self.record.param_tensors = len(params)
        self.record.param_count = count
        if params:
            self.record.final_params_sha256 = digest.hexdigest()
            self.record.params_l2 = math.sqrt(squares)
            self.record.device = str(params[0].device)

    def _evaluate_test_accuracy(self) -> None:
        datasets = self.test_datasets
        if not self.models:
            self.record.test_accuracy_note = "no model found (no optimizer was constructed)"
            return
        if not datasets:
            self.record.test_accuracy_note = "the script made no MNIST test set (train=False)"
            return
        try:
            self.record.test_accuracy = _accuracy(self.models[0], datasets[0])
        except Exception as exc:  # the model takes other inputs: report, don't fail the run
            self.record.test_accuracy_note = f"could not evaluate the model: {type(exc).__name__}: {exc}"


def _override_trainer_arguments(trainer_class, overrides: dict) -> None:
    """Every ``Trainer(...)`` gets ``overrides`` instead of the script's own values (``verify
    --devices 2`` runs a conversion under ``strategy="ddp"``; the same in every rank)."""
    init = trainer_class.__init__

    def overridden(trainer, *args, **kwargs):
        kwargs.update(overrides)
        return init(trainer, *args, **kwargs)

    overridden.__doc__ = init.__doc__
    overridden.__wrapped__ = init  # Lightning reads the signature of __init__ for its defaults
    trainer_class.__init__ = overridden


def _returned_metrics(returned) -> list[dict] | None:
    """What ``trainer.validate/test`` returned (one dict of metrics per dataloader), as floats."""
    if not isinstance(returned, list):
        return None
    out = []
    for metrics in returned:
        if isinstance(metrics, dict):
            out.append({str(k): scalar(v)[0] for k, v in metrics.items()})
    return out


def _number(value):
    if isinstance(value, float) and math.isinf(value):
        return -1  # Lightning's "all of them"
    return value


def _has_mnist(root) -> bool:
    try:
        from .mnist import has_mnist

        return has_mnist(root)
    except Exception:
        return False


def _owning_module(optimizer):
    """The outermost ``nn.Module`` whose parameters are all trained by ``optimizer``."""
    import torch

    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    best = None
    best_count = 0
    with warnings.catch_warnings():  # isinstance() on deprecated module attributes warns
        warnings.simplefilter("ignore")
        candidates = [obj for obj in gc.get_objects() if isinstance(obj, torch.nn.Module)]
    for obj in candidates:
        try:
            params = [id(p) for p in obj.parameters()]
        except Exception:
            continue
        if not params or not all(p in trained for p in params):
            continue
        count = len(set(params))
        if count > best_count or (count == best_count and best is not None and _contains(obj, best)):
            best, best_count = obj, count
    return best


def _contains(outer, inner) -> bool:
    return any(m is inner for m in outer.modules() if m is not outer)


#: input shapes tried, in order, when the model does not take the dataset's images as they are:
#: the loop may flatten them (MLPs) or drop the channel (RNNs reading rows as a sequence)
_INPUT_VARIANTS = (
    ("as given", lambda x: x),
    ("flattened", lambda x: x.flatten(1)),
    ("without the channel dimension", lambda x: x.squeeze(1)),
)


def _accuracy(model, dataset) -> float:
    """Top-1 accuracy (percent) of ``model`` on ``dataset`` with the dataset's own transform."""
    import torch

    device = next(model.parameters()).device
    loader = torch.utils.data.DataLoader(dataset, batch_size=500, shuffle=False)
    model.eval()
    correct = total = 0
    variant = None
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            if variant is None:
                variant, outputs = _first_working_variant(model, inputs)
            else:
                outputs = model(variant(inputs))
            if isinstance(outputs, (tuple, list)):
                outputs = outputs[0]
            if outputs.dim() != 2 or outputs.shape[0] != targets.shape[0]:
                raise ValueError(f"model output has shape {tuple(outputs.shape)}, not (batch, classes)")
            correct += int((outputs.argmax(dim=1) == targets).sum())
            total += int(targets.numel())
    return 100.0 * correct / max(total, 1)


def _first_working_variant(model, inputs):
    errors = []
    for name, variant in _INPUT_VARIANTS:
        try:
            outputs = model(variant(inputs))
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        first = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
        if getattr(first, "dim", lambda: 0)() == 2 and first.shape[0] == inputs.shape[0]:
            return variant, outputs
        errors.append(f"{name}: output shape {tuple(getattr(first, 'shape', ()))}")
    raise ValueError("the model takes no image batch the runner can build (" + "; ".join(errors) + ")")


def configure_determinism(seed: int, threads: int | None, device: str) -> bool:
    """Seed every RNG and turn on deterministic algorithms. Returns True when that worked."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    random.seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:
        pass
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        # warn_only: an op without a deterministic kernel should show up as a difference in the
        # comparison, not stop the run
        torch.use_deterministic_algorithms(True, warn_only=True)
    except Exception:
        return False
    return True


#: the script's ``__main__`` module, once it ran
_SCRIPT_MODULES: list[types.ModuleType] = []


def run_script(source: str, path: str, argv: list[str]) -> None:
    """Execute ``source`` as ``__main__`` the way ``python path *argv`` would."""
    script_path = os.path.abspath(path)
    # Tracebacks show the text that ran, even when it exists only in memory.
    linecache.cache[script_path] = (len(source), None, source.splitlines(True), script_path)
    code = compile(source, script_path, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__dict__.update(
        {"__file__": script_path, "__builtins__": __builtins__, "__cached__": None, "__spec__": None}
    )
    sys.argv = [path, *argv]
    sys.path[0] = os.path.dirname(script_path)
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    _SCRIPT_MODULES.append(module)  # the module checks unpickle its classes as __main__.X
    try:
        exec(code, module.__dict__)
    finally:
        if saved_main is not None:
            sys.modules["__main__"] = saved_main


def _record_every_rank(recorder: Recorder) -> None:
    """This process records its rank if it joins a process group (Lightning's rank 0 runs here),
    and every Python process it starts records its own (``sitecustomize`` on ``PYTHONPATH``)."""
    from .ranks import SITE_DIR, start_rank_recording

    start_rank_recording(recorder)
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), path) if p)


def run_under_torchrun(path: str, argv: list[str], nproc: int) -> None:
    """``torchrun --standalone --nproc-per-node N path *argv``, in this process (the launcher
    trains nothing; its workers record themselves). A failed worker raises."""
    from torch.distributed import run as torchrun

    sys.argv = ["torchrun", "--standalone", "--nproc-per-node", str(nproc), path, *argv]
    torchrun.main(sys.argv[1:])


def _print_script_traceback(exc: BaseException) -> None:
    """Print ``exc``'s traceback from the script's first frame on (the runner's are noise)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def _versions() -> dict[str, str]:
    import platform

    versions = {"python": platform.python_version()}
    for name in ("torch", "pytorch_lightning", "lightning", "torchvision"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            versions[name] = str(module.__version__)
    try:
        import torch

        versions["cuda"] = str(torch.version.cuda)
        if torch.cuda.is_available():
            versions["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pl_convert.verify.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="file holding the script's text")
    parser.add_argument("--path", required=True, help="path the script runs as (__file__, argv[0])")
    parser.add_argument("--record", required=True, help="where to write the JSON record")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--metrics", default=None, help="JSON list of the conversion's logged metrics to record")
    parser.add_argument("--progress", default=None, help="JSON file kept current with the steps so far")
    parser.add_argument("--no-module-checks", action="store_true",
                        help="do not check that the trained LightningModule pickles and loads from its checkpoint")
    parser.add_argument("--nproc", type=int, default=None,
                        help="several processes: every rank records itself (pl_convert.verify.ranks)")
    parser.add_argument("--launch", choices=("self", "torchrun"), default="self",
                        help="with --nproc: run the script plainly (it starts its processes) or under torchrun")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    script_args = options.args[1:] if options.args[:1] == ["--"] else options.args

    script_path = os.path.abspath(options.path)
    recorder = Recorder(options.data_root, script_path, options.progress)
    record = recorder.record
    record.seed = options.seed
    record.threads = options.threads or None

    import torch

    if options.device == "cuda" and not torch.cuda.is_available():
        print("pl-convert verify: --device cuda, but torch sees no CUDA device", file=sys.stderr)
        record.error = "CUDA requested but not available"
        record.write(options.record)
        return 3
    record.deterministic = configure_determinism(options.seed, options.threads, options.device)
    recorder.install()
    source = Path(options.source).read_text(encoding="utf-8")
    metrics = json.loads(Path(options.metrics).read_text(encoding="utf-8")) if options.metrics else []
    tracer = MetricTracer(script_path, metrics, recorder.steps)

    if options.nproc:
        _record_every_rank(recorder)

    start = time.perf_counter()
    exit_code = 0
    try:
        tracer.install()
        try:
            if options.nproc and options.launch == "torchrun":
                run_under_torchrun(options.path, script_args, options.nproc)
            else:
                run_script(source, options.path, script_args)
        finally:
            tracer.uninstall()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            exit_code = exc.code if isinstance(exc.code, int) else 1
            if not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
            record.error = f"the script exited with status {exc.code}"
    except BaseException as exc:  # the script's own failure: its traceback, then a status
        _print_script_traceback(exc)
        record.error = f"{type(exc).__name__}: {exc}"
        exit_code = 1
    record.wall_time_s = time.perf_counter() - start
    sys.stdout.flush()
    record.computed = tracer.records
    record.epochs = recorder.epoch()
    if record.epochs is None and record.lightning.get("epochs_run"):  # batches from a range, not a DataLoader
        record.epochs = record.lightning["epochs_run"]
    if recorder.printed is not None:
        run_dir = os.path.dirname(script_path)
        record.printed = recorder.printed.finish({script_path: "<script>", run_dir: "<script dir>"})
        record.printed_truncated = recorder.printed.truncated
    recorder.write_progress(force=True)
    if exit_code == 0:
        try:
            recorder.finish()
        except Exception as exc:
            traceback.print_exc()
            record.error = f"recording the result failed: {type(exc).__name__}: {exc}"
            exit_code = 1
    if exit_code == 0 and not options.no_module_checks and record.trainer_calls:
        from .module_checks import run_module_checks

        saved_main = sys.modules.get("__main__")
        if _SCRIPT_MODULES:
            sys.modules["__main__"] = _SCRIPT_MODULES[-1]
        try:
            record.module_checks = run_module_checks(recorder.last_fit)
        finally:
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
    record.versions = _versions()
    record.write(options.record)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
