"""The epoch metrics an evaluation logs with ``self.log``: which variables, under which keys."""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import dotted_name
from .names import usage_of

METRIC_WORDS = ("loss", "acc", "correct", "error", "err", "score", "f1", "auc", "metric", "ppl", "perplexity", "mse", "mae", "rmse", "psnr", "iou")
STAGE_PREFIXES = {"val": ("val", "valid", "eval"), "test": ("test",)}
_CONTAINER_CALLS = ("list", "dict", "set", "tuple", "torch.cat", "torch.stack", "np.array", "numpy.array")


def metric_key(stage: str, name: str) -> str:
    """The logged key for a metric variable: its own name when it already names the stage, the
    stage instead of another stage's word (``test_loss`` of a validation → ``val_loss``), else
    the name after the stage (``epoch_acc`` → ``val_epoch_acc``)."""
    name = name.removeprefix("self.")
    lowered = name.lower()
    if lowered.startswith(STAGE_PREFIXES[stage]):
        return name
    for other, prefixes in STAGE_PREFIXES.items():
        for prefix in prefixes if other != stage else ():
            if lowered.startswith(prefix + "_") and len(name) > len(prefix) + 1:
                return f"{stage}_{name[len(prefix) + 1:]}"
    return f"{stage}_{name}"


def metric_names(statements: list[cst.BaseStatement], forced: list[str]) -> list[str]:
    """Variables of an evaluation that hold a scalar metric, to log at the end of the epoch.

    Accumulators and results named like metrics (``test_loss``, ``correct``, ``val_acc``);
    not containers (initialised as ``[]``/``{}``) and not plural collections. ``forced`` names
    are logged whatever their name (a scheduler monitors them).
    """
    usage = usage_of(*statements)
    containers: set[str] = set()

    class _Inits(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign):
            targets = [t.target for t in node.targets]
            if isinstance(node.value, cst.Tuple) and all(isinstance(t, (cst.Tuple, cst.List)) and len(t.elements) == len(node.value.elements) for t in targets):
                # ``val_loss, correct = 0.0, 0``: one value per name
                for target in targets:
                    for element, value in zip(target.elements, node.value.elements):
                        self.visit_Assign(cst.Assign([cst.AssignTarget(element.value)], value.value))
                return
            if isinstance(node.value, (cst.List, cst.Dict, cst.ListComp, cst.DictComp, cst.Tuple, cst.Set)) or (
                isinstance(node.value, cst.Call) and dotted_name(node.value.func) in _CONTAINER_CALLS
            ):
                for target in node.targets:
                    containers.update(usage_of(cst.Module([cst.SimpleStatementLine([cst.Assign([target], cst.Name("x"))])])).stores)

    for stmt in statements:
        stmt.visit(_Inits())
    names = []
    for name in sorted(usage.stores):
        lowered = name.lower()
        if name in forced:
            names.append(name)
            continue
        if name in containers or name.startswith("_"):
            continue
        if lowered.endswith("s") and not lowered.endswith(("loss", "acc", "ss")):
            continue
        if any(word in lowered for word in METRIC_WORDS) and name not in ("loss_fn", "criterion"):
            names.append(name)
    for name in forced:
        if name not in names:
            names.append(name)
    return names
