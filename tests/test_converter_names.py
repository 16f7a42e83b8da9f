"""Names the converter introduces never collide with the script's own.

The converter adds hook parameters (``batch``, ``batch_idx``), ``self``, locals such as
``optimizer = self.optimizers()`` and ``self.<name>`` state. A script that already uses one of
those names for its loop variables (PyTorch's quickstart: ``for batch, (X, y) in
enumerate(dataloader)``) must still convert into code that compiles, or be refused with a reason
(never an internal error). Each fixture's loop variables are renamed, one at a time, to each of
those names and converted.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from pl_convert.converter import Status, convert_source
from pl_convert.converter.names import all_names

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ORIGINALS = sorted(FIXTURES.glob("*/original.py"))

#: names the converter writes into the code it generates
INTRODUCED = ("batch", "batch_idx", "self", "optimizer", "lit_model", "trainer")


class _Rename(cst.CSTTransformer):
    """Every use of one plain name (not attribute names, keywords or imports) → another."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # the attribute's own name stays
        return True

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)

    def visit_Import(self, node) -> bool:
        return False

    def visit_ImportFrom(self, node) -> bool:
        return False

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated.with_changes(value=self.new) if original.value == self.old else updated


def _loop_variables(module: cst.Module) -> list[str]:
    names: list[str] = []

    class _Targets(cst.CSTVisitor):
        def visit_For(self, node: cst.For) -> None:
            for name in _names_in(node.target):
                if name not in names:
                    names.append(name)

    module.visit(_Targets())
    return names


def _names_in(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in _names_in(element.value)]
    return []


def _renamed_variants():
    for path in ORIGINALS:
        source = path.read_text(encoding="utf-8")
        module = cst.parse_module(source)
        taken = all_names(module)
        free = [n for n in INTRODUCED if n not in taken]
        for number, old in enumerate(_loop_variables(module)):
            # two of the names per variable, in turn: every name meets every fixture, in seconds
            for new in (free[number % len(free)], free[(number + 1) % len(free)]) if free else ():
                renamed = module.visit(_Rename(old, new)).code
                if new == old or not _compiles(renamed):  # e.g. a method's `self` or a parameter twice
                    continue
                yield pytest.param(path.parent.name, old, new, renamed, id=f"{path.parent.name}-{old}-{new}")


def _compiles(source: str) -> bool:
    try:
        compile(source, "<renamed>", "exec")
    except SyntaxError:
        return False
    return True


@pytest.mark.parametrize(("case", "old", "new", "source"), list(_renamed_variants()))
def test_loop_variable_named_like_generated_code(case: str, old: str, new: str, source: str) -> None:
    result = convert_source(source, path=f"{case}.py")
    internal = [r.message for r in result.reasons if "internal error" in r.message]
    assert not internal, f"{case}: `{old}` renamed `{new}`: {internal}"
    if result.status is Status.CONVERTED:
        compile(result.output, f"{case}.py", "exec")


def test_quickstart_loop_index_named_batch() -> None:
    """PyTorch's quickstart names the batch index ``batch``: the hook must not take it twice."""
    source = (
        "import torch\n"
        "from torch import nn\n"
        "model = nn.Linear(4, 2)\n"
        "loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randint(0, 2, (8,))), batch_size=4)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "loss_fn = nn.CrossEntropyLoss()\n"
        "for t in range(2):\n"
        "    for batch, (X, y) in enumerate(loader):\n"
        "        loss = loss_fn(model(X), y)\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        "        optimizer.zero_grad()\n"
        "        if batch % 100 == 0:\n"
        "            print(loss.item(), batch)\n"
    )
    result = convert_source(source)
    assert result.status is Status.CONVERTED, result.reasons
    compile(result.output, "quickstart.py", "exec")
    assert "def training_step(self, batch_2, batch):" in result.output
    assert "X, y = batch_2" in result.output
