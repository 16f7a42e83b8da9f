"""``SummaryWriter`` + ``writer.add_scalar(tag, value, step)`` → ``self.log(tag, value)`` and a
``TensorBoardLogger`` writing to the same directory."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import SUMMARY_WRITERS, dotted_name
from ..facts import Facts
from ..idiom import Example, Idiom
from ..plan import Plan
from ..transforms import apply
from ..tree import code_of


class SummaryWriterLogging(Idiom):
    """TensorBoard logging by hand: ``writer = SummaryWriter(log_dir)`` and
    ``writer.add_scalar(tag, value, step)`` in the loops.

    ## Becomes

    ``self.log(tag, value)`` in the hooks (Lightning's logger keeps its own step), with
    ``Trainer(log_every_n_steps=1)`` when ``training_step`` logs (the script's own condition
    decides when), and ``logger=TensorBoardLogger(log_dir, name="", version="")`` when the writer
    is created unconditionally with a known directory (so the event files land where they did).

    ## Refuses

    Never. Other writer calls (``add_histogram``, ``add_image``...) stay as they are.

    ## Why

    ``self.log`` reaches every logger the Trainer has, on every strategy (rank zero only); a
    writer of its own would write from every process.
    """

    name = "summary-writer"
    title = "writer.add_scalar(tag, value, step) → self.log(tag, value), Trainer(logger=TensorBoardLogger(log_dir))"
    fixtures = ("tensorboard_logging",)
    examples = (
        Example(
            setup="""
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter("runs/mnist")
            """,
            after_step='writer.add_scalar("loss", loss.item(), epoch)',
            after=('self.log("loss", loss.item())', "log_every_n_steps=1", 'logger=pl.loggers.TensorBoardLogger("runs/mnist", name="", version="")'),
            absent=("add_scalar",),
        ),
    )
    order = 52

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        writers, log_dir = _summary_writers(facts)
        if not writers:
            return
        rewrite = WriterToLog(writers)
        for name, hook in plan.hooks.items():
            before = rewrite.replaced
            hook.statements = apply(rewrite, hook.statements)
            if name == "training_step" and rewrite.replaced > before:
                plan.add_trainer_argument("log_every_n_steps", "1")  # the script chose when to log: log every value it logs
        if rewrite.replaced:
            count = rewrite.replaced
            plan.change(facts.region, f"SummaryWriter.add_scalar → self.log ({count} call{'s' if count > 1 else ''})")
        if log_dir is not None:
            plan.add_trainer_argument("logger", f'{plan.alias}.loggers.TensorBoardLogger({log_dir}, name="", version="")')
            plan.change(None, f"SummaryWriter({log_dir}) → Trainer(logger=TensorBoardLogger(...)) writing to the same directory")


def _summary_writers(facts: Facts) -> tuple[set[str], str | None]:
    """Names bound to a ``SummaryWriter``, and its log_dir when it is created unconditionally."""
    names: set[str] = set()
    log_dir: list[str | None] = []
    
    class _Writers(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            value = node.value
            calls = [value] if isinstance(value, cst.Call) else [value.body, value.orelse] if isinstance(value, cst.IfExp) else []
            for call in calls:
                if isinstance(call, cst.Call) and facts.script.qualified_call(call) in SUMMARY_WRITERS:
                    for target in node.targets:
                        if isinstance(target.target, cst.Name):
                            names.add(target.target.value)
                    if isinstance(value, cst.Call):
                        arg = next((a for a in call.args if (a.keyword is None or a.keyword.value == "log_dir") and not a.star), None)
                        log_dir.append(code_of(arg.value) if arg is not None and call.args.index(arg) == 0 else None)
                    else:
                        log_dir.append(None)

    facts.script.module.visit(_Writers())
    return names, (log_dir[0] if len(log_dir) == 1 else None)


class WriterToLog(cst.CSTTransformer):
    """``writer.add_scalar(tag, value[, step])`` -> ``self.log(tag, value)`` (Lightning's logger
    keeps its own step)."""

    def __init__(self, writers: set[str]) -> None:
        self.writers = writers
        self.replaced = 0

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "add_scalar" and dotted_name(func.value) in self.writers):
            return updated
        args = list(updated.args)
        tag = next((a for a in args if a.keyword is not None and a.keyword.value == "tag"), args[0] if args and args[0].keyword is None else None)
        value = next((a for a in args if a.keyword is not None and a.keyword.value == "scalar_value"), args[1] if len(args) > 1 and args[1].keyword is None else None)
        if tag is None or value is None or any(a.star for a in args):
            return updated
        self.replaced += 1
        return cst.Call(
            func=cst.Attribute(value=cst.Name("self"), attr=cst.Name("log")),
            args=[tag.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                  value.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.MaybeSentinel.DEFAULT)],
        )
