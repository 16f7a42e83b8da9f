"""What pl-convert knows about the torch and Lightning APIs, shared by the converter and the rules.

Two things live here:

* **Tables** of qualified names (optimizers, schedulers, gradient scalers, autocast, gradient
  clipping, seeding, loggers, progress bars, data loaders, device and multi-process APIs, and
  Lightning's import paths), each with the documentation it comes from (:data:`SOURCES`).
* **The one name resolver**: :class:`ImportTable` maps a local name to the qualified name its
  imports give it (``import torch.optim as o; o.SGD`` → ``torch.optim.SGD``, ``from
  pytorch_lightning import Trainer as T; T`` → ``pl.Trainer``). The two Lightning families
  (``pytorch_lightning`` and ``lightning.pytorch``) are mirror copies of one API, so every
  Lightning name resolves to one canonical spelling, ``pl.<path>`` (``fabric.<path>`` for Fabric).

``pl-convert lint`` imports this module for every Lightning file it looks at (a pre-commit hook
pays that on every commit), so it holds constants and one small class only: libcst is imported
lazily, inside the functions that read nodes, for start-up speed.
"""

from __future__ import annotations

import re
from typing import Any

#: where each table below comes from
SOURCES: dict[str, str] = {
    "optimizers": "https://pytorch.org/docs/stable/optim.html#algorithms",
    "schedulers": "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate",
    "mixed precision": "https://pytorch.org/docs/stable/amp.html",
    "gradient clipping": "https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html",
    "grad mode": "https://pytorch.org/docs/stable/notes/autograd.html#locally-disabling-gradient-computation",
    "seeding": "https://pytorch.org/docs/stable/notes/randomness.html",
    "saving": "https://pytorch.org/tutorials/beginner/saving_loading_models.html",
    "tensorboard": "https://pytorch.org/docs/stable/tensorboard.html",
    "tqdm": "https://tqdm.github.io/docs/tqdm/",
    "data loading": "https://pytorch.org/docs/stable/data.html",
    "data parallel": "https://pytorch.org/docs/stable/generated/torch.nn.DataParallel.html",
    "distributed": "https://pytorch.org/docs/stable/distributed.html",
    "lightning imports": "https://lightning.ai/docs/pytorch/stable/upgrade/migration_guide.html",
    "lightning trainer": "https://lightning.ai/docs/pytorch/stable/common/trainer.html",
}

# --- torch.optim ---------------------------------------------------------------------------
OPTIMIZER_MODULE = "torch.optim"
#: torch.optim's optimizer classes (also matched by their last name, for ``from x import *``)
OPTIMIZER_CLASSES = frozenset(
    {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS", "ASGD", "Rprop", "SparseAdam"}
)
SCHEDULER_MODULE = "torch.optim.lr_scheduler"
PLATEAU_SCHEDULER = "torch.optim.lr_scheduler.ReduceLROnPlateau"

# --- mixed precision -----------------------------------------------------------------------
GRAD_SCALERS = frozenset({"torch.amp.GradScaler", "torch.cuda.amp.GradScaler", "torch.GradScaler", "torch.amp.grad_scaler.GradScaler"})
#: autocast context managers -> the device type they imply (None: their first argument says)
AUTOCAST_CONTEXTS: dict[str, str | None] = {
    "torch.autocast": None,
    "torch.amp.autocast": None,
    "torch.amp.autocast_mode.autocast": None,
    "torch.cuda.amp.autocast": "cuda",
    "torch.cuda.amp.autocast_mode.autocast": "cuda",
    "torch.cpu.amp.autocast": "cpu",
}
FLOAT16_DTYPES = frozenset({"torch.float16", "torch.half"})
BFLOAT16_DTYPES = frozenset({"torch.bfloat16"})

# --- autograd ------------------------------------------------------------------------------
#: ``backward`` as a function (``loss.backward()`` is the method); the bare spelling is
#: ``from torch import autograd``
BACKWARD_FUNCTIONS = frozenset({"torch.autograd.backward", "autograd.backward"})
#: context managers (and decorators) that switch gradients off
NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"})
#: ``torch.set_grad_enabled(mode)``: switches gradients off when ``mode`` is False
GRAD_MODE_SWITCH = "torch.set_grad_enabled"
#: gradient clipping functions -> (Lightning's gradient_clip_algorithm, keywords of the limit)
GRADIENT_CLIPPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch.nn.utils.clip_grad_norm_": ("norm", ("max_norm",)),
    "torch.nn.utils.clip_grad.clip_grad_norm_": ("norm", ("max_norm",)),
    "torch.nn.utils.clip_grad_value_": ("value", ("clip_value",)),
    "torch.nn.utils.clip_grad.clip_grad_value_": ("value", ("clip_value",)),
}
#: the prefix every clipping function above shares
GRADIENT_CLIPPING_PREFIX = "torch.nn.utils.clip_grad"

