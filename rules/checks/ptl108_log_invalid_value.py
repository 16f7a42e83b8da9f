"""PTL108: self.log() of values Lightning cannot log (dicts, strings, None, collections)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import is_self_method_call, string_value
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid


class LogInvalidValue(Rule):
    """
    ## What it does
    Flags `self.log(name, value)` where `value` is a dict, list, tuple, set, string or `None`
    literal, and `self.log_dict({...})` with a nested dict value, in a Lightning class.

    ## Why is this bad?
    `self.log` takes one number, a scalar tensor or a torchmetrics `Metric`. Lightning raises
    `ValueError` for the rest (dict values have not been accepted since 2.0: "`self.log(...)`
    was called, but `dict` values cannot be logged").

    ## Fix safety
    Safe for a dict literal logged under a literal name: `self.log("m", {"acc": a, "f1": f})`
    becomes `self.log_dict({"m/acc": a, "m/f1": f})` with the same keyword arguments.
    """

    code = "PTL108"
    name = "log-invalid-value"
    message = "`self.log` cannot log this value"
    keywords = ("self.log",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log("val_loss", self.loss(batch), prog_bar=True)
                    self.log_dict({"val_acc": self.acc, "val_f1": self.f1})
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log("metrics", {"acc": self.acc(batch), "f1": self.f1(batch)}, on_epoch=True)
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.log_dict({"metrics/acc": self.acc(batch), "metrics/f1": self.f1(batch)}, on_epoch=True)
            """,
            line=4,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    self.log("stage", "train")
                    self.log_dict({"a": {"b": 1}})
            """
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not is_self_method_call(node, "log", "log_dict") or not self.ctx.in_lightning_class:
            return
        if node.func.attr.value == "log_dict":
            first = node.args[0].value if node.args else None
            if isinstance(first, cst.Dict):
                for element in first.elements:
                    if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Dict):
                        self.report(element, "nested dicts cannot be logged with `self.log_dict`; flatten the keys")
            return
        if len(node.args) < 2 or node.args[1].keyword is not None:
            return
        value = node.args[1].value
        kind = None
        if isinstance(value, (cst.Dict, cst.DictComp)):
            kind = "a dict"
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set, cst.ListComp, cst.SetComp)):
            kind = "a collection"
        elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            kind = "a string"
        elif isinstance(value, cst.Name) and value.value == "None":
            kind = "None"
        if kind is None:
            return
        fix = None
        name = string_value(node.args[0].value)
        if isinstance(value, cst.Dict) and name is not None:
            elements = []
            for element in value.elements:
                key = string_value(element.key) if isinstance(element, cst.DictElement) else None
                if key is None:
                    elements = None
                    break
                elements.append(element.with_changes(key=cst.SimpleString(repr(f"{name}/{key}").replace("'", '"'))))
            if elements:
                new_args = [node.args[1].with_changes(value=value.with_changes(elements=elements)), *node.args[2:]]
                new = node.with_changes(func=node.func.with_changes(attr=cst.Name("log_dict")), args=new_args)
                fix = self.fix(SAFE, "Use `self.log_dict` with prefixed keys", {node: new})
        self.report(node.args[1], f"`self.log` cannot log {kind}; log a number, a scalar tensor or a Metric", fix)
