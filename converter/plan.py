"""The plan: every decision of a conversion, as typed records (what ``--explain`` prints as
"plan:"). The planner (``planner.py``) and the idioms fill it; the emitter (``emit.py``) only
renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable

import libcst as cst

from .result import Change, LoggedMetric

if TYPE_CHECKING:
    from .enclosing import Lifted
    from .model_construction import BuiltModel
    from .facts import Facts, Phase, SchedulerFact

#: the LightningModule's hooks, in the order they are written
HOOK_ORDER = (
    "on_train_epoch_start",
    "training_step",
    "on_validation_epoch_start",
    "validation_step",
    "on_validation_epoch_end",
    "on_train_epoch_end",
    "on_test_epoch_start",
    "test_step",
    "on_test_epoch_end",
)
STEP_HOOKS = ("training_step", "validation_step", "test_step")

#: Trainer keywords in the order they are written (others follow, in the order they were added)
TRAINER_ARGUMENT_ORDER = (
    "max_epochs", "accelerator", "devices", "gradient_clip_val", "gradient_clip_algorithm", "precision",
    "accumulate_grad_batches", "log_every_n_steps", "logger", "num_sanity_val_steps",
    "strategy", "num_nodes", "use_distributed_sampler",
)


class Mode(Enum):
    """How the LightningModule optimizes."""

    AUTOMATIC = "automatic"  #: Lightning calls zero_grad/backward/step (the canonical loop)
    MANUAL = "manual"  #: the loop's own calls, with ``self.manual_backward`` (keeps any other order)


class Part(Enum):
    """Where statements on their way into a hook come from (see :class:`HookSource`)."""

    EPOCH_START = "epoch statements before training"
    TRAIN_START = "training phase, before its batch loop"
    TRAIN_STEP = "training batch loop"
    TRAIN_END = "training phase, after its batch loop"
    TRAIN_CALL = "the statement calling the training function"
    EPOCH_MID = "epoch statements between training and evaluation"
    VAL_START = "validation phase, before its batch loop"
    VAL_STEP = "validation batch loop"
    VAL_END = "validation phase, after its batch loop"
    EPOCH_END = "epoch statements after evaluation"
    TEST_START = "test phase, before its batch loop"
    TEST_STEP = "test batch loop"
    TEST_END = "test phase, after its batch loop"

    @property
    def is_step(self) -> bool:
        return self in (Part.TRAIN_STEP, Part.VAL_STEP, Part.TEST_STEP)


@dataclass(frozen=True, eq=False)
class HookSource:
    """What a list of statements is, for the rewrites it passes on its way into a hook."""

    part: Part
    phase: Phase | None  #: the phase it belongs to (None: the epoch loop's own statements)


@dataclass(frozen=True)
class Declaration:
    """``global name`` / ``nonlocal name`` at the top of a hook."""

    keyword: str
    name: str


@dataclass(eq=False)
class Hook:
    """One method of the LightningModule and its statements."""

    name: str
    statements: list[cst.BaseStatement] = field(default_factory=list)
    declarations: list[Declaration] = field(default_factory=list)
    batch_param: str | None = None  #: step hooks: the batch parameter
    index_param: str | None = None  #: step hooks: the batch-index parameter


@dataclass(frozen=True)
class TrainerArgument:
    keyword: str
    code: str

    def render(self) -> str:
        return f"{self.keyword}={self.code}"


@dataclass(frozen=True, eq=False)
class SchedulerConfig:
    """A scheduler that ``configure_optimizers`` returns, and when Lightning steps it."""

    fact: SchedulerFact
    interval: str  #: "step" or "epoch"
    monitor: str | None = None  #: the variable it is stepped on (a logged key once planned)


@dataclass(frozen=True, eq=False)
class Removal:
    """A statement outside the converted loop that goes (its review comment stays in its place)."""

    statement: cst.BaseStatement
    comment: str | None = None


@dataclass(frozen=True, eq=False)
class Replacement:
    """A statement outside the converted loop replaced by others (none: removed silently)."""

    statement: cst.BaseStatement
    statements: list[cst.BaseStatement]
    keep_leading_lines: bool = True  #: the replacement takes over the comments above the statement


@dataclass(frozen=True, eq=False)
class Rewrite:
    """A statement outside the converted loop edited in place: ``edit`` gets it as spliced so far
    (the statements nested in it keep their own edits) and returns it changed."""

    statement: cst.CSTNode
    edit: Callable[[cst.CSTNode], cst.CSTNode]


class NotePlace(Enum):
    """Where a review note is written into the code as a ``# pl-convert: review`` comment."""

    REPORT = "report only"
    HOOK = "above a hook"
    TRAINER = "above the Trainer"
    REMOVED_STATEMENT = "where a removed statement was"


