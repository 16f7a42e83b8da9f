"""Seeding: ``random.seed(s); np.random.seed(s); torch.manual_seed(s)`` → ``seed_everything(s)``.

``seed_everything(s)`` seeds exactly those three generators (``torch.manual_seed`` also seeds
every GPU), so a run of consecutive seed calls that covers all three with the same seed can be
replaced without changing any random stream. A run that seeds only some of them, or with different
seeds, is left alone: ``seed_everything`` would seed the others too. CUDA seed calls with the same
seed are part of a run (``torch.manual_seed`` already does their work).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from .names import ImportTable

SEED_CALLS = {
    "random.seed": "random",
    "numpy.random.seed": "numpy",
    "torch.manual_seed": "torch",
    "torch.random.manual_seed": "torch",
    "torch.cuda.manual_seed": "cuda",
    "torch.cuda.manual_seed_all": "cuda",
}
NEEDED = {"random", "numpy", "torch"}


@dataclass
class SeedGroup:
    statements: list[cst.SimpleStatementLine]
    seed: str  #: the seed's code

    def replacement(self, alias: str) -> cst.SimpleStatementLine:
        first = self.statements[0]
        call = cst.parse_expression(f"{alias}.seed_everything({self.seed})")
        return first.with_changes(body=[cst.Expr(call)])


def _seed_call(stmt: cst.BaseStatement, imports: ImportTable) -> tuple[str, str] | None:
    """(generator kind, seed code) of ``random.seed(s)``-like statements."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call) or len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    kind = SEED_CALLS.get(imports.qualified_call(call) or "")
    value = call.args[0].value
    if kind is None or not isinstance(value, (cst.Name, cst.Integer, cst.Attribute)):
        return None
    if isinstance(value, cst.Integer) and not 0 <= int(value.value, 0) <= 2**32 - 1:
        return None  # numpy refuses it; seed_everything would raise
    return kind, cst.Module([]).code_for_node(value)


def _has_comment(stmt: cst.SimpleStatementLine) -> bool:
    return stmt.trailing_whitespace.comment is not None or any(line.comment is not None for line in stmt.leading_lines)


def find_seed_groups(module: cst.Module, imports: ImportTable) -> list[SeedGroup]:
    groups: list[SeedGroup] = []

    def scan(body) -> None:
        run: list[tuple[cst.SimpleStatementLine, str, str]] = []
        for stmt in list(body) + [None]:
            found = _seed_call(stmt, imports) if stmt is not None else None
            if found is not None:
                run.append((stmt, *found))
                continue
            kinds = {kind for _, kind, _ in run}
            seeds = {seed for _, _, seed in run}
            if run and NEEDED <= kinds and len(seeds) == 1 and not any(_has_comment(s) for s, _, _ in run[1:]):
                groups.append(SeedGroup([s for s, _, _ in run], seeds.pop()))
            run = []

    class _Blocks(cst.CSTVisitor):
        def visit_Module(self, node: cst.Module) -> None:
            scan(node.body)

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            scan(node.body)

    module.visit(_Blocks())
    return groups
