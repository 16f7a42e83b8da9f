"""The interface of a conversion idiom (one module in :mod:`pl_convert.converter.idioms` each).

An idiom is one torch pattern and its Lightning equivalent: gradient clipping becomes
``Trainer(gradient_clip_val=...)``, ``tqdm(loader)`` goes because Lightning draws its own bar, a
``DataLoader``'s ``num_workers`` stays with a note. Its class says what it is (``name``,
``title``, ``fixtures`` — the golden pairs that show it — and ``examples``, short scripts with
what their conversion must show, which the test suite runs) and its docstring says what it
becomes, when it refuses and why (sections ``Becomes``, ``Refuses``, ``Why``; ``pl-convert
conversion NAME`` prints it and docs/conversions.md collects them).

The conversion runs in stages, and an idiom implements only the methods of the stages it takes
part in (every method here does nothing by default). Within a stage, idioms run by ``order``
(then name):

============================  ==============================================================
stage                         an idiom...
============================  ==============================================================
``unroll(script)``            rewrites a shape of the script's own into the plain script
                              the analysis reads (a trainer class's methods inlined); the
                              rewritten nodes keep the lines they came from
``refuse(script)``            raises :class:`~.script.Unsupported` for a script it cannot
                              convert at all (hand-written distributed training)
``find_batch_loop``           finds the batch loop of a ``backward()`` that no loop encloses
                              (a per-batch step function)
``find_layout``               reads another shape of epoch around the batch loop (a
                              ``for phase in ["train", "val"]`` loop)
``present(layout)``           builds the statement lists the planner works on (a step
                              function inlined, a phase loop specialised per phase)
``lower(plan, lowering)``     rewrites the training loop into the canonical
                              ``zero_grad / backward / step`` loop plus Trainer arguments
``absorb(plan, statements)``  takes statements between ``backward()`` and ``step()`` that
                              Lightning does itself (clipping)
``prepare(plan)``             decides, before the hooks are filled, what leaves the loop
``rewrite(statements, ...)``  edits each list of statements on its way into a hook (in
                              ``rewrite_order``): substitutions, removed calls
``complete(plan)``            adds statements once the hooks are filled (logged metrics)
``contribute(plan)``          adds Trainer arguments, removals, replacements, notes, changes
``construct(plan)``           the class is placed (module level): decides how the script
                              constructs it (the model built from hyperparameters)
``prune(plan, still_read)``   removes set-up that nothing reads any more
============================  ==============================================================

Analysis stages only read (``unroll`` builds a new tree and leaves the old one as it was); refusals everywhere are ``Unsupported(line, reason)``. The planner
(``planner.py``) combines what the idioms contribute into the :class:`~.plan.Plan`; the emitter
renders it and decides nothing.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

if TYPE_CHECKING:
    from .facts import Layout, StepFunction
    from .layout import Shape
    from .plan import Absorbed, HookSource, Lowering, Plan
    from .script import Script

#: docstring sections every idiom has, in this order
SECTIONS = ("Becomes", "Refuses", "Why")

#: what every example script starts with (an example shows only what is particular to it)
EXAMPLE_PREAMBLE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,))), batch_size=16)
val_loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=16)
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""


#: the loop of an example that gives only its own parts (``Example(setup=..., between=...)``)
EXAMPLE_LOOP = """\
{setup}
for epoch in {epochs}:
    {epoch_start}
    for x, y in {batches}:
        {batch_start}
        optimizer.zero_grad()
        {forward}
        loss.backward()
        {between}
        optimizer.step()
        {after_step}
    {epoch_end}
