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
``prune(plan, still_read)``   removes set-up that nothing reads any more
============================  ==============================================================

Analysis stages only read; refusals everywhere are ``Unsupported(line, reason)``. The planner
(``planner.py``) combines what the idioms contribute into the :class:`~.plan.Plan`; the emitter
renders it and decides nothing.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import TYPE_CHECKING, ClassVar, NamedTuple

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


class Example(NamedTuple):
    """A short script (after :data:`EXAMPLE_PREAMBLE`) and what its conversion must show. The
    test suite converts every example; docs/conversions.md shows the first of each idiom."""

    before: str
    after: tuple[str, ...] = ()  #: lines (or parts of lines) the converted script contains
    absent: tuple[str, ...] = ()  #: text it no longer contains
    note: str | None = None  #: part of a review note the conversion reports
    refused: str | None = None  #: part of the reason the script is refused (then nothing else)

    @property
    def script(self) -> str:
        """The whole example script: the preamble, then ``before`` dedented."""
        return EXAMPLE_PREAMBLE + "\n" + textwrap.dedent(self.before).lstrip("\n")


class Idiom:
    """Base class of conversion idioms (see the module docstring)."""

    name: ClassVar[str] = ""  #: kebab-case, e.g. ``gradient-clipping``
    title: ClassVar[str] = ""  #: one line: the pattern and what it becomes
    fixtures: ClassVar[tuple[str, ...]] = ()  #: fixtures/<case> pairs that show it
    examples: ClassVar[tuple[Example, ...]] = ()  #: short scripts that double as tests
    order: ClassVar[int] = 50  #: within a stage, lower runs first
    rewrite_order: ClassVar[int] = 50  #: among the rewrites of statements on their way into hooks

    # --- analysis (read-only) --------------------------------------------------------------
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
