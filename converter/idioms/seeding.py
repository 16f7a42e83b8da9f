"""``random.seed(s); np.random.seed(s); torch.manual_seed(s)`` → ``seed_everything(s)``."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ...api_knowledge import SEED_EVERYTHING_GENERATORS, SEED_FUNCTIONS
from ..idiom import Example, Idiom
from ..plan import Plan, Removal, Replacement
from ..script import Script
from ..tree import code_of


class Seeding(Idiom):
    """Seeding ``random``, ``numpy`` and ``torch`` with one seed.

    ## Becomes

    ``pl.seed_everything(seed)`` in place of the run of seed calls (outside the training loop),
    for a run of consecutive seed calls that covers all three generators with the same seed;
    CUDA seed calls with that seed join the run (``torch.manual_seed`` already seeds every GPU).

    ## Refuses

    Never. A run that seeds only some generators, or with different seeds, or whose later lines
    carry comments, is left as it is; so is every run of a script trained on several processes
    (hand-written DDP), where ``seed_everything`` would also reseed at ``fit`` and set the
    seed of Lightning's ``DistributedSampler``.

    ## Why

    ``seed_everything(s)`` seeds exactly those three generators, so the replacement changes no
    random stream; it would seed the others too where the script seeds only some.
    """

    name = "seeding"
    title = "random/numpy/torch seeded with one seed → pl.seed_everything(seed)"
    fixtures = ("seeded_everything",)
    examples = (
        Example(
            setup="""
            import random
            import numpy as np

            random.seed(42)
            np.random.seed(42)
            torch.manual_seed(42)
            """,
            after=("pl.seed_everything(42)",),
            absent=("np.random.seed(42)",),
        ),
    )
    order = 65

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        script = facts.script
        if facts.distributed is not None:  # PL_GLOBAL_SEED: reset_seed() at fit, the sampler's seed
            return
        converted = {facts.region} | set(facts.inlined_functions())
        for group in find_seed_groups(script):
            first = group.statements[0]
            if first in converted or any(a in converted for a in script.parents.ancestors(first)):
                continue
            call = cst.parse_expression(f"{plan.alias}.seed_everything({group.seed})")
            # the new line keeps the comments above the first seed call (they are its own)
            plan.replacements.append(Replacement(first, [first.with_changes(body=[cst.Expr(call)])], keep_leading_lines=False))
            plan.removals.extend(Removal(stmt) for stmt in group.statements[1:])
            start, end = script.span(first)[0], script.span(group.statements[-1])[1]
            plan.change((start, end), f"random/numpy/torch seeding → {plan.alias}.seed_everything({group.seed})")


@dataclass(frozen=True, eq=False)
class SeedGroup:
    statements: list[cst.SimpleStatementLine]
    seed: str  #: the seed's code


def _seed_call(stmt: cst.BaseStatement, script: Script) -> tuple[str, str] | None:
    """(generator kind, seed code) of ``random.seed(s)``-like statements."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call) or len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    kind = SEED_FUNCTIONS.get(script.qualified_call(call) or "")
    value = call.args[0].value
    if kind is None or not isinstance(value, (cst.Name, cst.Integer, cst.Attribute)):
        return None
    if isinstance(value, cst.Integer) and not 0 <= int(value.value, 0) <= 2**32 - 1:
        return None  # numpy refuses it; seed_everything would raise
    return kind, code_of(value)


def _has_comment(stmt: cst.SimpleStatementLine) -> bool:
    return stmt.trailing_whitespace.comment is not None or any(line.comment is not None for line in stmt.leading_lines)


def find_seed_groups(script: Script) -> list[SeedGroup]:
    """Runs of consecutive seed calls that ``seed_everything`` can replace exactly."""
    groups: list[SeedGroup] = []

    def scan(body) -> None:
        run: list[tuple[cst.SimpleStatementLine, str, str]] = []
        for stmt in list(body) + [None]:
            found = _seed_call(stmt, script) if stmt is not None else None
            if found is not None:
                run.append((stmt, *found))
                continue
            kinds = {kind for _, kind, _ in run}
            seeds = {seed for _, _, seed in run}
            if run and SEED_EVERYTHING_GENERATORS <= kinds and len(seeds) == 1 and not any(_has_comment(s) for s, _, _ in run[1:]):
                groups.append(SeedGroup([s for s, _, _ in run], seeds.pop()))
            run = []

    class _Blocks(cst.CSTVisitor):
        def visit_Module(self, node: cst.Module) -> None:
            scan(node.body)

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            scan(node.body)

    script.module.visit(_Blocks())
    return groups
