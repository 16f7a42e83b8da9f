"""PTL202: Trainer arguments removed in Lightning 1.x/2.0 (Appendix A of the catalogue)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, keyword, literal, renamed, with_args
from ..findings import SAFE
from ..lightning_api import REMOVED_TRAINER_ARGS
from ..rule import Invalid, Rule, Valid


class RemovedTrainerArgument(Rule):
    """
    ## What it does
    Flags `Trainer(...)` keyword arguments that Lightning removed between 0.8 and 2.0:
    `progress_bar_refresh_rate=`, `weights_summary=`, `checkpoint_callback=`,
    `replace_sampler_ddp=`, `track_grad_norm=`, `amp_backend=`, `distributed_backend=`,
    `reload_dataloaders_every_epoch=`, `terminate_on_nan=`, `stochastic_weight_avg=` and every
    other argument of the catalogue's Appendix A. Device flags (PTL201),
    `resume_from_checkpoint=` (PTL203) and the tuner flags (PTL209) have their own rules.

    ## Why is this bad?
    The 2.x `Trainer.__init__` is keyword-only with explicit parameters, so a removed argument
    is a `TypeError: Trainer.__init__() got an unexpected keyword argument ...` at start-up.
    Only arguments removed in or before the configured `target-version` are reported.

    ## Fix safety
    Safe, and only offered where the replacement means the same: pure renames
    (`replace_sampler_ddp` → `use_distributed_sampler`, `row_log_interval` →
    `log_every_n_steps`, ...) and literal values with an exact equivalent
    (`checkpoint_callback=False` → `enable_checkpointing=False`, `weights_summary=None` →
    `enable_model_summary=False`, `progress_bar_refresh_rate=0` → `enable_progress_bar=False`,
    `reload_dataloaders_every_epoch=True` → `reload_dataloaders_every_n_epochs=1`,
    `amp_backend="native"` dropped). Nothing is renamed onto an argument the call already
    passes.
    """

    code = "PTL202"
    name = "removed-trainer-argument"
    message = "this Trainer argument was removed"
    keywords = tuple(REMOVED_TRAINER_ARGS)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, enable_checkpointing=False, use_distributed_sampler=False)
            """
        ),
        Valid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, progress_bar_refresh_rate=0)
            """,
            target_version=(1, 6),
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, checkpoint_callback=False, weights_summary=None)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, enable_checkpointing=False, enable_model_summary=False)
            """,
            line=2,
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            trainer = Trainer(max_epochs=3, replace_sampler_ddp=False, progress_bar_refresh_rate=0)
            """,
            fixed="""
            from lightning.pytorch import Trainer
            trainer = Trainer(max_epochs=3, use_distributed_sampler=False, enable_progress_bar=False)
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, amp_backend="native", precision="16-mixed")
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, precision="16-mixed")
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=3, track_grad_norm=2, progress_bar_refresh_rate=20)
            """
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node):
            return
        present = {arg.keyword.value for arg in node.args if arg.keyword is not None}
        for arg in node.args:
            if arg.keyword is None:
                continue
            info = REMOVED_TRAINER_ARGS.get(arg.keyword.value)
            if info is None or not self.ctx.config.targets(info.removed_in):
                continue
            flag = arg.keyword.value
            version = ".".join(map(str, info.removed_in))
            message = f"`Trainer({flag}=...)` was removed in Lightning {version}; use {info.replacement}"
            fix = None
            if info.rename and info.rename not in present:
                fix = self.fix(SAFE, f"Rename `{flag}=` to `{info.rename}=`", {arg: renamed(arg, info.rename)})
            elif info.values:
                value = literal(arg.value)
                for known, replacement in info.values:
                    if value is not UNKNOWN and type(value) is type(known) and value == known:
                        new_args = [] if replacement is None else [_arg_from_text(replacement, arg)]
                        if replacement is not None and replacement.split("=", 1)[0] in present:
                            break
                        call = with_args(node, replace={id(arg): new_args})
                        what = "Remove" if replacement is None else f"Replace with `{replacement}`:"
                        fix = self.fix(SAFE, f"{what} `{flag}=`".replace(": `", " instead of `"), {node: call})
                        break
            self.report(arg, message, fix)


def _arg_from_text(text: str, like: cst.Arg) -> cst.Arg:
    name, value = text.split("=", 1)
    return like.with_changes(keyword=cst.Name(name), value=cst.parse_expression(value))
