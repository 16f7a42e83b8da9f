"""A device given as a CUDA index (``device = 0  # shorthand for cuda:0``, passed on as
``gpu_id``): the names that hold it and the statement that chooses it (read-only).

``tensor.to(0)`` moves to ``cuda:0``, so ``x.to(gpu_id)`` is a device move Lightning makes
itself, and the integer is a choice of the GPU. The chain is followed through plain name
assignments (``gpu_id = device``) and a parameter of the training's function, to the argument
its one call passes (``main(device, ...)``).
"""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import dotted_name
from .names import param_names


def index_devices(script, scope, caller, assignments) -> tuple[set[str], list[cst.BaseStatement]]:
    """The names ``x.to(name)`` moves to that hold an integer device index, and the statements
    assigning the integer. ``caller``: the training function's call (``training.Caller``);
    ``assignments(script, scope, name)``: the name's assignments in a scope."""
    names: set[str] = set()
    choices: list[cst.BaseStatement] = []
    for name in sorted(_moved_to(script.module)):
        chain, choice = _resolve(script, scope, caller, assignments, name)
        if choice is not None:
            names |= chain
            if not any(choice is c for c in choices):
                choices.append(choice)
    return names, choices


def _moved_to(module: cst.Module) -> set[str]:
    found: set[str] = set()

    class _Moves(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "to" and len(node.args) == 1:
                arg = node.args[0]
                if (arg.keyword is None or arg.keyword.value == "device") and isinstance(arg.value, cst.Name):
                    found.add(arg.value.value)

    module.visit(_Moves())
    return found


def _resolve(script, scope, caller, assignments, name: str):
    """(the names along the chain, the statement assigning the integer) or (_, None)."""
    chain: set[str] = set()
    for _ in range(4):
        chain.add(name)
        found = assignments(script, scope, name)
        if not found and isinstance(scope, cst.FunctionDef) and caller.scope is scope and name in param_names(scope.params):
            outer = caller.outer_name(name)
            if outer is None or "." in outer:
                return chain, None
            scope, name = caller.caller_scope, outer
            continue
        if len(found) != 1:
            return chain, None
        stmt, value = found[0]
        if isinstance(value, cst.Integer):
            return chain, stmt
        if not isinstance(value, cst.Name) or dotted_name(value) in (None, "True", "False", "None"):
            return chain, None
        name = value.value
    return chain, None
