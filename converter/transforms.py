"""Small tree transforms, one job each, that several stages use on the statements that move
into hooks (the transforms of one idiom live in its module)."""

from __future__ import annotations

from typing import Iterable, Sequence

import libcst as cst

from ..api_knowledge import dotted_name


def apply(transformer: cst.CSTTransformer, statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """Run ``transformer`` over a list of statements (statements may be removed)."""
    return list(cst.Module(body=list(statements)).visit(transformer).body)


class _Substitute(cst.CSTTransformer):
    """Replace loads of plain names by expressions (not attribute names, keywords or targets)."""

    def __init__(self, mapping: dict[str, cst.BaseExpression]) -> None:
        self.mapping = mapping

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return True

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        # keep the attribute name itself
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)

    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        return updated.with_changes(name=original.name)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        replacement = self.mapping.get(original.value)
        if replacement is None:
            return updated
        return replacement.deep_clone() if hasattr(replacement, "deep_clone") else replacement

    def leave_FunctionDef(self, original, updated):
        return updated.with_changes(name=original.name)

    def leave_ClassDef(self, original, updated):
        return updated.with_changes(name=original.name)

    def leave_ImportAlias(self, original, updated):
        return original

    def leave_Global(self, original, updated):
        return original

    def leave_Nonlocal(self, original, updated):
        return original


def substitute_names(node, mapping: dict[str, cst.BaseExpression]):
    """Substitute names in an expression or a list of statements."""
    if not mapping:
        return node
    transformer = _Substitute(mapping)
    if isinstance(node, list):
        return apply(transformer, node)
    return node.visit(transformer)


def expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def statement(code: str) -> cst.BaseStatement:
    """One statement parsed from ``code`` (without its newline)."""
    return cst.parse_statement(code + "\n")


def statement_like(code: str, like: cst.BaseStatement | None = None) -> cst.BaseStatement:
    """One statement parsed from ``code``, with the comments and blank lines above ``like``."""
    new = statement(code)
    if like is not None and hasattr(like, "leading_lines"):
        new = new.with_changes(leading_lines=like.leading_lines)
    return new


def assign(target: cst.BaseExpression, value: cst.BaseExpression) -> cst.BaseStatement:
    """``target = value``."""
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def self_attribute(name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name("self"), attr=cst.Name(name))


class RemoveCalls(cst.CSTTransformer):
    """Remove expression statements that call one of the given ``receiver.method`` pairs."""

    def __init__(self, calls: Iterable[str]) -> None:
        self.calls = set(calls)
        self.removed: list[cst.BaseStatement] = []

    def leave_SimpleStatementLine(self, original, updated):
        if len(original.body) == 1 and isinstance(original.body[0], cst.Expr):
            value = original.body[0].value
            if isinstance(value, cst.Call) and dotted_name(value.func) in self.calls:
                self.removed.append(original)
                return cst.RemoveFromParent()
        return updated


class RemoveReceiverCalls(cst.CSTTransformer):
    """Remove expression statements that call a method of one of ``receivers`` (``pbar.update()``)."""

    def __init__(self, receivers: set[str]) -> None:
        self.receivers = receivers

    def leave_SimpleStatementLine(self, original, updated):
        if len(original.body) == 1 and isinstance(original.body[0], cst.Expr):
            value = original.body[0].value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and dotted_name(value.func.value) in self.receivers:
                return cst.RemoveFromParent()
        return updated


class RenameToSelf(cst.CSTTransformer):
    """``name`` -> ``self.<attribute>`` for loads and stores of the given names."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def leave_Attribute(self, original, updated):
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original, updated):
        return updated.with_changes(keyword=original.keyword)

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        attribute = self.mapping.get(original.value)
        if attribute is None:
            return updated
        return self_attribute(attribute)

    def leave_FunctionDef(self, original, updated):
        return updated.with_changes(name=original.name)

    def leave_Param(self, original, updated):
        return updated.with_changes(name=original.name)


def block_statements(stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
    """The body of a compound statement, its first statement taking over the statement's own
    leading lines (comments and blank lines above it stay where they were)."""
    inner = list(stmt.body.body)
    if inner:
        inner[0] = inner[0].with_changes(leading_lines=list(stmt.leading_lines) + list(inner[0].leading_lines))
    return inner


class ReplaceCall(cst.CSTTransformer):
    """Replace one call node (by identity) with an expression."""

    def __init__(self, call: cst.Call, replacement: cst.BaseExpression) -> None:
        self.call = call
        self.replacement = replacement

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        return self.replacement if original is self.call else updated
