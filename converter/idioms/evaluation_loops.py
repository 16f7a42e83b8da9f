"""``with torch.no_grad(): for batch in val_loader`` every epoch / after training →
``validation_step`` / ``test_step`` with their epoch hooks, and ``trainer.test(...)``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import dotted_name
from ..contexts import is_autocast_item, is_no_grad_item, is_no_grad_with
from ..idiom import Example, Idiom
from ..derived_metrics import derived_origin, find_after_test, find_derived, locate_original
from ..logged_metrics import METRIC_WORDS, metric_key, metric_names
from ..metric_origins import metric_origin
from ..names import usage_of
from ..rank_sums import summed_targets
from ..result import LoggedMetric
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
    ``trainer.fit(val_dataloaders=...)`` and ``trainer.test(...)``, accumulators becoming module
    state. At the end of the epoch ``self.log`` logs what the script prints or keeps from its sums
    (summed over the processes first): an accuracy like ``100 * correct / total`` or
    ``correct / len(loader.dataset)`` as ``val_acc``/``test_acc`` (a test's, printed after the
    loop, too), a mean loss after ``test_loss /= len(...)`` as ``val_loss``/``test_loss``, a
    variable named like a metric (``epoch_acc`` → ``val_epoch_acc``); a raw sum (``correct``)
    only when nothing is derived from it, and a value each batch sets anew (the last batch's
    ``loss``) only when nothing else is logged. The validation accuracy (else loss) goes to the
    progress bar. ``model.eval()``/``model.train()`` and ``torch.no_grad()`` go (Lightning
    switches both), and ``Trainer(num_sanity_val_steps=0)``.

    ## Refuses

    Never by itself (see ``lr-schedulers`` for a monitored metric the evaluation lacks).
    ``model.train()`` at the start of an epoch stays when the script switches to eval mode
    somewhere the conversion does not handle.

    ## Why

    The evaluation keeps its own arithmetic: the script's running sums and divisions, not
    Lightning's batch-size-weighted means, so the numbers it prints stay the same, and the logged
    value is the printed expression itself. It is computed from sums already added over the
    processes, so every process logs the same number; a sum that cannot be added there (it
    started before the evaluation) is logged with ``sync_dist=True`` (Lightning averages it). The sanity
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
                "self.correct = self._sum_over_processes(self.correct)",
                'self.log("val_acc", self.correct / len(val_loader.dataset), prog_bar=True)',
                "num_sanity_val_steps=0",
                "val_dataloaders=val_loader",
            ),
            absent=("torch.no_grad", ".eval()", "val_correct"),
        ),
        Example(  # a mean loss, under the stage's name; the raw sum alone when nothing is derived
            epoch_end="""
            test_loss, correct = 0.0, 0
            with torch.no_grad():
                for x, y in val_loader:
                    out = model(x)
                    test_loss += F.cross_entropy(out, y, reduction="sum").item()
                    correct += (out.argmax(1) == y).sum().item()
            test_loss /= len(val_loader.dataset)
            print(test_loss, correct)
            """,
            after=('self.log("val_loss", self.test_loss, prog_bar=True)', 'self.log("val_correct", self.correct)'),
            absent=("val_test_loss",),
        ),
        Example(  # the test's accuracy printed after the loop: summed over processes, then logged
            before="""
            for epoch in range(2):
                for x, y in loader:
                    optimizer.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    optimizer.step()
            correct, total = 0, 0
            with torch.no_grad():
                for x, y in val_loader:
                    total += y.size(0)
                    correct += (model(x).argmax(1) == y).sum().item()
            print("accuracy: %.2f %%" % (100 * correct / total))
            """,
            after=(
                "trainer.test(lit_model, dataloaders=val_loader)",
                "correct = self._sum_over_processes(correct)",
                'self.log("test_acc", 100 * correct / total)',
            ),
            absent=("test_correct",),
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
        if source.part in (Part.EPOCH_START, Part.TRAIN_START, Part.TRAIN_STEP) and self._keeps_train(plan):
            # a per-batch model.train() too: an evaluation the step itself runs (a full-batch
            # loop that scores the model every step) switches to eval mode, and Lightning would
            # not switch back before the next step
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
            end = plan.hook(hook_names[2])
            ours = len(end)  # the script's own statements come first
            for key, value, origin in _logged(plan, stage, hook_names, monitors if stage == "val" else []):
                end.append(statement(f'self.log("{key}", {value})'))
                if origin is not None:
                    plan.metrics.append(origin)
            if stage == "val":
                _show_in_progress_bar(end, ours)

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


def _logged(plan: Plan, stage: str, hook_names: tuple[str, str, str], forced: list[str]) -> list[tuple[str, str, LoggedMetric | None]]:
    """(key, value, where the original computes it) of each metric the ``stage`` logs: the
    values the script derives from its sums (``100 * correct / total``, a mean loss), and the
    variables named like metrics, less the raw sums a derived value already shows."""
    facts = plan.facts
    statements = [s for name in hook_names for s in plan.hook(name)]
    sums = summed_targets(plan.hook(hook_names[1]))
    derived = find_derived(plan.hook(hook_names[2]), sums)
    phase = facts.val if stage == "val" else facts.test
    if stage == "test" and phase is not None and phase.function is None:
        derived += find_after_test(phase, facts.script, sums)
    shown_raw = set().union(*(d.reads for d in derived)) - {d.variable for d in derived}
    names = [n for n in metric_names(statements, forced) if n in forced or n not in shown_raw]
    # a value each batch sets anew (``loss = criterion(...)`` in the step) holds the last
    # batch's at the epoch's end: logged only when there is nothing else
    last_batch = _set_per_batch(plan, hook_names)
    if derived or any(n not in last_batch for n in names):
        names = [n for n in names if n in forced or n not in last_batch]
    out: list[tuple[str, str, LoggedMetric | None]] = []
    taken: set[str] = set()
    for name in names:
        key = metric_key(stage, name)
        key = key if key not in taken else f"{stage}_{name}"
        taken.add(key)
        out.append((key, name, metric_origin(facts, stage, key, name)))
    values = set(names)
    for value in derived:
        if value.value in values:
            continue
        values.add(value.value)
        named = value.variable is not None and any(w in value.variable.lower() for w in METRIC_WORDS)
        key = metric_key(stage, value.variable) if named else f"{stage}_{value.kind}"
        if key in taken:
            continue
        taken.add(key)
        locate_original(facts, stage, value)
        out.append((key, value.value, derived_origin(facts, stage, key, value)))
    return out


def _set_per_batch(plan: Plan, hook_names: tuple[str, str, str]) -> set[str]:
    """Names the step assigns without reading them first, and the epoch hooks never assign."""
    step = plan.hook(hook_names[1])
    if not step:
        return set()
    usage = usage_of(*step)
    around = [s for name in (hook_names[0], hook_names[2]) for s in plan.hook(name)]
    assigned_around = usage_of(*around).stores if around else set()
    return usage.stores - usage.first_load_before_store - assigned_around


def _show_in_progress_bar(statements: list[cst.BaseStatement], first: int) -> None:
    """``prog_bar=True`` on the validation metric a person watches: an accuracy, else a loss
    (the current one before a best-so-far), among the logs from ``statements[first]`` on."""
    logs = [(i, _logged_key(s)) for i, s in enumerate(statements) if i >= first]
    logs = [(i, key.lower()) for i, key in logs if key is not None]
    for word in ("acc", "loss"):
        for best in (False, True):
            for index, key in logs:
                if word in key and ("best" in key) == best:
                    line = code_of(statements[index]).strip()
                    statements[index] = statement(line[:-1] + ", prog_bar=True)")
                    return


def _logged_key(stmt: cst.BaseStatement) -> str | None:
    """``"val_acc"`` of a ``self.log("val_acc", ...)`` statement."""
    if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr):
        call = stmt.body[0].value
        if isinstance(call, cst.Call) and dotted_name(call.func) == "self.log" and call.args:
            key = call.args[0].value
            if isinstance(key, cst.SimpleString):
                return key.evaluated_value
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
