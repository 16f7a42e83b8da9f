"""The conversion pipeline: parse → analysis → plan → emit, as data in and data out."""

from __future__ import annotations

import re
import sys

from .result import ConversionResult, ConvertOptions, Reason, Status
from ..parsing import parse_module
from ..sourcefile import SourceError


_LIGHTNING_IMPORT = re.compile(r"^[ \t]*(?:import|from)[ \t]+(?:pytorch_lightning|lightning|lightning_fabric)\b", re.MULTILINE)


def run_conversion(source: str, options: ConvertOptions, path: str | None) -> ConversionResult:
    """Convert ``source``; every outcome (including bad input) is a :class:`ConversionResult`."""
    # cheap text checks first: most files of a codebase never need a tree walk
    quick = None
    if _LIGHTNING_IMPORT.search(source):
        quick = ConversionResult(Status.ALREADY_LIGHTNING, source, explanation="the script already uses Lightning")
    elif "backward" not in source:
        quick = ConversionResult(Status.NO_TRAINING_LOOP, source, explanation="no loss.backward() call: no training loop to convert")
    try:
        module = parse_module(source, path)
    except SourceError as exc:
        return ConversionResult(Status.UNPARSEABLE, source, reasons=[Reason(exc.line or 0, exc.message)])
    if quick is not None:
        return quick

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # libcst visitors recurse once per nesting level
    try:
        return _convert_module(module, source, options)
    except RecursionError:
        return ConversionResult(Status.NOT_CONVERTIBLE, source, reasons=[Reason(0, "the script is nested too deeply to analyse")])
    finally:
        sys.setrecursionlimit(limit)


def _convert_module(module, source: str, options: ConvertOptions) -> ConversionResult:
    from .analysis import Unsupported, analyze, find_backward_calls, uses_lightning
    from .names import ImportTable

    imports = ImportTable.from_module(module)
    if uses_lightning(module, imports):
        return ConversionResult(Status.ALREADY_LIGHTNING, source, explanation="the script already uses Lightning")
    if not find_backward_calls(module):
        return ConversionResult(Status.NO_TRAINING_LOOP, source, explanation="no loss.backward() call: no training loop to convert")
    try:
        picture = analyze(module, imports)
        from .plan import make_plan

        plan = make_plan(picture)
        from .emit import emit

        emitted = emit(plan, options)
    except Unsupported as exc:
        return ConversionResult(Status.NOT_CONVERTIBLE, source, reasons=[Reason(exc.line, exc.message)])
    except RecursionError:
        raise
    except Exception as exc:  # a bug of ours must never become a traceback or a wrong file
        return ConversionResult(
            Status.NOT_CONVERTIBLE,
            source,
            reasons=[Reason(0, f"internal error while converting ({type(exc).__name__}: {exc}); nothing was written — please report this script")],
        )
    explanation = "\n".join(["found:"] + [f"  {line}" for line in picture.describe()] + ["plan:"] + [f"  {line}" for line in plan.describe()])
    return ConversionResult(
        Status.CONVERTED,
        source,
        output=emitted.code,
        changes=emitted.changes,
        notes=emitted.notes,
        explanation=explanation,
        metrics=list(plan.metrics),
    )