#: saving a state_dict (a checkpoint of the script's own)
CHECKPOINT_SAVE = "torch.save"

# --- seeding -------------------------------------------------------------------------------
#: seed functions -> the generator they seed (``seed_everything`` seeds random, numpy and torch)
SEED_FUNCTIONS: dict[str, str] = {
    "random.seed": "random",
    "numpy.random.seed": "numpy",
    "torch.manual_seed": "torch",
    "torch.random.manual_seed": "torch",
    "torch.cuda.manual_seed": "cuda",
    "torch.cuda.manual_seed_all": "cuda",
}
SEED_EVERYTHING_GENERATORS = frozenset({"random", "numpy", "torch"})

# --- logging and progress ------------------------------------------------------------------
SUMMARY_WRITERS = frozenset({"torch.utils.tensorboard.SummaryWriter", "torch.utils.tensorboard.writer.SummaryWriter", "tensorboardX.SummaryWriter"})
#: tqdm's bars (a bare ``tqdm`` too: ``from tqdm import *``)
PROGRESS_BARS = frozenset({"tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "tqdm.trange", "tqdm.auto.trange", "tqdm"})

# --- data, devices, processes --------------------------------------------------------------
DATALOADERS = frozenset({"torch.utils.data.DataLoader"})
DEVICE_CONSTRUCTORS = frozenset({"torch.device"})
DATA_PARALLEL = frozenset({"torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.data_parallel.DataParallel"})

# --- torch.distributed ---------------------------------------------------------------------
#: setting up and tearing down the default process group
INIT_PROCESS_GROUP = frozenset({"torch.distributed.init_process_group", "torch.distributed.distributed_c10d.init_process_group"})
DESTROY_PROCESS_GROUP = frozenset({"torch.distributed.destroy_process_group", "torch.distributed.distributed_c10d.destroy_process_group"})
#: starting one process per rank, ``fn(rank, *args)`` in each
PROCESS_SPAWN = frozenset({"torch.multiprocessing.spawn", "torch.multiprocessing.spawn.spawn", "torch.multiprocessing.start_processes"})
#: processes started one by one (no launcher Lightning can stand in for)
PROCESS_CLASSES = frozenset({"torch.multiprocessing.Process", "multiprocessing.Process"})
#: choosing the process's GPU by hand (Lightning does it)
SET_DEVICE_CALLS = frozenset({"torch.cuda.set_device", "torch.accelerator.set_device_index"})
DDP_WRAPPERS = frozenset({"torch.nn.parallel.DistributedDataParallel", "torch.nn.parallel.distributed.DistributedDataParallel"})
#: DistributedDataParallel's options that ``DDPStrategy(...)`` passes on to it unchanged
DDP_STRATEGY_OPTIONS = frozenset({"find_unused_parameters", "bucket_cap_mb", "gradient_as_bucket_view", "static_graph", "broadcast_buffers", "check_reduction", "init_sync"})
#: DistributedDataParallel's options that place the model (Lightning sets them from the Trainer's devices)
DDP_DEVICE_OPTIONS = frozenset({"module", "device_ids", "output_device", "dim"})
#: FSDP1's wrapper class: ``FSDP(model, auto_wrap_policy=...)`` becomes ``strategy=FSDPStrategy(...)``
FSDP_WRAPPERS = frozenset({"torch.distributed.fsdp.FullyShardedDataParallel", "torch.distributed.fsdp.fully_sharded_data_parallel.FullyShardedDataParallel"})
#: FullyShardedDataParallel's options that ``FSDPStrategy(...)`` passes on to it unchanged (its own
#: keywords, or its ``**kwargs``, which reach FullyShardedDataParallel as they are)
FSDP_STRATEGY_OPTIONS = frozenset({
    "auto_wrap_policy", "sharding_strategy", "mixed_precision", "cpu_offload", "use_orig_params", "backward_prefetch",
    "forward_prefetch", "limit_all_gathers", "sync_module_states",
})
#: FullyShardedDataParallel's options that place the model (Lightning passes the rank's device)
FSDP_DEVICE_OPTIONS = frozenset({"module", "device_id"})
#: FullyShardedDataParallel's options no FSDPStrategy argument carries as the script meant them -> why
FSDP_REFUSED_OPTIONS: dict[str, str] = {
    "ignored_modules": "Lightning wraps the LightningModule, so the modules to ignore would have to be named from it",
    "ignored_states": "Lightning wraps the LightningModule, so the states to ignore would have to be named from it",
    "param_init_fn": "Lightning materializes and initializes the module itself (configure_model / empty_init)",
    "device_mesh": "a device mesh of the script's own (hybrid or multi-dimensional sharding)",
    "process_group": "a process group of the script's own; Lightning shards over its own group",
}
#: FSDP calls that read or write a sharded state the converter does not map -> what a refusal calls it
FSDP_UNMAPPED: dict[str, str] = {
    "torch.distributed.fsdp.FullyShardedDataParallel.state_dict_type": "FSDP.state_dict_type (sharded/full state-dict checkpointing)",
    "torch.distributed.fsdp.FullyShardedDataParallel.set_state_dict_type": "FSDP.set_state_dict_type (sharded/full state-dict checkpointing)",
    "torch.distributed.fsdp.FullStateDictConfig": "FullStateDictConfig (full state-dict checkpointing)",
    "torch.distributed.fsdp.ShardedStateDictConfig": "ShardedStateDictConfig (sharded state-dict checkpointing)",
    "torch.distributed.fsdp.LocalStateDictConfig": "LocalStateDictConfig (local state-dict checkpointing)",
    "torch.distributed.fsdp.FullyShardedDataParallel.summon_full_params": "FSDP.summon_full_params",
    "torch.distributed.fsdp.FullyShardedDataParallel.optim_state_dict": "FSDP.optim_state_dict (sharded optimizer state)",
    "torch.distributed.fsdp.FullyShardedDataParallel.full_optim_state_dict": "FSDP.full_optim_state_dict (sharded optimizer state)",
    "torch.distributed.fsdp.FullyShardedDataParallel.optim_state_dict_to_load": "FSDP.optim_state_dict_to_load (sharded optimizer state)",
    "torch.distributed.fsdp.FullyShardedDataParallel.scatter_full_optim_state_dict": "FSDP.scatter_full_optim_state_dict (sharded optimizer state)",
    "torch.distributed.fsdp.FullyShardedDataParallel.clip_grad_norm_": "FSDP.clip_grad_norm_ (clipping over the shards)",
    "torch.distributed.fsdp.wrap.wrap": "torch.distributed.fsdp.wrap.wrap (units wrapped by hand)",
    "torch.distributed.fsdp.wrap.enable_wrap": "torch.distributed.fsdp.wrap.enable_wrap (units wrapped by hand)",
    "torch.distributed.checkpoint.save": "torch.distributed.checkpoint (sharded checkpoints)",
    "torch.distributed.checkpoint.load": "torch.distributed.checkpoint (sharded checkpoints)",
    "torch.distributed.checkpoint.state_dict.get_state_dict": "torch.distributed.checkpoint.state_dict (sharded checkpoints)",
}
DISTRIBUTED_SAMPLERS = frozenset({"torch.utils.data.distributed.DistributedSampler", "torch.utils.data.DistributedSampler"})
#: torch.distributed queries and calls -> what a LightningModule hook writes instead ({module} is ``self``)
RANK_QUERIES: dict[str, str] = {
    "torch.distributed.get_rank": "{module}.global_rank",
    "torch.distributed.get_world_size": "{module}.trainer.world_size",
    "torch.distributed.barrier": "{module}.trainer.strategy.barrier()",
}
#: the environment variables a launcher (torchrun) sets -> what they hold
LAUNCHER_ENVIRONMENT: dict[str, str] = {
    "RANK": "rank", "LOCAL_RANK": "local_rank", "WORLD_SIZE": "world_size", "LOCAL_WORLD_SIZE": "local_world_size",
    "MASTER_ADDR": "address", "MASTER_PORT": "address",
}
#: sharding and model parallelism that no ``strategy=`` maps exactly -> what a refusal calls it
DISTRIBUTED_UNMAPPED: dict[str, str] = {
    "torch.distributed.fsdp.fully_shard": "fully_shard (FSDP2)",
    "torch.distributed._composable.fsdp.fully_shard": "fully_shard (FSDP2)",
    "torch.distributed.device_mesh.init_device_mesh": "init_device_mesh (tensor/device-mesh parallelism)",
    "torch.distributed.tensor.parallel.parallelize_module": "parallelize_module (tensor parallelism)",
    "torch.distributed.pipelining.pipeline": "torch.distributed.pipelining",
    "torch.distributed.optim.ZeroRedundancyOptimizer": "ZeroRedundancyOptimizer",
    "torch.distributed.rpc.init_rpc": "torch.distributed.rpc",
    "torch.distributed.autograd.context": "distributed autograd (torch.distributed.autograd)",
    "torch.distributed.launch": "torch.distributed.launch",
}
#: the Lightning strategies classes the converter writes (under ``<alias>.strategies``)
DDP_STRATEGY_CLASS = "DDPStrategy"
FSDP_STRATEGY_CLASS = "FSDPStrategy"

# --- Lightning -----------------------------------------------------------------------------
#: the top-level packages of Lightning (any import of one makes a file a Lightning file)
LIGHTNING_PACKAGES = ("pytorch_lightning", "lightning", "lightning_fabric")
#: ``--import-style`` -> (alias, import statement) of the code the converter writes
LIGHTNING_IMPORT_STYLES: dict[str, tuple[str, str]] = {
    "pytorch_lightning": ("pl", "import pytorch_lightning as pl"),
    "lightning": ("L", "import lightning as L"),
}
_LIGHTNING_IMPORT_LINE = r"^[ \t]*(?:import|from)[ \t]+(?:pytorch_lightning|lightning|lightning_fabric)\b"
_LIGHTNING_TEXT_MARKERS = ("LightningModule", "pl.Trainer", "L.Trainer")

#: import prefixes -> canonical prefix (longest first)
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("lightning.pytorch", "pl"),
    ("pytorch_lightning", "pl"),
    ("lightning.fabric", "fabric"),
    ("lightning_fabric", "fabric"),
)
#: names the top-level ``lightning`` package re-exports from ``lightning.pytorch``
_LIGHTNING_TOP = {"Trainer", "LightningModule", "LightningDataModule", "Callback", "seed_everything"}
#: other spellings of the same object -> the one everything matches
_ALIASES = {
    "pl.core.module.LightningModule": "pl.LightningModule",
    "pl.core.lightning.LightningModule": "pl.LightningModule",
    "pl.core.LightningModule": "pl.LightningModule",
    "pl.core.datamodule.LightningDataModule": "pl.LightningDataModule",
    "pl.core.LightningDataModule": "pl.LightningDataModule",
    "pl.trainer.trainer.Trainer": "pl.Trainer",
    "pl.trainer.Trainer": "pl.Trainer",
    "pl.callbacks.callback.Callback": "pl.Callback",
    "pl.callbacks.base.Callback": "pl.Callback",
    "pl.callbacks.Callback": "pl.Callback",
    "pl.callbacks.model_checkpoint.ModelCheckpoint": "pl.callbacks.ModelCheckpoint",
    "pl.callbacks.early_stopping.EarlyStopping": "pl.callbacks.EarlyStopping",
    "lightning.Fabric": "fabric.Fabric",
    "torch.utils.data.dataloader.DataLoader": "torch.utils.data.DataLoader",
}


def canonical(qualified: str) -> str:
    """Map a dotted import path to the one spelling tables and rules match (module docstring)."""
    for prefix, canon in _FAMILIES:
        if qualified == prefix or qualified.startswith(prefix + "."):
            qualified = canon + qualified[len(prefix) :]
            break
    else:
        if qualified.startswith("lightning."):
            head = qualified.split(".", 2)[1]
            if head in _LIGHTNING_TOP:
                qualified = "pl." + qualified[len("lightning.") :]
    return _ALIASES.get(qualified, qualified)


def family(module: str) -> str | None:
    """``"pytorch_lightning"`` or ``"lightning"`` for an import of either Lightning family."""
    top = module.split(".", 1)[0]
    if top in ("pytorch_lightning", "lightning_fabric"):
        return "pytorch_lightning"
    if top == "lightning":
        return "lightning"
    return None


def imports_lightning_text(source: str) -> bool:
    """A cheap text test, before parsing: does a line of ``source`` import Lightning?"""
    return re.search(_LIGHTNING_IMPORT_LINE, source, re.MULTILINE) is not None  # re caches the compiled pattern


def is_lightning_script(source: str, imports: "ImportTable") -> bool:
    """Does a parsed script already use Lightning: an import of it anywhere (``imports`` holds
    every import of the file), or its names next to an import that mentions it?"""
    if imports.mentions_family():
        return True
    return any(marker in source for marker in _LIGHTNING_TEXT_MARKERS) and "import" in source and (
        "pytorch_lightning" in source or "lightning" in source
    )


def dotted_name(node: Any) -> str | None:
    """``a.b.c`` for a Name/Attribute chain of libcst nodes, else None."""
    import libcst as cst  # lazily: this module is imported on every lint, before libcst is needed

    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class ImportTable:
    """Local name -> qualified import path, built from a file's ``import`` statements.

    The rules feed it each import as their one traversal meets it (:meth:`add_import`); the
    converter reads every import of a module at once (:meth:`from_module`).
    """

    # a plain class with slots, not a dataclass: cheaper to define on every lint's start-up
    __slots__ = ("bindings", "star_modules")

    def __init__(self) -> None:
        self.bindings: dict[str, str] = {}
        self.star_modules: list[str] = []

    @classmethod
    def from_module(cls, module: Any) -> "ImportTable":
        """Every import of a libcst ``Module``, nested ones included, in source order. Imports are
        statements, so only statement blocks are walked (not expressions: much faster)."""
        table = cls()
        for small in _small_statements(module.body):
            table.add_import(small)
        return table

    def add_import(self, node: Any) -> None:
        """Record a libcst ``Import`` or ``ImportFrom`` node (anything else is ignored)."""
        import libcst as cst  # lazily, as in dotted_name

        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.bindings[alias.asname.name.value] = full
                else:
                    top = full.split(".", 1)[0]
                    self.bindings[top] = top
        elif isinstance(node, cst.ImportFrom):
            if node.relative or node.module is None:
                return
            module = dotted_name(node.module)
            if module is None:
                return
            if isinstance(node.names, cst.ImportStar):
                self.star_modules.append(module)
                return
            for alias in node.names:
                name = dotted_name(alias.name)
                if name is None:
                    continue
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.bindings[local] = f"{module}.{name}"

    def qualify(self, dotted: str | None) -> str | None:
        """The canonical qualified name of a dotted local name, or None when no import binds its
        head (a builtin, or a name of the file's own)."""
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        full = self.bindings.get(head)
        if full is None:
            for module in self.star_modules:
                if family(module) is not None:
                    full = f"{module}.{head}"
                    break
            else:
                return None
        return canonical(f"{full}.{rest}" if rest else full)

    def resolve(self, node: Any) -> str | None:
        """The canonical qualified name of a Name/Attribute expression, or None if unknown."""
        return self.qualify(dotted_name(node))

    def mentions_family(self) -> set[str]:
        """The Lightning import families this file uses."""
        families = {family(v) for v in self.bindings.values()} | {family(m) for m in self.star_modules}
        families.discard(None)
        return families  # type: ignore[return-value]


def _small_statements(statements: Any):
    """Every small statement (``import x``, ``a = 1``...) of a block and the blocks inside it, in
    source order."""
    import libcst as cst  # lazily, as in dotted_name

    for stmt in statements:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
            continue
        parts = [stmt, *getattr(stmt, "cases", ()), *getattr(stmt, "handlers", ())]
        orelse = getattr(stmt, "orelse", None)
        while orelse is not None:  # elif chains, else
            parts.append(orelse)
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
        parts.append(getattr(stmt, "finalbody", None))
        for part in parts:
            body = getattr(part, "body", None)
            if isinstance(body, cst.IndentedBlock):
                yield from _small_statements(body.body)
            elif isinstance(body, cst.SimpleStatementSuite):
                yield from body.body
