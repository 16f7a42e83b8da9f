"""What analysis finds in a script: typed, read-only records (what ``--explain`` prints as
"found:").

:class:`Layout` is where the training sits (the batch loop, the epoch loop around it, the
evaluation loops, the statement the Trainer replaces); :class:`Facts` adds what trains (the
optimizers, schedulers, models and device handling). Statement lists in a :class:`Phase` are
what the planner works on: the script's own statements, or a view of them that an idiom built
(a per-batch step function inlined, a phase loop specialised per phase).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from ..api_knowledge import dotted_name
from .tree import code_of

if TYPE_CHECKING:
    from .distributed import DistributedFacts
    from .script import Script


@dataclass(frozen=True, eq=False)
class StepFunction:
    """A per-batch step function: ``loss = train_step(model, batch, optimizer)`` in the batch loop."""

    function: cst.FunctionDef
    loop: cst.For  #: the batch loop that calls it
    call: cst.Call
    statement: cst.BaseStatement  #: the loop's statement that calls it
    bindings: dict[str, cst.BaseExpression]  #: its parameters -> the call's arguments
    renamed: tuple[str, ...]  #: its locals that the loop uses too (they get the function's name)
    body: tuple[cst.BaseStatement, ...]  #: its statements, without docstring and final return
    returned: cst.BaseExpression | None
    #: ``train_iter_epoch = epoch + 1``: an expression argument, evaluated once where the call was
    prologue: tuple[cst.BaseStatement, ...] = ()


@dataclass(frozen=True, eq=False)
class Phase:
    """A loop over batches and the statements that run around it once per epoch/evaluation.

    When the phase comes from a called function (``train(model, loader, ...)``), ``function``
    is that function, ``call`` its call in ``holder``, ``bindings`` maps its parameters to the
    caller's argument expressions and ``result_target`` is what the caller assigns the return
    value to (``bindings`` may also hold names that are constant in this phase). The statement
    lists are in the loop's own terms (the function's parameter names); the planner substitutes.
    """

    loop: cst.For
    body: list[cst.BaseStatement]  #: the statements run for each batch
    pre: list[cst.BaseStatement]
    post: list[cst.BaseStatement]
    holder: cst.BaseStatement  #: the statement (in the epoch body / scope) that runs this phase
    loader: cst.BaseExpression  #: the iterated data loader (analysis: in the loop's terms; views: the caller's)
    batch_target: cst.BaseExpression
    index_name: str | None = None  #: ``i`` of ``for i, batch in enumerate(loader)``
    index_start: cst.BaseExpression | None = None  #: ``start`` of ``enumerate(loader, start)``
    function: cst.FunctionDef | None = None
    call: cst.Call | None = None
    bindings: dict[str, cst.BaseExpression] = field(default_factory=dict)
    result_target: cst.BaseExpression | None = None
    result_in_expression: bool = False  #: the call sits inside an expression: ``print(epoch, train(...))``
    return_value: cst.BaseExpression | None = None
    progress_bar: str | None = None  #: ``pbar`` of ``pbar = tqdm(loader); for batch in pbar``
    progress_bar_assign: cst.BaseStatement | None = None
    contexts: tuple[cst.WithItem, ...] = ()  #: autocast items of ``with no_grad(), autocast():``
    step_function: StepFunction | None = None

    def resolve_name(self, name: str) -> str:
        """A name used in the phase's loop, in the caller's terms (function parameters substituted)."""
        if name in self.bindings:
            from_caller = dotted_name(self.bindings[name])
            return from_caller or name
        return name


@dataclass(frozen=True, eq=False)
class EpochLoop:
    """``for epoch in range(...)`` around the training, and its other statements."""

    loop: cst.For
    var: str
    start: cst.BaseExpression | None  #: ``1`` of ``range(1, n + 1)``
    max_epochs: str  #: the epoch count, as code
    pre: list[cst.BaseStatement]  #: before the training phase
    mid: list[cst.BaseStatement]  #: between training and validation (after training without one)
    post: list[cst.BaseStatement]  #: after validation


@dataclass(frozen=True, eq=False)
class Layout:
    """Where the training sits in the script."""

    script: "Script"
    scope: cst.Module | cst.FunctionDef  #: where the loop runs (and the LightningModule goes)
    region: cst.BaseStatement  #: the statement of the scope that the Trainer replaces
    train: Phase
    epoch: EpochLoop | None
    val: Phase | None
    test: Phase | None
    backward_calls: list[cst.Call]

    def phases(self) -> list[Phase]:
        """The training, validation and test phases that exist."""
        return [p for p in (self.train, self.val, self.test) if p is not None]

    def scope_statements(self) -> list[cst.BaseStatement]:
        """The statements of the loop's scope, and those directly in its ``if`` blocks."""
        scope = self.scope
        statements = list(scope.body.body) if isinstance(scope, cst.FunctionDef) else list(self.script.module.body)
        out = []
        for stmt in statements:
            out.append(stmt)
            if isinstance(stmt, cst.If) and isinstance(stmt.body, cst.IndentedBlock):
                out.extend(stmt.body.body)
        return out

    def inlined_functions(self) -> list[cst.FunctionDef]:
        """Functions whose loops the conversion moves into the LightningModule."""
        out: list[cst.FunctionDef] = []
        for phase in self.phases():
            for function in (phase.function, phase.step_function.function if phase.step_function else None):
                if function is not None and function not in out:
                    out.append(function)
        return out


