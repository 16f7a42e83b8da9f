"""PTL214: Trainer(max_steps=None) (removed in 1.7; -1 means "no limit")."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import keyword
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid


class MaxStepsNone(Rule):
    """
    ## What it does
    Flags `Trainer(max_steps=None)`.

    ## Why is this bad?
    `None` was deprecated in 1.5 and is rejected since 1.7; "no step limit" is spelled
    `max_steps=-1` (the default).

    ## Fix safety
    Safe: `max_steps=None` becomes `max_steps=-1`, which is what `None` meant.
    """

    code = "PTL214"
    name = "max-steps-none"
    message = "`Trainer(max_steps=None)` is invalid since Lightning 1.7; use `max_steps=-1`"
    keywords = ("max_steps",)
    applies_from = (1, 7)
    fix_safety = SAFE

    VALID = [Valid("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=3, max_steps=-1)\n")]
    INVALID = [
        Invalid(
            "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=3, max_steps=None)\n",
            fixed="import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=3, max_steps=-1)\n",
            line=2,
        )
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node):
            return
        arg = keyword(node, "max_steps")
        if arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "None":
            self.report(arg, fix=self.fix(SAFE, "Use max_steps=-1", {arg.value: cst.parse_expression("-1")}))
