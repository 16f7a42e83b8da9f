"""PTL104: zero_grad/backward/step in training_step under automatic optimization."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import is_self_method_call, iter_nodes
from ...api_knowledge import dotted_name
from ..rule import Invalid, Rule, Valid


class ManualOptimizationInTrainingStep(Rule):
    """
    ## What it does
    Flags `loss.backward()`, `self.manual_backward(loss)`, `optimizer.zero_grad()`,
    `optimizer.step()` and `self.lr_schedulers().step()` inside `training_step` of a
    LightningModule that uses automatic optimization (the default).

    ## Why is this bad?
    With automatic optimization Lightning calls `zero_grad`, `backward` and `step` itself
    around the loss that `training_step` returns. Doing it again gives a second backward pass
    ("Trying to backward through the graph a second time") or doubled gradients, an extra
    optimizer step per batch, and broken gradient accumulation and clipping;
    `manual_backward` raises outright. Either return the loss and delete these calls, or set
    `self.automatic_optimization = False` in `__init__` and use `self.manual_backward(loss)`.

    There is no automatic fix: which of the two the author meant is a decision.
    """

    code = "PTL104"
    name = "manual-optimization-in-training-step"
    message = "manual optimization call in `training_step` under automatic optimization"
    keywords = ("backward", "zero_grad", ".step(")

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    loss = self.loss(batch)
                    self.log("train_loss", loss)
                    return loss
            """
        ),
        Valid(
            """
            import pytorch_lightning as pl
            class GAN(pl.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.automatic_optimization = False
                def training_step(self, batch, batch_idx):
                    opt = self.optimizers()
                    opt.zero_grad()
                    self.manual_backward(self.loss(batch))
                    opt.step()
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    opt = self.optimizers()
                    opt.zero_grad()
                    loss = self.loss(batch)
                    loss.backward()
                    opt.step()
                    return loss
            """,
            line=5,
        )
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.lightning_method("module")
        if method is None or method.node is not node or node.name.value != "training_step":
            return
        if not method.cls.automatic_optimization:
            return
        optimizers = {"optimizer", "opt", "optim"}
        for sub in iter_nodes(node.body, into_scopes=False):
            if isinstance(sub, cst.Assign) and is_self_method_call(sub.value, "optimizers"):
                for target in sub.targets:
                    for name in iter_nodes(target.target):
                        if isinstance(name, cst.Name):
                            optimizers.add(name.value)
        for sub in iter_nodes(node.body, into_scopes=False):
            if not isinstance(sub, cst.Call) or not isinstance(sub.func, cst.Attribute):
                continue
            attr = sub.func.attr.value
            receiver = sub.func.value
            if is_self_method_call(sub, "manual_backward"):
                self.report(sub, "`self.manual_backward()` needs `self.automatic_optimization = False`; otherwise return the loss")
            elif attr == "backward" and not (isinstance(receiver, cst.Name) and receiver.value == "self"):
                self.report(sub, "`.backward()` in `training_step`: Lightning already calls backward on the returned loss")
            elif attr in ("zero_grad", "step"):
                dotted = dotted_name(receiver) or ""
                is_optimizer = dotted in optimizers or dotted.split(".")[-1] in optimizers or is_self_method_call(receiver, "optimizers", "lr_schedulers")
                if is_optimizer:
                    self.report(sub, f"`.{attr}()` in `training_step`: Lightning already steps and zeroes the optimizer under automatic optimization")
