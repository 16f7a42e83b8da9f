"""A training loop in the script's ``if __name__ == "__main__":`` block: the LightningModule goes
above the block, at module level (importable without running the script, pickled by reference),
and the script's statements in the block stay where they were."""

from __future__ import annotations

import textwrap

import pytest

from pl_convert.converter import Status, convert_source

SCRIPT = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    EPOCHS = 2


    def make_loader():
        return DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)


    if {test}:
        torch.manual_seed(0)
        loader = make_loader()
        model = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scale = 2.0
        for epoch in range(EPOCHS):
            for x, t in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x * scale), t)
                loss.backward()
                optimizer.step()
        print("done")
    """
)


def _converted(test: str) -> str:
    result = convert_source(SCRIPT.format(test=test))
    assert result.status is Status.CONVERTED, [(r.line, r.message) for r in result.reasons]
    compile(result.output, "<converted>", "exec")
    assert convert_source(result.output).status is Status.ALREADY_LIGHTNING
    return result.output


@pytest.mark.parametrize("test", ['__name__ == "__main__"', "'__main__' == __name__"])
def test_the_class_goes_above_the_main_block(test: str) -> None:
    out = _converted(test)
    lines = out.splitlines()
    class_line = lines.index("class LitLinear(pl.LightningModule):")  # column 0: module level
    guard_line = next(i for i, line in enumerate(lines) if line.startswith("if ") and "__main__" in line)
    assert class_line < guard_line
    block = "\n".join(lines[guard_line:])
    # the script's statements keep their place and order in the block; the module is built there
    for expected in ("torch.manual_seed(0)", "loader = make_loader()", "scale = 2.0", "trainer.fit(lit_model", 'print("done")'):
        assert expected in block, expected
    assert block.index("scale = 2.0") < block.index("trainer.fit(lit_model")
    assert "x * scale" in out  # a name of the block is a module global when the hook runs


def test_the_class_is_importable_without_running_the_block() -> None:
    namespace: dict = {"__name__": "imported_module"}
    exec(compile(_converted('__name__ == "__main__"'), "<converted>", "exec"), namespace)  # noqa: S102 - the test's own code
    assert namespace["LitLinear"].__qualname__ == "LitLinear"
    assert "trainer" not in namespace and "loader" not in namespace  # the block did not run


def test_another_condition_keeps_the_class_in_its_block() -> None:
    out = _converted("EPOCHS > 0")
    assert "    class LitLinear(pl.LightningModule):" in out
