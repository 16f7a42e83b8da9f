"""``torch.save(model.state_dict(), path)`` in the loop → kept, with a review note pointing at
``ModelCheckpoint``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import CHECKPOINT_SAVE, dotted_name
from ..idiom import Example, Idiom
from ..plan import HOOK_ORDER, NotePlace, Plan


class Checkpoints(Idiom):
    """The script saving its own checkpoints: ``torch.save(model.state_dict(), path)`` inside
    the training (for instance "save the best model so far").

    ## Becomes

    The call stays as written, in the hook it lands in, with a review note above that hook.

    ## Refuses

    Never.

    ## Why

    The files hold the plain model's ``state_dict`` and load as before. Lightning's
    ``ModelCheckpoint(monitor=..., mode=...)`` with ``trainer.test(ckpt_path="best")`` can replace
    this, but its files are Lightning checkpoints whose ``state_dict`` keys carry the ``model.``
    prefix of the wrapper: the change is the user's to make.
    """

    name = "checkpoints"
    title = "torch.save(model.state_dict(), path) in the loop → kept, review note on ModelCheckpoint"
    fixtures = ("checkpoint_best",)
    examples = (
        Example(
            epoch_end='torch.save(model.state_dict(), "last.pt")',
            after=('torch.save(self.model.state_dict(), "last.pt")', "# pl-convert: review — the script saves its own checkpoints"),
        ),
    )
    order = 50

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        saves: list[int] = []
        models = set(facts.model_names)

        class _Saves(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                if facts.script.qualified_call(node) == CHECKPOINT_SAVE and node.args:
                    first = node.args[0].value
                    if isinstance(first, cst.Call) and isinstance(first.func, cst.Attribute) and first.func.attr.value == "state_dict" and dotted_name(first.func.value) in models:
                        saves.append(facts.script.line(node))

        facts.region.visit(_Saves())
        for phase in (facts.train, facts.val):
            if phase is not None and phase.function is not None:
                phase.function.visit(_Saves())
        if not saves:
            return
        hook = next((name for name in HOOK_ORDER if f"{CHECKPOINT_SAVE}(" in cst.Module(plan.hook(name)).code), None)
        if hook is None:
            return
        message = (
            "the script saves its own checkpoints (kept: the files hold the plain model's state_dict and load as before); "
            "Lightning's ModelCheckpoint(monitor=..., mode=...) with trainer.test(ckpt_path=\"best\") can replace this, but its "
            "files are Lightning checkpoints whose state_dict keys carry the `model.` prefix of the wrapper"
        )
        plan.note(saves[0], message, NotePlace.HOOK, hook=hook)
