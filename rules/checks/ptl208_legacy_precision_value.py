"""PTL208: Trainer(precision=16) and friends: the 1.x precision spellings."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, keyword, literal
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid

_NEW = {16: "16-mixed", "16": "16-mixed", "bf16": "bf16-mixed", 32: "32-true", "32": "32-true", 64: "64-true", "64": "64-true"}


class LegacyPrecisionValue(Rule):
    """
    ## What it does
    Flags `Trainer(precision=16)`, `precision="16"`, `precision="bf16"`, `precision=32` and
    `precision=64`.

    ## Why is this bad?
    Lightning 2.0 renamed the precision values to say what they do: `"16-mixed"`,
    `"bf16-mixed"`, `"32-true"`, `"64-true"`. The old spellings are still accepted "for
    historical reasons" but `16` warns that its use is discouraged, and `16` vs `"16-true"`
    (pure half precision) is exactly the ambiguity the rename removed.

    ## Fix safety
    Safe: the new string is the value Lightning maps the old one to. Only applies when the
    target Lightning version is 2.0 or later (the new strings are rejected by 1.x).
    """

    code = "PTL208"
    name = "legacy-precision-value"
    message = "legacy precision value"
    keywords = ("precision",)
    applies_from = (2, 0)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import lightning as L
            trainer = L.Trainer(max_epochs=1, precision="16-mixed")
            """
        ),
        Valid(
            """
            import lightning as L
            trainer = L.Trainer(max_epochs=1, precision=cfg.precision)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, precision=16)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, precision="16-mixed")
            """,
            line=2,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, precision="bf16")
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, precision="bf16-mixed")
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node):
            return
        arg = keyword(node, "precision")
        if arg is None:
            return
        value = literal(arg.value)
        if value is UNKNOWN or isinstance(value, bool) or value not in _NEW:
            return
        new = _NEW[value]
        fix = self.fix(SAFE, f'Replace with precision="{new}"', {arg.value: cst.SimpleString(f'"{new}"')})
        self.report(arg, f'`precision={value!r}` is the Lightning 1.x spelling; use `precision="{new}"`', fix)
