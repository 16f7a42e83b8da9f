"""FullyShardedDataParallel (FSDP1) → ``Trainer(strategy=FSDPStrategy(...))`` (idiom
``fsdp-training``): the wrap's options reach the strategy, the wrap and its device plumbing go,
the optimizer is built in ``configure_optimizers``; everything that does not map exactly is
refused at its line, with the construct and the reason."""

from __future__ import annotations

import re

import pytest

from pl_convert.converter import Status, convert_source

SCRIPT = '''\
import functools
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def setup(rank, world_size):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("nccl", rank=rank, world_size=world_size)


def run(rank, world_size):
    setup(rank, world_size)
    torch.manual_seed(0)
    torch.cuda.set_device(rank)
    data = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
    sampler = DistributedSampler(data, rank=rank, num_replicas=world_size, shuffle=True)
    loader = DataLoader(data, batch_size=16, sampler=sampler)
    policy = functools.partial(size_based_auto_wrap_policy, min_num_params=100)
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2)).to(rank)
    model = FSDP(model, auto_wrap_policy=policy, device_id=rank)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for x, y in loader:
            x, y = x.to(rank), y.to(rank)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            if rank == 0:
                print(loss.item())
    dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(run, args=(2,), nprocs=2, join=True)
'''


def converted(source: str) -> tuple[str, list[str]]:
    result = convert_source(source)
    assert result.status is Status.CONVERTED, [(r.line, r.message) for r in result.reasons]
    compile(result.output, "<converted>", "exec")
    assert convert_source(result.output).status is Status.ALREADY_LIGHTNING
    return result.output, [n.message for n in result.notes]


def unwrapped(code: str) -> str:
    """``code`` with the generated statements black-wrapped over several lines put back on one."""
    code = re.sub(r"([({\[])\n\s+", r"\1", code)
    code = re.sub(r",\n\s*([)}\]])", r"\1", code)
    code = re.sub(r"\n\s*([)}\]])", r"\1", code)
    return re.sub(r",\n\s+", ", ", code)


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_wrap_becomes_fsdp_strategy_with_the_scripts_options() -> None:
    out, notes = converted(SCRIPT)
    assert 'strategy=pl.strategies.FSDPStrategy(process_group_backend="nccl", auto_wrap_policy=policy)' in unwrapped(out)
    assert "devices=world_size" in out and 'accelerator="gpu"' in out
    # the optimizer is built after Lightning's wrap, from the module's parameters
    assert "    def configure_optimizers(self):\n        optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)" in out
    for gone in ("FSDP(", "device_id", "torch.cuda.set_device", ".to(rank)", "mp.spawn", "init_process_group", "DistributedSampler(", "set_epoch"):
        assert gone not in out, gone
    assert "policy = functools.partial(size_based_auto_wrap_policy, min_num_params=100)" in out
    assert "if self.global_rank == 0:" in out and "run(2)" in out
    assert any("use_orig_params=True" in n for n in notes), notes


def test_sharding_offload_and_precision_options_pass_through() -> None:
    source = SCRIPT.replace(
        "model = FSDP(model, auto_wrap_policy=policy, device_id=rank)",
        "model = FSDP(model, auto_wrap_policy=policy, sharding_strategy=ShardingStrategy.SHARD_GRAD_OP, "
        "cpu_offload=CPUOffload(offload_params=True), use_orig_params=True, device_id=rank)",
    ).replace("import FullyShardedDataParallel as FSDP", "import CPUOffload, FullyShardedDataParallel as FSDP, ShardingStrategy")
    out, notes = converted(source)
    assert ("FSDPStrategy(process_group_backend=\"nccl\", auto_wrap_policy=policy, sharding_strategy=ShardingStrategy.SHARD_GRAD_OP, "
            "cpu_offload=CPUOffload(offload_params=True), use_orig_params=True)") in unwrapped(out)
    assert "from torch.distributed.fsdp import CPUOffload, ShardingStrategy" in out or "CPUOffload, FullyShardedDataParallel as FSDP, ShardingStrategy" in out
    assert not any("use_orig_params=True (the script" in n for n in notes)


WRAP = "model = FSDP(model, auto_wrap_policy=policy, device_id=rank)"
OPTIMIZER = "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)"


