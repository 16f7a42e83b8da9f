"""The LightningModule builds the model from hyperparameters it records (converter/idioms/
hyperparameters.py, converter/model_construction.py): where the script builds the trained model
from values, ``LitX.load_from_checkpoint(path)`` alone rebuilds it; where it cannot, nothing
moves and the class docstring says what ``load_from_checkpoint`` needs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pl_convert.converter import Status, convert_source

HEAD = """\
import argparse
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

HIDDEN = 8


class Net(nn.Module):
    def __init__(self, hidden, dropout, out=2):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, hidden), nn.Dropout(dropout), nn.Linear(hidden, out))

    def forward(self, x):
        return self.body(x)


"""

LOOP = """\
for epoch in range(1):
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
"""


def _convert(body: str) -> str:
    source = HEAD + body
    result = convert_source(source)
    assert result.status is Status.CONVERTED, result.reasons
    compile(result.output, "<converted>", "exec")
    again = convert_source(result.output)
    assert again.status is Status.ALREADY_LIGHTNING and again.output is None  # idempotent
    return result.output


def test_built_from_a_constant_a_literal_and_an_argparse_value() -> None:
    output = _convert(textwrap.dedent("""
        parser = argparse.ArgumentParser()
        parser.add_argument("--dropout", type=float, default=0.1)
        args = parser.parse_args([])
        loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
        model = Net(HIDDEN, args.dropout, 2).to("cpu")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """) + LOOP + "torch.save(model.state_dict(), 'net.pt')\n")
    assert "    def __init__(self, HIDDEN, dropout):\n        super().__init__()\n        self.save_hyperparameters()\n" in output
    assert "        self.model = Net(HIDDEN, dropout, 2)\n" in output
    assert "lit_model = LitNet(HIDDEN, dropout=args.dropout)\nmodel = lit_model.model\n" in output
    assert "LitNet(model)" not in output and "trainer.fit(lit_model, train_dataloaders=loader)" in output
    assert "load_from_checkpoint(path)`` rebuilds the trained module" in output
    assert "torch.save(model.state_dict(), 'net.pt')" in output  # the code after sees the same object
    # the class is defined before the construction that replaced the model's statement
    assert output.index("class LitNet(") < output.index("lit_model = LitNet(")


def test_built_from_a_dataclass_config_in_a_function_whose_hooks_read_objects() -> None:
    output = _convert(textwrap.dedent("""
        @dataclass
        class Config:
            hidden: int = 8
            dropout: float = 0.0


        def main():
            cfg = Config()
            criterion = nn.CrossEntropyLoss()
            loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
            model = Net(cfg.hidden, cfg.dropout)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for epoch in range(1):
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
    """))
    assert "def __init__(self, hidden, dropout, criterion):" in output
    assert 'self.save_hyperparameters(ignore=["criterion"])' in output
    assert "lit_model = LitNet(hidden=cfg.hidden, dropout=cfg.dropout, criterion=criterion)" in output
    assert "LitNet.load_from_checkpoint(path, criterion=...)`` needs it again" in output


@pytest.mark.parametrize("setup, reason", [
    ("weights = torch.randn(8)\nmodel = Net(len(weights), 0.0)\n", "``len(weights)``, which is not a hyperparameter"),
    ("model = Net(HIDDEN, 0.0)\nprint(model)\nmodel.body[0] = nn.Linear(4, HIDDEN)\n", "changes the model after building it"),
    ("model = Net(HIDDEN, 0.0)\nmodel = nn.Sequential(model)\n", "is bound again"),
])
def test_not_built_from_a_runtime_object_and_the_docstring_says_so(setup: str, reason: str) -> None:
    body = ('loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)\n'
            + setup + "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n" + LOOP)
    output = _convert(body)
    assert "save_hyperparameters" not in output
    assert "def __init__(self, model):" in output and "lit_model = Lit" in output and "(model)\n" in output
    assert "load_from_checkpoint(path, model=...)`` needs it again" in output
    assert reason in " ".join(output.split())


def test_an_edit_right_after_the_build_moves_into_the_constructor() -> None:
    output = _convert('loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)\n'
                      "model = Net(HIDDEN, 0.0).to('cpu')\n# a wider head\nmodel.body[2] = nn.Linear(HIDDEN, 2)\n"
                      "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n" + LOOP)
    assert ("        self.model = Net(HIDDEN, 0.0)\n        # a wider head\n"
            "        self.model.body[2] = nn.Linear(HIDDEN, 2)\n") in output
    assert "model.body[2] = nn.Linear(HIDDEN, 2)" not in output.replace("self.model.body[2]", "")


def test_not_built_when_an_object_the_hooks_read_is_bound_after_the_model() -> None:
    output = _convert(textwrap.dedent("""
        def main():
            loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
            model = Net(HIDDEN, 0.0)
            criterion = nn.CrossEntropyLoss()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for epoch in range(1):
                for x, y in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(x), y)
                    loss.backward()
                    optimizer.step()
    """))
    assert "save_hyperparameters" not in output
    assert "lit_model = LitNet(model, criterion=criterion)" in output
    assert "the hooks read ``criterion``, which the script binds after the model" in " ".join(output.split())


CHECK = """
import glob
import torch
paths = glob.glob("lightning_logs/**/*.ckpt", recursive=True)
assert len(paths) == 1, paths
loaded = LitNet.load_from_checkpoint(paths[0])
trained = lit_model.state_dict()
assert loaded.state_dict().keys() == trained.keys()
assert all(torch.equal(loaded.state_dict()[k], trained[k]) for k in trained)
assert loaded.hparams == {"HIDDEN": 8, "dropout": 0.1}, loaded.hparams
print("LOADED", sorted(trained))
"""


@pytest.mark.slow
def test_a_converted_scripts_checkpoint_loads_with_no_other_argument(tmp_path: Path) -> None:
    output = _convert(textwrap.dedent("""
        parser = argparse.ArgumentParser()
        parser.add_argument("--dropout", type=float, default=0.1)
        args = parser.parse_args([])
        torch.manual_seed(0)
        loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
        model = Net(HIDDEN, args.dropout)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """) + LOOP)
    script = tmp_path / "converted.py"
    script.write_text(output.replace("trainer = pl.Trainer(", "trainer = pl.Trainer(logger=pl.loggers.CSVLogger('.', name='lightning_logs'), enable_progress_bar=False, ") + CHECK, encoding="utf-8")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED ['model.body.0.bias', 'model.body.0.weight', 'model.body.2.bias', 'model.body.2.weight']" in done.stdout


# --- what the hooks read: argparse values as hyperparameters, loaders' sizes from the Trainer ---

FUNCTION = """\
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--log-interval", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args([])
    print(args)
    train_loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
    val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randint(0, 2, (16,))), batch_size=8)
    model = Net(HIDDEN, args.dropout)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    for epoch in range(1):
        model.train()
        for batch_idx, (x, y) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print(batch_idx, len(train_loader), len(train_loader.dataset), args.dropout)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        print(correct / len(val_loader.dataset))
