"""``break`` / ``continue`` of the batch loops (``--dry-run`` exits, skipped batches) → a skip
flag and ``return`` in the step hooks; ``break`` of the epoch loop → ``self.trainer.should_stop``."""

from __future__ import annotations

import libcst as cst

from ..idiom import Example, Idiom
from ..plan import HookSource, Mode, Part, Plan
from ..script import Unsupported
from ..transforms import apply, statement
from ..tree import contains

SKIP_FLAG = "skip_rest_of_epoch"

#: evaluation step hooks, their epoch-start hook and the flag that skips the rest of their loader
EVALUATION_SKIPS = {
    Part.VAL_STEP: ("validation_step", "on_validation_epoch_start", "skip_rest_of_validation"),
    Part.TEST_STEP: ("test_step", "on_test_epoch_start", "skip_rest_of_test"),
}

#: statements of the epoch loop's own level that run after the epoch's evaluation (or after its
#: training when it has none): there ``break`` can stop the Trainer after this epoch
EPOCH_LEVEL = (Part.EPOCH_START, Part.TRAIN_START, Part.TRAIN_END, Part.EPOCH_MID, Part.VAL_START, Part.VAL_END, Part.EPOCH_END)


class LoopExits(Idiom):
    """``break`` and ``continue`` in the batch loops themselves (``if args.dry_run: break``,
    skipped batches) and in the epoch loop's own statements; inner loops keep theirs.

    ## Becomes

    In the training loop, ``continue`` → ``return`` from ``training_step``. ``break`` →
    ``self.skip_rest_of_epoch = True; return <loss>`` (the loss when the break comes after
    ``backward()``, so that batch's update still happens), with the flag reset in
    ``on_train_epoch_start`` and checked first in ``training_step`` (``return None`` skips a
    batch in Lightning).

    In an evaluation loop, the same with its own flag (``self.skip_rest_of_validation``, reset in
    ``on_validation_epoch_start``; ``skip_rest_of_test`` for the test loop): ``validation_step``
    returns at once for the batches the original never evaluated.

    ``break`` of the epoch loop in the statements after the epoch's evaluation (the dry-run exit
    of ``for epoch in ...``) → ``self.trainer.should_stop = True; return`` in the hook they went
    to: Lightning finishes that epoch and stops. ``continue`` there → ``return``.

    ## Refuses

    A ``break`` of the epoch loop before the epoch's evaluation (or training) has run: Lightning
    would still run it.

    ## Why

    Lightning runs every batch of an epoch; the flag makes the remaining batches return early,
    which keeps the original's updates. The data loader is still read to its end, so a script
    whose data order depends on stopping early would differ: review such loops. A ``break``
    copied as it is into a hook is a syntax error (``'break' outside loop``).
    """

    name = "loop-exits"
    title = "break / continue in the batch, evaluation and epoch loops (--dry-run) → skip flag / return / trainer.should_stop"
    fixtures = ("function_style",)
    examples = (
        Example(
            setup="DRY_RUN = True",
            after_step="""
            if DRY_RUN:
                break
            """,
            after=("self.skip_rest_of_epoch = False", "if self.skip_rest_of_epoch:", "self.skip_rest_of_epoch = True", "return loss"),
        ),
        Example(
            before="""
            DRY_RUN = True
            for epoch in range(2):
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = F.cross_entropy(model(x), y)
                    loss.backward()
                    optimizer.step()
                correct = 0
                with torch.no_grad():
                    for x, y in val_loader:
                        correct += (model(x).argmax(1) == y).sum().item()
                        if DRY_RUN:
                            break
                print(correct)
                if DRY_RUN:
                    break
            """,
            after=(
                "self.skip_rest_of_validation = False",
                "if self.skip_rest_of_validation:",
                "self.skip_rest_of_validation = True",
                "self.trainer.should_stop = True",
            ),
            absent=("break",),
        ),
    )
    order = 42
    rewrite_order = 5

    def prepare(self, plan: Plan) -> None:
        plan.ends_epoch_early = _loop_break(plan.facts.train.loop) is not None

    def __init__(self) -> None:
        self.evaluation_flags: dict[Part, bool] = {}

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        if source.part in EVALUATION_SKIPS and source.phase is not None:
            if _loop_break(source.phase.loop) is not None:
                self.evaluation_flags[source.part] = True
                statements = apply(BreakToSkip(EVALUATION_SKIPS[source.part][2], None), statements)
            return apply(ContinueToReturn(), statements)
        if source.part in EPOCH_LEVEL and plan.facts.epoch is not None:
            return _epoch_exits(statements, source, plan)
        if source.part is not Part.TRAIN_STEP:
            return statements
        loop_break = _loop_break(plan.facts.train.loop)
        if loop_break is not None:
            statements = apply(BreakToSkip(SKIP_FLAG, _value_after_break(plan, loop_break)), statements)
        return apply(ContinueToReturn(), statements)

    def complete(self, plan: Plan) -> None:
        if plan.ends_epoch_early:
            plan.hook("on_train_epoch_start").insert(0, statement(f"self.{SKIP_FLAG} = False"))
            plan.hook("training_step").insert(0, statement(f"if self.{SKIP_FLAG}:\n    return None"))
        for part in self.evaluation_flags:
            step, start, flag = EVALUATION_SKIPS[part]
            plan.hook(start).insert(0, statement(f"self.{flag} = False"))
            plan.hook(step).insert(0, statement(f"if self.{flag}:\n    return None"))


