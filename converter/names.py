"""Which names a piece of code reads and binds, and fresh names for generated code. Cheap and
metadata-free (no libcst scope providers)."""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import dotted_name


def fresh_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... whichever ``taken`` lacks (and record it as taken)."""
    candidate = name
    counter = 2
    while candidate in taken:
        candidate = f"{name}_{counter}"
        counter += 1
    taken.add(candidate)
    return candidate


def call_name(node: cst.BaseExpression) -> str | None:
    """Dotted name of the function of a call (``optim.Adam`` for ``optim.Adam(...)``)."""
    if isinstance(node, cst.Call):
        return dotted_name(node.func)
    return None


class NameUsage(cst.CSTVisitor):
    """Which plain names a piece of code reads (``loads``) and binds (``stores``).

    Attribute names, keyword argument names and comprehension variables are not counted.
    Nested function and class bodies count as reads only (their own bindings are local).
    """

    def __init__(self) -> None:
        self.loads: set[str] = set()
        self.stores: set[str] = set()
        self.first_load_before_store: set[str] = set()

    # --- helpers -----------------------------------------------------------------------
    def _store(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.stores.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._store(element.value)
        elif isinstance(target, cst.StarredElement):
            self._store(target.value)
        else:  # attribute / subscript targets read their base
            target.visit(self)

    def _load(self, name: str) -> None:
        if name not in self.stores:
            self.first_load_before_store.add(name)
        self.loads.add(name)

    # --- visitors -----------------------------------------------------------------------
    def visit_Name(self, node: cst.Name) -> None:
        self._load(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        node.value.visit(self)
        for target in node.targets:
            self._store(target.target)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        node.value.visit(self)
        if isinstance(node.target, cst.Name):
            self._load(node.target.value)
        self._store(node.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is not None:
            node.value.visit(self)
            self._store(node.target)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        node.value.visit(self)
        self._store(node.target)
        return False

    def visit_For(self, node: cst.For) -> bool:
        node.iter.visit(self)
        self._store(node.target)
        node.body.visit(self)
        if node.orelse is not None:
            node.orelse.visit(self)
        return False

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        node.item.visit(self)
        if node.asname is not None:
            self._store(node.asname.name)
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        if node.type is not None:
            node.type.visit(self)
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.stores.add(node.name.name.value)
        node.body.visit(self)
        return False

    def visit_Global(self, node: cst.Global) -> bool:
        return False

    def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
        return False

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.stores.add(node.asname.name.value)
        else:
            self.stores.add((dotted_name(node.name) or "").split(".")[0])
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.stores.add(node.name.value)
        inner = NameUsage()
        node.body.visit(inner)
        params = {p.name.value for p in _all_params(node.params)}
        for name in inner.loads - inner.stores - params:
            self._load(name)
        for deco in node.decorators:
            deco.visit(self)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stores.add(node.name.value)
        for base in node.bases:
            base.visit(self)
        inner = NameUsage()
        node.body.visit(inner)
        for name in inner.loads - inner.stores:
            self._load(name)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        inner = NameUsage()
        node.body.visit(inner)
        params = {p.name.value for p in _all_params(node.params)}
        for name in inner.loads - params:
            self._load(name)
        return False

    def _comprehension(self, node) -> bool:
        inner = NameUsage()
        for_in = node.for_in
        targets: set[str] = set()
        while for_in is not None:
            t = NameUsage()
            t._store(for_in.target)
            targets |= t.stores
            for_in.iter.visit(inner)
            for cond in for_in.ifs:
                cond.visit(inner)
            for_in = for_in.inner_for_in
        for part in ("elt", "key", "value"):
            sub = getattr(node, part, None)
            if sub is not None:
                sub.visit(inner)
        for name in inner.loads - targets:
            self._load(name)
        return False

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension


def _all_params(params: cst.Parameters):
    yield from params.posonly_params
    yield from params.params
    yield from params.kwonly_params
    if isinstance(params.star_arg, cst.Param):
        yield params.star_arg
    if params.star_kwarg is not None:
        yield params.star_kwarg


def param_names(params: cst.Parameters) -> list[str]:
    return [p.name.value for p in _all_params(params)]


def usage_of(*nodes: cst.CSTNode) -> NameUsage:
    usage = NameUsage()
    for node in nodes:
        node.visit(usage)
    return usage


class _FlatUsage(NameUsage):
    """Like :class:`NameUsage`, but descending into every nested scope (names anywhere)."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.stores.add(node.name.value)
        for deco in node.decorators:
            deco.visit(self)
        node.params.visit(self)
        if node.returns is not None:
            node.returns.visit(self)
        node.body.visit(self)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.stores.add(node.name.value)
        for deco in node.decorators:
            deco.visit(self)
        for arg in list(node.bases) + list(node.keywords):
            arg.visit(self)
        node.body.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return True

    def visit_Param(self, node: cst.Param) -> bool:
        if node.default is not None:
            node.default.visit(self)
        if node.annotation is not None:
            node.annotation.visit(self)
        return False

    def _comprehension(self, node) -> bool:
        return True

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension


def all_names(node: cst.CSTNode) -> set[str]:
    """Every name ``node`` reads or binds."""
    usage = usage_of(node)
    return usage.loads | usage.stores


def names_loaded_anywhere(node: cst.CSTNode) -> set[str]:
    """Every name read anywhere under ``node``, nested functions and classes included."""
    usage = _FlatUsage()
    node.visit(usage)
    return usage.loads


def names_used_anywhere(*nodes: cst.CSTNode) -> set[str]:
    """Every name read or bound anywhere under ``nodes``, nested functions and classes included."""
    usage = _FlatUsage()
    for node in nodes:
        node.visit(usage)
    return usage.loads | usage.stores
