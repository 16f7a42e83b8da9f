"""Hand-written distributed training: refused, with the Trainer arguments that replace it."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import DISTRIBUTED_CALLS
from ..idiom import Example, Idiom
from ..script import Script, Unsupported


class DistributedTraining(Idiom):
    """Hand-written multi-process training (``init_process_group``, ``DistributedDataParallel``,
    ``DistributedSampler``, ``torch.multiprocessing.spawn``).

    ## Becomes

    Nothing: the script is left alone, with the line of the first distributed call.

    ## Refuses

    Always. Convert the single-process version of the script and run it with
    ``Trainer(devices=N, strategy="ddp")``.

    ## Why

    One Lightning process starts the others itself, builds the sampler and syncs the gradients;
    the script's own process group, wrapper and sampler would do it a second time. Removing them
    is not a local edit (ranks, ``set_epoch``, rank-0 printing and saving all depend on them).
    """

    name = "distributed-training"
    title = "init_process_group / DistributedDataParallel / DistributedSampler → refused: Trainer(devices=N, strategy=\"ddp\")"
    fixtures = ("ddp_boilerplate",)
    examples = (
        Example(
            setup="""
            import torch.distributed as dist

            dist.init_process_group("gloo")
            """,
            refused="hand-written distributed training (torch.distributed.init_process_group)",
        ),
    )
    order = 10

    def refuse(self, script: Script) -> None:
        class _Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                name = script.qualified_call(node)
                if name in DISTRIBUTED_CALLS:
                    raise Unsupported(
                        script.line(node),
                        f"hand-written distributed training ({DISTRIBUTED_CALLS[name]}); convert the single-process "
                        "version of the script and run it with Trainer(devices=N, strategy=\"ddp\"), which starts the "
                        "processes, the sampler and the gradient sync itself",
                    )

        script.module.visit(_Calls())
