"""Where the original script computes an epoch metric the conversion logs (for ``pl-convert verify``).

The plan logs a metric variable of an evaluation phase at the end of its epoch hook
(``self.log("val_acc", val_acc)``). :func:`metric_origin` says where that variable gets its
final value in the *original* script: the lines after whose completion it holds the value the
hook logs, and, when those lines are inside a function the phase calls, the calling statement.
The places are tried in the order they run in an epoch; the last one that assigns the name wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from .names import usage_of
from .result import LoggedMetric

if TYPE_CHECKING:
    from .facts import Facts, Phase


def _span(facts: "Facts", statements: list[cst.BaseStatement]) -> tuple[int, int] | None:
    spans = [facts.script.span(s) for s in statements]
    spans = [s for s in spans if s[0]]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


def _stores(statements: list[cst.BaseStatement]) -> set[str]:
    return usage_of(*statements).stores if statements else set()


def _function_place(facts: "Facts", phase: "Phase", statements: list[cst.BaseStatement]):
    """(stores, span, called_from) of statements inside the function ``phase`` calls."""
    return _stores(statements), _span(facts, statements), facts.script.span(phase.holder)


def metric_origin(facts: "Facts", stage: str, key: str, name: str) -> LoggedMetric | None:
    """The :class:`LoggedMetric` for variable ``name`` logged as ``key`` by the ``stage`` hooks."""
    phase = facts.val if stage == "val" else facts.test
    if phase is None:
        return None
    mid = list(facts.epoch.mid) if facts.epoch is not None else []
    post = list(facts.epoch.post) if facts.epoch is not None else []
    places = []  # (stores, span, called_from), in the order they run
    if stage == "val":
        train = facts.train
        if train.function is not None and train.post:
            places.append(_function_place(facts, train, train.post))
        outer_span = _span(facts, mid + [phase.holder] + post)
        places.append((_stores(([train.holder] if train.function is not None else []) + mid), outer_span, None))
        if phase.function is not None:
            places.append(_function_place(facts, phase, [*phase.pre, phase.loop, *phase.post]))
        # the holder is the evaluation itself, or the statement that calls it (and stores its result)
        places.append((_stores([phase.holder, *post]), outer_span, None))
    elif phase.function is not None:
        places.append(_function_place(facts, phase, [*phase.pre, phase.loop, *phase.post]))
    else:
        places.append((_stores([phase.holder]), _span(facts, [phase.holder]), None))
    for stores, span, called_from in reversed(places):
        if name in stores and span is not None:
            return LoggedMetric(key, name, span[0], span[1], called_from)
    return None


def phase_span(facts: "Facts", stage: str, in_function: bool) -> tuple[tuple[int, int], tuple[int, int] | None] | None:
    """((first, last) line, called_from) after which an expression of the ``stage`` evaluation is
    final: the function the phase calls (``in_function``), else the evaluation with the
    statements around it (validation: the epoch's statements after training; test: the loop)."""
    phase = facts.val if stage == "val" else facts.test
    if phase is None:
        return None
    if in_function:
        if phase.function is None:
            return None
        _, span, called_from = _function_place(facts, phase, [*phase.pre, phase.loop, *phase.post])
    elif stage == "val":
        mid = list(facts.epoch.mid) if facts.epoch is not None else []
        post = list(facts.epoch.post) if facts.epoch is not None else []
        span, called_from = _span(facts, mid + [phase.holder] + post), None
    else:
        span, called_from = _span(facts, [phase.holder]), None
    return (span, called_from) if span is not None else None