"""


def test_argparse_values_the_hooks_read_are_hyperparameters_and_loader_sizes_the_trainers() -> None:
    output = _convert(FUNCTION)
    # args.dropout builds the model and a hook prints it: one parameter
    assert "    def __init__(self, HIDDEN, dropout, log_interval, lr):\n        super().__init__()\n        self.save_hyperparameters()\n" in output
    assert "lit_model = LitNet(HIDDEN, dropout=args.dropout, log_interval=args.log_interval, lr=args.lr)" in output
    assert "if batch_idx % self.hparams.log_interval == 0:" in output
    assert ("print(batch_idx, len(self.trainer.train_dataloader), len(self.trainer.train_dataloader.dataset), "
            "self.hparams.dropout)") in output
    assert "print(self.correct / len(self.trainer.val_dataloaders.dataset))" in output
    assert "torch.optim.SGD(self.model.parameters(), lr=self.hparams.lr)" in output
    assert "self.args" not in output and "_loader = " not in output.split("def main")[0]
    assert "``LitNet.load_from_checkpoint(path)`` rebuilds the trained module" in " ".join(output.split())


@pytest.mark.parametrize("edit, why", [
    (("        print(correct / len(val_loader.dataset))\n", "        print(correct / len(val_loader.dataset), args)\n"), "a hook reads the namespace whole"),
    (("    print(args)\n", "    print(vars(args))\n"), "vars(args): a copy could change it"),
    (("    print(args)\n", "    args.lr = args.lr * 2\n"), "an attribute assigned after parsing"),
    (("        model.eval()\n", "        model.eval()\n        args.log_interval += 1\n"), "an attribute assigned in the loop"),
    (("    print(args)\n", "    print(args)\n    configure(args)\n"), "passed to a function that could change it"),
    (("if batch_idx % args.log_interval == 0:", "if batch_idx % args.log_interval() == 0:"), "a hook calls an attribute"),
])
def test_the_namespace_stays_an_argument_when_its_values_could_change(edit: tuple[str, str], why: str) -> None:
    source = FUNCTION.replace(*edit)
    assert source != FUNCTION, why
    output = _convert(source)
    assert "    def __init__(self, HIDDEN, dropout, args):\n" in output, why
    assert 'self.save_hyperparameters(ignore=["args"])' in output and "self.args = args" in output
    assert "lit_model = LitNet(HIDDEN, dropout=args.dropout, args=args)" in output
    assert "self.args.log_interval" in output and "self.hparams" not in output
    assert "LitNet.load_from_checkpoint(path, args=...)`` needs it again" in " ".join(output.split())
    # the loaders' sizes still come from the Trainer
    assert "len(self.trainer.train_dataloader)" in output and "len(self.trainer.val_dataloaders.dataset)" in output


@pytest.mark.parametrize("edit, kept", [
    # iterated, passed on, read by configure_optimizers (no loader yet), read by another loop's hook
    (("        print(correct / len(val_loader.dataset))\n", "        print(correct / sum(len(y) for _, y in val_loader))\n"), "val_loader"),
    (("len(train_loader.dataset), args.dropout)", "len(train_loader.dataset), args.dropout, train_loader)"), "train_loader"),
    ((("lr=args.lr)\n", "lr=args.lr)\n    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, epochs=1, steps_per_epoch=len(train_loader))\n"),
      ("            optimizer.step()\n", "            optimizer.step()\n            scheduler.step()\n")), "train_loader"),
    (("len(train_loader.dataset), args.dropout)", "len(val_loader.dataset), args.dropout)"), "val_loader"),
    (("print(batch_idx, len(train_loader)", "train_loader.batch_size = 4\n                print(batch_idx, len(train_loader)"), "train_loader"),
])
def test_a_loader_a_hook_uses_otherwise_stays_an_argument(edit: tuple, kept: str) -> None:
    source = FUNCTION
    for old, new in edit if isinstance(edit[0], tuple) else (edit,):
        source = source.replace(old, new)
    assert source != FUNCTION
    output = _convert(source)
    construction = output[output.index("lit_model = LitNet("):output.index("model = lit_model.model")]
    assert f"self.{kept} = {kept}" in output and f"{kept}={kept}" in construction
    assert f'self.save_hyperparameters(ignore=["{kept}"])' in output
    assert f"LitNet.load_from_checkpoint(path, {kept}=...)`` needs it again" in " ".join(output.split())
    other = "val_loader" if kept == "train_loader" else "train_loader"
    assert f"self.{other}" not in output  # the other loader still comes from the Trainer


def test_a_script_that_rebinds_len_keeps_its_loaders_as_arguments() -> None:
    output = _convert(FUNCTION.replace("    print(args)\n", "    print(args)\n    len = lambda sized: 3\n"))
    assert "self.train_loader = train_loader" in output and "self.val_loader = val_loader" in output
    assert "self.trainer.train_dataloader" not in output and "self.hparams.log_interval" in output


MAIN_CHECK = """
torch.manual_seed(0)
main()
if "pytorch_lightning" in sys.modules:
    import glob
    paths = glob.glob("lightning_logs/**/*.ckpt", recursive=True)
    assert len(paths) == 1, paths
    loaded = LitNet.load_from_checkpoint(paths[0])
    assert dict(loaded.hparams) == {"HIDDEN": 8, "dropout": 0.1, "log_interval": 2, "lr": 0.1}, loaded.hparams
    print("LOADED")
