"""``with`` statements that switch gradients off or enter autocast (read-only checks)."""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import AUTOCAST_CONTEXTS, GRAD_MODE_SWITCH, NO_GRAD_CONTEXTS
from .names import call_name
from .script import Script


def is_no_grad_item(item: cst.WithItem, script: Script) -> bool:
    """``torch.no_grad()``, ``torch.inference_mode()``, ``torch.set_grad_enabled(False)``."""
    call = item.item
    name = script.qualify(call_name(call)) if isinstance(call, cst.Call) else None
    if name == GRAD_MODE_SWITCH:
        args = call.args
        return bool(args) and isinstance(args[0].value, cst.Name) and args[0].value.value == "False"
    return name in NO_GRAD_CONTEXTS and item.asname is None


def is_autocast_item(item: cst.WithItem, script: Script) -> bool:
    call = item.item
    return isinstance(call, cst.Call) and script.qualify(call_name(call)) in AUTOCAST_CONTEXTS and item.asname is None


def is_no_grad_with(stmt: cst.BaseStatement, script: Script) -> bool:
    """``with torch.no_grad():`` (also together with autocast: ``with torch.no_grad(), autocast(...):``)."""
    if not isinstance(stmt, cst.With) or not stmt.items:
        return False
    no_grad = [item for item in stmt.items if is_no_grad_item(item, script)]
    others = [item for item in stmt.items if not is_no_grad_item(item, script)]
    return len(no_grad) == 1 and all(is_autocast_item(item, script) for item in others)


def autocast_items(holder: cst.BaseStatement, script: Script) -> tuple[cst.WithItem, ...]:
    """The autocast items of a ``with`` statement."""
    if isinstance(holder, cst.With):
        return tuple(item for item in holder.items if is_autocast_item(item, script))
    return ()
