"""Evaluation sums over all processes before the epoch's end reads them.

An evaluation loop that counts (``correct += ...``, ``test_loss += ...``) and divides by the
whole dataset at the end is right on one process. Under ``strategy="ddp"`` each process sees
its share of the loader, so each would print its own share divided by the whole
(``Accuracy: 440/1000``). The epoch-end hook first sums each such accumulator over the
processes (``self._sum_over_processes``, which returns the value unchanged when there is one
process, so a single-process run computes exactly what the script did). A script variable
that the test adds to (``global correct`` in ``test_step``), set right before the test loop,
is summed at the end of the test too: the code after ``trainer.test(...)`` reads it. A value
logged from a sum that is not summed here (it may carry over from before the evaluation) is
logged with ``sync_dist=True``: Lightning averages it over the processes.

Not where the script sums over processes itself, nor in hand-written multi-process training
(each rank keeps computing what it did). Lightning's distributed sampler pads the last batch
of a process with repeated samples, so on several processes a count can exceed the dataset by
up to one sample per process.
"""

from __future__ import annotations

import re

import libcst as cst

from .plan import Declaration, Plan
from .transforms import statement
from .names import usage_of
from .tree import body_of, code_of

#: (epoch-start hook, step hook, epoch-end hook) of each evaluation
_STAGES = (
    ("on_validation_epoch_start", "validation_step", "on_validation_epoch_end"),
    ("on_test_epoch_start", "test_step", "on_test_epoch_end"),
)

HELPER = "_sum_over_processes"

HELPER_SOURCE = '''\
def _sum_over_processes(self, value):
    """The sum of ``value`` over the processes (each saw its share of the data)."""
    if self.trainer.world_size == 1:
        return value
    if torch.is_tensor(value):
        return self.trainer.strategy.reduce(value.clone(), reduce_op="sum")
    total = torch.tensor(value, dtype=torch.float64, device=self.device)
    total = self.trainer.strategy.reduce(total, reduce_op="sum")
    return type(value)(total.item())
'''


def sum_over_processes(plan: Plan) -> None:
    """Insert the sums at the top of the evaluation epoch-end hooks (and the helper method)."""
    if plan.facts.script.qualify("torch") != "torch":
        return  # the helper needs the script's own ``import torch``
    if plan.strategy is not None:
        return  # hand-written multi-process training: each rank keeps computing what it did
    for start, step, end in _STAGES:
        if not plan.hook(step) or not plan.hook(end):
            continue
        if re.search(r"\b(all_reduce|all_gather|reduce)\(", _code(plan.hook(step) + plan.hook(end))):
            continue  # the script sums over processes itself
        started = _code(plan.hook(start))
        ended = _code(plan.hook(end))
        inserted = []
        declared = {d.name for d in plan.hooks[step].declarations}
        reset = _reset_before_test(plan) if end == "on_test_epoch_end" else set()
        unsummed = []
        for target in summed_targets(plan.hook(step)):
            pattern = re.compile(rf"(?<![\w.]){re.escape(target)}(?!\w)")
            assigned_at_start = re.search(rf"(?<![\w.]){re.escape(target)}\s*(,[^=\n]*)?=[^=]", started) is not None
            # a script variable the test adds to, set right before the (single) test: its sum too
            reset_for_test = target in declared and target in reset
            if not (assigned_at_start or reset_for_test) or not pattern.search(ended):
                unsummed.append(pattern)
                continue
            inserted.append(statement(f"{target} = self.{HELPER}({target})"))
            if "." not in target:
                for declaration in plan.hooks[step].declarations:
                    if declaration.name == target and declaration not in plan.hooks[end].declarations:
                        plan.hooks[end].declarations.append(Declaration(declaration.keyword, target))
        plan.hooks[end].statements = [_synced(s, unsummed) for s in plan.hook(end)]
        if inserted:
            plan.hooks[end].statements = inserted + plan.hook(end)
            if HELPER_SOURCE not in plan.class_helpers:
                plan.class_helpers.append(HELPER_SOURCE)


def _synced(stmt: cst.BaseStatement, unsummed: list[re.Pattern]) -> cst.BaseStatement:
    """``self.log(key, value, sync_dist=True)`` where ``value`` reads a sum this process alone
    made (not summed here: it may carry over from before the evaluation): Lightning then
    averages the processes' values instead of logging the first process's."""
    code = code_of(stmt).strip()
    if not (code.startswith("self.log(") and code.endswith(")")) or "sync_dist" in code:
        return stmt
    if not any(p.search(code[len("self.log("):]) for p in unsummed):
        return stmt
    return statement(code[:-1] + ", sync_dist=True)")


def _code(statements: list[cst.BaseStatement]) -> str:
    return "\n".join(code_of(s) for s in statements)


def _reset_before_test(plan: Plan) -> set[str]:
    """Names the simple statements right before the test loop assign (``correct = 0``)."""
    test = plan.facts.test
    if test is None or test.function is not None:
        return set()
    owner = plan.facts.script.parents.block_owner(test.holder)
    siblings = body_of(owner) if owner is not None else []
    if test.holder not in siblings:
        return set()
    before: list[cst.BaseStatement] = []
    for stmt in reversed(siblings[: siblings.index(test.holder)]):
        if not isinstance(stmt, cst.SimpleStatementLine):
            break  # only the simple statements right before the loop (``correct = 0``)
        before.append(stmt)
    return usage_of(*before).stores if before else set()


def summed_targets(statements: list[cst.BaseStatement]) -> list[str]:
    """``x`` / ``self.x`` of every ``x += ...`` in the step (in the order they come)."""
    found: list[str] = []

    class _Sums(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return False

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.operator, cst.AddAssign) and isinstance(node.target, (cst.Name, cst.Attribute)):
                target = code_of(node.target)
                if (isinstance(node.target, cst.Name) or target.startswith("self.")) and target not in found:
                    found.append(target)

    for stmt in statements:
        stmt.visit(_Sums())
    return found
