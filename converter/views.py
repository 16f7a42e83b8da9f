"""Views: the statement lists the planner works on, built from the layout (analysis only reads).

Idioms present some loops differently (:meth:`~.idiom.Idiom.present`: a per-batch step function
inlined, a phase loop specialised per phase); then every phase's data loader is put in the
caller's terms (a function's parameters replaced by the arguments of its call), because the
loaders go to ``trainer.fit`` / ``trainer.test`` where the loop's scope ends.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Sequence

from .facts import Layout, Phase
from .transforms import substitute_names

if TYPE_CHECKING:
    from .idiom import Idiom


def present(layout: Layout, idioms: Sequence["Idiom"]) -> Layout:
    """The layout as the planner sees it."""
    for idiom in idioms:
        layout = idiom.present(layout)
    return dataclasses.replace(
        layout,
        train=_in_caller_terms(layout.train),
        val=_in_caller_terms(layout.val) if layout.val is not None else None,
        test=_in_caller_terms(layout.test) if layout.test is not None else None,
    )


def _in_caller_terms(phase: Phase) -> Phase:
    if not phase.bindings:
        return phase
    return dataclasses.replace(phase, loader=substitute_names(phase.loader, phase.bindings))