"""


@pytest.mark.slow
def test_the_function_style_module_loads_with_no_argument_and_prints_the_same_lines(tmp_path: Path) -> None:
    original = HEAD + "import sys\n" + FUNCTION
    output = _convert("import sys\n" + FUNCTION)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    printed = {}
    for name, text in (("original", original), ("converted", output.replace(
            "trainer = pl.Trainer(", "trainer = pl.Trainer(logger=pl.loggers.CSVLogger('.', name='lightning_logs'), enable_progress_bar=False, "))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "script.py").write_text(text + MAIN_CHECK, encoding="utf-8")
        done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path / name, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        printed[name] = [line for line in done.stdout.splitlines() if line[:1].isdigit()]
    assert len(printed["original"]) == 3 and printed["converted"] == printed["original"]
    assert "LOADED" in done.stdout


def test_a_value_named_like_a_dict_method_gets_another_name() -> None:
    # ``self.hparams`` is a dict: ``self.hparams.update`` would be its method, not the value
    source = FUNCTION.replace('parser.add_argument("--lr"', 'parser.add_argument("--update", type=int, default=1)\n    parser.add_argument("--lr"')
    output = _convert(source.replace("if batch_idx % args.log_interval == 0:", "if batch_idx % args.update == 0:"))
    assert "def __init__(self, HIDDEN, dropout, update_2, lr):" in output
    assert "if batch_idx % self.hparams.update_2 == 0:" in output and "update_2=args.update" in output
