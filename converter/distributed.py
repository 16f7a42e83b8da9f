"""Analysis: hand-written distributed data-parallel training, as Lightning's DDP strategy (or its
FSDP strategy, for one FullyShardedDataParallel wrap) will stand in for it (read-only; refusals
say what cannot be mapped and why).

What it reads, in the script's own terms:

* **the launch**: ``mp.spawn(run, args=(...), nprocs=N)`` (every process runs ``run(rank,
  *args)``) or a launcher such as ``torchrun`` (the ranks come from ``RANK``/``LOCAL_RANK``/
  ``WORLD_SIZE`` in the environment);
* **the process group**: the statement of the training's scope that sets it up —
  ``init_process_group(...)`` itself or the call of a helper doing only that (``setup(rank,
  world_size)``) — and its backend; the Trainer is built there, so that its ranks exist where
  the script's did;
* **the wraps**: ``ddp_model = DDP(model, device_ids=[rank], ...)`` and the options DDP gets, or
  the one ``model = FSDP(model, auto_wrap_policy=..., device_id=...)`` and the options FSDP gets;
* **the samplers**: ``DistributedSampler(dataset, ...)`` and ``sampler.set_epoch(epoch)``;
* **the rank and world-size names**: the spawned function's first parameter, names read from
  the launcher's environment or from ``dist.get_rank()`` / ``dist.get_world_size()``;
* **the plumbing** that goes: ``MASTER_ADDR``/``MASTER_PORT`` writes, ``torch.cuda.set_device``,
  ``destroy_process_group()``, helpers that did only that.

The idioms ``distributed-training`` and ``fsdp-training`` turn these facts into the plan.

It stays one module, over issue 12's ~400 lines, because one reader gathers these facts, each
step from what the steps before it found (the process group is checked against the launch's
rank, the device count comes from the group's world size or the launch, the plumbing is what the
group's setup statement and helper leave, the environment reads are the rank names' own), all in
the training scope the layout names; split apart, each part would pass the others' facts back
in.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

import libcst as cst

from ..api_knowledge import (
    DDP_DEVICE_OPTIONS, DDP_STRATEGY_OPTIONS, DDP_WRAPPERS, DESTROY_PROCESS_GROUP, DISTRIBUTED_SAMPLERS, FSDP_DEVICE_OPTIONS,
    FSDP_REFUSED_OPTIONS, FSDP_STRATEGY_OPTIONS, FSDP_WRAPPERS, INIT_PROCESS_GROUP, LAUNCHER_ENVIRONMENT, PROCESS_SPAWN, RANK_QUERIES, SET_DEVICE_CALLS, dotted_name,
)
from .facts import Layout
from .functions import bind_arguments
from .names import param_names, usage_of
from .script import Script, Unsupported
from .transforms import substitute_names
from .tree import body_of, code_of, contains, expr_call, is_docstring, module_function


@dataclass(frozen=True, eq=False)
class Spawn:
    """``mp.spawn(run, args=(...), nprocs=N)``: every process runs ``run(rank, *args)``."""

    statement: cst.BaseStatement
    call: cst.Call
    function: cst.FunctionDef
    args: cst.BaseExpression | None  #: the ``args=`` tuple
    nprocs: cst.BaseExpression | None


@dataclass(frozen=True, eq=False)
class GroupSetup:
    """Where the script sets up its process group, in the training's scope."""

    statement: cst.BaseStatement  #: ``init_process_group(...)``, or the call of a helper that does it
    init: cst.Call
    helper: cst.FunctionDef | None  #: ``def setup(rank, world_size)`` (only plumbing)
    backend: str | None  #: the backend's code where the Trainer is built (None: torch's default)
    world_size: str | None  #: ``world_size=`` of init_process_group, where the Trainer is built


@dataclass(frozen=True, eq=False)
class Wrap:
    """``ddp_model = DDP(model, device_ids=[rank], find_unused_parameters=True)`` or
    ``model = FSDP(model, auto_wrap_policy=policy)``."""

    statement: cst.BaseStatement
    target: str  #: the wrapped model's name (``ddp_model``; ``model`` when rebound)
    model: str  #: the model it wraps
    options: tuple[tuple[str, str], ...]  #: DDPStrategy / FSDPStrategy keyword -> code
    sharded: bool = False  #: FullyShardedDataParallel (else DistributedDataParallel)


