"""``for epoch in range(n)`` → ``Trainer(max_epochs=n).fit(...)``."""

from __future__ import annotations

import libcst as cst

from ..idiom import Example, Idiom
from ..plan import HookSource, Plan
from ..transforms import expr, substitute_names
from ..tree import code_of


class EpochLoop(Idiom):
    """The loop over epochs around the batch loop (``range(n)``, ``range(1, n + 1)``,
    ``trange(n)``), or none at all (one pass over the data).

    ## Becomes

    ``Trainer(max_epochs=n)`` with the script's own epoch count (its constant, argparse option
    or expression, so it stays configurable) and ``trainer.fit(...)`` where the loop was. The
    epoch variable inside the hooks becomes ``self.current_epoch`` (``self.current_epoch + 1``
    for ``range(1, n + 1)``). A script without an epoch loop trains ``max_epochs=1``.

    ## Refuses

    A ``while`` epoch loop, ``range`` with a step, an epoch loop over anything but ``range``
    (the epoch count cannot be told) and an epoch loop with an ``else:`` clause.

    ## Why

    The Trainer runs the epochs; ``current_epoch`` counts from 0 like ``range(n)``.
    """

    name = "epoch-loop"
    title = "for epoch in range(n) → Trainer(max_epochs=n).fit(...), epoch → self.current_epoch"
    fixtures = ("feedforward_mnist", "function_style")
    examples = (
        Example(
            setup="NUM_EPOCHS = 3",
            epochs="range(1, NUM_EPOCHS + 1)",
            epoch_end="print(epoch, loss.item())",
            after=("pl.Trainer(max_epochs=NUM_EPOCHS,", "print((self.current_epoch + 1), self.loss.item())"),
        ),
    )
    order = 54
    rewrite_order = 30

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        epoch = plan.facts.epoch
        if epoch is None:
            return statements
        code = "self.current_epoch"
        if epoch.start is not None:
            code = f"(self.current_epoch + {code_of(epoch.start)})"
        return substitute_names(statements, {epoch.var: expr(code)})

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        plan.add_trainer_argument("max_epochs", facts.epoch.max_epochs if facts.epoch else "1")
        if facts.epoch is not None:
            plan.change(facts.region, f"epoch loop → {plan.alias}.Trainer(max_epochs={facts.epoch.max_epochs}).fit(...)")