@pytest.mark.parametrize(
    "old, new, at, reason",
    [
        (WRAP, "fully_shard(model)", "fully_shard(model)", "fully_shard (FSDP2): sharded, model-parallel or RPC training"),
        (WRAP, WRAP.replace("device_id=rank", "ignored_modules=[model[0]], device_id=rank"), WRAP[:20], "FullyShardedDataParallel(ignored_modules=...)"),
        (WRAP, WRAP.replace("device_id=rank", "param_init_fn=init, device_id=rank"), WRAP[:20], "FullyShardedDataParallel(param_init_fn=...)"),
        (WRAP, WRAP.replace("device_id=rank", "device_mesh=mesh, device_id=rank"), WRAP[:20], "FullyShardedDataParallel(device_mesh=...)"),
        (WRAP, WRAP.replace("device_id=rank", "use_orig_params=False, device_id=rank"), WRAP[:20], "FullyShardedDataParallel(use_orig_params=False)"),
        (WRAP, "model[0] = FSDP(model[0], device_id=rank)\n    " + WRAP, WRAP[:20], "units wrapped by hand"),
        (WRAP, "model = FSDP(nn.Linear(4, 2), device_id=rank)", "model = FSDP(", "FullyShardedDataParallel wraps an expression"),
        ('dist.init_process_group("nccl"', 'dist.init_process_group("gloo"', "init_process_group", "Lightning's FSDPStrategy runs only on GPUs"),
        (WRAP + "\n    " + OPTIMIZER, OPTIMIZER + "\n    " + WRAP, OPTIMIZER, "is built before the FullyShardedDataParallel wrap"),
        (OPTIMIZER, "optimizer = torch.optim.Adam(model[0].parameters(), lr=0.01)", "optimizer = ", "the optimizer is not built from model.parameters()"),
        (OPTIMIZER, "optimizer = torch.optim.Adafactor(model.parameters(), lr=0.01)", "optimizer = ", "torch.optim.Adafactor under FullyShardedDataParallel"),
        ("    dist.destroy_process_group()", '    torch.save(model.state_dict(), "model.pt")\n    dist.destroy_process_group()', "torch.save(", "the FSDP-sharded model `model` is used after training"),
        ("            optimizer.step()", "            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n            optimizer.step()", WRAP[:20], "Trainer(gradient_clip_val=...)"),
        ("            optimizer.step()", "            model.clip_grad_norm_(1.0)\n            optimizer.step()", "model.clip_grad_norm_", "clipping over the shards"),
        ("    dist.destroy_process_group()", "    with FSDP.state_dict_type(model, StateDictType.FULL_STATE_DICT):\n        state = model.state_dict()\n    dist.destroy_process_group()",
         "FSDP.state_dict_type", "FSDP.state_dict_type (sharded/full state-dict checkpointing)"),
        ("    dist.destroy_process_group()", "    config = FullStateDictConfig(offload_to_cpu=True, rank0_only=True)\n    dist.destroy_process_group()",
         "FullStateDictConfig(", "FullStateDictConfig (full state-dict checkpointing)"),
        ("for epoch in range(2):", "for epoch in range(1, 3):", "sampler.set_epoch", "the epoch counts from 1, Lightning's sampler is set to the epoch counted from 0"),
    ],
    ids=["fully_shard", "ignored_modules", "param_init_fn", "device_mesh", "use_orig_params-false",
         "two-wraps", "wrapped-expression", "gloo", "optimizer-before-wrap", "submodule-parameters",
         "non-elementwise-optimizer", "model-after-training", "clipping", "fsdp-clip-method", "state_dict_type",
         "full-state-dict-config", "set-epoch-from-one"],
)
def test_what_does_not_map_is_refused_at_its_line(old: str, new: str, at: str, reason: str) -> None:
    assert old in SCRIPT
    source = SCRIPT.replace(old, new)
    if "fully_shard(" in new:
        source = source.replace("import FullyShardedDataParallel as FSDP", "import FullyShardedDataParallel as FSDP, fully_shard")
    if "FullStateDictConfig" in new:
        source = source.replace("import FullyShardedDataParallel as FSDP", "import FullStateDictConfig, FullyShardedDataParallel as FSDP")
    if "StateDictType" in new:
        source = source.replace("import FullyShardedDataParallel as FSDP", "import FullyShardedDataParallel as FSDP, StateDictType")
    result = convert_source(source)
    assert result.status is Status.NOT_CONVERTIBLE, result.output
    assert reason in result.reasons[0].message, result.reasons[0].message
    assert result.reasons[0].line == line_of(source, at), (result.reasons[0].line, result.reasons[0].message)
