"""PTL110: Cls.load_from_checkpoint() where Cls never calls save_hyperparameters()."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import is_self_method_call, iter_nodes, method_name, statement_lines
from ..findings import UNSAFE
from ..rule import Invalid, Rule, Valid


def _required_init_params(init: cst.FunctionDef) -> list[str]:
    params = [*init.params.posonly_params, *init.params.params][1:]
    return [p.name.value for p in params if p.default is None]


def _saves_hyperparameters(cls_node: cst.ClassDef) -> bool:
    return any(is_self_method_call(n, "save_hyperparameters") for n in iter_nodes(cls_node))


class LoadFromCheckpointWithoutHyperparameters(Rule):
    """
    ## What it does
    Flags `Model.load_from_checkpoint(path)` when `Model` (a LightningModule or
    LightningDataModule defined in the same file) has required `__init__` arguments, never
    calls `self.save_hyperparameters()`, and the call does not pass those arguments.

    ## Why is this bad?
    `load_from_checkpoint` rebuilds the object as `Model(**checkpoint["hyper_parameters"])`.
    Without saved hyperparameters that is `Model()`, which fails with
    `TypeError: __init__() missing 2 required positional arguments`.

    ## Fix safety
    The fix inserts `self.save_hyperparameters()` after `super().__init__()`. It is unsafe:
    arguments that are `nn.Module`s should be excluded with `ignore=[...]` (they are already in
    the state dict), and checkpoints written before the change still lack the values.
    """

    code = "PTL110"
    name = "load-from-checkpoint-without-hyperparameters"
    message = "`load_from_checkpoint` cannot rebuild this class: it never calls `self.save_hyperparameters()`"
    keywords = ("load_from_checkpoint",)
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, hidden, lr=1e-3):
                    super().__init__()
                    self.save_hyperparameters()
            model = Net.load_from_checkpoint("best.ckpt")
            """
        ),
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, backbone):
                    super().__init__()
                    self.backbone = backbone
            model = Net.load_from_checkpoint("best.ckpt", backbone=make_backbone())
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, hidden, lr):
                    super().__init__()
                    self.lr = lr
            model = Net.load_from_checkpoint("best.ckpt")
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self, hidden, lr):
                    super().__init__()
                    self.save_hyperparameters()
                    self.lr = lr
            model = Net.load_from_checkpoint("best.ckpt")
            """,
            line=6,
        )
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.calls: list[tuple[str, cst.Call]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if method_name(node) == "load_from_checkpoint" and isinstance(node.func.value, cst.Name):
            self.calls.append((node.func.value.value, node))

    def finish(self) -> None:
        for class_name, call in self.calls:
            info = self.ctx.classes.get(class_name)
            if info is None or info.kind not in ("module", "datamodule"):
                continue
            init = info.methods.get("__init__")
            if init is None or _saves_hyperparameters(info.node):
                continue
            passed = {a.keyword.value for a in call.args if a.keyword is not None}
            if any(a.star == "**" for a in call.args):
                continue
            missing = [p for p in _required_init_params(init) if p not in passed]
            if not missing:
                continue
            names = ", ".join(f"`{m}`" for m in missing)
            message = f"`{class_name}.load_from_checkpoint` will fail: `{class_name}.__init__` needs {names} and never calls `self.save_hyperparameters()`"
            self.report(call, message, self._fix(init))

    def _fix(self, init: cst.FunctionDef):
        for stmt in statement_lines(init):
            if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
                call = stmt.body[0].value
                if isinstance(call, cst.Call) and method_name(call) == "__init__":
                    save = cst.SimpleStatementLine([cst.Expr(cst.parse_expression("self.save_hyperparameters()"))])
                    return self.fix(UNSAFE, "Call `self.save_hyperparameters()` in `__init__`", {stmt: cst.FlattenSentinel([stmt, save])})
        return None
