"""Issue 14's "done when": every automatic fixture's conversion is a LightningModule a team can
keep. Each fixture's original is converted (in memory, by today's converter); all conversions go
through one two-process CPU DDP group (pl_convert.verify.module_contract: ``strategy="ddp"``,
2 ranks, four batches each, one epoch, a checkpoint at its end); then, per fixture: both ranks
trained with finite losses, the module pickles and unpickles to the same parameters, and
``load_from_checkpoint`` of its last checkpoint rebuilds it with the same parameter digest.

``load_from_checkpoint`` gets no other argument where the module builds its model from its
hyperparameters. Where the model or the objects the hooks read are passed in (a GAN's two
networks, a model built from other modules, ``train_model(model, criterion, ...)``), the class
docstring names the ``load_from_checkpoint(path, model=..., ...)`` call, and the check passes
exactly those (a model as a copy with its weights zeroed: only the checkpoint can restore them);
a docstring naming other arguments than the constructor needs fails. A module optimized by hand
fits with ``find_unused_parameters=True``, as its docstring asks. One launch for all fixtures:
about 25 s on 2 cores (two fresh processes per fixture took about 30 s each).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pl_convert.verify import parity_table

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: a hand-written module in the shape the contract asks for: it must pass (the test can pass)
CONTROL = Path(__file__).resolve().parent / "ddp_scripts" / "contract_control.py"
CASES = [case.name for case in parity_table.pairs(FIXTURES)]

@pytest.fixture(scope="module")
def contract(mnist_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every fixture's conversion through one DDP group (None for a fixture that did not convert)."""
    from pl_convert.converter import Status, convert_source
    from pl_convert.verify.module_contract import check_scripts

    scripts = {}
    for case in CASES:
        original = FIXTURES / case / "original.py"
        result = convert_source(original.read_text(encoding="utf-8"), path=str(original))
        if result.status is Status.CONVERTED:
            scripts[case] = result.output
    scripts["contract_control"] = CONTROL.read_text(encoding="utf-8")
    return check_scripts(scripts, mnist_root, tmp_path_factory.mktemp("contract"), timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_the_converted_module_fits_on_two_processes_pickles_and_loads(case: str, contract: dict) -> None:
    assert case in contract, f"{case}: the converter did not convert it"
    result = contract[case]
    assert result["error"] is None, result["error"]
    assert sorted(result["ranks"]) == [0, 1]
    for rank, run in result["ranks"].items():
        assert run["error"] is None, f"rank {rank}: {run['error']}"
        assert run["losses"] and all(math.isfinite(v) for v in run["losses"]), (rank, run["losses"])
    checks = {c["name"]: c for c in result["checks"]}
    assert checks["pickle"]["status"] == "passed", checks["pickle"]
    assert checks["load_from_checkpoint"]["status"] == "passed", checks["load_from_checkpoint"]


@pytest.mark.slow
def test_a_module_in_the_contracts_shape_passes(contract: dict) -> None:
    test_the_converted_module_fits_on_two_processes_pickles_and_loads("contract_control", contract)
    checks = {c["name"]: c["detail"] for c in contract["contract_control"]["checks"]}
    assert checks["load_from_checkpoint"].startswith("LitRegression.load_from_checkpoint(last checkpoint)")
    assert len(contract["contract_control"]["ranks"][1]["losses"]) == 4  # four batches on rank 1 too

