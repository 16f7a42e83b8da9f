"""PTL105: torch.no_grad() / self.eval() in validation/test/predict steps (and self.train())."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import NO_GRAD_CONTEXTS
from ..cst_helpers import is_self_method_call
from ..findings import SAFE
from ..lightning_api import EVAL_STEPS
from ..rule import Invalid, Rule, Valid


class RedundantGradModeInEvalStep(Rule):
    """
    ## What it does
    Flags `with torch.no_grad():`, `with torch.inference_mode():`, `@torch.no_grad()` and
    `self.eval()` in `validation_step`, `test_step` and `predict_step`, and `self.train()` in
    `training_step`, of a LightningModule.

    ## Why is this bad?
    Lightning already runs evaluation steps in eval mode under `torch.inference_mode()` and
    puts the model back into training mode afterwards. The extra calls are noise copied from
    plain PyTorch loops; `self.train()` in `training_step` can also undo modules deliberately
    kept in eval mode (frozen batch-norm), which Lightning 2.2+ preserves.

    ## Fix safety
    Safe: the `with` block is replaced by its body, the decorator and the `self.eval()` /
    `self.train()` statements are removed. Gradients are off either way in these steps. A
    `with torch.no_grad() as x:` block is left alone.
    """

    code = "PTL105"
    name = "redundant-grad-mode-in-eval-step"
    message = "redundant grad-mode / train-mode switch in a Lightning step"
    keywords = ("no_grad", "inference_mode", ".eval()", ".train()")
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    x, y = batch
                    self.log("val_loss", self.loss(self(x), y))
            """
        ),
        Valid(
            """
            import torch
            def evaluate(model, loader):
                model.eval()
                with torch.no_grad():
                    return sum(model(x).sum() for x in loader)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    self.eval()
                    with torch.no_grad():
                        x, y = batch
                        loss = self.loss(self(x), y)
                    self.log("val_loss", loss)
            """,
            fixed="""
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    x, y = batch
                    loss = self.loss(self(x), y)
                    self.log("val_loss", loss)
            """,
            line=5,
        ),
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                @torch.no_grad()
                def test_step(self, batch, batch_idx):
                    self.log("test_loss", self.loss(batch))
            """,
            fixed="""
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def test_step(self, batch, batch_idx):
                    self.log("test_loss", self.loss(batch))
            """,
        ),
    ]

    def _step(self) -> str | None:
        method = self.ctx.lightning_method("module")
        if method is None:
            return None
        if method.name in EVAL_STEPS or method.name == "training_step":
            return method.name
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        step = self._step()
        if step not in EVAL_STEPS or self.ctx.method.node is not node:
            return
        for decorator in node.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            if self.ctx.qualname(target) in NO_GRAD_CONTEXTS:
                kept = [d for d in node.decorators if d is not decorator]
                fix = self.fix(SAFE, "Remove the decorator", {node: node.with_changes(decorators=kept)})
                self.report(decorator, f"`@{self.ctx.qualname(target)}()` on `{step}` is redundant: Lightning runs it under inference mode", fix)

    def visit_With(self, node: cst.With) -> None:
        step = self._step()
        if step not in EVAL_STEPS:
            return
        for item in node.items:
            call = item.item
            target = call.func if isinstance(call, cst.Call) else call
            qn = self.ctx.qualname(target)
            if qn in NO_GRAD_CONTEXTS:
                fix = None
                if len(node.items) == 1 and item.asname is None and isinstance(node.body, cst.IndentedBlock):
                    body = list(node.body.body)
                    if body:
                        body[0] = body[0].with_changes(leading_lines=(*node.leading_lines, *body[0].leading_lines))
                        fix = self.fix(SAFE, f"Remove the `with {qn}()` block, keep its body", {node: cst.FlattenSentinel(body)})
                self.report(node, f"`with {qn}()` in `{step}` is redundant: Lightning runs it under inference mode", fix)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        step = self._step()
        if step is None:
            return
        for small in node.body:
            if not isinstance(small, cst.Expr):
                continue
            wanted = "train" if step == "training_step" else "eval"
            if is_self_method_call(small.value, wanted) and not small.value.args:
                fix = None
                if len(node.body) == 1:
                    fix = self.fix(SAFE, f"Remove `self.{wanted}()`", {node: cst.RemovalSentinel.REMOVE})
                where = "Lightning switches to training mode itself" if wanted == "train" else "Lightning switches to eval mode itself"
                self.report(small, f"`self.{wanted}()` in `{step}` is redundant: {where}", fix)
