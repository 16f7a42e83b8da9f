"""analysis -> plan -> emit (work in progress)."""
from __future__ import annotations

from .result import ConversionResult, ConvertOptions, Reason, Status
from ..parsing import parse_module
from ..sourcefile import SourceError


def run_conversion(source: str, options: ConvertOptions, path: str | None) -> ConversionResult:
    try:
        parse_module(source, path)
    except SourceError as exc:
        return ConversionResult(Status.UNPARSEABLE, source, reasons=[Reason(exc.line or 0, exc.message)])
    return ConversionResult(Status.NO_TRAINING_LOOP, source)
