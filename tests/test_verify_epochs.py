"""How ``verify --epochs N`` reaches a script, decided statically."""

from __future__ import annotations

import ast
import textwrap

import pytest

from pl_convert.verify.epochs import plan_epochs


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip()


@pytest.mark.parametrize("option", ["--epochs", "--num-epochs", "--n_epochs", "--max-epochs", "--epoch"])
def test_argparse_option_is_passed(option: str) -> None:
    source = src(f"""
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("{option}", type=int, default=10)
        p.add_argument("--lr", type=float)
        """)
    plan = plan_epochs(source, 2)
    assert plan.applied
    assert plan.extra_args == [option, "2"]
    assert plan.source == source


def test_option_already_in_the_arguments_is_left_to_them() -> None:
    source = 'import argparse\nargparse.ArgumentParser().add_argument("--epochs")\n'
    plan = plan_epochs(source, 2, ["--epochs=5"])
    assert not plan.applied
    assert plan.extra_args == []
    assert "already" in plan.how


@pytest.mark.parametrize("name", ["EPOCHS", "num_epochs", "N_EPOCHS", "max_epochs", "epochs"])
def test_module_constant_is_replaced(name: str) -> None:
    source = src(f"""
        # héllo: a non-ASCII comment before the constant
        lr = 0.1
        {name} = 20  # train longer
        for epoch in range({name}):
            pass
        """)
    plan = plan_epochs(source, 3)
    assert plan.applied
    assert plan.extra_args == []
    assert f"{name} = 3  # train longer" in plan.source
    assert "lr = 0.1" in plan.source
    ast.parse(plan.source)


def test_annotated_constant_is_replaced() -> None:
    plan = plan_epochs("EPOCHS: int = 7\n", 1)
    assert plan.source == "EPOCHS: int = 1\n"


def test_option_wins_over_constant() -> None:
    source = 'import argparse\nEPOCHS = 5\nargparse.ArgumentParser().add_argument("--epochs", default=EPOCHS)\n'
    plan = plan_epochs(source, 1)
    assert plan.extra_args == ["--epochs", "1"]
    assert plan.source == source


@pytest.mark.parametrize(
    "source",
    [
        "steps = 100\n",  # not an epoch count
        "def main():\n    EPOCHS = 5\n",  # not module level
        "EPOCHS = int('5')\n",  # not a literal
        "EPOCHS = 5.0\n",  # not an int
    ],
)
def test_nothing_to_set_is_reported(source: str) -> None:
    plan = plan_epochs(source, 1)
    assert not plan.applied
    assert plan.source == source
    assert "not applied" in plan.how


def test_no_epochs_requested_leaves_the_script_alone() -> None:
    plan = plan_epochs("EPOCHS = 5\n", None)
    assert not plan.applied
    assert plan.source == "EPOCHS = 5\n"
