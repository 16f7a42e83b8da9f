"""PTL113: model.load_from_checkpoint(...) called on an instance (a classmethod)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import method_name
from ..findings import UNSAFE
from ...api_knowledge import dotted_name
from ..rule import Invalid, Rule, Valid


class LoadFromCheckpointOnInstance(Rule):
    """
    ## What it does
    Flags `model.load_from_checkpoint(path)` where `model` is an instance of a LightningModule
    or LightningDataModule class defined in the file (or `self`).

    ## Why is this bad?
    `load_from_checkpoint` is a classmethod that *returns a new object*. Before 2.1 calling it
    on an instance silently discarded the loaded weights when the result was not assigned;
    since 2.1 Lightning raises `TypeError: The classmethod Net.load_from_checkpoint cannot be
    called on an instance`.

    ## Fix safety
    The fix calls it on the class and assigns the result:
    `model.load_from_checkpoint(p)` → `model = Net.load_from_checkpoint(p)`. It is unsafe:
    the new object is built from the checkpoint's hyperparameters, not from the arguments the
    instance was created with (pass them as keyword arguments if they differ).
    """

    code = "PTL113"
    name = "load-from-checkpoint-on-instance"
    message = "`load_from_checkpoint` is a classmethod; call it on the class and use its result"
    keywords = ("load_from_checkpoint",)
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                pass
            model = Net.load_from_checkpoint("best.ckpt")
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                pass
            model = Net()
            model.load_from_checkpoint("best.ckpt")
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                pass
            model = Net()
            model = Net.load_from_checkpoint("best.ckpt")
            """,
            line=5,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                pass
            model = Net()
            model = model.load_from_checkpoint("best.ckpt")
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                pass
            model = Net()
            model = Net.load_from_checkpoint("best.ckpt")
            """,
        ),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.instances: dict[str, str] = {}  # variable -> class name
        self.statement: cst.SimpleStatementLine | None = None

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statement = node

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            info = self.ctx.classes.get(value.func.value)
            if info is not None and info.kind in ("module", "datamodule"):
                for target in node.targets:
                    name = dotted_name(target.target)
                    if name:
                        self.instances[name] = info.name

    def visit_Call(self, node: cst.Call) -> None:
        if method_name(node) != "load_from_checkpoint":
            return
        receiver = dotted_name(node.func.value)
        if receiver is None:
            return
        class_name = self.instances.get(receiver)
        if receiver == "self":
            cls = self.ctx.current_class
            class_name = cls.name if cls is not None and cls.kind else None
        if class_name is None:
            return
        fix = None
        stmt = self.statement
        new_call = node.with_changes(func=node.func.with_changes(value=cst.Name(class_name)))
        if receiver != "self" and stmt is not None and len(stmt.body) == 1:
            small = stmt.body[0]
            if isinstance(small, cst.Expr) and small.value is node:
                assign = cst.Assign([cst.AssignTarget(cst.parse_expression(receiver))], new_call)
                fix = self.fix(UNSAFE, f"Use `{receiver} = {class_name}.load_from_checkpoint(...)`", {small: assign})
            elif isinstance(small, cst.Assign) and small.value is node:
                fix = self.fix(UNSAFE, f"Call it on `{class_name}`", {node: new_call})
        self.report(node, f"`{receiver}.load_from_checkpoint(...)` is called on an instance; use `{class_name}.load_from_checkpoint(...)` and its return value", fix)
