"""``break`` / ``continue`` of the batch loop (``--dry-run`` exits, skipped batches) → a skip
flag and ``return`` in ``training_step``."""

from __future__ import annotations

import libcst as cst

from ..idiom import Example, Idiom
from ..plan import HookSource, Mode, Part, Plan
from ..transforms import apply, statement
from ..tree import contains

SKIP_FLAG = "skip_rest_of_epoch"


class LoopExits(Idiom):
    """``break`` and ``continue`` in the batch loop itself (``if args.dry_run: break``, skipped
    batches); inner loops keep theirs.

    ## Becomes

    ``continue`` → ``return`` from ``training_step``. ``break`` → ``self.skip_rest_of_epoch =
    True; return <loss>`` (the loss when the break comes after ``backward()``, so that batch's
    update still happens), with the flag reset in ``on_train_epoch_start`` and checked first in
    ``training_step`` (``return None`` skips a batch in Lightning).

    ## Refuses

    Never. (A ``continue`` after ``backward()`` makes the loop manual.)

    ## Why

    Lightning runs every batch of an epoch; the flag makes the remaining batches return early,
    which keeps the original's updates. The data loader is still read to its end, so a script
    whose data order depends on stopping early would differ: review such loops.
    """

    name = "loop-exits"
    title = "break / continue in the batch loop (--dry-run) → skip flag / return in training_step"
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
    )
    order = 42
    rewrite_order = 5

    def prepare(self, plan: Plan) -> None:
        plan.ends_epoch_early = _loop_break(plan.facts.train.loop) is not None

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
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
