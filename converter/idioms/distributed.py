"""Hand-written DistributedDataParallel training → ``Trainer(strategy="ddp", devices=N)``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import DISTRIBUTED_UNMAPPED, PROCESS_CLASSES, RANK_QUERIES
from ..distributed import DistributedFacts, SamplerUse, calls_of, environment_key
from ..idiom import Example, Idiom
from ..names import param_names
from ..planner import names_read_now
from ..plan import HookSource, NotePlace, Plan, Replacement, Rewrite
from ..script import Script, Unsupported
from ..transforms import apply, expr, statement_like, substitute_names
from ..tree import code_of, contains, expr_call

#: DistributedSampler's defaults, which Lightning's own sampler (``use_distributed_sampler``) has too
_SAMPLER_DEFAULTS = {"shuffle": "True", "seed": "0", "drop_last": "False"}
#: what the torch.distributed backend says about the accelerator
_BACKEND_ACCELERATOR = {"gloo": '"cpu"', "nccl": '"gpu"'}


class DistributedDataParallelTraining(Idiom):
    """Hand-written multi-process training: ``torch.multiprocessing.spawn`` or a launcher
    (``torchrun``) reading ``RANK``/``LOCAL_RANK``/``WORLD_SIZE``, ``init_process_group``,
    ``DistributedDataParallel(model, ...)``, ``DistributedSampler`` with ``set_epoch``, rank
    guards.

    ## Becomes

    ``Trainer(strategy="ddp", devices=N)`` (``num_nodes=M`` when torchrun numbered several
    nodes), ``devices`` read where the script read its world size (``mp.spawn``'s ``nprocs``,
    ``init_process_group(world_size=...)``, ``WORLD_SIZE``); ``DDPStrategy(...)`` carries the
    wrap's options (``find_unused_parameters``, ``bucket_cap_mb``...) and the backend
    (``process_group_backend="gloo"``, which also chooses ``accelerator="cpu"``). The launch
    (``mp.spawn(run, ...)`` becomes ``run(...)`` without the rank), the process group's set-up and
    teardown, ``MASTER_ADDR``/``MASTER_PORT`` writes, ``torch.cuda.set_device``, the DDP wrap,
    the ``DistributedSampler`` (Lightning puts the same one in: shuffled, seed 0) and its
    ``set_epoch`` go. In hooks the rank is ``self.global_rank`` (``self.local_rank``), the world
    size ``self.trainer.world_size``, ``dist.barrier()`` ``self.trainer.strategy.barrier()``;
    after ``fit`` the rank is ``trainer.global_rank``. Collectives in hooks (``dist.all_reduce`` of
    epoch sums) stay, with a note. The script's own seeding stays as it is (never
    ``seed_everything``).

    ## Refuses

    Sharding and model parallelism other than one ``FullyShardedDataParallel`` wrap (idiom
    ``fsdp-training``): ``fully_shard``, device meshes, pipelines, ZeRO, RPC,
    processes started one by one, a training not in the spawned function, a process group set up
    with a store or a hand-computed rank, DDP options Lightning has no place for, a sampler whose
    order Lightning's would not reproduce (another seed, ``shuffle=False``, ``drop_last=True``),
    the rank read before the Trainer exists (with ``mp.spawn``, or through ``dist.get_rank()``;
    a rank torchrun put in the environment is the process's own before ``fit`` too, and such a
    read stays: resuming from ``snapshot_{LOCAL_RANK}``, ``map_location=f"cuda:{local_rank}"``).
    Each refusal names the line and the construct.

    ## Why

    Lightning launches the processes, sets the group up, wraps the module in DDP with the same
    gradient averaging and gives each rank the same ``DistributedSampler`` (seed 0, the epoch
    number each epoch): with the script's own seeding kept, every rank trains on the same batches
    with the same numbers. A second process group, wrap or sampler of the script's own would
    double them.
    """

    name = "distributed-training"
    title = 'mp.spawn / torchrun + init_process_group + DDP + DistributedSampler → Trainer(strategy="ddp", devices=N)'
    fixtures = ("ddp_spawn", "ddp_torchrun", "ddp_rank0_checkpoint")
    examples = (
        Example(
            before="""
            import torch.distributed as dist
            import torch.multiprocessing as mp
            from torch.nn.parallel import DistributedDataParallel as DDP
            from torch.utils.data.distributed import DistributedSampler


            def run(rank, world_size):
                dist.init_process_group("gloo", rank=rank, world_size=world_size)
                ds = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
                sampler = DistributedSampler(ds, num_replicas=world_size, rank=rank)
                loader = DataLoader(ds, batch_size=16, sampler=sampler)
                net = nn.Linear(4, 2)
                ddp_net = DDP(net)
                opt = torch.optim.SGD(ddp_net.parameters(), lr=0.1)
                for epoch in range(2):
                    sampler.set_epoch(epoch)
                    for x, y in loader:
                        opt.zero_grad()
                        loss = F.cross_entropy(ddp_net(x), y)
                        loss.backward()
                        opt.step()
                        if rank == 0:
                            print(loss.item())
                dist.destroy_process_group()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            after=('strategy=pl.strategies.DDPStrategy(process_group_backend="gloo")', "devices=world_size",
                   'accelerator="cpu"', "if self.global_rank == 0:", "run(2)", "def run(world_size):"),
            absent=("mp.spawn", "init_process_group", "DDP(", "set_epoch", "DistributedSampler(", "destroy_process_group"),
        ),
        Example(
            before="""
            import os

            import torch.distributed as dist
            from torch.nn.parallel import DistributedDataParallel
            from torch.utils.data.distributed import DistributedSampler

            local_rank = int(os.environ["LOCAL_RANK"])
            dist.init_process_group(backend="nccl")
            ds = TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
            sampler = DistributedSampler(ds, seed=42)
            train_loader = DataLoader(ds, batch_size=16, sampler=sampler)
            model = DistributedDataParallel(model, device_ids=[local_rank], find_unused_parameters=True)
            for x, y in train_loader:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
            """,
            refused="DistributedSampler(seed=42): Lightning's sampler has seed=0",
        ),
        Example(
            before="""
            import random

            import numpy as np
            import torch.distributed as dist
            import torch.multiprocessing as mp


            def run(rank, world_size):
                dist.init_process_group("gloo", rank=rank, world_size=world_size)
                random.seed(0)
                np.random.seed(0)
                torch.manual_seed(0)
                for x, y in loader:
                    optimizer.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    optimizer.step()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            after=("torch.manual_seed(0)", "np.random.seed(0)", "devices=world_size"),
            absent=("seed_everything",),
        ),
        Example(
            before="""
            import os

            import torch.distributed as dist
            from torch.nn.parallel import DistributedDataParallel

            local_rank = int(os.environ["LOCAL_RANK"])
            dist.init_process_group(backend="nccl")
            model = DistributedDataParallel(model, device_ids=[local_rank], find_unused_parameters=True)
            for x, y in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
                if local_rank == 0:
                    print(x.shape)
            """,
            after=('strategy=pl.strategies.DDPStrategy(process_group_backend="nccl", find_unused_parameters=True)',
                   'accelerator="gpu"', 'devices=int(os.environ["LOCAL_WORLD_SIZE"])', 'num_nodes=int(os.environ["WORLD_SIZE"]) // int(os.environ["LOCAL_WORLD_SIZE"])', "if self.local_rank == 0:"),
            absent=("init_process_group", "DistributedDataParallel(", 'os.environ["LOCAL_RANK"]'),
        ),
        Example(
            before="""
            import os

            import torch.distributed as dist
            from torch.nn.parallel import DistributedDataParallel

            local_rank = int(os.environ["LOCAL_RANK"])
            dist.init_process_group(backend="nccl")
            if os.path.exists("snapshot.pt"):
                model.load_state_dict(torch.load("snapshot.pt", map_location=f"cuda:{local_rank}"))
            model = DistributedDataParallel(model, device_ids=[local_rank])
            for x, y in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
            """,
            after=('local_rank = int(os.environ["LOCAL_RANK"])', 'map_location=f"cuda:{local_rank}"', "strategy="),
            absent=("init_process_group", "DistributedDataParallel("),
        ),
        Example(
            before="""
            import torch.distributed as dist
            import torch.multiprocessing as mp


            def run(rank, world_size):
                dist.init_process_group("gloo", rank=rank, world_size=world_size)
                torch.manual_seed(rank)
                for x, y in loader:
                    optimizer.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    optimizer.step()


            if __name__ == "__main__":
                mp.spawn(run, args=(2,), nprocs=2)
            """,
            refused="the rank is read before the training starts",
        ),
        Example(
            before="""
            from torch.distributed.fsdp import fully_shard

            fully_shard(model)
            for x, y in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
            """,
            refused="fully_shard (FSDP2)",
        ),
    )
    order = 57  # after devices (55): the strategy chooses the devices
    rewrite_order = 30

    # --- refusing what no strategy maps -----------------------------------------------------------
    def refuse(self, script: Script) -> None:
        class _Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                name = script.qualified_call(node)
                if name in DISTRIBUTED_UNMAPPED:
                    raise Unsupported(
                        script.line(node),
                        f"{DISTRIBUTED_UNMAPPED[name]}: sharded, model-parallel or RPC training, which the converter does "
                        "not map onto a Lightning strategy (only DistributedDataParallel becomes strategy=\"ddp\" and one "
                        "FullyShardedDataParallel(model, ...) wrap FSDPStrategy(...))",
                    )
                if name in PROCESS_CLASSES:
                    raise Unsupported(script.line(node), f"{name}(...): processes started one by one; Lightning's launcher starts one per device itself")

        script.module.visit(_Calls())

    # --- hooks ---------------------------------------------------------------------------------------
    def prepare(self, plan: Plan) -> None:
        dist = plan.facts.distributed
        if dist is None:
            return
        for name in dist.rank_names:
            plan.module_attributes[name] = "self.global_rank"
        for name in dist.local_rank_names:
            plan.module_attributes[name] = "self.local_rank"
        models = set(plan.facts.model_names)
        for wrap in dist.wraps:
            if wrap.target not in models:
                plan.module_attributes[wrap.target] = f"self.{wrap.model}"
        train_loader = code_of(plan.facts.train.loader)
        for use in dist.samplers:
            # the loader's length and batches in hooks: the one Lightning gave its sampler
            for stmt, call in _loaders_taking(plan.facts.script, use.name or ""):
                for target in _targets(stmt):
                    if target == train_loader:
                        plan.module_attributes[target] = "self.trainer.train_dataloader"
            if use.name is None and isinstance(plan.facts.train.loader, cst.Name):
                # `sampler=DistributedSampler(...)` inline in a loader a helper builds: the training
                # loader is the one whose sampler Lightning replaces
                plan.module_attributes[train_loader] = "self.trainer.train_dataloader"

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        dist = plan.facts.distributed
        if dist is None:
            return statements
        samplers = {use.name for use in dist.samplers if use.name}
        if dist.samplers:  # `loader.sampler.set_epoch(epoch)`: the training loader's is Lightning's
            samplers.add(f"{code_of(plan.facts.train.loader)}.sampler")
        statements = [s for s in statements if _set_epoch_receiver(s) not in samplers]
        statements = apply(_Unwrap({w.target: w.model for w in dist.wraps}), statements)
        return apply(_RankQueries(plan.facts.script, "self"), statements)

    # --- the script around the loop ------------------------------------------------------------------
    def contribute(self, plan: Plan) -> None:
        dist = plan.facts.distributed
        if dist is None:
            return
        script = plan.facts.script
        strategy_options = dict(_backend_option(dist))
        for wrap in dist.wraps:
            if wrap.sharded:
                continue  # idiom fsdp-training: FSDPStrategy
            for keyword, code in wrap.options:
                strategy_options[keyword] = code
            plan.remove(wrap.statement, "removed the DistributedDataParallel wrap (strategy=\"ddp\" wraps the module)")
        if strategy_options:
            namespace = "pl.strategies" if plan.alias == "pl" else f"{plan.alias}.pytorch.strategies"
            strategy = f"{namespace}.DDPStrategy({', '.join(f'{k}={v}' for k, v in strategy_options.items())})"
        else:
            strategy = '"ddp"'
        plan.set_trainer_argument("strategy", strategy)
        plan.set_trainer_argument("devices", dist.devices)
        if dist.num_nodes is not None:
            plan.set_trainer_argument("num_nodes", dist.num_nodes)
        accelerator = _BACKEND_ACCELERATOR.get(_literal(dist.setup.backend))
        if accelerator is not None:
            plan.set_trainer_argument("accelerator", accelerator)
            # the backend settles what the device choice left open
            plan.notes = [n for n in plan.notes if not (n.place is NotePlace.TRAINER and "accelerator" in n.message)]
        if dist.uses_os and "os" not in {a for a in _imported_names(script)}:
            plan.imports.append("import os")
        for call in calls_of(script, plan.facts.region, _COLLECTIVES):
            plan.note(
                script.line(call),
                f"{code_of(call.func)}(...) kept: it runs on Lightning's process group and sums what the script summed "
                "(self.log(..., sync_dist=True) would average per-step values instead)",
            )
        for line, message in dist.notes:
            plan.note(line, message, NotePlace.TRAINER)

        plan.remove(dist.setup.statement, "removed the process group's set-up (the Trainer's strategy sets it up)")
        for stmt in dist.plumbing:
            if not plan.is_removed(stmt):
                plan.remove(stmt, "removed process-group plumbing (Lightning's launcher does it)")
        _check_set_epoch(plan, dist)
        for stmt in dist.set_epoch_calls:
            if not _in_region(plan, stmt) and not plan.is_removed(stmt):
                plan.remove(stmt, "removed sampler.set_epoch (Lightning calls it every epoch)")
        for helper in dist.helpers:  # their calls went with the plumbing
            plan.remove(helper, f"removed {helper.name.value}() (process-group plumbing)")
        self._samplers(plan, dist)
        self._wrapped_names(plan, dist)
        self._launch(plan, dist)
        self._ranks_outside(plan, dist)

    def _samplers(self, plan: Plan, dist: DistributedFacts) -> None:
        script = plan.facts.script
        for use in dist.samplers:
            _check_sampler(script, use, dist)
            if use.name is None:
                arg = script.parents.parent(use.call)
                if not (isinstance(arg, cst.Arg) and arg.keyword is not None and arg.keyword.value == "sampler" and isinstance(script.parents.parent(arg), cst.Call)):
                    raise Unsupported(script.line(use.call), "DistributedSampler(...) built inline other than as a DataLoader's sampler=; only `sampler = DistributedSampler(...)` or `DataLoader(..., sampler=DistributedSampler(...))` is converted")
                plan.rewrites.append(Rewrite(use.statement, _without_sampler_argument(code_of(use.call))))
                plan.change(use.statement, "DataLoader: sampler=DistributedSampler(...) removed (Lightning's DistributedSampler takes its place: shuffled, seed 0)")
                loader = script.parents.parent(arg)
                if any(a.keyword is not None and a.keyword.value == "shuffle" and code_of(a.value) == "False" for a in loader.args):
                    plan.note(script.line(loader), "shuffle=False stays in this DataLoader: under strategy=\"ddp\" Lightning's DistributedSampler for the training loader shuffles (seed 0, set_epoch each epoch), as the script's did")
                continue
            loaders = _loaders_taking(script, use.name)
            if not loaders:
                raise Unsupported(script.line(use.call), f"DistributedSampler `{use.name}` is used other than as a DataLoader's sampler=")
            plan.remove(use.statement, "removed the DistributedSampler (Lightning gives each rank the same one: shuffled, seed 0)")
            for stmt, call in loaders:
                plan.rewrites.append(Rewrite(stmt, _without_sampler_argument(use.name)))
                plan.change(stmt, f"DataLoader: sampler={use.name} removed (Lightning's DistributedSampler takes its place)")

    def _wrapped_names(self, plan: Plan, dist: DistributedFacts) -> None:
        """``ddp_model.parameters()`` outside the loop: the model's."""
        wrapped = {w.target: w.model for w in dist.wraps}
        mapping = {target: expr(model) for target, model in wrapped.items() if target != model}
        for stmt in plan.facts.scope_statements():
            if stmt is plan.facts.region or plan.is_removed(stmt) or not _reads(stmt, set(wrapped)):
                continue
            plan.rewrites.append(Rewrite(stmt, lambda node, m=mapping, w=wrapped: substitute_names(node.visit(_Unwrap(w)), m)))
            plan.change(stmt, f"the {'FSDP' if any(w.sharded for w in dist.wraps) else 'DDP'}-wrapped model → the model itself")

    def _launch(self, plan: Plan, dist: DistributedFacts) -> None:
        spawn = dist.spawn
        if spawn is None:
            return
        function = spawn.function
        args = ""
        if spawn.args is not None:
            elements = spawn.args.elements if isinstance(spawn.args, (cst.Tuple, cst.List)) else None
            if elements is None:
                raise Unsupported(plan.facts.script.line(spawn.call), f"mp.spawn(args={code_of(spawn.args)}): the arguments are not a tuple written out")
            args = ", ".join(code_of(e.value) for e in elements)
        call = statement_like(f"{function.name.value}({args})", spawn.statement)
        plan.replacements.append(Replacement(spawn.statement, [call]))
        plan.change(spawn.statement, f"mp.spawn({function.name.value}, ...) → {function.name.value}({args}) (the Trainer starts the processes)")
        rank = param_names(function.params)[0]
        plan.rewrites.append(Rewrite(function, _without_first_parameter))
        plan.change((plan.facts.script.line(function), plan.facts.script.line(function)), f"{function.name.value}(): the rank parameter `{rank}` goes (self.global_rank in hooks)")

    def _ranks_outside(self, plan: Plan, dist: DistributedFacts) -> None:
        """The rank read in the training's function outside the loop: after fit, the Trainer's."""
        facts = plan.facts
        script = facts.script
        names = {n: f"{plan.trainer_name}.global_rank" for n in dist.rank_names}
        names.update({n: f"{plan.trainer_name}.local_rank" for n in dist.local_rank_names})
        region = facts.region
        after = False
        for stmt in facts.scope_statements():
            if stmt is region:
                after = True
                continue
            if plan.is_removed(stmt) or stmt in dist.env_reads or any(stmt is w.statement for w in dist.wraps):
                continue
            if any(stmt is a for a in facts.devices.assigns):
                continue  # the device choice (``cuda:{local_rank}``): the Trainer's devices stand in for it
            if _only_moves_model(plan, stmt, set(names)):
                continue  # ``model = Net().to(rank)``: the move goes (idiom devices), the rank with it
            read = _reads(stmt, set(names)) or contains(stmt, lambda n: isinstance(n, cst.Call) and script.qualified_call(n) in RANK_QUERIES)
            if not read:
                continue
            if not after:
                if dist.spawn is None and _reads(stmt, _environment_names(script, dist)) and not _reads(stmt, set(names) - _environment_names(script, dist)) \
                        and not contains(stmt, lambda n: isinstance(n, cst.Call) and script.qualified_call(n) in RANK_QUERIES):
                    continue  # torchrun set LOCAL_RANK/RANK before the script started: this process's own, before fit too
                raise Unsupported(
                    script.line(stmt),
                    "the rank is read before the training starts (per-rank seeding or data?); with strategy=\"ddp\" it "
                    "exists once the Trainer runs: move that code into the LightningModule's setup() hook",
                )
            mapping = {n: expr(code) for n, code in names.items()}
            trainer = plan.trainer_name
            plan.rewrites.append(Rewrite(stmt, lambda node, m=mapping, t=trainer: apply(_RankQueries(script, None, t), [substitute_names(node, m)])[0]))
            plan.change(stmt, f"the rank after fit → {trainer}.global_rank")

    def prune(self, plan: Plan, still_read: set[str]) -> None:
        dist = plan.facts.distributed
        if dist is None:
            return
        still_read = names_read_now(plan)  # the script as the other idioms' prunes left it
        for stmt in dist.env_reads:
            if plan.is_removed(stmt):
                continue
            targets = _targets(stmt)
            if targets and not (targets & still_read):
                plan.remove(stmt, "removed a read of the launcher's environment that nothing uses now")
        for stmt in plan.facts.script.module.body:
            bound = _distributed_import(stmt)
            if bound and not (bound & still_read) and not plan.is_removed(stmt):
                plan.remove(stmt, "removed an import only the distributed plumbing used")


# --- helpers ---------------------------------------------------------------------------------------


class _Unwrap(cst.CSTTransformer):
    """``ddp_model.module`` → ``model`` (no wrapper now)."""

    def __init__(self, wrapped: dict[str, str]) -> None:
        self.wrapped = wrapped

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if original.attr.value == "module" and isinstance(original.value, cst.Name) and original.value.value in self.wrapped:
            return cst.Name(self.wrapped[original.value.value])
        return updated


class _RankQueries(cst.CSTTransformer):
    """``dist.get_rank()`` → ``self.global_rank``; in the script after fit, ``trainer.global_rank``."""

    def __init__(self, script: Script, module: str | None, trainer: str | None = None) -> None:
        self.script, self.module, self.trainer = script, module, trainer

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = self.script.qualified_call(original)
        if name not in RANK_QUERIES:
            return updated
        if self.module is not None:
            return expr(RANK_QUERIES[name].format(module=self.module))
        return expr(RANK_QUERIES[name].format(module="_").replace("_.trainer", self.trainer).replace("_.", f"{self.trainer}."))


def _environment_names(script: Script, dist: DistributedFacts) -> set[str]:
    """The rank names read from the launcher's environment (``local_rank =
    int(os.environ["LOCAL_RANK"])``, and ``gpu_id = local_rank``)."""
    found: set[str] = set()
    for stmt in dist.env_reads:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if isinstance(small, cst.Assign) and (environment_key(script, small.value) is not None or (isinstance(small.value, cst.Name) and small.value.value in found)):
            found |= _targets(stmt)
    return found


def _only_moves_model(plan: Plan, stmt: cst.BaseStatement, ranks: set[str]) -> bool:
    """Is ``stmt`` a model's construction that reads the rank only in its device move
    (``model = Net().to(rank)``), which the idiom ``devices`` strips?"""
    if not any(model.assign is stmt for model in plan.facts.models):
        return False

    class _Moves(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
            func = updated.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("to", "cuda") and len(updated.args) == 1 \
                    and isinstance(updated.args[0].value, cst.Name) and updated.args[0].value.value in ranks:
                return func.value
            return updated

    return not _reads(stmt.visit(_Moves()), ranks)


def _set_epoch_receiver(stmt: cst.BaseStatement) -> str | None:
    """``sampler`` of ``sampler.set_epoch(epoch)``."""
    call = expr_call(stmt)
    if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "set_epoch":
        return code_of(call.func.value)
    return None


def _in_region(plan: Plan, stmt: cst.CSTNode) -> bool:
    parents = plan.facts.script.parents
    return stmt is plan.facts.region or any(a is plan.facts.region for a in parents.ancestors(stmt))


def _backend_option(dist: DistributedFacts) -> list[tuple[str, str]]:
    return [("process_group_backend", dist.setup.backend)] if dist.setup.backend is not None else []


def _literal(code: str | None) -> str | None:
    if code is None:
        return None
    try:
        node = cst.parse_expression(code)
    except cst.ParserSyntaxError:
        return None
    return node.evaluated_value if isinstance(node, cst.SimpleString) else None


def _check_set_epoch(plan: Plan, dist: DistributedFacts) -> None:
    """``sampler.set_epoch(epoch)`` goes because Lightning calls it with the epoch it counts from
    0: the script's epoch must be that number (``for epoch in range(1, n + 1)`` is one more)."""
    epoch = plan.facts.epoch
    if epoch is None or not isinstance(epoch.start, cst.Integer) or epoch.start.evaluated_value == 0:
        return  # from 0, or from a resumed count (``range(epochs_run, n)``: the epoch Lightning resumes at)
    for stmt in dist.set_epoch_calls:
        call = expr_call(stmt)
        if call is None or not call.args or code_of(call.args[0].value).replace(" ", "") == f"{epoch.var}-{code_of(epoch.start)}":
            continue
        if contains(call.args[0].value, lambda n: isinstance(n, cst.Name) and n.value == epoch.var):
            raise Unsupported(
                plan.facts.script.line(stmt),
                f"{code_of(call)}: the epoch counts from {code_of(epoch.start)}, Lightning's sampler is set to the epoch "
                "counted from 0 (a different shuffle every epoch); count the epochs from 0 or pass `epoch - "
                f"{code_of(epoch.start)}`",
            )


def _check_sampler(script: Script, use: SamplerUse, dist: DistributedFacts) -> None:
    """The script's sampler must give the batches Lightning's gives (``num_replicas`` and ``rank``
    the script's own, torch's defaults otherwise)."""
    line = script.line(use.call)
    for arg in use.call.args[1:]:
        keyword = arg.keyword.value if arg.keyword else None
        value = code_of(arg.value)
        if keyword in _SAMPLER_DEFAULTS:
            if value != _SAMPLER_DEFAULTS[keyword]:
                raise Unsupported(line, f"DistributedSampler({keyword}={value}): Lightning's sampler has {keyword}={_SAMPLER_DEFAULTS[keyword]}; the ranks would train on other batches")
        elif keyword == "rank":
            if not (isinstance(arg.value, cst.Name) and arg.value.value in dist.rank_names) and not _is_rank_query(script, arg.value):
                raise Unsupported(line, f"DistributedSampler(rank={value}): not the process's global rank")
        elif keyword == "num_replicas":
            pass  # the world size: devices * num_nodes
        else:
            raise Unsupported(line, f"DistributedSampler({keyword or value}...): an argument Lightning's sampler does not take")
    if not use.call.args:
        raise Unsupported(line, "DistributedSampler() without a dataset")


def _is_rank_query(script: Script, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and script.qualified_call(node) == "torch.distributed.get_rank" or environment_key(script, node) == "RANK"


def _loaders_taking(script: Script, sampler: str) -> list[tuple[cst.BaseStatement, cst.Call]]:
    found: list[tuple[cst.BaseStatement, cst.Call]] = []

    class _Loaders(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "sampler" and isinstance(arg.value, cst.Name) and arg.value.value == sampler:
                    found.append((script.parents.statement_of(node), node))

    script.module.visit(_Loaders())
    return found


def _without_sampler_argument(sampler: str):
    """Drop ``sampler=<sampler>`` (the code of the argument: a name or an inline call)."""
    def edit(node: cst.CSTNode) -> cst.CSTNode:
        class _Drop(cst.CSTTransformer):
            def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
                args = [a for a in updated.args if not (a.keyword is not None and a.keyword.value == "sampler" and code_of(a.value) == sampler)]
                if len(args) == len(updated.args):
                    return updated
                if args:
                    args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                return updated.with_changes(args=args)

        return node.visit(_Drop())

    return edit


def _without_first_parameter(node: cst.CSTNode) -> cst.CSTNode:
    params = list(node.params.params)[1:]
    if params:
        params[-1] = params[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(params=node.params.with_changes(params=params))


#: collectives kept as they are in hooks (Lightning's process group runs them the same)
_COLLECTIVES = frozenset({"torch.distributed.all_reduce", "torch.distributed.all_gather", "torch.distributed.broadcast",
                          "torch.distributed.reduce", "torch.distributed.all_gather_object", "torch.distributed.broadcast_object_list"})


#: modules whose imports go with the plumbing once nothing reads them
_PLUMBING_MODULES = ("os", "torch.distributed", "torch.multiprocessing", "torch.nn.parallel", "torch.utils.data.distributed")


def _distributed_import(stmt: cst.CSTNode) -> set[str]:
    """The names a module-level import of a distributed module binds (empty: another statement)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return set()
    small = stmt.body[0]
    if isinstance(small, cst.Import):
        modules = [code_of(a.name) for a in small.names]
        bound = {a.asname.name.value if a.asname else code_of(a.name).split(".")[0] for a in small.names}
    elif isinstance(small, cst.ImportFrom) and small.module is not None and not isinstance(small.names, cst.ImportStar):
        modules = [code_of(small.module)]
        bound = {a.asname.name.value if a.asname else code_of(a.name) for a in small.names}
    else:
        return set()
    if all(any(m == p or m.startswith(p + ".") for p in _PLUMBING_MODULES) for m in modules):
        return bound
    return set()


def _reads(stmt: cst.CSTNode, names: set[str]) -> bool:
    return contains(stmt, lambda n: isinstance(n, cst.Name) and n.value in names)


def _targets(stmt: cst.BaseStatement) -> set[str]:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        return {n.value for t in stmt.body[0].targets for n in _names_in(t.target)}
    return set()


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for e in node.elements for n in _names_in(e.value)]
    return []


def _imported_names(script: Script) -> set[str]:
    names: set[str] = set()
    for stmt in script.module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import):
                    names.update((a.asname.name.value if a.asname else code_of(a.name).split(".")[0]) for a in small.names)
    return names