@dataclass(frozen=True, eq=False)
class SamplerUse:
    """``DistributedSampler(dataset, ...)``, named (``sampler = ...``) or inline in a DataLoader."""

    call: cst.Call
    statement: cst.BaseStatement
    name: str | None
    function: cst.FunctionDef | None  #: the function it is built in (None: module level)


@dataclass(frozen=True, eq=False)
class DistributedFacts:
    """Hand-written distributed training: what the DDP strategy replaces."""

    spawn: Spawn | None
    setup: GroupSetup
    rank_names: frozenset[str]  #: names holding the global rank
    local_rank_names: frozenset[str]  #: names holding the local rank
    devices: str  #: ``Trainer(devices=...)``, code valid where the Trainer is built
    num_nodes: str | None
    wraps: tuple[Wrap, ...] = ()
    samplers: tuple[SamplerUse, ...] = ()
    set_epoch_calls: tuple[cst.BaseStatement, ...] = ()
    plumbing: tuple[cst.BaseStatement, ...] = ()  #: statements that go (env writes, set_device, destroy, helper calls)
    helpers: tuple[cst.FunctionDef, ...] = ()  #: functions of only plumbing, removed once nothing calls them
    env_reads: tuple[cst.BaseStatement, ...] = ()  #: ``rank = int(os.environ["RANK"])``: removed once nothing reads them
    uses_os: bool = False  #: ``devices=`` reads ``os.environ``
    notes: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    @property
    def index_names(self) -> frozenset[str]:
        """Names that hold a device index (``model.to(rank)``)."""
        return self.rank_names | self.local_rank_names

    @property
    def wrapped(self) -> dict[str, str]:
        """Each wrapper's name -> the model it wraps."""
        return {w.target: w.model for w in self.wraps}


# --- reading the script ------------------------------------------------------------------------


def environment_key(script: Script, node: cst.BaseExpression) -> str | None:
    """``RANK`` of ``os.environ["RANK"]``, ``os.environ.get("RANK", 0)``, ``os.getenv("RANK")``
    (also inside ``int(...)``)."""
    if isinstance(node, cst.Call) and dotted_name(node.func) == "int" and len(node.args) == 1:
        node = node.args[0].value
    key = None
    if isinstance(node, cst.Subscript) and script.qualify(dotted_name(node.value)) == "os.environ" and len(node.slice) == 1:
        key = node.slice[0].slice.value if isinstance(node.slice[0].slice, cst.Index) else None
    elif isinstance(node, cst.Call) and script.qualified_call(node) in ("os.environ.get", "os.getenv") and node.args:
        key = node.args[0].value
    if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
        return key.evaluated_value
    return None


def _is_call_of(script: Script, node: cst.CSTNode, names) -> bool:
    return isinstance(node, cst.Call) and script.qualified_call(node) in names


def calls_of(script: Script, root: cst.CSTNode, names) -> list[cst.Call]:
    """The calls under ``root`` of the functions ``names`` (qualified)."""
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if script.qualified_call(node) in names:
                found.append(node)

    root.visit(_Calls())
    return found


def _single_assign(stmt: cst.BaseStatement) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        small = stmt.body[0]
        if len(small.targets) == 1:
            return small.targets[0].target, small.value
    return None


def _statements(node: cst.CSTNode, functions: bool = False) -> list[cst.BaseStatement]:
    """Every statement under ``node`` (nested blocks included, not nested classes; nested defs
    only with ``functions``)."""
    out: list[cst.BaseStatement] = []

    class _Walk(cst.CSTVisitor):
        def visit_FunctionDef(self, inner):
            return functions or inner is node

        def visit_ClassDef(self, inner):
            return inner is node

        def visit_SimpleStatementLine(self, inner):
            out.append(inner)
            return False

        def on_visit(self, inner):
            if isinstance(inner, cst.BaseCompoundStatement) and not isinstance(inner, (cst.FunctionDef, cst.ClassDef)):
                out.append(inner)
            return super().on_visit(inner)

    node.visit(_Walk())
    return out


