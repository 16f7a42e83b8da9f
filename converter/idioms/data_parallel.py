"""``model = nn.DataParallel(model)`` → removed: the Trainer places the model."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import DATA_PARALLEL, dotted_name
from ..idiom import Example, Idiom
from ..plan import NotePlace, Plan
from ..script import Script


class DataParallel(Idiom):
    """Wrapping the model in ``nn.DataParallel`` (possibly followed by ``.to(device)``).

    ## Becomes

    The wrap is removed (where it was, a review comment says how to train on several GPUs) and
    the model trains on the Trainer's devices.

    ## Refuses

    Never.

    ## Why

    Lightning 2 has no DataParallel strategy; ``Trainer(devices=N, strategy="ddp")`` trains on
    several GPUs, each process taking ``batch_size`` samples — a larger effective batch, so the
    choice is the user's, not the converter's.
    """

    name = "data-parallel"
    title = "model = nn.DataParallel(model) → removed; Trainer(devices=N, strategy=\"ddp\") for several GPUs"
    fixtures = ("data_parallel",)
    examples = (
        Example(
            setup="model = nn.DataParallel(model)",
            after=("# pl-convert: review — nn.DataParallel removed",),
            absent=("model = nn.DataParallel(model)",),
        ),
    )
    order = 60

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        message = (
            "nn.DataParallel removed: Lightning trains on the Trainer's devices; for several GPUs use "
            "Trainer(devices=N, strategy=\"ddp\") (each process then takes batch_size samples)"
        )
        for stmt in facts.scope_statements():
            if _is_data_parallel_wrap(facts.script, stmt, set(facts.model_names)):
                plan.remove(stmt, "removed nn.DataParallel (the Trainer places the model)")
                plan.note(facts.script.line(stmt), message, NotePlace.REMOVED_STATEMENT, statement=stmt)


def _is_data_parallel_wrap(script: Script, stmt: cst.BaseStatement, models: set[str]) -> bool:
    """``model = nn.DataParallel(model, ...)`` (possibly followed by ``.to(device)``) of any of
    the trained models (a GAN wraps both of its networks)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
        return False
    value = stmt.body[0].value
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value in ("to", "cuda"):
        value = value.func.value
    if not (isinstance(value, cst.Call) and script.qualified_call(value) in DATA_PARALLEL and value.args):
        return False
    target = dotted_name(stmt.body[0].targets[0].target)
    return target in models and dotted_name(value.args[0].value) == target
