"""Where a name occurs in some statements, and in what position (for rewrites that must see
every use of a name before they change any)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import libcst as cst


@dataclass(frozen=True, eq=False)
class NameUse:
    """One occurrence of a name."""

    node: cst.Name
    ancestors: tuple[cst.CSTNode, ...]  #: nearest first
    assigned: bool  #: the name, or an attribute or item rooted at it, is assigned or deleted

    @property
    def parent(self) -> cst.CSTNode | None:
        return self.ancestors[0] if self.ancestors else None

    @property
    def grandparent(self) -> cst.CSTNode | None:
        return self.ancestors[1] if len(self.ancestors) > 1 else None


def uses_of(statements: Sequence[cst.CSTNode], name: str) -> list[NameUse]:
    """Every ``Name`` node called ``name`` in ``statements`` (attribute names and keyword
    argument names are not names)."""
    finder = _Uses(name)
    for stmt in statements:
        stmt.visit(finder)
    return [NameUse(node, ancestors, id(node) in finder.assigned_roots) for node, ancestors in finder.found]


class _Uses(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.stack: list[cst.CSTNode] = []
        self.found: list[tuple[cst.Name, tuple[cst.CSTNode, ...]]] = []
        self.assigned_roots: set[int] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name) and node.value == self.name and not self._is_label(node):
            self.found.append((node, tuple(reversed(self.stack))))
        for target in _targets(node):
            self._mark(target)
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()

    def _is_label(self, node: cst.Name) -> bool:
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return True
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return True
        # a parameter or ``as`` name binds the name: a use (no rewrite takes it for a read)
        return isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node

    def _mark(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._mark(element.value)
            return
        if isinstance(target, cst.StarredElement):
            self._mark(target.value)
            return
        while isinstance(target, (cst.Attribute, cst.Subscript)):
            target = target.value
        self.assigned_roots.add(id(target))


def _targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The expressions ``node`` assigns or deletes."""
    if isinstance(node, cst.Assign):
        return [t.target for t in node.targets]
    if isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.Del, cst.For, cst.CompFor)):
        return [node.target]
    if isinstance(node, cst.NamedExpr):
        return [node.target]
    if isinstance(node, cst.WithItem) and node.asname is not None:
        return [node.asname.name]
    return []


class ReplaceNodes(cst.CSTTransformer):
    """Each of the given ``Name`` nodes (by identity) → its replacement expression."""

    def __init__(self, replacements: dict[int, tuple[cst.Name, cst.BaseExpression]]) -> None:
        self.replacements = replacements

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        found = self.replacements.get(id(original))
        return found[1] if found is not None and found[0] is original else updated
