"""``tqdm(loader)``, ``trange(epochs)``, ``pbar = tqdm(...)`` → Lightning's own progress bar."""

from __future__ import annotations

import libcst as cst

from ..idiom import Example, Idiom
from ..plan import HookSource, Plan
from ..transforms import RemoveReceiverCalls, apply


class ProgressBars(Idiom):
    """tqdm progress bars around the epoch and batch loops.

    ## Becomes

    The loops iterate over what the bar wraps (``trange(n)`` is ``range(n)``, ``tqdm(loader)``
    is ``loader``); a bar bound to a name (``pbar = tqdm(loader)``) goes, with every call on it
    (``pbar.set_postfix(...)``, ``pbar.update()``) in the converted loops. Lightning draws its
    own bar, showing what ``self.log(..., prog_bar=True)`` logs.

    ## Refuses

    Never.

    ## Why

    A bar is display only: what the loop iterates over is what the bar wraps. Kept inside
    ``training_step`` it would be created per batch and print over Lightning's.
    """

    name = "progress-bars"
    title = "tqdm(loader) / trange(epochs) / pbar.set_postfix(...) → Lightning's progress bar"
    fixtures = ("tqdm_loops",)
    examples = (
        Example(
            setup="from tqdm import tqdm, trange",
            epochs="trange(2)",
            batches="tqdm(loader)",
            after=("pl.Trainer(max_epochs=2,", "train_dataloaders=loader"),
            absent=("tqdm(loader)", "trange(2)"),
        ),
    )
    rewrite_order = 10

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        facts = plan.facts
        bars = [p for p in (facts.train, facts.val) if p is not None and p.progress_bar]
        if not bars:
            return statements
        out = [s for s in statements if not any(s is b.progress_bar_assign for b in bars)]
        return apply(RemoveReceiverCalls({b.progress_bar for b in bars}), out)
