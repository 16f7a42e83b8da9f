"""PTL217: Trainer(accumulate_grad_batches={epoch: n}) (removed in 2.0)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import keyword
from ..rule import Invalid, Rule, Valid


class AccumulateGradBatchesDict(Rule):
    """
    ## What it does
    Flags `Trainer(accumulate_grad_batches={...})`, a schedule given as a dict.

    ## Why is this bad?
    Lightning 2.0 accepts only an integer here. A schedule is the
    `GradientAccumulationScheduler(scheduling={...})` callback, passed in `callbacks=[...]`.

    There is no automatic fix: the callback has to be merged into `callbacks=`.
    """

    code = "PTL217"
    name = "accumulate-grad-batches-dict"
    message = "`accumulate_grad_batches` must be an int since Lightning 2.0; use `callbacks=[GradientAccumulationScheduler(scheduling={...})]`"
    keywords = ("accumulate_grad_batches",)
    applies_from = (2, 0)

    VALID = [Valid("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=3, accumulate_grad_batches=4)\n")]
    INVALID = [Invalid("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=3, accumulate_grad_batches={0: 8, 4: 4})\n", line=2)]

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.is_trainer_call(node):
            arg = keyword(node, "accumulate_grad_batches")
            if arg is not None and isinstance(arg.value, cst.Dict):
                self.report(arg)