def is_environment_write(script: Script, stmt: cst.BaseStatement) -> bool:
    """``os.environ["MASTER_PORT"] = ...`` / ``os.environ.setdefault("MASTER_ADDR", ...)``."""
    assigned = _single_assign(stmt)
    if assigned is not None and isinstance(assigned[0], cst.Subscript):
        return environment_key(script, assigned[0]) in ("MASTER_ADDR", "MASTER_PORT")
    call = expr_call(stmt)
    if call is not None and script.qualified_call(call) == "os.environ.setdefault" and call.args:
        key = call.args[0].value
        return isinstance(key, cst.SimpleString) and key.evaluated_value in ("MASTER_ADDR", "MASTER_PORT")
    return False


def _is_plumbing(script: Script, stmt: cst.BaseStatement) -> bool:
    """A statement that only sets up or tears down the process group or the process's GPU."""
    if is_docstring(stmt) or is_environment_write(script, stmt):
        return True
    call = expr_call(stmt)
    if call is not None and (_is_call_of(script, call, INIT_PROCESS_GROUP | DESTROY_PROCESS_GROUP | SET_DEVICE_CALLS)):
        return True
    if isinstance(stmt, cst.If) and stmt.orelse is None:
        # `if dist.is_initialized(): dist.destroy_process_group()`, `if cuda: torch.cuda.set_device(rank)`
        inner = body_of(stmt)
        return bool(inner) and all(_is_plumbing(script, s) for s in inner)
    return False


def _plumbing_helper(script: Script, function: cst.FunctionDef | None) -> bool:
    """``def setup(rank, world_size)`` / ``def cleanup()``: only plumbing, returning nothing."""
    if function is None or script.parents.in_class(function) or function.decorators:
        return False
    statements = body_of(function)
    return bool(statements) and all(_is_plumbing(script, s) for s in statements)


def _free_names(node: cst.CSTNode) -> set[str]:
    return usage_of(cst.Module([cst.SimpleStatementLine([cst.Expr(node)])]) if isinstance(node, cst.BaseExpression) else node).loads


def _module_names(script: Script) -> set[str]:
    return usage_of(*script.module.body).stores | set(dir(builtins))


# --- finding everything -------------------------------------------------------------------------


