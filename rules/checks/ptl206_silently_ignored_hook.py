"""PTL206: hooks that Lightning 2.x never calls, without any error."""

from __future__ import annotations

import libcst as cst

from ..findings import UNSAFE
from ..lightning_api import SILENT_CALLBACK_HOOKS, SILENT_HOOK_RENAMES, SILENT_MODULE_HOOKS
from ..rule import Invalid, Rule, Valid


class SilentlyIgnoredHook(Rule):
    """
    ## What it does
    Flags LightningModule methods named after hooks Lightning no longer calls
    (`on_epoch_end`, `on_batch_start`, `training_step_end`, `validation_step_end`,
    `on_pretrain_routine_start`, `get_progress_bar_dict`, ...) and the same in Callbacks
    (`on_epoch_end`, `on_init_start`, `on_keyboard_interrupt`, ...).

    ## Why is this bad?
    Lightning 1.8 raised an error for these; 2.0 deleted the check. The methods are now plain
    methods that nothing calls, so learning-rate decay, metric resets or EMA updates written in
    them silently stop happening.

    ## Fix safety
    Renaming is offered where the signature stays `(self)` (`on_pretrain_routine_start` →
    `on_fit_start`, `on_epoch_end` → `on_train_epoch_end`, ...), and is unsafe: the new hook
    runs at a slightly different point (`on_epoch_end` also ran after validation epochs).
    """

    code = "PTL206"
    name = "silently-ignored-hook"
    message = "Lightning 2.x never calls this hook"
    keywords = tuple(SILENT_MODULE_HOOKS) + tuple(SILENT_CALLBACK_HOOKS)
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_epoch_end(self):
                    self.ema.update()
            """
        ),
        Valid(
            """
            class NotLightning:
                def on_epoch_end(self):
                    pass
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_epoch_end(self):
                    self.scheduler.step()
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def on_train_epoch_end(self):
                    self.scheduler.step()
            """,
            line=3,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step_end(self, outputs):
                    return outputs["loss"].mean()
            """
        ),
        Invalid(
            """
            from pytorch_lightning.callbacks import Callback
            class Printer(Callback):
                def on_init_start(self, trainer):
                    print("starting")
            """
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        method = self.ctx.method
        if method is None or method.node is not node or method.cls is None:
            return
        kind = method.cls.kind
        table = SILENT_MODULE_HOOKS if kind == "module" else SILENT_CALLBACK_HOOKS if kind == "callback" else None
        if table is None or node.name.value not in table:
            return
        name = node.name.value
        replacement, version = table[name]
        message = f"`{name}` is never called since Lightning {version} (no error is raised); use `{replacement}`"
        fix = None
        new_name = SILENT_HOOK_RENAMES.get(name)
        single_param = len(node.params.params) == 1 and isinstance(node.params.star_arg, cst.MaybeSentinel)
        if kind == "module" and new_name and single_param and new_name not in method.cls.methods:
            fix = self.fix(UNSAFE, f"Rename to `{new_name}`", {node.name: cst.Name(new_name)})
        self.report(node.name, message, fix)
