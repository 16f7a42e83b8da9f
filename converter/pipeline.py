"""The conversion pipeline, as data in and data out:

parse → analysis (:mod:`.layout`, :mod:`.training`: read-only facts) → views (:mod:`.views`:
the statement lists the planner works on) → plan (:mod:`.planner`: every decision, with the
idioms' contributions) → emit (:mod:`.emit`: renders the plan).
"""

from __future__ import annotations

import sys

from ..api_knowledge import ImportTable, imports_lightning_text, is_lightning_script
from ..parsing import parse_module
from ..sourcefile import SourceError
from .emit import emit
from .layout import find_layout
from .loops import find_backward_calls
from .planner import make_plan
from .registry import new_idioms
from .result import ConversionResult, ConvertOptions, Note, Reason, Status
from .script import Script, Unsupported
from .training import gather_facts
from .views import present

ALREADY_LIGHTNING = "the script already uses Lightning"
NO_BACKWARD = "no loss.backward() call: no training loop to convert"


def run_conversion(source: str, options: ConvertOptions, path: str | None) -> ConversionResult:
    """Convert ``source``; every outcome (including bad input) is a :class:`ConversionResult`."""
    # cheap text checks first: most files of a codebase never need a tree walk
    quick = None
    if imports_lightning_text(source):
        quick = ConversionResult(Status.ALREADY_LIGHTNING, source, explanation=ALREADY_LIGHTNING)
    elif "backward" not in source:
        quick = ConversionResult(Status.NO_TRAINING_LOOP, source, explanation=NO_BACKWARD)
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
    imports = ImportTable.from_module(module)
    if is_lightning_script(source, imports):
        return ConversionResult(Status.ALREADY_LIGHTNING, source, explanation=ALREADY_LIGHTNING)
    if not find_backward_calls(module):
        return ConversionResult(Status.NO_TRAINING_LOOP, source, explanation=NO_BACKWARD)
    rejected = _python_rejects(source)
    if rejected is not None:
        return rejected
    try:
        idioms = new_idioms()
        script = Script.read(module, imports)
        for idiom in idioms:
            script = idiom.unroll(script)
        for idiom in idioms:
            idiom.refuse(script)
        facts = gather_facts(present(find_layout(script, idioms), idioms))
        plan = make_plan(facts, options, idioms)
        output = emit(plan, options)
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
    refusal = _does_not_compile(output, source)
    if refusal is not None:
        return refusal
    explanation = "\n".join(["found:"] + [f"  {line}" for line in facts.describe()] + ["plan:"] + [f"  {line}" for line in plan.describe()])
    return ConversionResult(
        Status.CONVERTED,
        source,
        output=output,
        changes=plan.changes,
        notes=[Note(n.line, n.message) for n in plan.notes],
        explanation=explanation,
        metrics=list(plan.metrics),
    )


def _python_rejects(source: str) -> ConversionResult | None:
    """A script that parses but that Python itself would not run (``import *`` in a function,
    ``break`` outside a loop, a duplicate parameter): bad input, reported as a syntax error."""
    try:
        compile(source, "<script>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return ConversionResult(
            Status.UNPARSEABLE, source, reasons=[Reason(exc.lineno or 0, f"syntax error: {exc.msg} (Python rejects the script itself)")]
        )
    except ValueError as exc:  # e.g. a null byte
        return ConversionResult(Status.UNPARSEABLE, source, reasons=[Reason(0, f"Python rejects the script: {exc}")])
    return None


def _does_not_compile(output: str, source: str) -> ConversionResult | None:
    """The converter's last step: an output Python would reject is a bug of ours, never written."""
    try:
        compile(output, "<converted>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno} of the output: " if exc.lineno else ""
        message = f"internal error: the conversion does not compile ({where}{exc.msg}); nothing was written — please report this script"
        return ConversionResult(Status.NOT_CONVERTIBLE, source, reasons=[Reason(0, message)])
    except (ValueError, MemoryError) as exc:  # null bytes, too deep for the compiler
        return ConversionResult(Status.NOT_CONVERTIBLE, source, reasons=[Reason(0, f"internal error: the conversion does not compile ({exc}); nothing was written")])
    return None