def _epoch_exits(statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
    """``break`` / ``continue`` of the epoch loop in its own statements (at its level, outside
    the phases' loops): stop the Trainer after this epoch / end the hook."""
    block = cst.Module(body=list(statements))
    breaks = _loose_exits(block, cst.Break)
    if breaks:
        after_evaluation = source.part in (Part.VAL_END, Part.EPOCH_END) or (
            plan.facts.val is None and source.part in (Part.TRAIN_END, Part.EPOCH_MID)
        )
        if not after_evaluation:
            raise Unsupported(
                plan.facts.script.line(breaks[0]),
                "`break` leaves the epoch loop before the epoch's training or evaluation has run; Lightning would still run them",
            )
        # a break that ends the statements needs no `return`: the epoch's logging still runs
        statements = apply(BreakToStop(ends_hook=not all(_at_tail(statements, b) for b in breaks)), statements)
    if _loose_exits(block, cst.Continue):
        statements = apply(ContinueToReturn(), statements)
    return statements


def _at_tail(statements, node: cst.CSTNode) -> bool:
    """Is ``node`` the last thing that runs in ``statements`` (in the branch that reaches it)?"""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return last.body[-1] is node
    if isinstance(last, cst.If):
        branch = last
        while isinstance(branch, cst.If):
            if _at_tail(list(branch.body.body), node):
                return True
            branch = branch.orelse
        return isinstance(branch, cst.Else) and _at_tail(list(branch.body.body), node)
    if isinstance(last, cst.With):
        return _at_tail(list(last.body.body), node)
    return False


def _loose_exits(node: cst.CSTNode, kind: type) -> list[cst.CSTNode]:
    """``break``/``continue`` statements under ``node`` that no loop of its own encloses."""
    found = []

    class _Exits(cst.CSTVisitor):
        def visit_For(self, node):
            return False

        def visit_While(self, node):
            return False

        def visit_FunctionDef(self, node):
            return False

        def visit_ClassDef(self, node):
            return False

        def on_visit(self, node):
            if isinstance(node, kind):
                found.append(node)
            return super().on_visit(node)

    node.visit(_Exits())
    return found


def _value_after_break(plan: Plan, loop_break: cst.Break) -> str | None:
    """The loss when the ``break`` comes after ``backward()`` (Lightning then still steps)."""
    choice = plan.optimization
    if choice.mode is not Mode.AUTOMATIC:
        return None
    body = plan.training_body
    backward_index = body.index(choice.backward)
    position = next(i for i, stmt in enumerate(body) if contains(stmt, lambda n: n is loop_break))
    return choice.loss_name if position > backward_index else None


def _loop_break(loop: cst.For) -> cst.Break | None:
    """A ``break`` that belongs to ``loop`` (not to an inner loop)."""
    found = []

    class _Breaks(cst.CSTVisitor):
        depth = 0

        def visit_For(self, node):
            if node is loop:
                return True
            self.depth += 1

        def leave_For(self, node):
            if node is not loop:
                self.depth -= 1

        def visit_While(self, node):
            self.depth += 1

        def leave_While(self, node):
            self.depth -= 1

        def visit_FunctionDef(self, node):
            return False

        def visit_Break(self, node):
            if self.depth == 0:
                found.append(node)

    loop.visit(_Breaks())
    return found[0] if found else None


class _BatchLoopLevel(cst.CSTTransformer):
    """Tracks loop nesting, so that only the batch loop's own ``break``/``continue`` are changed."""

    def __init__(self) -> None:
        self.depth = 0

    def visit_For(self, node):
        self.depth += 1

    def leave_For(self, original, updated):
        self.depth -= 1
        return updated

    def visit_While(self, node):
        self.depth += 1

    def leave_While(self, original, updated):
        self.depth -= 1
        return updated

    def visit_FunctionDef(self, node):
        return False


class ContinueToReturn(_BatchLoopLevel):
    """``continue`` of the batch loop -> ``return`` (inner loops keep their own)."""

    def leave_Continue(self, original, updated):
        if self.depth == 0:
            return cst.Return(value=None)
        return updated


class BreakToSkip(_BatchLoopLevel):
    """``break`` of the batch loop -> ``self.<flag> = True; return <value>``.

    Lightning runs every batch of an epoch; the flag makes the remaining batches return early,
    which keeps the original's updates (the data loader is still read to its end).
    """

    def __init__(self, flag: str, value: str | None) -> None:
        super().__init__()
        self.flag = flag
        self.value = value

    def leave_SimpleStatementLine(self, original, updated):
        if self.depth or not any(isinstance(small, cst.Break) for small in updated.body):
            return updated
        body = []
        for small in updated.body:
            if isinstance(small, cst.Break):
                body.append(cst.parse_statement(f"self.{self.flag} = True").body[0])
                ret = cst.parse_statement(f"return {self.value}" if self.value else "return").body[0]
                body.append(ret)
            else:
                body.append(small)
        lines = [updated.with_changes(body=[body[i]]) for i in range(len(body))]
        return cst.FlattenSentinel(lines)


class BreakToStop(_BatchLoopLevel):
    """``break`` of the epoch loop -> ``self.trainer.should_stop = True; return``: Lightning ends
    the fit after the current epoch."""

    def __init__(self, ends_hook: bool) -> None:
        super().__init__()
        self.ends_hook = ends_hook

    def leave_SimpleStatementLine(self, original, updated):
        if self.depth or not any(isinstance(small, cst.Break) for small in updated.body):
            return updated
        body = []
        for small in updated.body:
            if isinstance(small, cst.Break):
                body.append(cst.parse_statement("self.trainer.should_stop = True").body[0])
                if self.ends_hook:
                    body.append(cst.Return(value=None))
            else:
                body.append(small)
        return cst.FlattenSentinel([updated.with_changes(body=[small]) for small in body])
