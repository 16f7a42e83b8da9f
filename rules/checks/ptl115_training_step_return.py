"""PTL115: training_step returns something automatic optimization cannot use."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import dict_items, method_name, returns_of
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid


class TrainingStepReturn(Rule):
    """
    ## What it does
    Flags `training_step` returns (under automatic optimization) that are a tuple or list
    (`return loss, logits`), a dict literal without a `"loss"` key, or a Python number
    (`return loss.item()`).

    ## Why is this bad?
    Lightning calls backward on what `training_step` returns: a tensor, a dict with a `"loss"`
    tensor, or None to skip the batch. A tuple raises ("training_step must return a Tensor, a
    dict, or None"), a dict without `"loss"` raises, and `loss.item()` has no graph, so nothing
    is learned.

    ## Fix safety
    Safe for `return loss.item()` → `return loss`. Tuples and dicts are reported only: return
    `{"loss": loss, "logits": logits.detach()}` to pass extra values to the batch-end hooks.
    """

    code = "PTL115"
    name = "training-step-return"
    message = "`training_step` must return the loss tensor, a dict with `'loss'`, or None"
    keywords = ("training_step",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss, logits = self.shared(batch)
                    return {"loss": loss, "logits": logits.detach()}
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    return loss.item()
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    return loss
            """,
            line=5,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss, logits = self.shared(batch)
                    return loss, logits
            """
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node or node.name.value != "training_step":
            return
        if not method.cls.automatic_optimization:
            return
        for ret in returns_of(node):
            value = ret.value
            if isinstance(value, (cst.Tuple, cst.List)):
                self.report(value, "`training_step` returns a tuple/list; return the loss, or a dict with a `'loss'` key")
            elif isinstance(value, cst.Dict) and "loss" not in dict_items(value) and all(isinstance(e, cst.DictElement) for e in value.elements):
                self.report(value, "the dict returned by `training_step` has no `'loss'` key (Lightning raises)")
            elif isinstance(value, cst.Call) and method_name(value) == "item" and not value.args:
                fix = self.fix(SAFE, "Return the tensor, not `.item()`", {value: value.func.value})
                self.report(value, "`training_step` returns `.item()`, a Python number without a graph: nothing is learned", fix)
