"""Checks on the LightningModule a run trained: it survives ``pickle`` and ``load_from_checkpoint``.

Lightning's contract for a module (and what ``strategy="ddp_spawn"``, reuse in another script and
tests rely on): the class is importable, the trained module pickles and unpickles to the same
parameters, and ``LitX.load_from_checkpoint(path)`` with no other argument rebuilds the trained
module from its last checkpoint. The runner calls :func:`run_module_checks` in the process that
called ``Trainer.fit`` (rank 0), after the script ended. Each check is ``passed``, ``failed``
(with the error or the digests) or ``skipped`` with the reason it cannot apply (the class is
defined inside a function, checkpointing is disabled, constructor arguments that
``save_hyperparameters`` did not record and the class docstring does not name): a check never
passes silently. Where the docstring names them (pl-convert writes
``LitX.load_from_checkpoint(path, model=..., criterion=...)`` when the model is passed in, as
Lightning's docs do for ``nn.Module`` arguments), the check passes exactly those, a model as a copy
with its weights zeroed, so the digest proves the checkpoint restored them.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
import re
from dataclasses import asdict, dataclass
from typing import Any

PICKLE = "pickle"
CHECKPOINT = "load_from_checkpoint"


@dataclass
class ModuleCheck:
    name: str  #: "pickle" or "load_from_checkpoint"
    status: str  #: "passed", "failed" or "skipped"
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return f"{self.name}: {self.status}" + (f": {self.detail}" if self.detail else "")


@dataclass
class FitCapture:
    """What the runner keeps of the last successful ``Trainer.fit``."""

    module: Any
    trainer: Any
    digest: str  #: of the module's state_dict when fit returned (FSDP: the full one, gathered)
    global_step: int
    sharded: bool = False  #: trained under FSDPStrategy: the module object holds only this rank's shards


def is_sharded(trainer) -> bool:
    """Did ``trainer`` train under Lightning's FSDPStrategy (or a subclass)?"""
    return any(cls.__name__ == "FSDPStrategy" for cls in type(getattr(trainer, "strategy", None)).__mro__)


def fit_digest(module, trainer) -> tuple[str, bool]:
    """The digest of what ``fit`` trained: the module's state_dict, or under FSDP the full state
    dict the strategy gathers for its checkpoints (a collective: every rank calls it)."""
    if is_sharded(trainer):
        return state_dict_digest(trainer.strategy.lightning_module_state_dict()), True
    return state_digest(module), False


def state_digest(module) -> str:
    """sha256 over the module's state_dict: names, dtypes, shapes and bytes, in order."""
    return state_dict_digest(module.state_dict())


