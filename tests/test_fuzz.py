"""Property tests: generated and mutated programs never crash lint or convert.

Two generators:

* ``hypothesmith.from_grammar()``: random (syntactically valid) Python programs, alone, next to
  a real training script, and spliced *into* its training and evaluation loops (random programs
  rarely call ``backward``: inside a fixture's loops the converter's analysis, plan and emit run);
* mutations of the golden fixture scripts (``fixtures/*/original.py``): rename a variable, drop
  a statement, swap two neighbouring statements, duplicate a loop. Near-miss training scripts
  find far more converter bugs than random programs do.

Properties: ``lint_source`` returns findings or raises ``SourceError`` (nothing else);
``convert_source`` always returns a status; a converted output compiles, lints without an error,
and converting it again changes nothing (idempotence); a file with nothing to convert comes
back untouched (no output).

The CI budget is small; a larger one runs on demand::

    PL_CONVERT_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py -n 2
"""

from __future__ import annotations

import os
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pl_convert.converter import ConvertOptions, Status, convert_source
from pl_convert.parsing import parse_module
from pl_convert.rules import lint_source
from pl_convert.rules.config import LintConfig
from pl_convert.rules.fixes import apply_fixes
from pl_convert.sourcefile import SourceError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ORIGINALS = sorted(p for p in FIXTURES.glob("*/original.py"))
SCRIPTS = {p.parent.name: p.read_text(encoding="utf-8") for p in ORIGINALS}

EXAMPLES = int(os.environ.get("PL_CONVERT_FUZZ_EXAMPLES", "0")) or None