class _Reader:
    """Reads the distributed facts of one script (``find_distributed``)."""

    def __init__(self, script: Script, layout: Layout) -> None:
        self.script, self.layout = script, layout
        self.line = script.line
        self.scope = layout.scope
        self.notes: list[tuple[int, str]] = []

    def read(self) -> DistributedFacts | None:
        script = self.script
        inits = calls_of(script, script.module, INIT_PROCESS_GROUP)
        spawns = calls_of(script, script.module, PROCESS_SPAWN)
        wraps = calls_of(script, script.module, DDP_WRAPPERS | FSDP_WRAPPERS)
        samplers = calls_of(script, script.module, DISTRIBUTED_SAMPLERS)
        if not (inits or spawns or wraps or samplers):
            return None
        if not inits:
            first = (spawns + wraps + samplers)[0]
            raise Unsupported(
                self.line(first),
                f"{code_of(first.func)}(...) without init_process_group in this file: the process group is set up elsewhere, "
                "so the script's ranks and world size cannot be told",
            )
        if len(inits) > 1:
            raise Unsupported(self.line(inits[1]), "init_process_group is called twice; only one process group is converted")
        spawn = self._spawn(spawns)
        setup = self._setup(inits[0], spawn)
        rank_names, local_names = self._rank_names(spawn)
        devices, num_nodes, uses_os = self._devices(spawn, setup)
        plumbing, helpers = self._plumbing(setup)
        return DistributedFacts(
            spawn=spawn, setup=setup, rank_names=frozenset(rank_names), local_rank_names=frozenset(local_names),
            devices=devices, num_nodes=num_nodes, wraps=tuple(self._wraps(wraps)), samplers=tuple(self._samplers(samplers)),
            set_epoch_calls=tuple(self._set_epoch_calls()), plumbing=tuple(plumbing), helpers=tuple(helpers),
            env_reads=tuple(self._env_reads(rank_names | local_names)), uses_os=uses_os, notes=tuple(self.notes),
        )

    # --- launch ----------------------------------------------------------------------------------
    def _spawn(self, spawns: list[cst.Call]) -> Spawn | None:
        if not spawns:
            return None
        call = spawns[0]
        line = self.line(call)
        if len(spawns) > 1:
            raise Unsupported(self.line(spawns[1]), "torch.multiprocessing.spawn is called twice; only one launch is converted")
        statement = self.script.parents.statement_of(call)
        if expr_call(statement) is not call:
            raise Unsupported(line, "the result of torch.multiprocessing.spawn is used (a process context); only `mp.spawn(fn, ...)` as a statement is converted")
        positional = [a for a in call.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        target = positional[0].value if positional else keywords.get("fn")
        function = module_function(self.script.module, target.value) if isinstance(target, cst.Name) else None
        if function is None:
            raise Unsupported(line, f"torch.multiprocessing.spawn starts `{code_of(target) if target is not None else '?'}`, not a function of this script")
        join = keywords.get("join")
        if join is not None and not (isinstance(join, cst.Name) and join.value == "True"):
            raise Unsupported(line, "torch.multiprocessing.spawn(join=False): the script keeps working while its processes train")
        args = keywords.get("args", positional[1].value if len(positional) > 1 else None)
        nprocs = keywords.get("nprocs", positional[2].value if len(positional) > 2 else None)
        if not param_names(function.params):
            raise Unsupported(self.line(function), f"{function.name.value}() takes no rank parameter, yet torch.multiprocessing.spawn passes one")
        if self.scope is not function:
            where = f"def {self.scope.name.value}" if isinstance(self.scope, cst.FunctionDef) else "module level"
            raise Unsupported(
                self.line(self.layout.train.loop),
                f"the training loop is in {where}, not in {function.name.value}(), the function torch.multiprocessing.spawn starts; "
                "only a training written in the spawned function is converted",
            )
        return Spawn(statement, call, function, args, nprocs)

    # --- process group -----------------------------------------------------------------------------
    def _setup(self, init: cst.Call, spawn: Spawn | None) -> GroupSetup:
        script, parents = self.script, self.script.parents
        statement = parents.statement_of(init)
        helper = None
        function = parents.enclosing_function(init)
        if function is not None and function is not self.scope:
            if not _plumbing_helper(script, function):
                raise Unsupported(
                    self.line(init),
                    f"init_process_group is in {function.name.value}(), which does more than set up the process group "
                    "(it returns or computes values the training uses); Lightning sets the group up itself: keep only the "
                    f"process-group calls in {function.name.value}() or call init_process_group in the training's function",
                )
            sites = [c for c in _calls_by_name(script.module, function.name.value)]
            if len(sites) != 1:
                raise Unsupported(self.line(function), f"{function.name.value}() sets up the process group and is called {len(sites)} times")
            helper, init_site = function, sites[0]
            statement = parents.statement_of(init_site)
            bindings = bind_arguments(script, function, init_site)
        else:
            bindings = {}
        if expr_call(statement) is None or not self._dominates(statement):
            raise Unsupported(
                self.line(statement),
                "the torch.distributed process group is set up after the training, inside a condition or in another block "
                "than the training: Lightning builds it "
                "once per process; set it up unconditionally in the function that trains",
            )
        arguments = {a.keyword.value if a.keyword else ("backend" if i == 0 else f"#{i}"): a.value for i, a in enumerate(init.args)}
        unsupported = sorted(set(arguments) - {"backend", "rank", "world_size", "init_method", "timeout", "device_id"})
        if unsupported:
            raise Unsupported(self.line(init), f"init_process_group({unsupported[0]}=...): only backend, rank, world_size, init_method and timeout map onto Lightning's own group")
        init_method = arguments.get("init_method")
        if init_method is not None and not _is_env_init(init_method):
            raise Unsupported(self.line(init), f"init_process_group(init_method={code_of(init_method)}): a file or TCP store of the script's own; Lightning's launcher uses MASTER_ADDR/MASTER_PORT")
        backend = self._portable(arguments.get("backend"), helper, bindings)
        world_size = self._portable(arguments.get("world_size"), helper, bindings)
        if "backend" in arguments and backend is None:
            self.notes.append((self.line(init), f"the process-group backend `{code_of(arguments['backend'])}` cannot be read where the Trainer is built; Lightning picks gloo on CPU and nccl on GPUs"))
        rank = arguments.get("rank")
        if rank is not None and spawn is not None and not _is_rank_of(rank, helper, bindings, spawn):
            raise Unsupported(
                self.line(init),
                f"init_process_group(rank={code_of(rank)}): the rank is computed by hand (several nodes?); Lightning numbers "
                "the processes node_rank * devices + local_rank itself — convert with the rank that mp.spawn passes",
            )
        return GroupSetup(statement, init, helper, backend, world_size)

    def _dominates(self, statement: cst.BaseStatement) -> bool:
        """Is ``statement`` in the training's scope, in a block that holds the region too (before it)?"""
        parents = self.script.parents
        scope_body = self.scope.body if isinstance(self.scope, cst.FunctionDef) else self.script.module
        owner = parents.parent(statement)
        node: cst.CSTNode | None = self.layout.region
        while node is not None:
            parent = parents.parent(node)
            if parent is owner:
                siblings = list(owner.body)
                return siblings.index(statement) < siblings.index(node)
            if node is scope_body:
                return False
            node = parent
        return False

    def _portable(self, value: cst.BaseExpression | None, helper: cst.FunctionDef | None, bindings: dict) -> str | None:
        """``value``'s code in the training scope's terms (a helper's parameters and single local
        assignments substituted), if every name it reads is visible where the Trainer is built."""
        if value is None:
            return None
        if helper is not None:
            locals_ = {}
            for stmt in body_of(helper):
                assigned = _single_assign(stmt)
                if assigned is not None and isinstance(assigned[0], cst.Name):
                    locals_[assigned[0].value] = assigned[1]
            value = substitute_names(value, {**locals_, **bindings})
            value = substitute_names(value, bindings)
        visible = _module_names(self.script) | self._scope_names_before(self.scope)
        if _free_names(value) - visible:
            return None
        return code_of(value)

    def _scope_names_before(self, scope) -> set[str]:
        if isinstance(scope, cst.FunctionDef):
            return set(param_names(scope.params)) | usage_of(scope.body).stores
        return set()

    # --- ranks ---------------------------------------------------------------------------------------
    def _rank_names(self, spawn: Spawn | None) -> tuple[set[str], set[str]]:
        ranks: set[str] = set()
        local: set[str] = set()
        if spawn is not None:
            ranks.add(param_names(spawn.function.params)[0])
        for stmt in _statements(self.script.module) + (_statements(self.scope) if isinstance(self.scope, cst.FunctionDef) else []):
            assigned = _single_assign(stmt)
            if assigned is None or not isinstance(assigned[0], cst.Name):
                continue
            name, value = assigned[0].value, assigned[1]
            key = environment_key(self.script, value)
            if key == "RANK" or (isinstance(value, cst.Call) and self.script.qualified_call(value) == "torch.distributed.get_rank"):
                ranks.add(name)
            elif key == "LOCAL_RANK":
                local.add(name)
        ranks |= self._aliases(ranks)
        local |= self._aliases(local)
        return ranks, local - ranks

    def _aliases(self, names: set[str]) -> set[str]:
        """``gpu_id = rank`` (a trainer class's ``self.gpu_id = gpu_id``, unrolled): the one
        assignment of a name from a rank name is that rank too."""
        if not isinstance(self.scope, cst.FunctionDef):
            return set()
        statements = _statements(self.scope)
        out: set[str] = set()
        for stmt in statements:
            assigned = _single_assign(stmt)
            if assigned is None or not isinstance(assigned[0], cst.Name) or not isinstance(assigned[1], cst.Name):
                continue
            name = assigned[0].value
            if assigned[1].value in names and name not in names and sum(name in usage_of(s).stores for s in statements) == 1:
                out.add(name)
        return out

    def _env_reads(self, ranks: set[str]) -> list[cst.BaseStatement]:
        out = []
        for stmt in _statements(self.scope) if isinstance(self.scope, cst.FunctionDef) else list(self.script.module.body):
            assigned = _single_assign(stmt)
            if assigned is not None and isinstance(assigned[0], cst.Name):
                value = assigned[1]
                if environment_key(self.script, value) in LAUNCHER_ENVIRONMENT or (
                    isinstance(value, cst.Call) and self.script.qualified_call(value) in RANK_QUERIES
                ) or (isinstance(value, cst.Name) and {value.value, assigned[0].value} <= ranks):
                    out.append(stmt)
        return out

    # --- devices and nodes -------------------------------------------------------------------------
    def _devices(self, spawn: Spawn | None, setup: GroupSetup) -> tuple[str, str | None, bool]:
        if spawn is not None:
            if setup.world_size is not None:
                return setup.world_size, None, False
            mapped = self._spawned_parameter(spawn)
            if mapped is not None:
                return mapped, None, False
            if spawn.nprocs is not None and not (_free_names(spawn.nprocs) - _module_names(self.script)):
                return code_of(spawn.nprocs), None, False
            raise Unsupported(self.line(spawn.call), f"cannot tell inside {spawn.function.name.value}() how many processes mp.spawn starts (nprocs)")
        # a launcher (torchrun) set the environment
        # torchrun --nnodes M --nproc-per-node N sets WORLD_SIZE = M * N: the script's world size is
        # Lightning's devices * num_nodes, and torchrun also says how many processes run on this node
        return 'int(os.environ["LOCAL_WORLD_SIZE"])', 'int(os.environ["WORLD_SIZE"]) // int(os.environ["LOCAL_WORLD_SIZE"])', True

    def _spawned_parameter(self, spawn: Spawn) -> str | None:
        """The spawned function's parameter that mp.spawn's ``args`` binds to ``nprocs``."""
        if spawn.nprocs is None or not isinstance(spawn.args, (cst.Tuple, cst.List)):
            return None
        params = param_names(spawn.function.params)[1:]
        for param, element in zip(params, spawn.args.elements):
            if code_of(element.value) == code_of(spawn.nprocs):
                return param
        return None

    # --- plumbing ------------------------------------------------------------------------------------
    def _plumbing(self, setup: GroupSetup) -> tuple[list[cst.BaseStatement], list[cst.FunctionDef]]:
        script = self.script
        plumbing: list[cst.BaseStatement] = []
        helpers: list[cst.FunctionDef] = [setup.helper] if setup.helper is not None else []
        for stmt in _statements(script.module, functions=True):
            if stmt is setup.statement or not _is_plumbing(script, stmt) or is_docstring(stmt):
                continue
            function = script.parents.enclosing_function(stmt)
            if function is not None and function in helpers:
                continue
            plumbing.append(stmt)
        # calls of helpers that only tear down (``cleanup()``)
        for function in (s for s in script.module.body if isinstance(s, cst.FunctionDef)):
            if function in helpers or not _plumbing_helper(script, function):
                continue
            sites = _calls_by_name(script.module, function.name.value)
            statements = [script.parents.statement_of(c) for c in sites]
            if statements and all(expr_call(s) is c for s, c in zip(statements, sites)):
                plumbing.extend(statements)
                helpers.append(function)
        return plumbing, helpers

    # --- wraps -------------------------------------------------------------------------------------------
    def _wraps(self, calls: list[cst.Call]) -> list[Wrap]:
        out = []
        sharded_calls = [c for c in calls if self.script.qualified_call(c) in FSDP_WRAPPERS]
        if sharded_calls and len(calls) > 1:
            second = calls[1]
            raise Unsupported(
                self.line(second),
                "FullyShardedDataParallel with a second DDP/FSDP wrap: units wrapped by hand (or DDP and FSDP together) are "
                "not converted; FSDPStrategy wraps the LightningModule once, with the script's auto_wrap_policy",
            )
        for call in calls:
            sharded = call in sharded_calls
            wrapper = "FullyShardedDataParallel" if sharded else "DistributedDataParallel"
            statement = self.script.parents.statement_of(call)
            assigned = _single_assign(statement)
            line = self.line(call)
            if assigned is None or assigned[1] is not call or dotted_name(assigned[0]) is None:
                raise Unsupported(line, f"{wrapper}(...) is not assigned to a name; only `model = {'FSDP' if sharded else 'DDP'}(model, ...)` is converted")
            positional = [a for a in call.args if a.keyword is None]
            keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
            if sharded and (len(positional) > 1 or any(a.star for a in call.args)):
                raise Unsupported(line, f"{wrapper}(...) takes its options by position or unpacked; only keyword options are mapped")
            model = positional[0].value if positional else keywords.get("module")
            if model is None or dotted_name(model) is None:
                raise Unsupported(line, f"{wrapper} wraps an expression, not a model variable")
            out.append(Wrap(statement, dotted_name(assigned[0]), dotted_name(model), tuple(self._wrap_options(line, wrapper, keywords, sharded)), sharded))
        return out

    def _wrap_options(self, line: int, wrapper: str, keywords: dict, sharded: bool) -> list[tuple[str, str]]:
        """The wrap's options as strategy keywords (the device placement goes: Lightning places the module)."""
        placing, mapped = (FSDP_DEVICE_OPTIONS, FSDP_STRATEGY_OPTIONS) if sharded else (DDP_DEVICE_OPTIONS, DDP_STRATEGY_OPTIONS)
        strategy = "FSDPStrategy" if sharded else "DDPStrategy"
        options = []
        for keyword, value in keywords.items():
            if keyword in placing:
                continue
            if sharded and keyword in FSDP_REFUSED_OPTIONS:
                raise Unsupported(line, f"{wrapper}({keyword}=...): {FSDP_REFUSED_OPTIONS[keyword]}")
            if keyword not in mapped:
                raise Unsupported(line, f"{wrapper}({keyword}=...): Lightning's {strategy} has no equivalent for it")
            visible = _module_names(self.script) | self._scope_names_before(self.scope)
            if _free_names(value) - visible:
                raise Unsupported(line, f"{wrapper}({keyword}={code_of(value)}) reads names the Trainer cannot see")
            options.append((keyword, code_of(value)))
        return options

    # --- samplers --------------------------------------------------------------------------------------
    def _samplers(self, calls: list[cst.Call]) -> list[SamplerUse]:
        out = []
        for call in calls:
            statement = self.script.parents.statement_of(call)
            assigned = _single_assign(statement)
            name = dotted_name(assigned[0]) if assigned is not None and assigned[1] is call else None
            out.append(SamplerUse(call, statement, name, self.script.parents.enclosing_function(call)))
        return out

    def _set_epoch_calls(self) -> list[cst.BaseStatement]:
        out = []
        for stmt in _statements(self.script.module, functions=True):
            call = expr_call(stmt)
            if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "set_epoch":
                out.append(stmt)
        return out


def _is_env_init(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str) and node.evaluated_value.startswith("env://")


def _is_rank_of(rank: cst.BaseExpression, helper, bindings, spawn: Spawn) -> bool:
    """Is ``rank`` (in a helper's terms) the rank mp.spawn passes?"""
    value = bindings.get(rank.value, rank) if isinstance(rank, cst.Name) else rank
    return isinstance(value, cst.Name) and value.value == param_names(spawn.function.params)[0]


def _calls_by_name(module: cst.Module, name: str) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node):
            if isinstance(node.func, cst.Name) and node.func.value == name:
                found.append(node)

    module.visit(_Calls())
    return found


def find_distributed(script: Script, layout: Layout) -> DistributedFacts | None:
    """The distributed facts of a script (None: it does not train on several processes)."""
    return _Reader(script, layout).read()


def uses_rank_queries(script: Script, node: cst.CSTNode) -> bool:
    """Does ``node`` call ``dist.get_rank()`` / ``get_world_size()`` / ``barrier()``?"""
    return contains(node, lambda n: isinstance(n, cst.Call) and script.qualified_call(n) in RANK_QUERIES)