"""


@dataclass(frozen=True)
class Example:
    """A short script and what its conversion must show. The test suite converts every example;
    docs/conversions.md shows the first of each idiom.

    The script is :data:`EXAMPLE_PREAMBLE`, then either ``before`` (a whole script of its own)
    or :data:`EXAMPLE_LOOP` with its slots filled (``setup`` before the loop, ``between``
    ``backward()`` and ``step()``...; an empty slot is no line).
    """

    before: str = ""
    setup: str = ""
    epochs: str = "range(2)"
    epoch_start: str = ""
    batches: str = "loader"
    batch_start: str = ""
    forward: str = "loss = F.cross_entropy(model(x), y)"
    between: str = ""
    after_step: str = ""
    epoch_end: str = ""
    after: tuple[str, ...] = ()  #: lines (or parts of lines) the converted script contains
    absent: tuple[str, ...] = ()  #: text it no longer contains
    note: str | None = None  #: part of a review note the conversion reports
    refused: str | None = None  #: part of the reason the script is refused (then nothing else)

    @property
    def body(self) -> str:
        """The example's own part of the script (what follows the preamble)."""
        if self.before:
            return textwrap.dedent(self.before).strip("\n") + "\n"
        lines = []
        for line in EXAMPLE_LOOP.splitlines():
            slot = line.strip()
            if not (slot.startswith("{") and slot.endswith("}")) or slot in ("{epochs}", "{batches}"):
                lines.append(line.format(epochs=self.epochs, batches=self.batches))
                continue
            indent = line[: len(line) - len(line.lstrip())]
            text = textwrap.dedent(getattr(self, slot[1:-1])).strip("\n")
            lines += [indent + part if part else "" for part in text.splitlines()]
        return "\n".join(lines) + "\n"

    @property
    def script(self) -> str:
        """The whole example script."""
        return EXAMPLE_PREAMBLE + "\n" + self.body


class Idiom:
    """Base class of conversion idioms (see the module docstring)."""

    name: ClassVar[str] = ""  #: kebab-case, e.g. ``gradient-clipping``
    title: ClassVar[str] = ""  #: one line: the pattern and what it becomes
    fixtures: ClassVar[tuple[str, ...]] = ()  #: fixtures/<case> pairs that show it
    examples: ClassVar[tuple[Example, ...]] = ()  #: short scripts that double as tests
    order: ClassVar[int] = 50  #: within a stage, lower runs first
    rewrite_order: ClassVar[int] = 50  #: among the rewrites of statements on their way into hooks

    # --- analysis (read-only) --------------------------------------------------------------
    def unroll(self, script: "Script") -> "Script":
        """The script in the plain shape the analysis reads (the same script when this idiom's
        shape is absent); raises ``Unsupported`` for the shape it cannot unroll exactly."""
        return script

    def refuse(self, script: "Script") -> None:
        """Raise ``Unsupported`` if the script cannot be converted at all."""

    def find_batch_loop(self, script: "Script", function: cst.FunctionDef) -> "StepFunction | None":
        """``backward()`` is in ``function`` and no loop encloses it: the batch loop that runs it."""
        return None

    def find_layout(self, script: "Script", batch_loop: cst.For) -> "Shape | None":
        """How the batch loop sits in its epoch, when it is not the plain shape."""
        return None

    # --- views ------------------------------------------------------------------------------
    def present(self, layout: "Layout") -> "Layout":
        """The layout with the statement lists this idiom presents differently."""
        return layout

    # --- plan -------------------------------------------------------------------------------
    def lower(self, plan: "Plan", lowering: "Lowering") -> None:
        """Rewrite ``lowering.body`` (add Trainer arguments), or add to ``lowering.reasons``."""

    def absorb(self, plan: "Plan", statements: list[cst.BaseStatement], trained: set[str]) -> "Absorbed | str | None":
        """Statements between ``backward()`` and ``step()``: the ones Lightning does itself, or
        why the loop must stay manual (a message), or None. ``trained``: the model names."""
        return None

    def prepare(self, plan: "Plan") -> None:
        """Before the hooks are filled: what leaves the loop (``plan.dropped_in_loop``)."""

    def rewrite(self, statements: list[cst.BaseStatement], source: "HookSource", plan: "Plan") -> list[cst.BaseStatement]:
        """Edit statements on their way into a hook."""
        return statements

    def complete(self, plan: "Plan") -> None:
        """The hooks are filled: add statements to them (before state is shared)."""

    def contribute(self, plan: "Plan") -> None:
        """Trainer arguments, removals, replacements, notes and changes."""

    def construct(self, plan: "Plan") -> None:
        """The class is placed (its constructor arguments known): how the script constructs it."""

    def prune(self, plan: "Plan", still_read: set[str]) -> None:
        """Remove set-up that no statement left in the converted script reads."""

    # --- documentation ------------------------------------------------------------------------
    @classmethod
    def documentation(cls) -> str:
        """The idiom's docstring, dedented."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def implements(cls, stage: str) -> bool:
        """Does this idiom take part in ``stage`` (a method name of :class:`Idiom`)?"""
        return getattr(cls, stage) is not getattr(Idiom, stage)
