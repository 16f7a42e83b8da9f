"""PTL117: Trainer(deterministic=True, benchmark=True)."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import keyword, literal, without_args
from ..findings import SAFE
from ..rule import Invalid, Rule, Valid


class DeterministicWithBenchmark(Rule):
    """
    ## What it does
    Flags `Trainer(deterministic=True, benchmark=True)`.

    ## Why is this bad?
    cuDNN benchmark mode picks algorithms by timing them, which is not deterministic; PyTorch
    ignores `cudnn.deterministic=True` when `cudnn.benchmark=True`. Lightning warns; the run is
    not reproducible although the script asks for it. `deterministic=True` alone already turns
    benchmarking off.

    ## Fix safety
    Safe: `benchmark=True` is removed; with `deterministic=True` Lightning defaults it to
    False, which is what the deterministic setting needs.
    """

    code = "PTL117"
    name = "deterministic-with-benchmark"
    message = "`benchmark=True` defeats `deterministic=True`"
    keywords = ("benchmark",)
    fix_safety = SAFE

    VALID = [Valid("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, deterministic=True)\n")]
    INVALID = [
        Invalid(
            "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, deterministic=True, benchmark=True)\n",
            fixed="import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, deterministic=True)\n",
            line=2,
        )
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ctx.is_trainer_call(node):
            return
        deterministic = keyword(node, "deterministic")
        benchmark = keyword(node, "benchmark")
        if deterministic is None or benchmark is None:
            return
        if literal(deterministic.value) in (True, "warn") and literal(benchmark.value) is True:
            self.report(benchmark, fix=self.fix(SAFE, "Remove `benchmark=True`", {node: without_args(node, [benchmark])}))