@dataclass(frozen=True, eq=False)
class OptimizerFact:
    name: str
    assign: cst.BaseStatement
    call: cst.Call
    qualname: str


@dataclass(frozen=True, eq=False)
class SchedulerFact:
    name: str
    assign: cst.BaseStatement | None
    qualname: str
    step_stmt: cst.BaseStatement | None = None
    step_where: str = "none"  #: "batch", "epoch", "other"
    step_arg: cst.BaseExpression | None = None


@dataclass(frozen=True, eq=False)
class ModelFact:
    """A model the optimizers train (a GAN has two)."""

    name: str
    assign: cst.BaseStatement | None
    class_name: str | None  #: ``Net`` of ``model = Net().to(device)``


@dataclass(frozen=True, eq=False)
class DeviceFacts:
    names: set[str]  #: variables holding a device (``device``)
    assigns: list[cst.BaseStatement]  #: the statements choosing it
    uses_cuda_calls: bool  #: ``x.cuda()`` somewhere
    index_names: frozenset[str] = frozenset()  #: names holding a device index (``model.to(rank)``)


@dataclass(frozen=True, eq=False)
class Facts(Layout):
    """The layout and what trains: everything the plan needs."""

    optimizers: list[OptimizerFact] = field(default_factory=list)
    schedulers: list[SchedulerFact] = field(default_factory=list)
    models: list[ModelFact] = field(default_factory=list)  #: in the order the optimizers use them
    devices: DeviceFacts = field(default_factory=lambda: DeviceFacts(set(), [], False))
    distributed: DistributedFacts | None = None  #: hand-written multi-process training

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def forward_model(self) -> ModelFact:
        """The first model trained: ``forward()`` calls it and the module is named after it."""
        return self.models[0]

    def describe(self) -> list[str]:
        line = self.script.line
        span = self.script.span
        model = self.forward_model
        out = [
            f"model: {model.name}" + (f" = {model.class_name}(...)" if model.class_name else "")
            + (f" (line {line(model.assign)})" if model.assign is not None else ""),
        ]
        for opt in self.optimizers:
            out.append(f"optimizer: {opt.name} = {opt.qualname}(...) (line {line(opt.assign)})")
        for sched in self.schedulers:
            where = f"stepped per {sched.step_where}" if sched.step_where in ("batch", "epoch") else "stepped elsewhere"
            out.append(f"scheduler: {sched.name} = {sched.qualname}(...), {where}")
        for call in self.backward_calls[:1]:
            receiver = call.func.value if isinstance(call.func, cst.Attribute) else call
            out.append(f"loss: {code_of(receiver)} (backward() at line {line(call)})")
        loader = code_of(self.train.loader)
        out.append(f"batch loop: lines {'-'.join(map(str, span(self.train.loop)))} over {loader}"
                   + (f" (in def {self.train.function.name.value})" if self.train.function else ""))
        if self.epoch is not None:
            out.append(f"epoch loop: lines {'-'.join(map(str, span(self.epoch.loop)))}, {self.epoch.max_epochs} epochs")
        else:
            out.append("epoch loop: none (one pass over the data: max_epochs=1)")
        for label, phase in (("validation", self.val), ("test", self.test)):
            if phase is not None:
                where = f" (in def {phase.function.name.value})" if phase.function else ""
                out.append(f"{label} loop: lines {'-'.join(map(str, span(phase.loop)))}{where}")
        if self.devices.names:
            out.append(f"device: {', '.join(sorted(self.devices.names))}")
        return out