def state_dict_digest(state: dict) -> str:
    """sha256 over a state_dict: names, dtypes, shapes and bytes, in order."""
    import torch

    digest = hashlib.sha256()
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        data = value.detach().to("cpu").contiguous()
        digest.update(f"{name}{data.dtype}{tuple(data.shape)}".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _local_definition(cls: type) -> str | None:
    """``"main()"`` when the class is defined inside a function (not importable), else None."""
    if "<locals>" not in cls.__qualname__:
        return None
    return cls.__qualname__.split(".<locals>")[0] + "()"


def check_pickle(fit: FitCapture) -> ModuleCheck:
    cls = type(fit.module)
    where = _local_definition(cls)
    if where is not None:
        return ModuleCheck(PICKLE, "skipped", f"{cls.__name__} is defined inside {where}: pickle needs a class "
                                              "importable at module level")
    if fit.sharded:
        return ModuleCheck(PICKLE, "skipped", f"{cls.__name__} was trained under FSDPStrategy: the object holds this "
                                              "rank's shards inside FSDP's wrappers (not picklable); its checkpoint holds the "
                                              "full module")
    try:
        copy = pickle.loads(pickle.dumps(fit.module))
    except Exception as exc:
        return ModuleCheck(PICKLE, "failed", f"{type(exc).__name__}: {exc}")
    before, after = state_digest(fit.module), state_digest(copy)
    if before != after:
        return ModuleCheck(PICKLE, "failed", f"parameter digest {after[:12]} after the round trip, {before[:12]} before")
    return ModuleCheck(PICKLE, "passed", f"{cls.__name__}, parameter digest {before[:12]}")


def _missing_constructor_args(module) -> list[str]:
    """Constructor parameters without a default that ``save_hyperparameters`` did not record."""
    try:
        signature = inspect.signature(type(module).__init__)
    except (TypeError, ValueError):
        return []
    recorded = set(getattr(module, "hparams", {}) or {})
    missing = []
    for name, param in list(signature.parameters.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is param.empty and name not in recorded:
            missing.append(name)
    return missing


def last_checkpoint(trainer) -> str | None:
    callback = getattr(trainer, "checkpoint_callback", None)
    if callback is None:
        return None
    return getattr(callback, "last_model_path", "") or getattr(callback, "best_model_path", "") or None


def check_load_from_checkpoint(fit: FitCapture) -> ModuleCheck:
    cls = type(fit.module)
    if getattr(fit.trainer, "checkpoint_callback", None) is None:
        return ModuleCheck(CHECKPOINT, "skipped", "checkpointing is disabled (enable_checkpointing=False)")
    path = last_checkpoint(fit.trainer)
    if not path:
        return ModuleCheck(CHECKPOINT, "skipped", "the Trainer wrote no checkpoint")
    where = _local_definition(cls)
    if where is not None:
        return ModuleCheck(CHECKPOINT, "skipped", f"{cls.__name__} is defined inside {where}: another script "
                                                  "cannot import it to call load_from_checkpoint")
    missing = _missing_constructor_args(fit.module)
    documented = documented_arguments(cls)
    if missing and documented is None:
        return ModuleCheck(CHECKPOINT, "skipped", f"{cls.__name__}.__init__ needs {', '.join(missing)}, which "
                                                  "save_hyperparameters() did not record (not recoverable from the checkpoint)")
    if missing and sorted(documented) != sorted(missing):
        return ModuleCheck(CHECKPOINT, "failed", f"{cls.__name__}'s docstring names load_from_checkpoint(path, "
                                                 f"{', '.join(f'{n}=...' for n in documented)}) but __init__ needs "
                                                 f"{', '.join(missing)}, which save_hyperparameters() did not record")
    import torch

    try:
        step = torch.load(path, map_location="cpu", weights_only=False).get("global_step")
    except Exception as exc:
        return ModuleCheck(CHECKPOINT, "failed", f"cannot read {path}: {type(exc).__name__}: {exc}")
    if step is not None and step != fit.global_step:
        return ModuleCheck(CHECKPOINT, "skipped", f"the last checkpoint is from step {step}, training ended at "
                                                  f"step {fit.global_step}")
    try:
        arguments, described = _arguments_for(fit.module, missing)
        loaded = cls.load_from_checkpoint(path, map_location="cpu", **arguments)
    except Exception as exc:
        return ModuleCheck(CHECKPOINT, "failed", f"{cls.__name__}.load_from_checkpoint: {type(exc).__name__}: {exc}")
    digest = state_digest(loaded)
    if digest != fit.digest:
        return ModuleCheck(CHECKPOINT, "failed", f"parameter digest {digest[:12]} loaded, {fit.digest[:12]} trained")
    call = ", ".join(["last checkpoint", *described])
    return ModuleCheck(CHECKPOINT, "passed", f"{cls.__name__}.load_from_checkpoint({call}), "
                                             f"parameter digest {digest[:12]}")


#: ``load_from_checkpoint(path, a=..., b=...)`` in a class docstring: the arguments it says it needs
_DOCUMENTED_CALL = re.compile(r"load_from_checkpoint\(\s*path\s*,\s*((?:\w+=\.\.\.\s*,?\s*)+)\)")


def documented_arguments(cls: type) -> list[str] | None:
    """The keywords the class docstring says ``load_from_checkpoint`` needs (pl-convert writes
    ``LitX.load_from_checkpoint(path, model=..., criterion=...)`` there), or None if it names none."""
    match = _DOCUMENTED_CALL.search(" ".join((cls.__doc__ or "").split()))
    if match is None:
        return None
    return [item.split("=")[0].strip() for item in match.group(1).split(",") if item.strip()]


def _stored_attribute(cls: type, name: str) -> str:
    """The attribute ``__init__`` stores argument ``name`` in (``self.<attribute> = name``)."""
    try:
        source = inspect.getsource(cls.__init__)
    except (OSError, TypeError):
        return name
    match = re.search(rf"^\s*self\.(\w+)\s*=\s*{re.escape(name)}\s*$", source, re.MULTILINE)
    return match.group(1) if match else name


def _arguments_for(module, names: list[str]) -> tuple[dict, list[str]]:
    """What a user passes for each documented argument, taken from the trained module: a module
    (``model=``) as a copy whose parameters and buffers are zeroed, so only the checkpoint can give
    the trained weights back; any other object (a criterion without weights, a loader, ``args``)
    as the run's own object. Also how each is described in the check's detail."""
    import copy

    import torch

    arguments, described = {}, []
    for name in names:
        attribute = _stored_attribute(type(module), name)
        if not hasattr(module, attribute):
            raise AttributeError(f"the trained module keeps no {attribute!r} to pass as {name}=")
        value = getattr(module, attribute)
        if isinstance(value, torch.nn.Module) and any(True for _ in value.state_dict()):
            value = copy.deepcopy(value)
            with torch.no_grad():
                for tensor in value.state_dict().values():
                    if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
                        tensor.zero_()
            described.append(f"{name}=<a copy, weights zeroed>")
        else:
            described.append(f"{name}=<the run's {type(value).__name__}>")
        arguments[name] = value
    return arguments, described


def run_module_checks(fit: FitCapture | None) -> list[dict]:
    """Both checks on the last module fit (both skipped when nothing was fit)."""
    if fit is None:
        reason = "no LightningModule was trained (no Trainer.fit returned)"
        return [ModuleCheck(PICKLE, "skipped", reason).to_dict(), ModuleCheck(CHECKPOINT, "skipped", reason).to_dict()]
    checks = []
    for check in (check_pickle, check_load_from_checkpoint):
        try:
            checks.append(check(fit).to_dict())
        except Exception as exc:  # a check's own failure is a failed check, never a pass
            name = PICKLE if check is check_pickle else CHECKPOINT
            checks.append(ModuleCheck(name, "failed", f"{type(exc).__name__}: {exc}").to_dict())
    return checks