@dataclass(frozen=True, eq=False)
class ReviewNote:
    """A point to review: reported with its line, and written as a comment where ``place`` says."""

    line: int
    message: str
    place: NotePlace = NotePlace.REPORT
    hook: str | None = None  #: for NotePlace.HOOK
    statement: cst.BaseStatement | None = None  #: for NotePlace.REMOVED_STATEMENT


@dataclass(frozen=True, eq=False)
class Absorbed:
    """Statements between ``backward()`` and ``step()`` that Lightning does itself (an idiom's
    :meth:`~.idiom.Idiom.absorb`)."""

    statements: list[cst.BaseStatement]
    trainer_args: list[TrainerArgument]
    change: str  #: what the report says, e.g. "gradient clipping → Trainer(...)"


@dataclass(frozen=True, eq=False)
class ModeChoice:
    """Automatic or manual optimization, and what automatic optimization takes out of the loop."""

    mode: Mode
    reason: str | None = None  #: why manual
    loss_name: str | None = None  #: the variable ``training_step`` returns (automatic)
    backward: cst.BaseStatement | None = None  #: the ``loss.backward()`` statement (automatic)
    optimization_calls: list[cst.BaseStatement] = field(default_factory=list)  #: backward, step, zero_grad
    absorbed: list[Absorbed] = field(default_factory=list)


@dataclass(eq=False)
class Lowering:
    """The training loop's statements rewritten into the canonical loop by idioms (mixed
    precision, accumulation: :meth:`~.idiom.Idiom.lower`), and what the Trainer does instead."""

    body: list[cst.BaseStatement]
    trainer_args: list[TrainerArgument] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    setup: list[cst.BaseStatement] = field(default_factory=list)  #: removed once nothing reads them
    schedulers: list[SchedulerFact] | None = None  #: schedulers as the lowered loop steps them
    reasons: list[str] = field(default_factory=list)  #: why a lowering did not apply
    loss_name: str | None = None  #: the (undivided) loss Lightning must be given

    @property
    def applied(self) -> bool:
        return bool(self.trainer_args)

    def sets(self, keyword: str) -> bool:
        """Does the lowering pass Trainer argument ``keyword``?"""
        return any(arg.keyword == keyword for arg in self.trainer_args)


@dataclass(eq=False)
class Strategy:
    """The Trainer's distributed strategy, which several idioms assemble (the process launch, the
    DDP wrap's options, the backend)."""

    name: str = "ddp"
    options: dict[str, str] = field(default_factory=dict)  #: ``DDPStrategy`` keyword -> code

    def render(self, alias: str) -> str:
        """``"ddp"``, or ``pl.strategies.DDPStrategy(find_unused_parameters=True)``."""
        if not self.options:
            return f'"{self.name}"'
        namespace = "pl.strategies" if alias == "pl" else f"{alias}.pytorch.strategies"
        return f"{namespace}.DDPStrategy({', '.join(f'{k}={v}' for k, v in self.options.items())})"


@dataclass(frozen=True, eq=False)
class TestCall:
    """``trainer.test(...)`` in place of the final test loop."""

    holder: cst.BaseStatement
    loader: str  #: code
    result_target: cst.BaseExpression | None  #: what the script assigned the test function's result to


