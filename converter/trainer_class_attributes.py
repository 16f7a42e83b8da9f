"""The plain names the trainer-class unrolling gives the class's state: ``self.<x>`` becomes the
variable ``x``, or ``<trainer>_x`` where the scope the instance lives in already has an ``x``
that is not the very object the constructor stores in ``self.x``."""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import dotted_name
from .names import fresh_name
from .script import Script
from .trainer_class_nodes import is_inside, is_self_attribute, name_nodes, same_object_of, stored_values


def plain_names_of_attributes(
    script: Script,
    cls: cst.ClassDef,
    init: cst.FunctionDef,
    bound: dict[str, cst.BaseExpression],
    attr_names: set[str],
    instance: str,
    site: cst.BaseStatement,
    uses: list[tuple[cst.BaseStatement, cst.CSTNode]],
    taken: set[str],
) -> dict[str, str]:
    """``self.x`` -> ``x``, unless the scope already has an ``x`` that is not the very object
    the constructor stores first (``self.model = model`` or ``model.to(gpu_id)`` with the
    caller's ``model``); where the class stores another object in ``self.x`` later
    (``self.model = DDP(self.model)``), only if the scope reads no ``x`` after the
    construction. ``bound`` is ``__init__``'s parameters -> the construction's arguments; the
    names chosen are added to ``taken``."""
    first: dict[str, cst.BaseExpression] = {}
    for stmt in init.body.body:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and is_self_attribute(small.targets[0].target):
            first.setdefault(small.targets[0].target.attr.value, small.value)
    aliases = set()
    for attr, value in first.items():
        param = same_object_of(value)
        if param is None or not (isinstance(bound.get(param), cst.Name) and bound[param].value == attr):
            continue
        if all(dotted_name(v) == param for v in stored_values(cls, attr)) or not _read_after(script, cls, attr, site, uses):
            aliases.add(attr)
    attrs: dict[str, str] = {}
    for attr in sorted(attr_names):
        if attr in taken and attr not in aliases:
            attrs[attr] = fresh_name(f"{instance}_{attr}", taken)
        else:
            attrs[attr] = attr
            taken.add(attr)
    return attrs


def _read_after(script: Script, cls: cst.ClassDef, name: str, site: cst.BaseStatement, uses) -> bool:
    """Does the scope read ``name`` after the construction (outside the instance's calls)?"""
    parents = script.parents
    scope = parents.enclosing_function(site)
    skip = [site] + [stmt for stmt, _ in uses]
    after = script.lines.line(site)
    for node in name_nodes(scope if scope is not None else script.module, name):
        if is_inside(parents, node, cls) or any(node is s or is_inside(parents, node, s) for s in skip):
            continue
        if parents.enclosing_function(node) is scope and script.lines.line(node) > after:
            return True
    return False
