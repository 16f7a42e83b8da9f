"""PTL207: returning {"log": ...} / {"progress_bar": ...} from step and epoch methods."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import dict_items
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid

_MAGIC = ("log", "progress_bar")


class LegacyLogDictReturn(Rule):
    """
    ## What it does
    Flags `return {"loss": loss, "log": {...}}` (and `"progress_bar"`) in the methods of a
    LightningModule.

    ## Why is this bad?
    The magic `"log"` and `"progress_bar"` keys were removed in Lightning 1.3. Since then the
    returned dict is only passed on to `on_*_batch_end`: nothing is logged, and no error says
    so. Log with `self.log(...)` / `self.log_dict(...)` instead.

    ## Fix safety
    Safe: `"log": D` becomes `self.log_dict(D)` before the `return`, `"progress_bar": D`
    becomes `self.log_dict(D, prog_bar=True)`, and the other keys are still returned (the
    `return` is dropped when nothing is left).
    """

    code = "PTL207"
    name = "legacy-log-dict-return"
    message = "returning a `'log'` or `'progress_bar'` dict logs nothing since Lightning 1.3; use `self.log_dict()`"
    keywords = ("'log'", '"log"', "progress_bar")
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log("train_loss", loss)
                    return {"loss": loss}
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_epoch_end(self, outputs):
                    avg_loss = sum(x["val_loss"] for x in outputs) / len(outputs)
                    tensorboard_logs = {"val_loss": avg_loss}
                    return {"val_loss": avg_loss, "log": tensorboard_logs}
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_epoch_end(self, outputs):
                    avg_loss = sum(x["val_loss"] for x in outputs) / len(outputs)
                    tensorboard_logs = {"val_loss": avg_loss}
                    self.log_dict(tensorboard_logs)
                    return {"val_loss": avg_loss}
            """,
            line=6,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    return {"loss": loss, "log": {"train_loss": loss}, "progress_bar": {"loss": loss}}
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log_dict({"train_loss": loss})
                    self.log_dict({"loss": loss}, prog_bar=True)
                    return {"loss": loss}
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    if batch is None: return {"log": {}}
                    return self.shared(batch)
            """
        ),
    ]

    def visit_Return(self, node: cst.Return) -> None:
        if self.ctx.lightning_method("module") is None or not isinstance(node.value, cst.Dict):
            return
        items = dict_items(node.value)
        if not any(key in items for key in _MAGIC):
            return
        self.report(node.value, fix=self._fix(node))

    def _fix(self, ret: cst.Return):
        line = self._statement_of(ret)
        if line is None:
            return None
        items = dict_items(ret.value)
        new_lines: list[cst.BaseStatement] = []
        for key in _MAGIC:
            element = items.get(key)
            if element is None:
                continue
            args = [cst.Arg(element.value)]
            if key == "progress_bar":
                args = [
                    cst.Arg(element.value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                    cst.Arg(cst.Name("True"), keyword=cst.Name("prog_bar"), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))),
                ]
            call = cst.Call(cst.Attribute(cst.Name("self"), cst.Name("log_dict")), args)
            new_lines.append(cst.SimpleStatementLine([cst.Expr(call)]))
        magic_ids = {id(items[k]) for k in _MAGIC if k in items}
        kept = [e for e in ret.value.elements if id(e) not in magic_ids]
        if kept:
            last = kept[-1]
            if isinstance(last.comma, cst.Comma) and last is not ret.value.elements[-1]:
                kept[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            new_lines.append(line.with_changes(body=[ret.with_changes(value=ret.value.with_changes(elements=kept))], leading_lines=()))
        new_lines[0] = new_lines[0].with_changes(leading_lines=line.leading_lines)
        return self.fix(SAFE, "Log with `self.log_dict()` and return the other keys", {line: cst.FlattenSentinel(new_lines)})

    def _statement_of(self, ret: cst.Return) -> cst.SimpleStatementLine | None:
        """The statement line holding ``ret`` alone (a fix rewrites whole lines)."""
        method = self.ctx.method
        from ..cst_helpers import iter_nodes

        for node in iter_nodes(method.node.body, into_scopes=False):
            if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1 and node.body[0] is ret:
                return node
        return None
