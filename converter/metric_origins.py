"""Where the original script computes an epoch metric the conversion logs (for ``pl-convert verify``).

The plan logs a metric variable of an evaluation phase at the end of its epoch hook
(``self.log("val_acc", val_acc)``). :func:`metric_origin` says where that variable gets its
final value in the *original* script: the lines after whose completion it holds the value the
hook logs, and, when those lines are inside a function the phase calls, the calling statement.
The places are tried in the order they run in an epoch; the last one that assigns the name wins.
"""

from __future__ import annotations

import libcst as cst

from .analysis import Phase, Picture
from .names import usage_of
from .result import LoggedMetric


def _span(picture: Picture, statements: list[cst.BaseStatement]) -> tuple[int, int] | None:
    spans = [picture.lines.span(s) for s in statements]
    spans = [s for s in spans if s[0]]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


def _stores(statements: list[cst.BaseStatement]) -> set[str]:
    return usage_of(*statements).stores if statements else set()


def _function_place(picture: Picture, phase: Phase, statements: list[cst.BaseStatement]):
    """(stores, span, called_from) of statements inside the function ``phase`` calls."""
    return _stores(statements), _span(picture, statements), picture.lines.span(phase.holder)


def metric_origin(picture: Picture, stage: str, key: str, name: str) -> LoggedMetric | None:
    """The :class:`LoggedMetric` for variable ``name`` logged as ``key`` by the ``stage`` hooks."""
    phase = picture.val if stage == "val" else picture.test
    if phase is None:
        return None
    places = []  # (stores, span, called_from), in the order they run
    if stage == "val":
        train = picture.train
        if train.function is not None and train.post:
            places.append(_function_place(picture, train, train.post))
        outer_span = _span(picture, list(picture.mid) + [phase.holder] + list(picture.post))
        places.append((_stores(([train.holder] if train.function is not None else []) + list(picture.mid)), outer_span, None))
        if phase.function is not None:
            places.append(_function_place(picture, phase, [*phase.pre, phase.loop, *phase.post]))
        # the holder is the evaluation itself, or the statement that calls it (and stores its result)
        places.append((_stores([phase.holder, *picture.post]), outer_span, None))
    elif phase.function is not None:
        places.append(_function_place(picture, phase, [*phase.pre, phase.loop, *phase.post]))
    else:
        places.append((_stores([phase.holder]), _span(picture, [phase.holder]), None))
    for stores, span, called_from in reversed(places):
        if name in stores and span is not None:
            return LoggedMetric(key, name, span[0], span[1], called_from)
    return None

