"""PTL102: shuffle=True in a validation/test/predict DataLoader."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import keyword, literal, method_name, positional
from ..findings import SAFE
from ..lightning_api import EVAL_LOADER_HOOKS
from ..lightning_facts import is_dataloader_call
from ...api_knowledge import dotted_name
from ..rule import Invalid, Rule, Valid

#: trainer method -> (keyword, positional index) of its evaluation loaders
_EVAL_ARGS = {"fit": ("val_dataloaders", 2), "validate": ("dataloaders", 1), "test": ("dataloaders", 1), "predict": ("dataloaders", 1)}


class ShuffleInEvalDataloader(Rule):
    """
    ## What it does
    Flags `DataLoader(..., shuffle=True)` returned from `val_dataloader`, `test_dataloader` or
    `predict_dataloader`, or passed to the trainer as an evaluation loader
    (`trainer.fit(model, train_dl, val_dl)`, `trainer.validate/test/predict(model, dl)`,
    directly or through a variable).

    ## Why is this bad?
    Shuffling evaluation data changes nothing but the order of batches, which makes per-batch
    logs and saved predictions hard to compare between runs. Lightning warns about it at run
    time ("it is strongly recommended that you turn shuffling off for val/test dataloaders");
    under DDP the injected `DistributedSampler` also keeps shuffling.

    ## Fix safety
    Safe: `shuffle=True` becomes `shuffle=False`. Only the iteration order changes; metrics
    that do not depend on batch order are unaffected. If you shuffle on purpose (to visualise
    random samples), silence the rule with `# noqa: PTL102`.
    """

    code = "PTL102"
    name = "shuffle-in-eval-dataloader"
    message = "evaluation DataLoader with `shuffle=True`"
    keywords = ("shuffle",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            class Data(pl.LightningDataModule):
                def train_dataloader(self):
                    return DataLoader(self.train_ds, batch_size=32, shuffle=True)
                def val_dataloader(self):
                    return DataLoader(self.val_ds, batch_size=32)
            """
        ),
        Valid(
            """
            import torch.utils.data as tud
            train_dl = tud.DataLoader(ds, shuffle=True)
            trainer.fit(model, train_dl)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            import torch.utils.data as tud
            class Net(pl.LightningModule):
                def val_dataloader(self):
                    return tud.DataLoader(self.val_ds, batch_size=32, shuffle=True)
            """,
            fixed="""
            import pytorch_lightning as pl
            import torch.utils.data as tud
            class Net(pl.LightningModule):
                def val_dataloader(self):
                    return tud.DataLoader(self.val_ds, batch_size=32, shuffle=False)
            """,
            line=5,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            train_dl = DataLoader(train_ds, batch_size=64, shuffle=True)
            val_dl = DataLoader(val_ds, batch_size=64, shuffle=True)
            trainer = pl.Trainer(max_epochs=1)
            trainer.fit(model, train_dl, val_dl)
            """,
            fixed="""
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            train_dl = DataLoader(train_ds, batch_size=64, shuffle=True)
            val_dl = DataLoader(val_ds, batch_size=64, shuffle=False)
            trainer = pl.Trainer(max_epochs=1)
            trainer.fit(model, train_dl, val_dl)
            """,
            line=4,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            trainer = pl.Trainer(max_epochs=1)
            trainer.test(model, dataloaders=DataLoader(test_ds, shuffle=True))
            """,
            fixed="""
            import pytorch_lightning as pl
            from torch.utils.data import DataLoader
            trainer = pl.Trainer(max_epochs=1)
            trainer.test(model, dataloaders=DataLoader(test_ds, shuffle=False))
            """,
        ),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.loaders: dict[str, cst.Call] = {}  # variable -> DataLoader(...) with shuffle=True
        self.eval_names: set[str] = set()
        self.flagged: set[int] = set()

    def _check(self, call: cst.Call, where: str) -> None:
        arg = keyword(call, "shuffle")
        if arg is None or literal(arg.value) is not True or id(call) in self.flagged:
            return
        self.flagged.add(id(call))
        fix = self.fix(SAFE, "Set shuffle=False", {arg.value: cst.Name("False")})
        self.report(arg, f"the {where} DataLoader has `shuffle=True`; turn shuffling off for evaluation", fix)

    def visit_Assign(self, node: cst.Assign) -> None:
        if is_dataloader_call(self.ctx, node.value) and len(node.targets) == 1:
            name = dotted_name(node.targets[0].target)
            if name:
                self.loaders[name] = node.value

    def visit_Call(self, node: cst.Call) -> None:
        if is_dataloader_call(self.ctx, node):
            method = self.ctx.method
            if method is not None and method.cls is not None and method.cls.kind and method.name in EVAL_LOADER_HOOKS:
                self._check(node, EVAL_LOADER_HOOKS[method.name])
            return
        name = method_name(node)
        if name not in _EVAL_ARGS or not self.ctx.is_trainer_expr(node.func.value):
            return
        kw, index = _EVAL_ARGS[name]
        args = positional(node)
        value = keyword(node, kw)
        value = value.value if value is not None else (args[index].value if len(args) > index else None)
        elements = value.elements if isinstance(value, (cst.List, cst.Tuple)) else [value] if value is not None else []
        for element in elements:
            expr = element.value if isinstance(element, cst.BaseElement) else element
            if is_dataloader_call(self.ctx, expr):
                self._check(expr, "evaluation")
            else:
                dotted = dotted_name(expr)
                if dotted:
                    self.eval_names.add(dotted)

    def finish(self) -> None:
        for name in sorted(self.eval_names):
            if name in self.loaders:
                self._check(self.loaders[name], "evaluation")
