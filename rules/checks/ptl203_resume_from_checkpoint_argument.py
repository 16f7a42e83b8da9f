"""PTL203: Trainer(resume_from_checkpoint=...) was removed in 2.0."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, keyword, kwarg, literal, method_name, with_args, without_args
from ..findings import SAFE, UNSAFE
from ...api_knowledge import dotted_name
from ..rule import Invalid, Rule, Valid


class ResumeFromCheckpointArgument(Rule):
    """
    ## What it does
    Flags `Trainer(resume_from_checkpoint=...)`.

    ## Why is this bad?
    The argument was deprecated in 1.5 and removed in 2.0, where it is a `TypeError`. The
    checkpoint to resume from is now given to `trainer.fit(model, ..., ckpt_path=...)`.

    ## Fix safety
    The fix removes the argument and adds `ckpt_path=` to every `fit` call on the same trainer
    variable in the file (not to `validate`/`test`, which always had their own `ckpt_path`).
    It is safe when the path is a literal; when it is an expression the fix moves where that
    expression is evaluated, so it is unsafe. Without a `fit` call in the file there is no fix.
    """

    code = "PTL203"
    name = "resume-from-checkpoint-argument"
    message = "`Trainer(resume_from_checkpoint=...)` was removed in Lightning 2.0; pass `ckpt_path=` to `trainer.fit()`"
    keywords = ("resume_from_checkpoint",)
    applies_from = (2, 0)
    fix_safety = "sometimes-safe"

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5)
            trainer.fit(model, train_loader, ckpt_path="last.ckpt")
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5, resume_from_checkpoint="last.ckpt")
            trainer.fit(model, train_loader, val_loader)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5)
            trainer.fit(model, train_loader, val_loader, ckpt_path="last.ckpt")
            """,
            line=2,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5, resume_from_checkpoint=args.ckpt)
            trainer.fit(model)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5)
            trainer.fit(model, ckpt_path=args.ckpt)
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            def make_trainer(path):
                return pl.Trainer(max_epochs=5, resume_from_checkpoint=path)
            """
        ),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.trainers: list[tuple[str | None, cst.Call, cst.Arg]] = []
        self.fits: dict[str, list[cst.Call]] = {}

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Call) and self.ctx.is_trainer_call(node.value):
            arg = keyword(node.value, "resume_from_checkpoint")
            if arg is not None and len(node.targets) == 1:
                self.trainers.append((dotted_name(node.targets[0].target), node.value, arg))

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.is_trainer_call(node):
            arg = keyword(node, "resume_from_checkpoint")
            if arg is not None and not any(call is node for _, call, _ in self.trainers):
                self.trainers.append((None, node, arg))
        elif method_name(node) == "fit":
            receiver = dotted_name(node.func.value)
            if receiver is not None:
                self.fits.setdefault(receiver, []).append(node)

    def finish(self) -> None:
        for name, call, arg in self.trainers:
            fits = self.fits.get(name or "", [])
            if not fits or any(keyword(fit, "ckpt_path") is not None for fit in fits):
                self.report(arg)
                continue
            safety = SAFE if literal(arg.value) is not UNKNOWN else UNSAFE
            replacements = {call: without_args(call, [arg])}
            for fit in fits:
                replacements[fit] = with_args(fit, append=[kwarg("ckpt_path", arg.value)])
            self.report(arg, fix=self.fix(safety, "Move the path to `trainer.fit(..., ckpt_path=...)`", replacements))
