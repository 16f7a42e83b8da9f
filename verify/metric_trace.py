"""The values the original script computes for the metrics its conversion logs.

The converter says, for each epoch metric it logs (``ConversionResult.metrics``), which
expression of the original holds the value and after which lines it is final. Here, in the
original's run, a trace function follows only the frames of the script's own code that run
those lines (``sys.settrace``; every other frame gets no local trace, so the cost is a check per
call): when execution leaves the lines, or the frame returns while inside them, the expression is
evaluated in that frame and its value recorded, once per occurrence (per epoch).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    called_from: tuple[int, int] | None


def scalar(value) -> tuple[float | None, str | None]:
    """``value`` as a float (bool, int, float, a one-element tensor or array), or why not."""
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, (int, float)):
        try:
            return float(value), None
        except OverflowError:
            return math.copysign(math.inf, value), None
    item = getattr(value, "item", None)
    numel = getattr(value, "numel", None) or getattr(value, "size", None)
    if callable(item):
        try:
            count = numel() if callable(numel) else numel
            if count in (None, 1):
                return float(item()), None
            return None, f"not a scalar: {type(value).__name__} with {count} elements"
        except Exception as exc:  # a meta tensor, a string array, ...
            return None, f"not readable as a number: {type(exc).__name__}: {exc}"
    return None, f"not a number: {type(value).__name__}"


class MetricTracer:
    """Records ``{"key", "value", "step", "error"}`` for each metric each time its span ends."""

    def __init__(self, script_path: str, metrics: list[dict], step: Callable[[], int]) -> None:
        self.script_path = script_path
        self.step = step
        self.records: list[dict] = []
        self._by_span: dict[_Span, list[tuple[str, object, str]]] = {}
        for metric in metrics:
            called_from = metric.get("called_from")
            span = _Span(int(metric["start_line"]), int(metric["end_line"]), tuple(called_from) if called_from else None)
            try:
                code = compile(metric["expression"], "<metric>", "eval")
            except SyntaxError:
                self.records.append({"key": metric["key"], "value": None, "step": 0, "error": "the expression does not parse"})
                continue
            self._by_span.setdefault(span, []).append((metric["key"], code, metric["expression"]))
        self._spans_of_code: dict[object, list[_Span]] = {}

    def install(self) -> None:
        if self._by_span:
            sys.settrace(self._on_call)

    def uninstall(self) -> None:
        sys.settrace(None)

    # -- tracing ---------------------------------------------------------------------------
    def _code_spans(self, code) -> list[_Span]:
        spans = self._spans_of_code.get(code)
        if spans is None:
            lines = {line for _, _, line in code.co_lines() if line is not None}
            spans = [
                span
                for span in self._by_span
                # the code that runs the span's own statements (not a comprehension, lambda or
                # function defined inside the span)
                if (code.co_name == "<module>" or code.co_firstlineno < span.start)
                and not (code.co_name.startswith("<") and code.co_name != "<module>")
                and any(span.start <= line <= span.end for line in lines)
            ]
            self._spans_of_code[code] = spans
        return spans

    def _on_call(self, frame, event, arg):
        code = frame.f_code
        if code.co_filename != self.script_path:
            return None
        spans = self._code_spans(code)
        if not spans:
            return None
        caller = self._script_caller(frame)
        spans = [
            s
            for s in spans
            if s.called_from is None or (caller is not None and s.called_from[0] <= caller.f_lineno <= s.called_from[1])
        ]
        if not spans:
            return None
        active: set[_Span] = set()

        def on_event(frame, event, arg):
            if event == "line":
                line = frame.f_lineno
                for span in spans:
                    if span.start <= line <= span.end:
                        active.add(span)
                    elif span in active:
                        active.discard(span)
                        self._capture(span, frame)
            elif event == "return":
                for span in [s for s in spans if s in active]:
                    self._capture(span, frame)
                active.clear()
            return on_event

        return on_event

    def _script_caller(self, frame):
        """The frame of the script's own code that called ``frame``'s function: its caller, or
        past a few frames of other files between them (a decorator's wrapper, as
        ``@torch.no_grad()`` puts around a method), None when there is none."""
        caller = frame.f_back
        for _ in range(4):
            if caller is None or caller.f_code.co_filename == self.script_path:
                return caller
            caller = caller.f_back
        return None

    def _capture(self, span: _Span, frame) -> None:
        for key, code, expression in self._by_span[span]:
            try:
                value, error = scalar(eval(code, frame.f_globals, frame.f_locals))
            except Exception as exc:
                value, error = None, f"{expression}: {type(exc).__name__}: {exc}"
            self.records.append({"key": key, "value": value, "step": self.step(), "error": error})
