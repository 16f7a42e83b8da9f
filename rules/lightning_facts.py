"""Facts about Lightning classes that several rules need (logged keys, DataLoaders, schedulers)."""

from __future__ import annotations

from typing import Any

import libcst as cst

from ..api_knowledge import DATALOADERS, SCHEDULER_MODULE
from .cst_helpers import dict_items, is_self_method_call, iter_nodes, keyword, literal, string_value


def logged_keys(class_node: cst.ClassDef) -> tuple[set[str], bool]:
    """The metric names a class logs with ``self.log`` / ``self.log_dict``, and whether some
    are not literal (an f-string, a variable, a MetricCollection): then the set is partial."""
    keys: set[str] = set()
    dynamic = False
    for node in iter_nodes(class_node):
        if not is_self_method_call(node, "log", "log_dict"):
            continue
        if not node.args:
            continue
        first = node.args[0].value
        if node.func.attr.value == "log":
            name = string_value(first)
            if name is None:
                dynamic = True
                continue
            on_step = keyword(node, "on_step")
            on_epoch = keyword(node, "on_epoch")
            keys.add(name)
            if on_step is not None and on_epoch is not None and literal(on_step.value) is True and literal(on_epoch.value) is True:
                keys.update({f"{name}_step", f"{name}_epoch"})
        else:
            if isinstance(first, cst.Dict) and all(isinstance(e, cst.DictElement) for e in first.elements):
                items = dict_items(first)
                if len(items) != len(first.elements):
                    dynamic = True
                keys.update(items)
            else:
                dynamic = True
    return keys, dynamic


def is_dataloader_call(ctx: Any, node: Any) -> bool:
    """``DataLoader(...)`` from torch (or an unresolved bare ``DataLoader``)."""
    if not isinstance(node, cst.Call):
        return False
    qn = ctx.call_name(node)
    if qn in DATALOADERS:
        return True
    return qn is None and isinstance(node.func, cst.Name) and node.func.value == "DataLoader"


def is_scheduler_call(ctx: Any, node: Any) -> bool:
    """A call of a ``torch.optim.lr_scheduler`` class (or something named like one)."""
    if not isinstance(node, cst.Call):
        return False
    qn = ctx.call_name(node) or ""
    if qn.startswith(SCHEDULER_MODULE + "."):
        return True
    tail = (qn or _tail(node.func)).rsplit(".", 1)[-1]
    return tail.endswith(("LR", "Scheduler", "ReduceLROnPlateau", "Schedule")) or tail in ("LambdaLR", "OneCycleLR")


def is_plateau_call(ctx: Any, node: Any) -> bool:
    if not isinstance(node, cst.Call):
        return False
    qn = ctx.call_name(node) or _tail(node.func)
    return qn.rsplit(".", 1)[-1] == "ReduceLROnPlateau"


def _tail(func: Any) -> str:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def local_assignments(function: cst.FunctionDef) -> dict[str, Any]:
    """``name = <value>`` in a function body (last one wins), for light data flow."""
    values: dict[str, Any] = {}
    for node in iter_nodes(function.body, into_scopes=False):
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            values[node.targets[0].target.value] = node.value
    return values
