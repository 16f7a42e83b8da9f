"""Front stage: the script's helper that builds the training objects and returns them
(``dataset, model, optimizer = load_train_objs()``, the shape of PyTorch's DDP tutorials) is
unrolled at its one call, so the analysis finds where the optimizer is created.

Only a helper that is plain enough to stand in its caller exactly is unrolled: called once, as
``a, b = f(...)`` or ``a = f(...)``, its body straight-line assignments (no branches, loops or
early returns) ending in ``return x, y`` of its own names, its parameters passed plain names or
constants. Its locals become the caller's names (the returned ones take the names the caller
gives them; another one that clashes is renamed). Anything else stays as written (and the
analysis refuses the script as before, naming the line).
"""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import OPTIMIZER_CLASSES, OPTIMIZER_MODULE
from .names import fresh_name, names_used_anywhere, param_names, usage_of
from .script import Script
from .tree import ParentMap, calls_named, final_return, is_docstring


def inline_factory_functions(script: Script) -> tuple[Script, list[tuple[cst.FunctionDef, cst.BaseStatement]]]:
    """The script with each optimizer-building helper unrolled at its call (see the module), and
    the helpers unrolled with their calls (nodes of the script given)."""
    unrolled: list[tuple[cst.FunctionDef, cst.BaseStatement]] = []
    tried: set[str] = set()
    while True:
        candidates = [s for s in script.module.body if isinstance(s, cst.FunctionDef) and s.name.value not in tried and _builds_optimizer(script, s)]
        if not candidates:
            return script, unrolled
        function = candidates[0]
        tried.add(function.name.value)
        site = _single_site(script, function)
        new = _unroll(script, function) if site is not None else None
        if new is not None:  # a new tree: look for the next helper in it
            unrolled.append((function, site))
            script = new


def _single_site(script: Script, function: cst.FunctionDef) -> cst.BaseStatement | None:
    sites = calls_named(script.module, function.name.value)
    return script.parents.statement_of(sites[0]) if len(sites) == 1 else None


def _builds_optimizer(script: Script, function: cst.FunctionDef) -> bool:
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, node):
            qualified = script.qualified_call(node) or ""
            if qualified.startswith(OPTIMIZER_MODULE + ".") or qualified.rsplit(".", 1)[-1] in OPTIMIZER_CLASSES:
                found.append(node)

    function.body.visit(_Finder())
    return bool(found)


def _unroll(script: Script, function: cst.FunctionDef) -> Script | None:
    name = function.name.value
    sites = calls_named(script.module, name)
    if len(sites) != 1 or _references(script.module, name) != 2 or function.decorators or function.asynchronous:
        return None
    call = sites[0]
    stmt = script.parents.statement_of(call)
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
        return None
    assign = stmt.body[0]
    if assign.value is not call or len(assign.targets) != 1:
        return None
    targets = _names_of(assign.targets[0].target)
    body, value = final_return([s for s in function.body.body if not is_docstring(s)])
    returned = _names_of(value) if value is not None else None
    if targets is None or returned is None or len(targets) != len(returned) or len(set(returned)) != len(returned):
        return None
    if isinstance(assign.targets[0].target, cst.Name) != isinstance(value, cst.Name):
        return None
    if not all(isinstance(s, cst.SimpleStatementLine) and all(isinstance(x, (cst.Assign, cst.Expr)) for x in s.body) for s in body):
        return None
    bound = _bind(function, call)
    if bound is None:
        return None
    scope = script.parents.enclosing_function(stmt)
    taken = _scope_names(script, scope, function)
    usage = usage_of(*body)
    if set(bound) & usage.stores or not set(returned) <= usage.stores:
        return None
    free = usage.loads - usage.stores - set(bound)
    if scope is not None and free & (usage_of(scope.body).stores | set(param_names(scope.params))):
        return None
    if free & set(targets):  # the helper reads a global the caller's names would take over
        return None
    renames: dict[str, cst.BaseExpression] = dict(bound)
    for local, target in zip(returned, targets):
        renames[local] = cst.Name(target)
    for local in sorted(usage.stores - set(returned)):
        if local in taken or local in targets:
            renames[local] = cst.Name(fresh_name(local, taken | set(targets)))
    lines = script.lines
    mapper = _Rename(renames, lines)
    statements = [lines.remember(s.visit(mapper), s) for s in body]
    if statements:
        first = statements[0]
        statements[0] = lines.remember(first.with_changes(leading_lines=stmt.leading_lines), first)
    module = script.module.visit(_Splice(function, stmt, statements, lines))
    return Script(module=module, imports=script.imports, parents=ParentMap(module), lines=lines)


def _references(module: cst.Module, name: str) -> int:
    """How many times ``name`` is written in the module (its ``def`` and one call: 2)."""
    count = 0

    class _Counter(cst.CSTVisitor):
        def visit_Name(self, node):
            nonlocal count
            count += node.value == name

    module.visit(_Counter())
    return count


def _names_of(node: cst.BaseExpression | None) -> list[str] | None:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in node.elements):
        return [e.value.value for e in node.elements]
    return None


def _bind(function: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression] | None:
    params = function.params
    if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None or params.kwonly_params or params.posonly_params:
        return None
    if any(a.star or a.keyword is not None for a in call.args) or len(call.args) > len(params.params):
        return None
    bound: dict[str, cst.BaseExpression] = {}
    for i, param in enumerate(params.params):
        value = call.args[i].value if i < len(call.args) else param.default
        if not isinstance(value, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
            return None
        bound[param.name.value] = value
    return bound


def _scope_names(script: Script, scope, function: cst.FunctionDef) -> set[str]:
    if scope is not None:
        return names_used_anywhere(scope)
    return names_used_anywhere(*(s for s in script.module.body if s is not function))


class _Rename(cst.CSTTransformer):
    def __init__(self, renames: dict[str, cst.BaseExpression], lines) -> None:
        self.renames, self.lines = renames, lines

    def leave_Name(self, original, updated):
        if original.value in self.renames:
            return self.lines.remember(self.renames[original.value].deep_clone(), original)
        return updated

    def leave_Attribute(self, original, updated):
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original, updated):
        return updated.with_changes(keyword=original.keyword)

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.lines.remember(result, original)
        return result


class _Splice(cst.CSTTransformer):
    def __init__(self, function, stmt, statements, lines) -> None:
        self.function, self.stmt, self.statements, self.lines = function, stmt, statements, lines

    def leave_FunctionDef(self, original, updated):
        return cst.RemoveFromParent() if original is self.function else updated

    def leave_SimpleStatementLine(self, original, updated):
        return cst.FlattenSentinel(self.statements) if original is self.stmt else updated

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(result, cst.CSTNode) and result is not original:
            self.lines.remember(result, original)
        return result
