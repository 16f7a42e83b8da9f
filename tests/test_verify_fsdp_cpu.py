"""verify runs Lightning's FSDPStrategy on CPU (pl_convert.verify.fsdp_cpu): only without CUDA,
as a subclass that Lightning's accelerator check lets through, everything else as the script set it."""

from __future__ import annotations

import types

import pytest

from pl_convert.verify.fsdp_cpu import keep_connector_check, substitute_cpu_fsdp


class FSDPStrategy:  # stands in for Lightning's
    pass


def test_without_cuda_the_strategy_becomes_a_subclass_and_the_connector_keeps_lightnings(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    strategies = types.SimpleNamespace(FSDPStrategy=FSDPStrategy)
    substitute_cpu_fsdp(strategies)
    assert strategies.FSDPStrategy is not FSDPStrategy and issubclass(strategies.FSDPStrategy, FSDPStrategy)
    substitute_cpu_fsdp(strategies)  # once only
    assert strategies.FSDPStrategy.__mro__[1] is FSDPStrategy
    connector = types.SimpleNamespace(FSDPStrategy=strategies.FSDPStrategy)  # as imported from strategies
    keep_connector_check(connector)
    assert connector.FSDPStrategy is FSDPStrategy


def test_with_cuda_lightning_is_left_as_it_is(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    strategies = types.SimpleNamespace(FSDPStrategy=FSDPStrategy)
    substitute_cpu_fsdp(strategies)
    assert strategies.FSDPStrategy is FSDPStrategy


def test_the_substitute_passes_lightnings_cpu_check_with_the_scripts_options() -> None:
    pl = pytest.importorskip("pytorch_lightning")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU: Lightning runs FSDP itself")
    from pytorch_lightning.strategies import fsdp
    from pytorch_lightning.trainer.connectors import accelerator_connector

    from pl_convert.verify.fsdp_cpu import cpu_fsdp_class

    with pytest.raises(ValueError, match="requires a GPU accelerator"):  # stock Lightning
        pl.Trainer(accelerator="cpu", devices=1, strategy=fsdp.FSDPStrategy(), logger=False)
    assert accelerator_connector.FSDPStrategy is fsdp.FSDPStrategy
    strategy = cpu_fsdp_class(fsdp.FSDPStrategy)(sharding_strategy="SHARD_GRAD_OP", use_orig_params=True)
    trainer = pl.Trainer(accelerator="cpu", devices=1, strategy=strategy, logger=False)
    assert trainer.strategy is strategy and strategy.kwargs["use_orig_params"] is True
    assert strategy.sharding_strategy.name == "SHARD_GRAD_OP"
