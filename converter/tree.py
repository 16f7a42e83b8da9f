"""Tree navigation helpers: parents, enclosing statements, blocks, source lines."""

from __future__ import annotations

from typing import Iterator

import libcst as cst
from libcst.metadata import PositionProvider

from ..api_knowledge import dotted_name


class ParentMap(cst.CSTVisitor):
    """Maps every node of a tree to its parent (libcst nodes compare by identity)."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []
        root.visit(self)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._stack:
            self.parents[node] = self._stack[-1]
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def statement_of(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        """The statement (simple line or compound) that contains ``node``."""
        if isinstance(node, cst.BaseStatement):
            return node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.BaseStatement):
                return ancestor
        return None

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.FunctionDef):
                return ancestor
            if isinstance(ancestor, cst.ClassDef):
                return None
        return None

    def in_class(self, node: cst.CSTNode) -> bool:
        return any(isinstance(a, cst.ClassDef) for a in self.ancestors(node))

    def block_owner(self, stmt: cst.BaseStatement) -> cst.CSTNode | None:
        """The node whose body holds ``stmt``: the Module, or the compound statement of its block."""
        parent = self.parents.get(stmt)
        if isinstance(parent, cst.IndentedBlock):
            return self.parents.get(parent)
        return parent


def calls_named(root: cst.CSTNode, name: str, methods: bool = False) -> list[cst.Call]:
    """Calls of ``name(...)`` under ``root`` (also ``x.name(...)`` when ``methods``), in order."""
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (isinstance(func, cst.Name) and func.value == name) or (methods and isinstance(func, cst.Attribute) and func.attr.value == name):
                found.append(node)

    root.visit(_Calls())
    return found


def body_of(node: cst.CSTNode) -> list[cst.BaseStatement]:
    """Statements of a Module or of a compound statement's (indented) body."""
    if isinstance(node, cst.Module):
        return list(node.body)
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    if isinstance(body, cst.SimpleStatementSuite):
        return []
    return []


def simple_calls(stmt: cst.BaseStatement) -> list[cst.Call]:
    """The call of an expression statement line (``x.step()``), or []."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            return [small.value]
    return []


def expr_call(stmt: cst.BaseStatement) -> cst.Call | None:
    calls = simple_calls(stmt)
    return calls[0] if calls else None


def assigned_call(stmt: cst.BaseStatement) -> tuple[list[cst.BaseExpression], cst.Call] | None:
    """``targets = call(...)`` -> (targets, call)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
            return [t.target for t in small.targets], small.value
    return None


class Lines:
    """Source line numbers of nodes in the original module (computed once, lazily)."""

    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._positions = None
        self._origins: dict[cst.CSTNode, cst.CSTNode] = {}

    def remember(self, built: cst.CSTNode, original: cst.CSTNode) -> cst.CSTNode:
        """``built`` (a node a view made from ``original``) stands at ``original``'s lines."""
        if built is not original:
            self._origins[built] = self._origins.get(original, original)
        return built

    def _ensure(self):
        if self._positions is None:
            wrapper = cst.MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self._ensure().get(self._origins.get(node, node))
        if pos is None:
            return (0, 0)
        return (pos.start.line, pos.end.line)

    def line(self, node: cst.CSTNode) -> int:
        return self.span(node)[0]

    def origin(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node of the original module that ``node`` was made from (itself when it is one),
        or None when it was built without one."""
        if node in self._origins:
            return self._origins[node]
        return node if self._ensure().get(node) is not None else None

    @property
    def module(self) -> cst.Module:
        """The original module (the lines are its lines)."""
        return self._module


_EMPTY_MODULE = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    """The source text of a node, in libcst's default layout (spaces, ``\\n``)."""
    return _EMPTY_MODULE.code_for_node(node)


def innermost_loop(parents: ParentMap, node: cst.CSTNode) -> cst.For | cst.While | None:
    """The nearest loop around ``node`` in its own function (None past a def/class/lambda)."""
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, (cst.For, cst.While)):
            return ancestor
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return None
    return None


def child_of(parents: ParentMap, node: cst.CSTNode, compound: cst.CSTNode) -> cst.BaseStatement | None:
    """The statement of ``compound``'s body that contains ``node``."""
    previous = node
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, cst.IndentedBlock) and parents.parent(ancestor) is compound:
            return previous if isinstance(previous, cst.BaseStatement) else None
        previous = ancestor
    return None


def contains(node: cst.CSTNode, predicate) -> bool:
    """Does ``node`` or anything under it satisfy ``predicate``?"""
    found = False

    class _Finder(cst.CSTVisitor):
        def on_visit(self, n):
            nonlocal found
            if predicate(n):
                found = True
            return not found

    node.visit(_Finder())
    return found


def is_method_call(node: cst.CSTNode, method: str) -> bool:
    """``<anything>.method(...)``."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == method


def is_call_statement(stmt: cst.BaseStatement, receiver: str | None, method: str) -> bool:
    """A statement line that is only ``receiver.method(...)`` (any receiver when None)."""
    call = expr_call(stmt)
    if call is not None and is_method_call(call, method):
        return receiver is None or dotted_name(call.func.value) == receiver
    return False


def has_call(node: cst.CSTNode) -> bool:
    """Does ``node`` contain a call (so evaluating it may have side effects)?"""
    return contains(node, lambda n: isinstance(n, cst.Call))


def inner_blocks(stmt: cst.CSTNode) -> list[cst.IndentedBlock | cst.SimpleStatementSuite]:
    """The blocks directly inside a compound statement, in source order: its body, ``elif`` and
    ``else`` branches, ``except`` handlers, ``finally``, ``match`` cases."""
    parts = [stmt, *getattr(stmt, "cases", ()), *getattr(stmt, "handlers", ())]
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        parts.append(orelse)
        orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    parts.append(getattr(stmt, "finalbody", None))
    return [p.body for p in parts if isinstance(getattr(p, "body", None), (cst.IndentedBlock, cst.SimpleStatementSuite))]


def if_chain(stmt: cst.If) -> Iterator[cst.If | cst.Else]:
    """An ``if`` and its ``elif``/``else`` branches, in order."""
    node: cst.If | cst.Else | None = stmt
    while node is not None:
        yield node
        node = node.orelse if isinstance(node, cst.If) else None


def module_function(module: cst.Module, name: str) -> cst.FunctionDef | None:
    """The module-level ``def name``, if any."""
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    return None


def is_docstring(stmt: cst.CSTNode) -> bool:
    """A statement line holding only a string literal."""
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def final_return(statements: list[cst.BaseStatement]) -> tuple[list[cst.BaseStatement], cst.BaseExpression | None]:
    """``statements`` without a last ``return value`` line, and that value (None: no return)."""
    if statements and isinstance(statements[-1], cst.SimpleStatementLine) and isinstance(statements[-1].body[0], cst.Return):
        return statements[:-1], statements[-1].body[0].value
    return statements, None
