"""The script's ``DataLoader(..., num_workers=...)`` → kept as written, with a note on why and
how to change it."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import DATALOADERS
from ..facts import Facts
from ..idiom import Example, Idiom
from ..plan import Plan
from ..training import single_assignment
from ..tree import code_of

#: ``num_workers`` is DataLoader's sixth parameter
_NUM_WORKERS_POSITION = 5
_NOT_SET = "not set, so 0"


class DataLoaderWorkers(Idiom):
    """The data loaders that go to ``trainer.fit`` / ``trainer.test``, and their ``num_workers``.

    ## Becomes

    Nothing changes: the loaders keep the script's own ``num_workers``. When it is missing, 0
    or 1 (what lint rule PTL301 flags), the conversion report says why it was kept and how to
    change it.

    ## Refuses

    Never.

    ## Why

    The number of worker processes decides how the data is produced: each worker seeds its
    own random generators from the main one, so random augmentations (and every draw after
    them) differ with another count. The converted script must train exactly like the original
    (``pl-convert verify`` checks it); more workers are a speed-up to make afterwards.
    """

    name = "dataloader-workers"
    title = "DataLoader(num_workers=...) → kept as written; the report says why and how to raise it"
    fixtures = ("feedforward_mnist", "cnn_classifier")
    examples = (
        Example(
            after=("train_dataloaders=loader",),
            note="kept the DataLoaders' own num_workers (`loader`: not set, so 0)",
        ),
    )
    order = 70

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        few: list[tuple[str, str, cst.Call]] = []
        for phase in facts.phases():
            call = _dataloader_call(facts, phase.loader)
            workers = _num_workers(call) if call is not None else None
            if call is not None and workers in ("0", "1", _NOT_SET):
                few.append((code_of(phase.loader), workers, call))
        if not few:
            return
        loaders = "; ".join(dict.fromkeys(f"`{loader}`: {workers}" for loader, workers, _ in few))
        plan.note(
            facts.script.line(few[0][2]),
            f"kept the DataLoaders' own num_workers ({loaders}): another worker count seeds the data workers' random "
            "generators differently, and so changes the numbers; raise it (with persistent_workers=True) once "
            "`pl-convert verify` shows the conversion trains the same (lint rule PTL301)",
        )


def _dataloader_call(facts: Facts, loader: cst.BaseExpression) -> cst.Call | None:
    """The ``DataLoader(...)`` call that built ``loader`` (``loaders["train"]`` of a dict too)."""
    key = None
    if isinstance(loader, cst.Subscript) and len(loader.slice) == 1 and isinstance(loader.slice[0].slice, cst.Index):
        index = loader.slice[0].slice.value
        key = index.evaluated_value if isinstance(index, cst.SimpleString) else None
        loader = loader.value
    if not isinstance(loader, cst.Name):
        return None
    found = single_assignment(facts.script, facts.scope, loader.value)
    value = found[1] if found is not None else None
    if isinstance(value, cst.DictComp):
        value = value.value
    elif isinstance(value, cst.Dict) and key is not None:
        value = next((e.value for e in value.elements if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString) and e.key.evaluated_value == key), None)
    if isinstance(value, cst.Call) and _is_dataloader(facts, value):
        return value
    return None


def _is_dataloader(facts: Facts, call: cst.Call) -> bool:
    qualified = facts.script.imports.resolve(call.func)
    return qualified in DATALOADERS or (qualified is None and isinstance(call.func, cst.Name) and call.func.value == "DataLoader")


def _num_workers(call: cst.Call) -> str | None:
    """``num_workers`` of a DataLoader call, as code (None: passed through ``**kwargs``)."""
    for position, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == "num_workers":
            return code_of(arg.value)
        if arg.keyword is None and not arg.star and position == _NUM_WORKERS_POSITION:
            return code_of(arg.value)
    if any(arg.star for arg in call.args):
        return None
    return _NOT_SET
