"""PTL001: a ``# noqa`` code that matches no rule, or that silences nothing."""

from __future__ import annotations

from ..findings import SAFE
from ..rule import Invalid, Rule, Valid


class UnusedNoqa(Rule):
    """
    ## What it does
    Flags `PTL` codes in a `# noqa: ...` comment (or a `# pl-convert: noqa: ...` line) that
    match no rule (`# noqa: PTL999`, a typo), or that silence nothing: their rule ran on the
    file and found nothing on that line.

    ## Why is this bad?
    A mistyped code silences nothing while looking as if it did, and a stale one hides the next
    real problem on its line. Codes of other tools (`E501`, `F401`) and blanket `# noqa`
    comments are left alone; codes of rules that are not selected are not judged either.
    This is ruff's `RUF100` for pl-convert's codes.

    ## Fix safety
    The fix removes the reported codes (the whole comment when no code is left). It is safe:
    the comment silences nothing today.
    """

    code = "PTL001"
    name = "unused-noqa"
    message = "Unused `noqa` directive"
    markers = ("noqa", "NOQA")
    keywords = ("PTL", "ptl")
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(gpus=1)  # noqa: PTL201
            x = 1  # noqa: E501
            y = 2  # noqa
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)  # noqa: PTL999
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)
            """,
            line=2,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)  # noqa: E501, PTL404
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1)  # noqa: E501
            """,
        ),
    ]
    # The check runs in the engine, after the other rules (it needs their findings): see
    # rules/noqa.py. This class carries the code, the documentation and the examples.
