"""``def train(model, loader, ...)`` / ``def test(...)`` called from the epoch loop → inlined into
the LightningModule's hooks."""

from __future__ import annotations

import libcst as cst

from ..idiom import Example, Idiom
from ..plan import HookSource, Plan
from ..transforms import substitute_names


class PhaseFunctions(Idiom):
    """Training, evaluation and test loops written as functions (``train(args, model, device,
    train_loader, optimizer, epoch)``, ``test(model, device, test_loader)``), each called once.

    ## Becomes

    Their statements go into the hooks with the parameters replaced by the call's arguments
    (``train_loader`` where the function says ``loader``); a returned value goes to what the
    caller assigned it to (``val_acc = validate(...)``); a call inside an expression
    (``print(epoch, train(...))``) reads ``train_result``. A function nothing calls any more is
    removed (a step function inlined into the batch loop too). When the whole training is in a
    function called once (``train_model(model, criterion, optimizer, scheduler, num_epochs)``),
    the LightningModule is built inside it and its parameters stand for that call's arguments:
    the model and optimizer it was given are the ones trained and configured.

    ## Refuses

    A function called more than once, with ``*args``/``**kwargs``, that reassigns a parameter,
    that ``return``s from inside its loop, or whose batch loop is nested in another block (for
    a training function called twice, the optimizer it steps cannot be told).

    ## Why

    Lightning calls the hooks itself; the functions' loops become ``training_step`` /
    ``validation_step`` / ``test_step``. Substituting the arguments keeps every name meaning
    what it meant at the call.
    """

    name = "phase-functions"
    title = "train(...) / test(...) functions called from the epoch loop → inlined into the hooks"
    fixtures = ("function_style", "train_one_epoch", "average_meter", "train_step_function")
    examples = (
        Example(
            """
            def train(net, data, opt):
                net.train()
                for images, labels in data:
                    opt.zero_grad()
                    batch_loss = F.cross_entropy(net(images), labels)
                    batch_loss.backward()
                    opt.step()
                return batch_loss.item()


            for epoch in range(2):
                last = train(model, loader, optimizer)
                print(last)
            """,
            after=("batch_loss = F.cross_entropy(self.model(images), labels)", "last = self.batch_loss.item()", "train_dataloaders=loader"),
            absent=("def train(",),
        ),
    )
    order = 15
    rewrite_order = 20

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        if source.phase is not None and source.phase.bindings:
            return substitute_names(statements, source.phase.bindings)
        return statements

    def prune(self, plan: Plan, still_read: set[str]) -> None:
        for function in plan.facts.inlined_functions():
            if not plan.is_removed(function) and function.name.value not in still_read:
                plan.remove(function, f"def {function.name.value}(...) → inlined into the LightningModule")
