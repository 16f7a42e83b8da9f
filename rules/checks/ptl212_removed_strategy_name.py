"""PTL212: strategy / accelerator names removed or renamed in Lightning 1.7-2.0."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import keyword, string_value
from ..findings import SAFE
from ..lightning_api import REMOVED_STRATEGIES, STRATEGY_AS_ACCELERATOR
from ..rule import Invalid, Rule, Valid


class RemovedStrategyName(Rule):
    """
    ## What it does
    Flags `Trainer(strategy=...)` values that 2.0 removed or renamed (`"dp"`, `"ddp2"`,
    `"horovod"`, `"ddp_sharded"`, `"tpu_spawn"`, `"fsdp_native"`, ...) and strategy names
    passed as `accelerator=` (`accelerator="ddp"`, removed in 1.7).

    ## Why is this bad?
    Lightning raises `ValueError: You selected an invalid strategy name` (or accelerator name)
    at start-up.

    ## Fix safety
    Safe for the pure renames: `"tpu_spawn"` → `"xla"`, `"fsdp_native"` → `"fsdp"`,
    `"fsdp_native_full_shard_offload"` → `"fsdp_cpu_offload"`, and `accelerator="ddp"` →
    `strategy="ddp"` when no `strategy=` is passed. `"dp"`, `"ddp2"`, `"horovod"` and the
    sharded strategies have no drop-in replacement (DDP changes the effective batch size and
    the `*_step_end` reductions), so they get no fix.
    """

    code = "PTL212"
    name = "removed-strategy-name"
    message = "this strategy name was removed"
    keywords = ("strategy", "accelerator")
    applies_from = (2, 0)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            import lightning as L
            trainer = L.Trainer(max_epochs=1, accelerator="gpu", devices=2, strategy="ddp")
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, strategy="tpu_spawn")
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, strategy="xla")
            """,
            line=2,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, accelerator="ddp", devices=2)
            """,
            fixed="""
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, strategy="ddp", devices=2)
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            trainer = pl.Trainer(max_epochs=1, strategy="dp", devices=2)
            """
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node):
            return
        strategy = keyword(node, "strategy")
        if strategy is not None:
            value = string_value(strategy.value)
            if value in REMOVED_STRATEGIES:
                new = REMOVED_STRATEGIES[value]
                if new:
                    fix = self.fix(SAFE, f'Use strategy="{new}"', {strategy.value: cst.SimpleString(f'"{new}"')})
                    self.report(strategy, f'`strategy="{value}"` was renamed to `"{new}"` in Lightning 2.0', fix)
                else:
                    self.report(strategy, f'`strategy="{value}"` was removed in Lightning 2.0 and has no drop-in replacement')
        accelerator = keyword(node, "accelerator")
        if accelerator is not None:
            value = string_value(accelerator.value)
            if value in STRATEGY_AS_ACCELERATOR:
                fix = None
                if strategy is None and value not in REMOVED_STRATEGIES:
                    fix = self.fix(SAFE, f'Use strategy="{value}"', {accelerator: accelerator.with_changes(keyword=cst.Name("strategy"))})
                self.report(accelerator, f'`accelerator="{value}"` names a strategy (removed in Lightning 1.7); use `strategy="{value}"`', fix)