def fuzz(ci_examples: int):
    """Hypothesis settings: ``ci_examples`` in CI (the same ones every run, a few seconds per
    test), or ``$PL_CONVERT_FUZZ_EXAMPLES`` fresh examples on demand."""
    return settings(
        max_examples=EXAMPLES or ci_examples,
        deadline=None,
        derandomize=EXAMPLES is None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


#: every rule, including the ones that are off by default
ALL_RULES = LintConfig(select=("ALL",))
#: words the rules' text pre-filters look for, so that generated code reaches the rules
LINT_HEADER = (
    "import torch\nimport pytorch_lightning as pl\nimport lightning as L\n"
    "from torch.utils.data import DataLoader\n"
)
DONE = {Status.ALREADY_LIGHTNING, Status.NO_TRAINING_LOOP}


# --- the properties ------------------------------------------------------------------------


def check_lint(source: str) -> None:
    """Lint (and fix) never raise anything but SourceError; fixed text parses."""
    try:
        findings = lint_source(source, "fuzz.py", ALL_RULES)
    except SourceError:
        return
    for finding in findings:
        assert finding.line >= 1 and finding.code.startswith("PTL"), finding
    if any(finding.fix is not None for finding in findings):
        fixed = apply_fixes(source, "fuzz.py", ALL_RULES, unsafe=True).source
        parse_module(fixed)


def check_convert(source: str, style: str = "pytorch_lightning") -> Status:
    """convert returns a status; outputs parse, lint, and are a fixed point."""
    result = convert_source(source, ConvertOptions(import_style=style), path="fuzz.py")
    assert isinstance(result.status, Status)
    if result.status is Status.CONVERTED:
        assert result.output is not None and result.output != source
        parse_module(result.output, "converted.py")
        compile(result.output, "converted.py", "exec")  # not only parses: a SyntaxError compile() finds fails
        lint_source(result.output, "converted.py", ALL_RULES)
        again = convert_source(result.output, ConvertOptions(import_style=style))
        assert again.status is Status.ALREADY_LIGHTNING and again.output is None, again.status
    else:
        assert result.output is None, result.status
        if result.status in (Status.NOT_CONVERTIBLE, Status.UNPARSEABLE):
            assert result.reasons and all(r.message for r in result.reasons)
            assert "internal error" not in result.reasons[0].message, result.reasons[0]
    return result.status


# --- random programs -----------------------------------------------------------------------


@fuzz(25)
@given(hypothesmith.from_grammar())
def test_random_programs_lint_and_convert_without_crashing(program: str) -> None:
    check_lint(LINT_HEADER + program)
    status = check_convert(program)
    if "backward" not in program:
        assert status in DONE | {Status.UNPARSEABLE}


STYLES = st.sampled_from(["pytorch_lightning", "lightning"])


@fuzz(8)
@given(program=hypothesmith.from_grammar(), script=st.sampled_from(sorted(SCRIPTS)), at_end=st.booleans(), style=STYLES)
def test_random_code_spliced_into_training_scripts(program: str, script: str, at_end: bool, style: str) -> None:
    source = SCRIPTS[script]
    spliced = source + "\n" + program if at_end else program + "\n" + source
    assume(_parses(spliced))
    check_convert(spliced, style)
    check_lint(LINT_HEADER + spliced)


class _SpliceIntoLoop(cst.CSTTransformer):
    """Insert ``statements`` at ``position`` of the body of the ``which``-th loop that trains
    (a ``for`` whose body calls ``backward``) or evaluates (any other ``for`` in the script)."""

    def __init__(self, statements, which: int, position: int, training: bool) -> None:
        self.statements, self.which, self.position, self.training = statements, which, position, training
        self.seen = -1
        self.done = False

    def leave_For(self, original, updated):
        if self.done or _has_backward(original) != self.training or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        self.seen += 1
        if self.seen != self.which:
            return updated
        self.done = True
        body = list(updated.body.body)
        at = self.position % (len(body) + 1)
        return updated.with_changes(body=updated.body.with_changes(body=body[:at] + self.statements + body[at:]))


def _has_backward(node) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if attribute.attr.value == "backward":
                found.append(attribute)

    node.visit(Finder())
    return bool(found)


def _compiles(text: str) -> bool:
    try:
        compile(text, "spliced.py", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


@fuzz(6)
@given(
    program=hypothesmith.from_grammar(),
    script=st.sampled_from(sorted(SCRIPTS)),
    which=st.integers(0, 2),
    position=st.integers(0, 20),
    training=st.booleans(),
    style=STYLES,
)
def test_random_statements_spliced_into_training_and_evaluation_loops(program, script, which, position, training, style) -> None:
    """Random statements inside the loops the converter analyses: analysis, plan and emit run on
    them (the file has its backward()), never crash, and what they emit compiles and is a fixed point."""
    try:
        statements = list(cst.parse_module(program).body)
    except Exception:
        statements = []
    assume(statements)
    splice = _SpliceIntoLoop(statements, which, position, training)
    spliced = cst.parse_module(SCRIPTS[script]).visit(splice).code
    assume(splice.done and _compiles(spliced))
    status = check_convert(spliced, style)
    assert status is not Status.NO_TRAINING_LOOP  # the analysis ran on it


# --- mutations of the fixture scripts --------------------------------------------------------


class _Mutator(cst.CSTTransformer):
    """Apply one edit to the ``target``-th statement (in visiting order) of a module."""

    def __init__(self, kind: str, target: int, new_name: str) -> None:
        self.kind, self.target, self.new_name = kind, target, new_name
        self.seen = -1
        self.done = False

    def _body_of(self, node):
        return getattr(node, "body", None)

    def leave_IndentedBlock(self, original, updated):
        return updated.with_changes(body=self._edit(list(updated.body)))

    def leave_Module(self, original, updated):
        return updated.with_changes(body=self._edit(list(updated.body)))

    def _edit(self, body: list):
        if self.done:
            return body
        for index, _ in enumerate(body):
            self.seen += 1
            if self.seen != self.target:
                continue
            self.done = True
            if self.kind == "drop" and len(body) > 1:
                return body[:index] + body[index + 1 :]
            if self.kind == "swap" and index + 1 < len(body):
                body[index], body[index + 1] = body[index + 1], body[index]
                return body
            if self.kind == "duplicate":
                return body[: index + 1] + [body[index]] + body[index + 1 :]
            self.done = False  # nothing to do here: try the next statement
        return body


class _Renamer(cst.CSTTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_Name(self, original, updated):
        return updated.with_changes(value=self.new) if updated.value == self.old else updated


def _names(module: cst.Module) -> list[str]:
    names: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    module.visit(Collect())
    return sorted(names)


def _parses(text: str) -> bool:
    try:
        parse_module(text)
    except SourceError:
        return False
    return True


@st.composite
def mutated_scripts(draw) -> str:
    """A fixture script with one to three random edits."""
    source = SCRIPTS[draw(st.sampled_from(sorted(SCRIPTS)))]
    for _ in range(draw(st.integers(1, 3))):
        module = cst.parse_module(source)
        kind = draw(st.sampled_from(["rename", "drop", "swap", "duplicate"]))
        if kind == "rename":
            names = _names(module)
            old = draw(st.sampled_from(names))
            new = draw(st.sampled_from(["x", "model", "optimizer", "loss", "data", "epoch", "batch", old + "_2"]))
            module = module.visit(_Renamer(old, new))
        else:
            module = module.visit(_Mutator(kind, draw(st.integers(0, 400)), ""))
        source = module.code
    return source


@fuzz(15)
@given(mutated_scripts(), STYLES)
def test_mutated_fixture_scripts_never_crash_convert_or_lint(source: str, style: str) -> None:
    assume(_parses(source))
    check_convert(source, style)
    check_lint(source)


# --- fixed examples ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["", "\n", "pass\n", "# comment only\n", "\ufeffx = 1\n", "x = 1\r\ny = 2\r\n", "x = 1  # no newline at end"],
    ids=["empty", "newline", "pass", "comment", "bom-char", "crlf", "no-final-newline"],
)
def test_nothing_to_convert_comes_back_untouched(source: str) -> None:
    result = convert_source(source)
    assert result.status in DONE
    assert result.output is None
    check_lint(source)
