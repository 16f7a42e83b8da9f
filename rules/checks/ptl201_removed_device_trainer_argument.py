"""PTL201: Trainer device flags removed in Lightning 2.0 (gpus=, tpu_cores=, ...)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import UNKNOWN, keyword, kwarg, literal, with_args
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid

#: flag -> the accelerator it selected
_ACCELERATORS = {"gpus": "gpu", "tpu_cores": "tpu", "num_processes": "cpu", "ipus": "ipu"}


def _no_device(value: object) -> bool:
    """Lightning 1.x read 0, [], "0", "" and None as "no GPU"."""
    return value in (0, None, "0", "") or value == []


class RemovedDeviceTrainerArgument(Rule):
    """
    ## What it does
    Flags the Trainer device flags that Lightning 2.0 removed: `gpus=`, `tpu_cores=`,
    `num_processes=`, `ipus=` and `auto_select_gpus=`.

    ## Why is this bad?
    Since 2.0 the Trainer takes only keyword arguments it knows, so these raise
    `TypeError: Trainer.__init__() got an unexpected keyword argument 'gpus'`. The device is
    chosen with `accelerator=` and `devices=` instead (deprecated in 1.7, removed in 2.0).

    ## Fix safety
    Safe for literal values, mapped the way Lightning 1.x read them: `gpus=N` becomes
    `accelerator="gpu", devices=N`, `gpus=0`/`None` becomes `accelerator="cpu"`; `tpu_cores`
    and `num_processes` likewise. Values that are expressions (`gpus=args.gpus`) and `ipus=`
    (IPU support left Lightning's core) are reported without a fix, and so is a call that
    already passes `accelerator=` or `devices=`.
    """

    code = "PTL201"
    name = "removed-device-trainer-argument"
    message = "`Trainer(gpus=...)` was removed in Lightning 2.0; use `accelerator=` and `devices=`"
    applies_from = (2, 0)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(accelerator="gpu", devices=2, max_epochs=3)
            """
        ),
        Valid(
            """
            from mylib import Trainer
            trainer = Trainer(gpus=2)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5, gpus=1)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=5, accelerator="gpu", devices=1)
            """,
            line=2,
        ),
        Invalid(
            """
            from lightning.pytorch import Trainer
            trainer = Trainer(gpus=0, max_epochs=5)
            """,
            fixed="""
            from lightning.pytorch import Trainer
            trainer = Trainer(accelerator="cpu", max_epochs=5)
            """,
        ),
        Invalid(
            """
            import lightning as L
            trainer = L.Trainer(tpu_cores=8, max_epochs=1)
            """,
            fixed="""
            import lightning as L
            trainer = L.Trainer(accelerator="tpu", devices=8, max_epochs=1)
            """,
        ),
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=10, gpus=1 if torch.cuda.is_available() else None)
            """
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, auto_select_gpus=True, gpus=2)
            """
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node):
            return
        blocked = keyword(node, "accelerator") is not None or keyword(node, "devices") is not None
        auto_select = keyword(node, "auto_select_gpus")
        if auto_select is not None:
            self.report(auto_select, "`Trainer(auto_select_gpus=...)` was removed in Lightning 2.0; use "
                        "`devices=find_usable_cuda_devices(N)` (from `lightning.pytorch.accelerators`)")
        for flag, accelerator in _ACCELERATORS.items():
            arg = keyword(node, flag)
            if arg is None:
                continue
            message = f"`Trainer({flag}=...)` was removed in Lightning 2.0; use `accelerator=\"{accelerator}\", devices=...`"
            value = literal(arg.value)
            if flag == "ipus" or value is UNKNOWN or blocked or auto_select is not None:
                self.report(arg, message)
                continue
            if _no_device(value):
                new_args = [kwarg("accelerator", '"cpu"')]
                help_text = f'Replace `{flag}=` with `accelerator="cpu"`'
            else:
                new_args = [kwarg("accelerator", f'"{accelerator}"'), kwarg("devices", arg.value)]
                help_text = f'Replace `{flag}=` with `accelerator="{accelerator}", devices=...`'
            new_args[-1] = new_args[-1].with_changes(comma=arg.comma)
            fixed = with_args(node, replace={id(arg): new_args})
            self.report(arg, message, self.fix(SAFE, help_text, {node: fixed}))
