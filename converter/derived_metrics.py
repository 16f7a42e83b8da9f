"""The values a person reads at the end of an evaluation: what the script computes from its sums.

An evaluation counts (``correct += ...``, ``test_loss += ...``) and then prints or keeps what it
derives from the counts: ``100 * correct / total``, ``correct / len(loader.dataset)``, a mean
loss after ``test_loss /= len(loader.dataset)``, ``epoch_acc = running_corrects / size``. Those
are the metrics to log (``val_acc``, ``test_loss``...), not the raw counts. Here a
:class:`Derived` is one such value, found in the epoch-end hook's statements or (for a test
loop) in the statements right after the loop, with the same expression in the original script
for ``pl-convert verify``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from .metric_origins import phase_span
from .names import usage_of
from .result import LoggedMetric
from .transforms import substitute_names
from .tree import ParentMap, body_of, calls_named, code_of

if TYPE_CHECKING:
    from .facts import Facts, Phase

#: calls a derived value may contain (they compute, they do not act)
_PURE_FUNCTIONS = ("len", "float", "int")
_PURE_METHODS = ("item", "double", "float", "cpu")
#: what a derived value is, by the words of the sums it reads
_KINDS = (("acc", ("correct", "acc")), ("loss", ("loss",)))


@dataclass
class Derived:
    """One value derived from an evaluation's sums, as the epoch-end hook can log it."""

    kind: str  #: ``"acc"`` or ``"loss"``
    value: str  #: the logged expression, in the hook's terms before state is shared
    reads: set[str]  #: the sums it reads
    variable: str | None = None  #: the name (``epoch_acc``, ``self.test_result``) that holds it
    original: cst.BaseExpression | None = None  #: the same value in the original script
    in_function: bool = False  #: ``original`` is inside the function the phase calls
    names: set[str] = field(default_factory=set)  #: every name ``value`` reads
    expression: cst.BaseExpression | None = None  #: the value's expression in the hook (None: ``x /= n``)


def kind_of(reads: list[str]) -> str | None:
    """``acc`` / ``loss`` from the first sum (in reading order) whose name says which."""
    for name in reads:
        lowered = name.lower()
        for kind, words in _KINDS:
            if any(word in lowered for word in words):
                return kind
    return None


def _reads_in_order(node: cst.CSTNode) -> list[str]:
    """Names and ``self.x`` attributes a node reads, in source order."""
    found: list[str] = []

    class _Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                found.append(f"self.{node.attr.value}")
                return False
            return True

        def visit_Name(self, node: cst.Name) -> None:
            found.append(node.value)

    node.visit(_Reads())
    return found


def _divides(node: cst.BaseExpression) -> bool:
    """Is there a ``/`` in the arithmetic at the top of ``node`` (not inside a call)?"""
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, cst.Divide) or _divides(node.left) or _divides(node.right)
    return False


