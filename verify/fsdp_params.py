"""The final parameters of an FSDP run, whole: what a rank's record hashes when the model is
sharded by ``FullyShardedDataParallel``.

A rank's optimizer holds only its shard, and how the elements are laid out in the shards
depends on FSDP's flat-parameter layout: ``use_orig_params=True`` (Lightning's default) pads every
original parameter to an aligned address, ``use_orig_params=False`` (torch's default, the
scripts') does not, so the same trained numbers sit in other shards. The record therefore hashes
the full parameters, gathered by ``FullyShardedDataParallel.summon_full_params`` (a collective:
every rank does it at the same point), in module order, without FSDP's flat parameters: equal
across layouts, and across ranks. It runs when the process group is torn down
(``destroy_process_group``: the script's ``cleanup()``, Lightning's exit handler), while the
group still exists; :class:`~.ranks.RankWriter` calls it.
"""

from __future__ import annotations

import gc
import hashlib
import math
import sys
import warnings


def fsdp_roots() -> list:
    """The root ``FullyShardedDataParallel`` modules alive in this process (none when FSDP was
    never imported), in creation order."""
    module = sys.modules.get("torch.distributed.fsdp")
    if module is None:
        return []
    fsdp = module.FullyShardedDataParallel
    with warnings.catch_warnings():  # isinstance on some of torch's lazy modules warns
        warnings.simplefilter("ignore")
        instances = [o for o in gc.get_objects() if isinstance(o, fsdp)]
    nested = {id(m) for o in instances for m in o.modules() if m is not o and isinstance(m, fsdp)}
    return [o for o in instances if id(o) not in nested]


def digest_full_parameters(record, roots: list) -> bool:
    """Hash the full parameters of ``roots`` into ``record`` (``final_params_sha256``,
    ``param_tensors``, ``param_count``, ``params_l2``, ``device``); False when there is nothing
    to hash."""
    import torch
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.fsdp._flat_param import FlatParameter

    digest = hashlib.sha256()
    squares = 0.0
    count = tensors = 0
    device = None
    for root in roots:
        with FullyShardedDataParallel.summon_full_params(root, writeback=False, recurse=True):
            seen: set[int] = set()
            for param in root.parameters():
                if isinstance(param, FlatParameter) or id(param) in seen:
                    continue
                seen.add(id(param))
                data = param.detach().to("cpu", copy=True).contiguous()  # FSDP frees the gathered storage after
                digest.update(f"{data.dtype}{tuple(data.shape)}".encode())
                digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
                squares += float(data.double().pow(2).sum())
                count += data.numel()
                tensors += 1
                device = device or str(param.device)
                del data
    if not tensors:
        return False
    record.final_params_sha256 = digest.hexdigest()
    record.param_tensors, record.param_count, record.params_l2 = tensors, count, math.sqrt(squares)
    record.device = device
    return True
