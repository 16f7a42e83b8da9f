"""Likely causes of a difference: Lightning defaults that silently change the numbers.

The runner records the Trainer settings of a Lightning run (``RunRecord.lightning``). When two
runs differ, these hints say which known default may explain it; they explain, they never
excuse (the verdict stays "different"). The sanity check is not among them: Lightning 2.x runs
it under ``isolate_rng()``, and verify measures it changing nothing (see docs/parity.md).
"""

from __future__ import annotations

from .record import RunRecord

LIGHTNING_DEFAULT_MAX_EPOCHS = 1000


def lightning_hints(a: RunRecord, b: RunRecord, equal: bool) -> list[str]:
    """Hints for the Lightning run(s) among ``a`` and ``b``; most only when they differ."""
    hints: list[str] = []
    for record, other in ((a, b), (b, a)):
        settings = record.lightning
        if not settings:
            continue
        hints += _test_checkpoint(settings)
        if equal:
            continue
        if settings.get("max_epochs") == LIGHTNING_DEFAULT_MAX_EPOCHS and len(record.losses) != len(other.losses):
            hints.append(
                "max_epochs is 1000, Lightning's default when neither max_epochs nor max_steps is "
                "given: pass the loop's epoch count as Trainer(max_epochs=...)."
            )
        accumulate = settings.get("accumulate_grad_batches") or 1
        if accumulate > 1:
            hints.append(
                f"accumulate_grad_batches={accumulate}: Lightning divides the training_step loss by "
                f"{accumulate} before backward (the recorded loss is loss/{accumulate}); a loop that "
                "does not divide trains with larger gradients."
            )
        for scheduler in settings.get("schedulers", []):
            if scheduler.get("interval") == "epoch":
                hints.append(
                    f"{scheduler.get('name')} steps once per epoch (interval='epoch', Lightning's "
                    "default); a loop that calls scheduler.step() every batch needs interval='step'."
                )
    return hints


def _test_checkpoint(settings: dict) -> list[str]:
    hints = []
    for call in ("test", "validate"):
        path = settings.get(f"{call}_ckpt_path")
        if path:
            hints.append(
                f"trainer.{call}() loaded the checkpoint {path} (the best one by default when "
                "checkpointing is on), not the last weights: its metrics describe that checkpoint."
            )
    return hints
