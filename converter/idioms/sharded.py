"""Hand-written FullyShardedDataParallel training → ``Trainer(strategy=FSDPStrategy(...), devices=N)``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import FSDP_STRATEGY_CLASS, FSDP_UNMAPPED
from ..distributed import DistributedFacts, Wrap
from ..idiom import Example, Idiom
from ..plan import Plan
from ..script import Script, Unsupported
from ..tree import code_of, contains

#: Trainer arguments whose meaning changes under FSDPStrategy (its precision plugin, its
#: clipping over shards, its no_sync accumulation): the script computed something else
_CHANGED_BY_SHARDING = {
    "precision": "Lightning's FSDP precision casts through FSDP's MixedPrecision, not torch.autocast",
    "gradient_clip_val": "the script clipped the local shards' gradients; Lightning's FSDP clipping computes a norm over all shards",
    "gradient_clip_algorithm": "the script clipped the local shards' gradients; Lightning's FSDP clipping computes a norm over all shards",
    "accumulate_grad_batches": "Lightning accumulates under FSDP's no_sync (unsharded gradients, reduced once), the script reduce-scattered every backward",
}
#: the parameter queries an optimizer is built from
_PARAMETER_CALLS = ("parameters", "named_parameters")
#: torch.optim optimizers whose update of an element reads only that element's gradient and
#: state: they step flat shards (use_orig_params=False) and each parameter's shard (True) alike
ELEMENTWISE_OPTIMIZERS = frozenset(
    f"torch.optim.{name}" for name in ("SGD", "Adam", "AdamW", "Adadelta", "Adagrad", "Adamax", "ASGD", "NAdam", "RAdam", "RMSprop", "Rprop")
)


class FullyShardedDataParallelTraining(Idiom):
    """One ``FullyShardedDataParallel`` wrap (FSDP1) in a script that launches its processes as
    the idiom ``distributed-training`` converts (``mp.spawn`` or ``torchrun``, ``init_process_group``,
    ``DistributedSampler``): ``model = FSDP(model, auto_wrap_policy=policy, device_id=device)``.

    ## Becomes

    ``Trainer(strategy=pl.strategies.FSDPStrategy(...), devices=N)``, with ``devices``/``num_nodes``
    read where the script read its world size, as under DDP. ``FSDPStrategy`` gets the wrap's
    own options (``auto_wrap_policy``, ``sharding_strategy``, ``mixed_precision``, ``cpu_offload``,
    ``backward_prefetch``, ``forward_prefetch``, ``limit_all_gathers``, ``sync_module_states``,
    ``use_orig_params=True``) and the backend (``process_group_backend=``). The wrap goes, its
    ``device_id=`` and the model's ``.to(rank)`` with it (Lightning places the module). The
    optimizer is built in ``configure_optimizers`` from ``self.model.parameters()``, after
    Lightning's wrap, as the script built it after its own. Launch, process group, sampler,
    ``torch.cuda.set_device`` and rank guards go as under DDP. Lightning's ``use_orig_params=True``
    stays where the script left torch's default (False), with a note.

    ## Refuses

    FSDP2 (``fully_shard``), several wraps by hand (nested units, ``wrap``/``enable_wrap``, DDP
    and FSDP together), a wrap of an expression, the options ``ignored_modules``,
    ``ignored_states``, ``param_init_fn``, ``device_mesh``, ``process_group``,
    ``use_orig_params=False`` written out (Lightning's checkpoint of the optimizer fails over
    flat parameters) and any other one FSDPStrategy does not pass on, sharded or full state-dict
    checkpointing (``FSDP.state_dict_type``, ``FullStateDictConfig``, ``FSDP.optim_state_dict``,
    ``torch.distributed.checkpoint``), ``FSDP.summon_full_params``, ``FSDP.clip_grad_norm_``, the
    ``gloo`` backend written as such (Lightning's FSDPStrategy runs only on GPUs), an optimizer
    built before the wrap, from another model's or a submodule's parameters, one that does not
    update element by element (its per-tensor statistics would span other tensors) or one that
    cannot move into ``configure_optimizers``, the sharded model read after training, and
    gradient clipping, mixed precision or gradient accumulation alongside it. Each refusal names
    the line and the construct.

    ## Why

    Lightning's FSDPStrategy wraps the LightningModule in ``FullyShardedDataParallel`` with the
    options it is given, before ``configure_optimizers`` runs, on the rank's device: with the
    script's policy the same units are sharded (the LightningModule's root unit holds what the
    script's root unit held), the gradients are reduce-scattered the same, element by element.
    ``use_orig_params=True`` pads each parameter in the flat shards and hands the optimizer each
    parameter's shard, where the script's optimizer had the flat shards: an optimizer that updates
    element by element (torch.optim's SGD, Adam, AdamW, Adadelta, ...) computes the same numbers.
    Lightning's other defaults are torch's (``FULL_SHARD``, no CPU offload, no mixed precision).
    What reads the sharded state itself (checkpointing, full parameters) has no Lightning
    counterpart that computes the same. Measured: fixtures/fsdp_spawn is bitwise equal rank by
    rank on 2 CPU processes (docs/parity.md).
    """

    name = "fsdp-training"
    title = "mp.spawn / torchrun + FullyShardedDataParallel(model, auto_wrap_policy=...) → Trainer(strategy=FSDPStrategy(...), devices=N)"
    fixtures = ("fsdp_spawn",)
    examples = (
        Example(
            before="""
            import functools

            import torch.distributed as dist
            import torch.multiprocessing as mp
            from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
            from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy


            def run(rank, world_size):
                dist.init_process_group("nccl", rank=rank, world_size=world_size)
                policy = functools.partial(size_based_auto_wrap_policy, min_num_params=100)
                net = nn.Linear(4, 2).to(rank)
                net = FSDP(net, auto_wrap_policy=policy, device_id=rank)
                opt = torch.optim.SGD(net.parameters(), lr=0.1)
                for x, y in loader:
                    opt.zero_grad()
                    F.cross_entropy(net(x), y).backward()
                    opt.step()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            after=('strategy=pl.strategies.FSDPStrategy(process_group_backend="nccl", auto_wrap_policy=policy)',
                   "devices=world_size", "torch.optim.SGD(self.net.parameters(), lr=0.1)", "run(2)"),
            absent=("FSDP(", "device_id", "mp.spawn", "init_process_group"),
        ),
        Example(
            before="""
            import torch.distributed as dist
            import torch.multiprocessing as mp
            from torch.distributed.fsdp import FullyShardedDataParallel as FSDP


            def run(rank, world_size):
                dist.init_process_group("nccl", rank=rank, world_size=world_size)
                net = FSDP(nn.Linear(4, 2), device_id=rank)
                opt = torch.optim.SGD(net.parameters(), lr=0.1)
                for x, y in loader:
                    opt.zero_grad()
                    F.cross_entropy(net(x), y).backward()
                    opt.step()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            refused="FullyShardedDataParallel wraps an expression, not a model variable",
        ),
        Example(
            before="""
            import torch.distributed as dist
            import torch.multiprocessing as mp
            from torch.distributed.fsdp import FullyShardedDataParallel as FSDP


            def run(rank, world_size):
                dist.init_process_group("nccl", rank=rank, world_size=world_size)
                net = nn.Linear(4, 2)
                net = FSDP(net, ignored_modules=[net], device_id=rank)
                opt = torch.optim.SGD(net.parameters(), lr=0.1)
                for x, y in loader:
                    opt.zero_grad()
                    F.cross_entropy(net(x), y).backward()
                    opt.step()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            refused="FullyShardedDataParallel(ignored_modules=...)",
        ),
        Example(
            before="""
            import torch.distributed as dist
            import torch.multiprocessing as mp
            from torch.distributed.fsdp import FullyShardedDataParallel as FSDP


            def run(rank, world_size):
                dist.init_process_group("gloo", rank=rank, world_size=world_size)
                net = nn.Linear(4, 2)
                net = FSDP(net, device_id=torch.device("cpu"))
                opt = torch.optim.SGD(net.parameters(), lr=0.1)
                for x, y in loader:
                    opt.zero_grad()
                    F.cross_entropy(net(x), y).backward()
                    opt.step()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            refused="Lightning's FSDPStrategy runs only on GPUs",
        ),
    )
    order = 58  # after distributed-training (57), whose strategy it replaces
    rewrite_order = 31

    def refuse(self, script: Script) -> None:
        class _Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                name = script.qualified_call(node)
                if name in FSDP_UNMAPPED:
                    raise Unsupported(
                        script.line(node),
                        f"{FSDP_UNMAPPED[name]}: reads or writes FSDP's sharded state itself, which Lightning's "
                        "FSDPStrategy keeps to itself (its checkpoints are its own); not converted",
                    )
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "clip_grad_norm_" and name not in FSDP_UNMAPPED \
                        and name is not None and not name.startswith("torch.nn.utils"):
                    if _uses_fsdp(script):
                        raise Unsupported(script.line(node), f"{code_of(node.func)}(...): FSDP's clipping over the shards, which the converter does not map")

        script.module.visit(_Calls())

    def contribute(self, plan: Plan) -> None:
        dist = plan.facts.distributed
        wrap = _sharded_wrap(dist)
        if wrap is None:
            return
        script = plan.facts.script
        if _literal(dist.setup.backend) == "gloo":
            raise Unsupported(
                script.line(dist.setup.init),
                "FullyShardedDataParallel on the gloo backend: the script shards on CPUs, and Lightning's FSDPStrategy runs "
                "only on GPUs (it refuses accelerator=\"cpu\")",
            )
        self._check_optimizers(plan, wrap)
        self._check_reads_after_training(plan, wrap)
        options = dict([("process_group_backend", dist.setup.backend)] if dist.setup.backend is not None else [])
        options.update(wrap.options)
        if options.get("use_orig_params", "True") != "True":
            raise Unsupported(
                script.line(wrap.statement),
                f"FullyShardedDataParallel(use_orig_params={options['use_orig_params']}): Lightning's FSDPStrategy saves "
                "the optimizer state of its checkpoints by parameter name, which fails over flat parameters (torch raises "
                "\"Each parameter should only map to one parameter name\"); only use_orig_params=True or torch's default "
                "is converted",
            )
        if "use_orig_params" not in options:
            plan.note(script.line(wrap.statement), "FSDPStrategy keeps Lightning's use_orig_params=True (the script's FSDP had torch's False): "
                      "the optimizer steps each parameter's shard instead of the flat shards, element for element the same")
        namespace = "pl.strategies" if plan.alias == "pl" else f"{plan.alias}.pytorch.strategies"
        rendered = ", ".join(f"{k}={v}" for k, v in options.items())
        plan.set_trainer_argument("strategy", f"{namespace}.{FSDP_STRATEGY_CLASS}({rendered})")
        plan.remove(wrap.statement, "removed the FullyShardedDataParallel wrap (FSDPStrategy wraps the LightningModule with the same options)")
        if dist.setup.backend is None or _literal(dist.setup.backend) != "nccl":
            plan.note(script.line(wrap.statement), "Lightning's FSDPStrategy runs only on GPUs: on a machine without one the Trainer refuses it")

    def construct(self, plan: Plan) -> None:
        dist = plan.facts.distributed
        wrap = _sharded_wrap(dist)
        if wrap is None:
            return
        script = plan.facts.script
        for argument in plan.trainer_args:
            if argument.keyword in _CHANGED_BY_SHARDING:
                raise Unsupported(script.line(wrap.statement), f"FullyShardedDataParallel with Trainer({argument.keyword}=...): {_CHANGED_BY_SHARDING[argument.keyword]}")
        if not plan.optimizer_setup:
            first = plan.facts.optimizers[0].assign if plan.facts.optimizers else wrap.statement
            raise Unsupported(
                script.line(first),
                "under FullyShardedDataParallel the optimizer must be built from the sharded parameters, after the wrap: "
                "Lightning wraps before configure_optimizers, but this optimizer cannot move there (something else reads "
                "it, it is built in a condition, or a name it reads changes before training)",
            )

    def _check_optimizers(self, plan: Plan, wrap: Wrap) -> None:
        script = plan.facts.script
        wrap_line = script.line(wrap.statement)
        for optimizer in plan.facts.optimizers:
            line = script.line(optimizer.call)
            if line < wrap_line:
                raise Unsupported(line, f"the optimizer `{optimizer.name}` is built before the FullyShardedDataParallel wrap (line {wrap_line}): it would step parameters FSDP replaces")
            if optimizer.qualname not in ELEMENTWISE_OPTIMIZERS:
                raise Unsupported(
                    line,
                    f"{optimizer.qualname} under FullyShardedDataParallel: Lightning's FSDPStrategy (use_orig_params=True) "
                    "steps each parameter's shard, the script's FSDP the flat shards; only optimizers that update element by "
                    "element (torch.optim's SGD, Adam, AdamW, Adadelta, ...) compute the same on both",
                )
            receivers = _parameter_receivers(optimizer.call)
            if not receivers or any(r != wrap.target for r in receivers):
                read = ", ".join(f"{r}.parameters()" for r in receivers) or code_of(optimizer.call)
                raise Unsupported(line, f"the optimizer `{optimizer.name}` is built from {read}, not from `{wrap.target}.parameters()` of the FullyShardedDataParallel wrap: FSDPStrategy's flat parameters would not match")

    def _check_reads_after_training(self, plan: Plan, wrap: Wrap) -> None:
        facts = plan.facts
        names = {wrap.target, wrap.model}
        after = False
        for stmt in facts.scope_statements():
            if stmt is facts.region:
                after = True
                continue
            if after and not plan.is_removed(stmt) and contains(stmt, lambda n: isinstance(n, cst.Name) and n.value in names):
                raise Unsupported(
                    facts.script.line(stmt),
                    f"the FSDP-sharded model `{wrap.target}` is used after training: under FSDPStrategy its parameters stay "
                    "sharded inside the Trainer's module after fit (save or evaluate it in a LightningModule hook)",
                )


def _sharded_wrap(dist: DistributedFacts | None) -> Wrap | None:
    if dist is None:
        return None
    return next((w for w in dist.wraps if w.sharded), None)


def _uses_fsdp(script: Script) -> bool:
    return "FullyShardedDataParallel" in script.module.code


def _parameter_receivers(call: cst.Call) -> list[str]:
    """``model`` of every ``model.parameters()`` in an optimizer's construction."""
    found: list[str] = []

    class _Visit(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in _PARAMETER_CALLS:
                found.append(code_of(node.func.value))

    call.visit(_Visit())
    return found


def _literal(code: str | None) -> str | None:
    if code is None:
        return None
    try:
        node = cst.parse_expression(code)
    except cst.ParserSyntaxError:
        return None
    return node.evaluated_value if isinstance(node, cst.SimpleString) else None
