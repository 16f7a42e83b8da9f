"""PTL204: renamed keywords of trainer.fit/validate/test/predict (test_dataloaders=, ...)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import keyword, method_name, renamed
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid

#: method -> {old keyword: new keyword}
_RENAMES = {
    "fit": {"train_dataloader": "train_dataloaders", "val_dataloader": "val_dataloaders"},
    "validate": {"val_dataloaders": "dataloaders", "val_dataloader": "dataloaders"},
    "test": {"test_dataloaders": "dataloaders", "test_dataloader": "dataloaders"},
    "predict": {"predict_dataloaders": "dataloaders", "predict_dataloader": "dataloaders"},
}


class RenamedTrainerMethodKeyword(Rule):
    """
    ## What it does
    Flags the 1.x keyword names of the trainer's entry points:
    `trainer.fit(train_dataloader=...)`, `trainer.validate(val_dataloaders=...)`,
    `trainer.test(test_dataloaders=...)` and `trainer.predict(predict_dataloaders=...)`, and
    the never-valid `trainer.fit(val_dataloader=...)`.

    ## Why is this bad?
    They were deprecated in 1.4 and removed in 1.6; Lightning 2.x raises `TypeError ... got an
    unexpected keyword argument 'test_dataloaders'`. The 2.x names are
    `fit(model, train_dataloaders=, val_dataloaders=)` and
    `validate/test/predict(model, dataloaders=)`.

    ## Fix safety
    Safe: a keyword rename with the same meaning (unless the new keyword is already passed).
    """

    code = "PTL204"
    name = "renamed-trainer-method-keyword"
    message = "this trainer method keyword was renamed"
    keywords = ("_dataloader",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            trainer.fit(model, train_dataloaders=train_dl, val_dataloaders=val_dl)
            trainer.test(model, dataloaders=test_dl)
            """
        ),
        Valid(
            """
            from sklearn.linear_model import LinearRegression
            LinearRegression().fit(X, y)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            result = trainer.test(model, test_dataloaders=dl_valid)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            result = trainer.test(model, dataloaders=dl_valid)
            """,
            line=3,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            trainer.fit(model, train_dataloader=train_dl)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            trainer.fit(model, train_dataloaders=train_dl)
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            trainer.test(model, test_dataloaders=dl, dataloaders=other)
            """
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        renames = _RENAMES.get(method_name(node) or "")
        if renames is None or not self.ctx.is_trainer_expr(node.func.value):
            return
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value not in renames:
                continue
            old = arg.keyword.value
            new = renames[old]
            method = node.func.attr.value
            message = f"`trainer.{method}({old}=...)` is not a keyword of Lightning 2.x; it is `{new}=`"
            fix = None
            if keyword(node, new) is None:
                fix = self.fix(SAFE, f"Rename `{old}=` to `{new}=`", {arg: renamed(arg, new)})
            self.report(arg, message, fix)
