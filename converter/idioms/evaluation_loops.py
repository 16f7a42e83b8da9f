"""``with torch.no_grad(): for batch in val_loader`` every epoch / after training →
``validation_step`` / ``test_step`` with their epoch hooks, and ``trainer.test(...)``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import dotted_name
from ..contexts import is_autocast_item, is_no_grad_item, is_no_grad_with
from ..idiom import Example, Idiom
from ..logged_metrics import metric_key, metric_names
from ..metric_origins import metric_origin
from ..plan import HookSource, Part, Plan, TestCall, TrainerArgument
from ..transforms import RemoveCalls, apply, block_statements, statement
from ..tree import body_of, code_of, is_call_statement

#: parts whose statements keep the script's own ``model.train()``/``eval()`` and grad switches
_KEEP_MODES = {Part.TRAIN_CALL, Part.EPOCH_MID, Part.EPOCH_END}
_STAGES = {
    "val": ("on_validation_epoch_start", "validation_step", "on_validation_epoch_end"),
    "test": ("on_test_epoch_start", "test_step", "on_test_epoch_end"),
}


class EvaluationLoops(Idiom):
    """Evaluation loops: ``with torch.no_grad(): for batch in loader`` (or a function running
    one, ``val_acc = evaluate(model, val_loader)``) in the epoch loop after training, and the
    first one after the epoch loop (the final test).

    ## Becomes

    ``validation_step`` / ``test_step`` with the loop's body, the statements around the loop in
    ``on_validation_epoch_start``/``_end`` (``on_test_...``), the loaders passed to
    ``trainer.fit(val_dataloaders=...)`` and ``trainer.test(...)``; variables named like metrics
    (``val_loss``, ``correct``, ``accuracy``) are logged with ``self.log`` at the end of the
    epoch, accumulators becoming module state. ``model.eval()``/``model.train()`` and
    ``torch.no_grad()`` go (Lightning switches both), and ``Trainer(num_sanity_val_steps=0)``.

    ## Refuses

    Never by itself (see ``lr-schedulers`` for a monitored metric the evaluation lacks).
    ``model.train()`` at the start of an epoch stays when the script switches to eval mode
    somewhere the conversion does not handle.

    ## Why

    The evaluation keeps its own arithmetic: the script's running sums and divisions, not
    Lightning's batch-size-weighted means, so the numbers it prints stay the same. The sanity
    check would run validation batches before training and shift the data order.
    """

    name = "evaluation-loops"
    title = "with torch.no_grad(): for batch in val_loader → validation_step / test_step + trainer.test(...)"
    fixtures = ("cnn_classifier", "feedforward_mnist", "checkpoint_best", "lenet_plateau")
    examples = (
        Example(
            epoch_start="model.train()",
            epoch_end="""
            model.eval()
            correct = 0
            with torch.no_grad():
                for x, y in val_loader:
                    correct += (model(x).argmax(1) == y).sum().item()
            print(correct / len(val_loader.dataset))
            """,
            after=(
                "def validation_step(self, batch, batch_idx):",
                "self.correct += (self.model(x).argmax(1) == y).sum().item()",
                'self.log("val_correct", self.correct)',
                "num_sanity_val_steps=0",
                "val_dataloaders=val_loader",
            ),
            absent=("torch.no_grad", ".eval()"),
        ),
    )
    order = 45
    rewrite_order = 60

    def __init__(self) -> None:
        self._keep_train: bool | None = None

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        facts = plan.facts
        calls = {f"self.{m}" for m in facts.model_names}
        if source.part is Part.EPOCH_MID and facts.val is not None:
            # model.eval() / model.train() between training and validation are Lightning's job
            return [s for s in statements if not any(is_call_statement(s, m, "eval") or is_call_statement(s, m, "train") for m in calls)]
        if source.part in _KEEP_MODES:
            return statements
        if source.part in (Part.EPOCH_START, Part.TRAIN_START) and self._keeps_train(plan):
            return statements
        statements = apply(RemoveCalls({f"{m}.{mode}" for m in calls for mode in ("train", "eval")}), statements)
        # Lightning's evaluation hooks already run without gradients (and in its precision)
        return unwrap_no_grad(statements, plan)

    def _keeps_train(self, plan: Plan) -> bool:
        """``model.train()`` at the start of an epoch is Lightning's job, unless code that stays
        in the hooks (or a function it calls) switches the model to eval mode: then keep it."""
        if self._keep_train is None:
            self._keep_train = _evals_outside_phases(plan)
        return self._keep_train

    def complete(self, plan: Plan) -> None:
        monitors = [c.monitor for c in plan.schedulers if c.monitor]
        for stage, hook_names in _STAGES.items():
            if not plan.hook(hook_names[1]):
                continue
            statements = [s for name in hook_names for s in plan.hook(name)]
            names = metric_names(statements, monitors if stage == "val" else [])
            shown = _shown_in_progress_bar(names) if stage == "val" else None
            for name in names:
                key = metric_key(stage, name)
                options = ", prog_bar=True" if name == shown else ""
                plan.hook(hook_names[2]).append(statement(f'self.log("{key}", {name}{options})'))
                origin = metric_origin(plan.facts, stage, key, name)
                if origin is not None:
                    plan.metrics.append(origin)

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        script = facts.script
        if facts.val is not None:
            plan.add_trainer_argument("num_sanity_val_steps", "0")
            plan.fit_loaders.append(TrainerArgument("val_dataloaders", code_of(facts.val.loader)))
            plan.change(facts.val.loop, "evaluation loop → validation_step")
        test = facts.test
        if test is None:
            return
        target = test.result_target if test.function is not None else None
        plan.test = TestCall(test.holder, code_of(test.loader), target)
        plan.change(test.holder, f"test loop → test_step + {plan.trainer_name}.test(...)")
        owner = script.parents.block_owner(test.holder)
        siblings = body_of(owner) if owner is not None else []
        index = siblings.index(test.holder) if test.holder in siblings else -1
        if index > 0:
            previous = siblings[index - 1]
            call = previous.body[0].value if isinstance(previous, cst.SimpleStatementLine) and isinstance(previous.body[0], cst.Expr) else None
            model = facts.forward_model.name
            if isinstance(call, cst.Call) and dotted_name(call.func) == f"{model}.eval":
                plan.remove(previous, f"removed {model}.eval() (Lightning switches modes)")


def _shown_in_progress_bar(names: list[str]) -> str | None:
    """The validation metric a person watches: an accuracy, else a loss (else none)."""
    for word in ("acc", "loss"):
        for name in names:
            if word in name.lower():
                return name
    return None


def unwrap_no_grad(statements: list[cst.BaseStatement], plan: Plan) -> list[cst.BaseStatement]:
    """Replace ``with torch.no_grad(): body`` statements by their body (Lightning does this).

    The ``no_grad()`` item goes, and an autocast that Lightning's precision now applies; a
    ``with`` keeps the items that stay.
    """
    script = plan.facts.script
    precision = plan.lowered("precision")
    out: list[cst.BaseStatement] = []
    for stmt in statements:
        if is_no_grad_with(stmt, script):
            kept = [item for item in stmt.items if not (is_no_grad_item(item, script) or (precision and is_autocast_item(item, script)))]
            if kept:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                out.append(stmt.with_changes(items=kept))
                continue
            out.extend(block_statements(stmt))
        else:
            out.append(stmt)
    return out


def _evals_outside_phases(plan: Plan) -> bool:
    """Does any ``X.eval()`` call run outside the evaluation loops the conversion recognised?"""
    facts = plan.facts
    skip: set[cst.CSTNode] = set()
    for phase in (facts.val, facts.test):
        if phase is not None:
            skip.add(phase.holder)
            if phase.function is not None:
                skip.add(phase.function)
    if facts.val is not None and facts.epoch is not None:  # these are dropped: validation switches modes itself
        skip.update(s for s in facts.epoch.mid if is_call_statement(s, None, "eval"))
    found = False

    class _Evals(cst.CSTVisitor):
        def on_visit(self, node):
            nonlocal found
            if node in skip or found:
                return False
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "eval" and not node.args:
                found = True
            return True

    facts.script.module.visit(_Evals())
    return found