def _pure(node: cst.CSTNode) -> bool:
    """Only arithmetic, names, attributes, subscripts, constants and the pure calls."""
    ok = True

    class _Check(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal ok
            func = node.func
            if isinstance(func, cst.Name) and func.value in _PURE_FUNCTIONS:
                return
            if isinstance(func, cst.Attribute) and func.attr.value in _PURE_METHODS and not node.args:
                return
            ok = False

        def visit_Lambda(self, node) -> bool:
            nonlocal ok
            ok = False
            return False

        def visit_NamedExpr(self, node) -> bool:
            nonlocal ok
            ok = False
            return False

    node.visit(_Check())
    return ok


def _value_of(node: cst.BaseExpression, sums: list[str]) -> tuple[str, list[str]] | None:
    """(kind, sums read) when ``node`` is a value derived from ``sums``, else None."""
    if not (_divides(node) and _pure(node)):
        return None
    reads = [name for name in dict.fromkeys(_reads_in_order(node)) if name in sums]
    kind = kind_of(reads)
    return (kind, reads) if kind else None


class _Candidates(cst.CSTVisitor):
    """Derived values in one statement, outermost arithmetic first, in source order."""

    def __init__(self, sums: list[str]) -> None:
        self.sums = sums
        self.found: list[Derived] = []

    def _add(self, value: cst.BaseExpression, variable: str | None = None, kind_reads=None) -> None:
        kind, reads = kind_reads
        value = value.with_changes(lpar=[], rpar=[]) if isinstance(value, cst.BinaryOperation) else value
        names = set(_reads_in_order(value)) | ({variable} if variable else set())
        self.found.append(Derived(kind, code_of(value) if variable is None else variable, set(reads), variable,
                                  names=names, expression=value))

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        target = node.targets[0].target if len(node.targets) == 1 else None
        name = code_of(target) if isinstance(target, cst.Name) or (
            isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self") else None
        found = _value_of(node.value, self.sums) if name else None
        if found:
            self._add(node.value, name, found)
            return False
        return True

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        target = code_of(node.target)
        if isinstance(node.operator, cst.DivideAssign) and target in self.sums:
            kind = kind_of([target])
            if kind:
                self.found.append(Derived(kind, target, {target}, target, names={target}))
            return False
        return True

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> bool:
        if isinstance(node.operator, cst.Modulo) and isinstance(node.left, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return True  # ``"%d %%" % (100 * correct / total)``: the formatted number, not the text
        found = _value_of(node, self.sums)
        if found:
            self._add(node, None, found)
            return False
        return True


def _stores(statements: list[cst.BaseStatement]) -> set[str]:
    """Names and ``self.x`` attributes the statements assign."""
    usage = usage_of(*statements) if statements else None
    found = set(usage.stores) if usage else set()

    class _SelfStores(cst.CSTVisitor):
        def _target(self, target):
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
                found.add(code_of(target))

        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                self._target(t.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._target(node.target)

    for stmt in statements:
        stmt.visit(_SelfStores())
    return found


def find_derived(statements: list[cst.BaseStatement], sums: list[str]) -> list[Derived]:
    """Derived values of ``statements`` (an epoch-end hook's) whose reads keep their values to
    the hook's end (so a ``self.log`` appended there logs what the script printed)."""
    out: list[Derived] = []
    for index, stmt in enumerate(statements):
        visitor = _Candidates(sums)
        stmt.visit(visitor)
        later = _stores(statements[index + 1:])
        for derived in visitor.found:
            if derived.variable is not None and derived.expression is None:  # x /= ...: x itself
                if not (later & {derived.variable}):
                    out.append(derived)
            elif not (later & derived.names):
                out.append(derived)
    return out


def find_after_test(test: "Phase", script, sums: list[str]) -> list[Derived]:
    """Derived values in the statements after a test loop (``print(100 * correct / total)``),
    where nothing between the loop and them assigns what they read: the test's epoch-end hook
    computes the same value."""
    owner = script.parents.block_owner(test.holder)
    siblings = body_of(owner) if owner is not None else []
    if test.holder not in siblings:
        return []
    in_loop = _stores([test.holder]) - set(sums)
    assigned = set(in_loop)
    out: list[Derived] = []
    for stmt in siblings[siblings.index(test.holder) + 1:]:
        visitor = _Candidates(sums)
        stmt.visit(visitor)
        for derived in visitor.found:
            node = derived.expression
            if node is None or derived.names & assigned:
                continue
            # after the loop, a name holds its value: log the expression, not a name set later
            out.append(Derived(derived.kind, code_of(node), derived.reads, None, node, False, derived.names, node))
        assigned |= _stores([stmt])
        if assigned & set(sums):
            break
    return out


def _normal(code: str) -> str:
    return "".join(code.split())


def locate_original(facts: "Facts", stage: str, derived: Derived) -> None:
    """Set ``derived.original`` to the same expression in the original script (when found)."""
    if derived.original is not None:
        return
    node = derived.expression
    if node is None:
        return
    wanted = _normal(code_of(node))
    phase = facts.val if stage == "val" else facts.test
    if phase is None:
        return
    regions: list[tuple[list[cst.CSTNode], bool]] = []
    if phase.function is not None:
        returned = [phase.return_value] if phase.return_value is not None else []
        regions.append(([*phase.pre, phase.loop, *phase.post, *returned], True))
    outer: list[cst.CSTNode] = [phase.holder]
    if stage == "val" and facts.epoch is not None:
        outer += list(facts.epoch.post)
    regions.append((outer, False))
    for nodes, in_function in regions:
        bindings = phase.bindings if in_function else {}
        for candidate in _expressions(nodes):
            shown = substitute_names(candidate, bindings) if bindings else candidate
            if _normal(code_of(shown.with_changes(lpar=[], rpar=[]))) == wanted:
                derived.original, derived.in_function = candidate, in_function
                return


def _expressions(nodes: list[cst.CSTNode]) -> list[cst.BaseExpression]:
    found: list[cst.BaseExpression] = []

    class _All(cst.CSTVisitor):
        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            found.append(node)

    for node in nodes:
        node.visit(_All())
    return found


def derived_origin(facts: "Facts", stage: str, key: str, derived: Derived) -> LoggedMetric | None:
    """Where the original computes ``derived``: its expression, evaluated when the evaluation
    (or the function it calls) is done."""
    if derived.original is None:
        return None
    if facts.script.module is not facts.script.lines.module and not derived.in_function:
        return unrolled_origin(facts, stage, key, derived)
    span = phase_span(facts, stage, derived.in_function)
    if span is None:
        return None
    (start, end), called_from = span
    return LoggedMetric(key, code_of(derived.original.with_changes(lpar=[], rpar=[])), start, end, called_from)


def unrolled_origin(facts: "Facts", stage: str, key: str, derived: Derived) -> LoggedMetric | None:
    """Where the original computes a value of unrolled code (a trainer class's methods inlined):
    the same expression in the original method's frame, when that method returns, counted only
    for its call from the epoch loop (validation) or from outside it (test). None (not judged)
    when the expression was not copied from one method called once from that place."""
    lines = facts.script.lines
    original = lines.origin(derived.original)
    if original is None:  # a copy the plan made: the one expression of the original that reads the same
        wanted = _normal(code_of(derived.original))
        same = [e for e in _expressions([lines.module]) if _normal(code_of(e.with_changes(lpar=[], rpar=[]))) == wanted]
        if len(same) != 1:
            return None
        original = same[0]
    parents = ParentMap(lines.module)
    function = parents.enclosing_function(original)
    if function is None or not isinstance(function.body, cst.IndentedBlock):
        return None
    body = function.body.body
    span = (lines.span(body[0])[0], lines.span(body[-1])[1])
    epoch = lines.span(facts.epoch.loop) if facts.epoch is not None else (0, 0)
    statements = {parents.statement_of(call) for call in calls_named(lines.module, function.name.value, methods=True)}
    calls = [s for s in statements if s is not None and not _inside(lines.span(s), span)]
    in_epoch = [s for s in calls if epoch[0] and _inside(lines.span(s), epoch)]
    chosen = in_epoch if stage == "val" else [s for s in calls if s not in in_epoch]
    if len(chosen) != 1 or not span[0]:
        return None
    return LoggedMetric(key, code_of(original.with_changes(lpar=[], rpar=[])), span[0], span[1], lines.span(chosen[0]))


def _inside(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]
