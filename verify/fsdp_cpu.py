"""FSDP on CPU, for verify runs only: Lightning's ``FSDPStrategy`` as the conversion wrote it,
made to run on CPU processes (gloo).

Stock Lightning refuses FSDP without a GPU: the accelerator connector raises when the strategy
is ``FSDPStrategy`` itself and the accelerator is not cuda/gpu, and ``_setup_model`` passes
``device_id=root_device.index`` (None on CPU) to ``FullyShardedDataParallel``, which torch then
refuses ("FSDP needs a non-CPU accelerator device"). torch's FSDP itself runs on CPU under
gloo given ``device_id=torch.device("cpu")``, as the originals do.

When torch sees no CUDA device, :func:`substitute_cpu_fsdp` replaces ``FSDPStrategy`` in
``pytorch_lightning.strategies`` (``lightning.pytorch.strategies``) with :class:`CPUFSDPStrategy`
built on it: a subclass (the connector's ``type(strategy) is FSDPStrategy`` check, against
Lightning's own class, which :func:`keep_connector_check` leaves in the connector, lets it through) whose ``_setup_model`` wraps exactly as Lightning's does — the same ``cpu_offload``,
``mixed_precision``, ``sharding_strategy`` and every other keyword the script gave — with
``device_id=torch.device("cpu")`` instead of None. Nothing else changes. The runner installs it
in every process of a verify run (the ranks Lightning starts included, through the rank
``sitecustomize``); outside verify, and on a machine with a GPU, Lightning is left as it is.
"""

from __future__ import annotations

import sys
import types


def cpu_fsdp_class(base: type) -> type:
    """A subclass of Lightning's ``FSDPStrategy`` ``base`` that wraps on CPU (module doc)."""

    class CPUFSDPStrategy(base):  # type: ignore[misc, valid-type]
        """Lightning's FSDPStrategy, wrapping with ``device_id=torch.device("cpu")`` on CPU
        (pl_convert.verify.fsdp_cpu)."""

        def _setup_model(self, model):
            import torch
            from torch.distributed.fsdp import FullyShardedDataParallel

            if self.root_device.type != "cpu" or any(isinstance(m, FullyShardedDataParallel) for m in model.modules()):
                return super()._setup_model(model)
            model = FullyShardedDataParallel(
                module=model,
                cpu_offload=self.cpu_offload,
                mixed_precision=self.mixed_precision_config,
                sharding_strategy=self.sharding_strategy,
                device_id=torch.device("cpu"),
                **self.kwargs,
            )
            lightning = sys.modules[base.__module__]  # what Lightning's _setup_model does after wrapping
            lightning._move_torchmetrics_to_device(model, self.root_device)
            lightning._setup_activation_checkpointing(model, self._activation_checkpointing_kwargs)
            return model

    CPUFSDPStrategy.__qualname__ = CPUFSDPStrategy.__name__
    return CPUFSDPStrategy


def substitute_cpu_fsdp(strategies: types.ModuleType) -> None:
    """Post-import hook of ``<lightning>.strategies``: on a machine without CUDA, its
    ``FSDPStrategy`` becomes :class:`CPUFSDPStrategy` (module doc)."""
    import torch

    base = getattr(strategies, "FSDPStrategy", None)
    if base is None or torch.cuda.is_available() or getattr(base, "_pl_convert_cpu", False):
        return
    substitute = cpu_fsdp_class(base)
    substitute._pl_convert_cpu = True
    substitute._pl_convert_base = base
    strategies.FSDPStrategy = substitute


def keep_connector_check(connector: types.ModuleType) -> None:
    """Post-import hook of ``<lightning>.trainer.connectors.accelerator_connector``: its GPU check
    compares ``type(strategy) is FSDPStrategy`` with Lightning's own class, not the substitute
    (which it would otherwise have imported from ``strategies``)."""
    strategy = getattr(connector, "FSDPStrategy", None)
    base = getattr(strategy, "_pl_convert_base", None)
    if base is not None:
        connector.FSDPStrategy = base