@dataclass(eq=False)
class Plan:
    """Every decision of one conversion."""

    facts: Facts
    alias: str  #: ``pl`` or ``L``
    import_statement: str  #: the Lightning import the script gains
    optimization: ModeChoice = field(default_factory=lambda: ModeChoice(Mode.AUTOMATIC))
    lowering: Lowering | None = None  #: the lowering used (None: the loop as written)
    hooks: dict[str, Hook] = field(default_factory=dict)
    dropped_in_loop: list[cst.BaseStatement] = field(default_factory=list)  #: loop statements no hook keeps
    ends_epoch_early: bool = False  #: a ``break`` of the batch loop became a skip flag
    self_state: dict[str, str] = field(default_factory=dict)  #: name -> attribute of the module
    module_attributes: dict[str, str] = field(default_factory=dict)  #: script name -> ``self.<attribute>`` (besides the models)
    bindings_needed: list[str] = field(default_factory=list)  #: names bound to None before the class
    class_name: str = ""
    instance_name: str = ""
    trainer_name: str = ""
    schedulers: list[SchedulerConfig] = field(default_factory=list)
    trainer_args: list[TrainerArgument] = field(default_factory=list)
    fit_loaders: list[TrainerArgument] = field(default_factory=list)  #: keyword arguments of trainer.fit
    test: TestCall | None = None
    removals: list[Removal] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    strategy: Strategy | None = None  #: hand-written multi-process training: the strategy that replaces it
    trainer_at: cst.BaseStatement | None = None  #: the statement the Trainer's construction replaces (None: where the loop was)
    imports: list[str] = field(default_factory=list)  #: import statements the converted script needs besides Lightning's
    notes: list[ReviewNote] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    metrics: list[LoggedMetric] = field(default_factory=list)  #: epoch metrics logged, and where the original computes them
    lifted: Lifted | None = None  #: the class moved out of the enclosing function (module-level)
    built_model: BuiltModel | None = None  #: the module builds the model from its hyperparameters
    model_kept: str | None = None  #: why the model is passed to the module instead (class docstring)
    optimizer_setup: list[cst.BaseStatement] = field(default_factory=list)  #: built in configure_optimizers
    line_length: int = 88  #: the script's own line length (generated lines are wrapped to it)
    class_helpers: list[str] = field(default_factory=list)  #: methods the class gains (source, 4-space indent)

    # --- what the stages use to record decisions ----------------------------------------
    @property
    def mode(self) -> Mode:
        return self.optimization.mode

    @property
    def training_body(self) -> list[cst.BaseStatement]:
        """The training loop's statements before the mode took the optimization calls out
        (lowered, when a lowering was used)."""
        return self.lowering.body if self.lowering is not None else self.facts.train.body

    def lowered(self, keyword: str) -> bool:
        """Does the training loop's lowering pass Trainer argument ``keyword`` (``precision``)?"""
        return self.lowering is not None and self.lowering.sets(keyword)

    def hook(self, name: str) -> list[cst.BaseStatement]:
        """The statements of hook ``name`` (an empty list for a hook not written)."""
        return self.hooks[name].statements

    def add_trainer_argument(self, keyword: str, code: str) -> None:
        self.trainer_args.append(TrainerArgument(keyword, code))

    def set_trainer_argument(self, keyword: str, code: str) -> None:
        """Add Trainer argument ``keyword``, or replace the one an earlier idiom added."""
        self.trainer_args = [arg for arg in self.trainer_args if arg.keyword != keyword]
        self.add_trainer_argument(keyword, code)

    def change(self, node_or_span, description: str) -> None:
        """Report an edit: at a node's lines, at a (first, last) span, or at the top (None)."""
        if node_or_span is None:
            first = last = 0
        elif isinstance(node_or_span, tuple):
            first, last = node_or_span
        else:
            first, last = self.facts.script.span(node_or_span)
        self.changes.append(Change(first, last, description))

    def remove(self, statement: cst.BaseStatement, description: str, comment: str | None = None) -> None:
        """Remove a statement outside the loop, and report it."""
        self.removals.append(Removal(statement, comment))
        self.change(statement, description)

    def is_removed(self, statement: cst.BaseStatement) -> bool:
        return any(r.statement is statement for r in self.removals)

    def note(self, line: int, message: str, place: NotePlace = NotePlace.REPORT, **where) -> None:
        self.notes.append(ReviewNote(line, message, place, **where))

    def ordered_trainer_args(self) -> list[TrainerArgument]:
        """The Trainer's arguments in the order they are written."""
        rank = {keyword: index for index, keyword in enumerate(TRAINER_ARGUMENT_ORDER)}
        return sorted(self.trainer_args, key=lambda arg: rank.get(arg.keyword, len(rank)))

    def describe(self) -> list[str]:
        choice = self.optimization
        out = [f"optimization: {choice.mode.value}" + (f" ({choice.reason})" if choice.reason else "")]
        out.append(f"Trainer({', '.join(arg.render() for arg in self.ordered_trainer_args())})")
        for name in HOOK_ORDER:
            if name in self.hooks and self.hooks[name].statements:
                out.append(f"emit {name} ({len(self.hooks[name].statements)} statements)")
        for config in self.schedulers:
            out.append(f"configure_optimizers: {config.fact.name} interval={config.interval!r}" + (f" monitor={config.monitor!r}" if config.monitor else ""))
        if self.self_state:
            out.append("state kept on the module: " + ", ".join(f"{k} -> self.{v}" for k, v in self.self_state.items()))
        if self.optimizer_setup:
            out.append("configure_optimizers builds the optimizers and schedulers")
        if self.lifted is not None:
            out.append(f"class at module level, above {self.lifted.function}()")
            if self.lifted.arguments:
                out.append("constructor arguments: " + ", ".join(self.lifted.arguments))
            if self.lifted.state:
                out.append("the function's names the hooks assign, on the module: " + ", ".join(self.lifted.state))
        if self.built_model is not None:
            out.append(f"the module builds the model: {self.built_model.call}"
                       + (f" (hyperparameters: {', '.join(self.built_model.parameters)})" if self.built_model.parameters else ""))
        elif self.model_kept:
            out.append(f"the model is passed to the module: {self.model_kept}")
        return out
