"""Questions the trainer-class unrolling asks of libcst nodes: where ``self`` stands (``self.x``,
``self.m(...)``, ``self`` as a value), what a class or method stores and imports, the shape of
a statement (``x = x``, ``pass``, ``super().__init__()``) or of an expression (plain, pure).

Read-only: nothing here builds a node or refuses; :mod:`.trainer_class` and
:mod:`.trainer_class_methods` decide what the answers mean.
"""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import dotted_name
from .script import Script
from .tree import ParentMap

#: calls that return the object they are called on for a module (``self.model = model.to(d)``)
SAME_OBJECT_METHODS = {"to", "cuda", "cpu", "train", "float", "double", "half"}


# --- where names and nodes stand -----------------------------------------------------------------
def name_nodes(root: cst.CSTNode, value: str) -> list[cst.Name]:
    """Every ``Name`` node spelled ``value`` under ``root``."""
    found: list[cst.Name] = []

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, node):
            if node.value == value:
                found.append(node)

    root.visit(_Finder())
    return found


def is_inside(parents: ParentMap, node: cst.CSTNode, owner: cst.CSTNode) -> bool:
    """Is ``owner`` an ancestor of ``node`` (by the parent map)?"""
    return any(a is owner for a in parents.ancestors(node))


def holds_node(root: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Is ``node`` under ``root`` (by walking ``root``; for trees the parent map does not know)?"""
    found = []

    class _Finder(cst.CSTVisitor):
        def on_visit(self, candidate):
            if candidate is node:
                found.append(candidate)
            return not found

    root.visit(_Finder())
    return bool(found)


def statement_blocks(stmt: cst.CSTNode) -> list[cst.CSTNode]:
    """The body, ``else``, ``finally`` and ``except`` parts of a compound statement (not its header)."""
    blocks = []
    for attr in ("body", "orelse", "finalbody"):
        child = getattr(stmt, attr, None)
        if isinstance(child, cst.CSTNode):
            blocks.append(child)
    blocks += list(getattr(stmt, "handlers", ()))
    return blocks


def is_store(parents: ParentMap, attr: cst.Attribute) -> bool:
    """Is the attribute assigned to (``x.a = ...``, ``x.a += ...``, ``x.a: T = ...``)?"""
    parent = parents.parent(attr)
    return isinstance(parent, cst.AssignTarget) or (isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is attr)


def call_is_plain_part(call: cst.Call, stmt: cst.CSTNode) -> bool:
    """The call is not under a conditional part of its one-line statement."""
    for ancestor in _path(stmt, call):
        if isinstance(ancestor, (cst.IfExp, cst.BooleanOperation, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return False
    return True


def _path(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    stack: list[cst.CSTNode] = []
    result: list[cst.CSTNode] = []

    class _Walker(cst.CSTVisitor):
        def on_visit(self, node):
            if result:
                return False
            stack.append(node)
            if node is target:
                result.extend(stack)
                return False
            return True

        def on_leave(self, node):
            if stack and stack[-1] is node:
                stack.pop()

    root.visit(_Walker())
    return result[:-1]


# --- self ----------------------------------------------------------------------------------------
def is_self_attribute(node: cst.CSTNode) -> bool:
    """``self.<x>``."""
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"


def self_method_calls(node: cst.CSTNode) -> list[cst.Call]:
    """The ``self.<m>(...)`` calls under ``node``."""
    found: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, call):
            if is_self_attribute(call.func):
                found.append(call)

    node.visit(_Finder())
    return found


def uses_bare_self(node: cst.CSTNode) -> bool:
    """``self`` used other than as ``self.<attr>``."""
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Attribute(self, attr):
            if is_self_attribute(attr):
                return False
            return True

        def visit_Name(self, name):
            if name.value == "self":
                found.append(name)

    node.visit(_Finder())
    return bool(found)


def self_stores(body) -> set[str]:
    """The attributes ``self.<x> = ...`` / ``self.<x> += ...`` in ``body`` sets."""
    found: set[str] = set()

    class _Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node):
            if is_self_attribute(node.target):
                found.add(node.target.attr.value)

        def visit_AugAssign(self, node):
            if is_self_attribute(node.target):
                found.add(node.target.attr.value)

    for stmt in body:
        stmt.visit(_Finder())
    return found


def stored_values(cls: cst.ClassDef, attr: str) -> list[cst.BaseExpression]:
    """The values the class stores in ``self.<attr>`` (``self.x += ...`` counts as a new one)."""
    values: list[cst.BaseExpression] = []

    class _Finder(cst.CSTVisitor):
        def visit_Assign(self, node):
            if any(is_self_attribute(t.target) and t.target.attr.value == attr for t in node.targets):
                values.append(node.value)

        def visit_AugAssign(self, node):
            if is_self_attribute(node.target) and node.target.attr.value == attr:
                values.append(node)

    cls.visit(_Finder())
    return values


def same_object_of(value: cst.BaseExpression) -> str | None:
    """``p`` of ``p`` or ``p.to(...)``-like (the module object ``p`` itself)."""
    if isinstance(value, cst.Name):
        return value.value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in SAME_OBJECT_METHODS and isinstance(value.func.value, cst.Name):
        return value.func.value.value
    return None


# --- what a method does --------------------------------------------------------------------------
def imports_of(body) -> dict[str, str]:
    """Names the statements bind by ``import``: the name -> the dotted name it stands for."""
    found: dict[str, str] = {}

    class _Finder(cst.CSTVisitor):
        def visit_Import(self, node):
            for alias in node.names:
                dotted = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    found[alias.asname.name.value] = dotted
                else:
                    found[dotted.split(".")[0]] = dotted.split(".")[0]

        def visit_ImportFrom(self, node):
            module = dotted_name(node.module) if node.module is not None else ""
            if isinstance(node.names, cst.ImportStar):
                return
            for alias in node.names:
                name = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
                found[local] = f"{module}.{name}"

    for stmt in body:
        stmt.visit(_Finder())
    return found


def saves_checkpoint(script: Script, method: cst.FunctionDef) -> bool:
    """Does the method call ``torch.save``?"""
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, node):
            if script.qualified_call(node) == "torch.save":
                found.append(node)

    method.body.visit(_Finder())
    return bool(found)


# --- shapes --------------------------------------------------------------------------------------
def is_plain(node: cst.BaseExpression) -> bool:
    """A name or a literal number or string (safe to stand in for a parameter everywhere)."""
    return isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float))
    )


def is_pure(node: cst.BaseExpression) -> bool:
    """A return value dropped at a call that ignores it: nothing it does is lost."""
    if is_plain(node) or isinstance(node, cst.Attribute):
        return True
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(is_pure(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and is_pure(e.key) and is_pure(e.value) for e in node.elements)
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "item" and not node.args


def is_noop_assignment(stmt: cst.BaseStatement) -> bool:
    """``x = x`` (``self.cfg = cfg`` once both are ``cfg``)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return False
    small = stmt.body[0]
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and isinstance(small.value, cst.Name)
        and small.targets[0].target.value == small.value.value
    )


def is_pass(stmt: cst.BaseStatement) -> bool:
    """A line of only ``pass``."""
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Pass) for s in stmt.body)


def is_super_init(stmt: cst.BaseStatement) -> bool:
    """A line of only ``super().__init__(...)``."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return False
    call = stmt.body[0].value
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "__init__" and isinstance(call.func.value, cst.Call) and dotted_name(call.func.value.func) == "super"
