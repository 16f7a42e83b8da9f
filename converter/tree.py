"""Tree navigation helpers: parents, enclosing statements, blocks, source lines."""

from __future__ import annotations

from typing import Iterator

import libcst as cst
from libcst.metadata import PositionProvider


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

    def _ensure(self):
        if self._positions is None:
            wrapper = cst.MetadataWrapper(self._module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self._ensure().get(node)
        if pos is None:
            return (0, 0)
        return (pos.start.line, pos.end.line)

    def line(self, node: cst.CSTNode) -> int:
        return self.span(node)[0]
