"""``dataset, model, optimizer = load_train_objs()`` → the helper's statements unrolled at its
call, so the analysis sees where the optimizer is created."""

from __future__ import annotations

import libcst as cst

from ..factory_functions import inline_factory_functions
from ..idiom import Example, Idiom
from ..plan import Plan
from ..script import Script


class ObjectHelpers(Idiom):
    """A helper of the script's own that builds the training objects and returns them
    (``def load_train_objs(): ...; return train_set, model, optimizer``, the shape of PyTorch's
    DDP tutorials), called once as ``dataset, model, optimizer = load_train_objs()``.

    ## Becomes

    The helper's statements in place of its call, its locals named as the caller names what it
    returns (``train_set`` → ``dataset``; another local that clashes is renamed), its parameters
    bound to the call's arguments. The helper's ``def`` goes. Then the optimizer, the model and
    the dataset are plain assignments the conversion reads like any other.

    ## Refuses

    Never by itself: a helper that is not plain enough to stand in its caller exactly (called
    more than once or referenced otherwise, with branches, loops or an early ``return``,
    returning something other than its own names, called with an expression argument) stays as
    written, and the analysis refuses the script as before ("cannot find where the optimizer is
    created", with its line).

    ## Why

    Straight-line statements run in the caller compute what they computed in the helper: only
    the names change.
    """

    name = "object-helpers"
    title = "dataset, model, optimizer = load_train_objs() → the helper's statements unrolled at its call"
    fixtures = ("ddp_trainer_class",)
    examples = (
        Example(
            """
            def build(lr):
                net = nn.Linear(4, 2)
                opt = torch.optim.SGD(net.parameters(), lr=lr)
                return net, opt


            classifier, sgd = build(0.05)
            for epoch in range(2):
                for x, y in loader:
                    sgd.zero_grad()
                    loss = F.cross_entropy(classifier(x), y)
                    loss.backward()
                    sgd.step()
            """,
            after=("self.classifier = nn.Linear(4, 2)", "sgd = torch.optim.SGD(self.classifier.parameters(), lr=0.05)", "def training_step(self, batch, batch_idx):"),
            absent=("def build(",),
        ),
    )
    order = 12

    def __init__(self) -> None:
        self.unrolled: list[tuple[cst.FunctionDef, cst.BaseStatement]] = []

    def unroll(self, script: Script) -> Script:
        script, self.unrolled = inline_factory_functions(script)
        return script

    def contribute(self, plan: Plan) -> None:
        script = plan.facts.script
        for function, site in self.unrolled:
            name = function.name.value
            plan.change(script.span(function), f"removed {name}(): its statements moved to its one call")
            plan.change(script.span(site), f"{name}() unrolled at its call (its statements build the training objects here)")
