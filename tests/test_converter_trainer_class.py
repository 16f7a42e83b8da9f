"""Trainer classes of the script's own → unrolled, then converted (idioms ``trainer-class`` and
``object-helpers``): small scripts for each rule and refusal, and PyTorch's own DDP tutorial
series (tests/external, BSD-licensed copies) converted end to end."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pl_convert.converter import Status, convert_source

EXTERNAL = Path(__file__).resolve().parent / "external" / "ddp_tutorial_series"

HEADER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

loader = DataLoader(TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,))), batch_size=16)
"""

TRAINER = """\
class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.steps = 0

    def _run_batch(self, x, y):
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.steps += 1
        return loss.item()

    def train(self, max_epochs):
        for epoch in range(max_epochs):
            total = 0.0
            for x, y in loader:
                total += self._run_batch(x, y)
            print(epoch, total)
"""

MAIN = """\
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
trainer = Trainer(model, optimizer)
trainer.train(2)
"""


def convert(body: str):
    source = HEADER + "\n" + textwrap.dedent(body)
    return source, convert_source(source)


def converted(body: str) -> str:
    source, result = convert(body)
    assert result.status is Status.CONVERTED, [(r.line, r.message) for r in result.reasons]
    compile(result.output, "<converted>", "exec")
    again = convert_source(result.output)
    assert again.status is Status.ALREADY_LIGHTNING  # and the output is not converted twice
    return result.output


def refusal(body: str):
    source, result = convert(body)
    assert result.status is Status.NOT_CONVERTIBLE, result.output
    reason = result.reasons[0]
    return source.splitlines()[reason.line - 1].strip() if reason.line else "", reason.message


def test_the_class_becomes_the_lightning_module() -> None:
    out = converted(TRAINER + "\n\n" + MAIN)
    assert "class Trainer" not in out and "self._run_batch" not in out
    assert "def training_step(self, batch, batch_idx):" in out
    assert "self.total += loss.item()" in out  # the return value where the call stood
    assert "max_epochs=2" in out
    assert "steps += 1" in out  # self.steps is the plain variable steps


def test_changes_name_the_original_lines() -> None:
    source, result = convert(TRAINER + "\n\n" + MAIN)
    lines = source.splitlines()
    by_text = {c.description: (c.start_line, c.end_line) for c in result.changes}
    construction = next(span for text, span in by_text.items() if text.startswith("Trainer(...)"))
    assert lines[construction[0] - 1] == "trainer = Trainer(model, optimizer)"
    training = next(span for text, span in by_text.items() if text.startswith("trainer.train(...)"))
    assert lines[training[0] - 1] == "trainer.train(2)"
    batch_loop = next(span for text, span in by_text.items() if text.startswith("batch loop"))
    assert lines[batch_loop[0] - 1].strip() == "for x, y in loader:"  # inside the method, as written


def test_a_refusal_after_the_unrolling_names_the_line_in_the_method() -> None:
    line, message = refusal(TRAINER.replace("for epoch in range(max_epochs):", "while self.steps < 100:") + "\n\n" + MAIN)
    assert line == "while self.steps < 100:" and "`while` loop" in message


def test_a_local_of_the_called_method_is_renamed_where_the_caller_uses_it() -> None:
    out = converted(
        TRAINER.replace("total += self._run_batch(x, y)", "loss = self._run_batch(x, y)").replace("print(epoch, total)", "print(epoch, loss)")
        + "\n\n" + MAIN
    )
    assert "loss_2 = F.cross_entropy(self.model(x), y)" in out
    assert "self.loss = loss_2.item()" in out or "loss = loss_2.item()" in out
    assert "automatic_optimization = False" not in out  # the step's own loss is not reassigned


def test_state_that_clashes_with_a_name_of_the_script_is_renamed() -> None:
    out = converted(TRAINER + "\n\nsteps = 'warm-up'\n" + MAIN + "print(steps, trainer.steps)\n")
    assert "trainer_steps = 0" in out and "trainer_steps += 1" in out
    assert "print(steps, trainer_steps)" in out


def test_the_model_the_constructor_moves_keeps_its_name() -> None:
    out = converted(TRAINER.replace("self.model = model\n", "self.model = model.to(device)\n") + "\n\ndevice = torch.device('cpu')\n" + MAIN)
    assert "trainer_model" not in out and "model = lit_model.model" in out  # the module builds it (save_hyperparameters)


def test_a_no_grad_evaluation_method_after_training_becomes_the_test_loop() -> None:
    evaluate = """
    @torch.no_grad()
    def evaluate(self, batches):
        correct = 0
        for x, y in batches:
            correct += (self.model(x).argmax(1) == y).sum().item()
        return correct
"""
    out = converted(TRAINER + textwrap.indent(textwrap.dedent(evaluate), "    ") + "\n\n" + MAIN + "print(trainer.evaluate(loader))\n")
    assert "def test_step(self, batch, batch_idx):" in out and "trainer.test(" in out


def test_the_checkpoint_method_stays_under_its_guard_with_a_note() -> None:
    save = """
    def _save_checkpoint(self, epoch):
        torch.save(self.model.state_dict(), f"epoch{epoch}.pt")
"""
    body = TRAINER.replace("print(epoch, total)", "if epoch % 2 == 0:\n                self._save_checkpoint(epoch)")
    source, result = convert(body + textwrap.indent(textwrap.dedent(save), "    ") + "\n\n" + MAIN)
    assert result.status is Status.CONVERTED
    assert 'if self.current_epoch % 2 == 0:\n            torch.save(self.model.state_dict(), f"epoch{self.current_epoch}.pt")' in result.output
    note = next(n for n in result.notes if "Trainer._save_checkpoint()" in n.message)
    assert source.splitlines()[note.line - 1].strip() == "self._save_checkpoint(epoch)"


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (lambda t: t.replace("            print(epoch, total)", "            if epoch < 5:\n                self.train(max_epochs - 1)"),
         "self.train(max_epochs - 1)", "Trainer.train() calls itself (recursion"),
        (lambda t: t.replace("        return loss.item()", "        if loss > 10:\n            return None\n        return loss.item()"),
         "return None", "`return` before the end of Trainer._run_batch()"),
        (lambda t: t.replace("for x, y in loader:", "for x, y in self._batches():") + "\n    def _batches(self):\n        return loader\n",
         "for x, y in self._batches():", "Trainer._batches() is called in the header of a compound statement"),
        (lambda t: t.replace("        self.steps += 1", "        print(self)"),
         "print(self)", "uses `self` as a value"),
        (lambda t: t.replace("        self.optimizer.zero_grad()", "        x = x * 2\n        self.optimizer.zero_grad()"),
         "def _run_batch(self, x, y):", "Trainer._run_batch() reassigns its parameter x"),
    ],
    ids=["recursion", "early-return", "call-in-a-loop-header", "self-as-a-value", "reassigned-parameter"],
)
def test_refusals_name_the_line_and_the_construct(edit, line: str, reason: str) -> None:
    found_line, message = refusal(edit(TRAINER) + "\n\n" + MAIN)
    assert reason in message
    assert found_line == line


def test_the_instance_used_as_a_value_is_refused_at_its_line() -> None:
    found_line, message = refusal(TRAINER + "\n\n" + MAIN + "trainers = [trainer]\n")
    assert found_line == "trainers = [trainer]" and "used as a value" in message


def test_a_class_with_a_base_is_refused_with_the_base() -> None:
    found_line, message = refusal(
        "import unittest\n\n\nclass Test(unittest.TestCase):\n    def test_step(self):\n        model = nn.Linear(4, 2)\n"
        "        F.cross_entropy(model(torch.randn(2, 4)), torch.tensor([0, 1])).backward()\n"
    )
    assert "inherits from unittest.TestCase" in message and found_line.startswith("F.cross_entropy(")


def test_a_class_never_constructed_in_the_file_is_refused() -> None:
    found_line, message = refusal(TRAINER)
    assert found_line == "class Trainer:" and "never constructed in this file" in message


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("                total += self._run_batch(x, y)\n", "                pass\n"),
        lambda t: t.replace("    def train(self, max_epochs):", "    def unused(self, max_epochs):") + "\n    def train(self, max_epochs):\n        print(max_epochs)\n",
    ],
    ids=["loop-never-calls-the-step-method", "entry-point-never-reaches-the-loop"],
)
def test_backward_only_in_a_method_nothing_calls_is_refused_at_its_line(edit) -> None:
    # the fuzz benchmark's mutations: the call reaching the per-batch method deleted; the unrolled
    # script has no backward() left (it crashed the analysis with an IndexError)
    found_line, message = refusal(edit(TRAINER) + "\n\n" + MAIN)
    assert found_line == "loss.backward()"
    assert "backward() is only called in Trainer._run_batch(), which nothing the script runs calls" in message
    assert "internal error" not in message


def test_a_helper_building_the_training_objects_is_unrolled() -> None:
    out = converted(
        TRAINER + "\n\ndef load_train_objs():\n    net = nn.Linear(4, 2)\n    opt = torch.optim.SGD(net.parameters(), lr=0.1)\n    return net, opt\n\n\n"
        "model, optimizer = load_train_objs()\ntrainer = Trainer(model, optimizer)\ntrainer.train(2)\n"
    )
    assert "def load_train_objs(" not in out
    assert "model = nn.Linear(4, 2)" in out and "optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)" in out  # built in configure_optimizers


# --- PyTorch's DDP tutorial series (tests/external, unchanged copies) ------------------------------------
def _tutorial(name: str):
    source = (EXTERNAL / name).read_text(encoding="utf-8")
    result = convert_source(source)
    assert result.status is Status.CONVERTED, [(r.line, r.message) for r in result.reasons]
    compile(result.output, name, "exec")
    assert convert_source(result.output).status is Status.ALREADY_LIGHTNING
    assert "class Trainer" not in result.output and "def load_train_objs(" not in result.output
    assert "def training_step(self, batch, batch_idx):" in result.output
    assert ".to(gpu_id)" not in result.output and ".to(self.gpu_id)" not in result.output
    return source, result


def test_tutorial_single_gpu() -> None:
    source, result = _tutorial("single_gpu.py")
    out = result.output
    assert 'accelerator="gpu", devices=1' in out  # device = 0: cuda:0
    assert "device = 0  # shorthand for cuda:0" in out
    assert "if self.current_epoch % self.save_every == 0:" in out and "ckp = self.model.state_dict()" in out
    assert "strategy=" not in out


def test_tutorial_multigpu() -> None:
    source, result = _tutorial("multigpu.py")
    out = result.output
    assert 'strategy=pl.strategies.DDPStrategy(process_group_backend="nccl")' in out and "devices=world_size" in out
    assert "if self.global_rank == 0 and self.current_epoch % self.save_every == 0:" in out
    assert "ckp = self.model.state_dict()" in out  # the DDP wrap's .module goes with it
    for gone in ("DistributedSampler", "DDP(", "mp.spawn", "init_process_group", "set_epoch", "gpu_id"):
        assert gone not in out, gone
    assert "main(world_size, args.save_every, args.total_epochs, args.batch_size)" in out


@pytest.mark.parametrize("name", ["multigpu_torchrun.py", "multinode.py"])
def test_tutorial_torchrun(name: str) -> None:
    source, result = _tutorial(name)
    out = result.output
    assert 'devices=int(os.environ["LOCAL_WORLD_SIZE"])' in out
    assert 'num_nodes=int(os.environ["WORLD_SIZE"]) // int(os.environ["LOCAL_WORLD_SIZE"])' in out
    # the snapshot resume runs before fit, on this process's rank from torchrun's environment
    assert 'snapshot = torch.load(snapshot_path, map_location=loc)' in out
    assert "max_epochs=total_epochs - epochs_run," in out
    assert '"MODEL_STATE": self.model.state_dict(),' in out
    for gone in ("DistributedSampler", "DDP(", "init_process_group", "set_epoch"):
        assert gone not in out, gone


def test_a_statement_using_the_instance_twice_is_refused() -> None:
    found_line, message = refusal(TRAINER + "\n\n" + MAIN.replace("trainer.train(2)", "trainer.train(trainer.steps + 2)"))
    assert found_line == "trainer.train(trainer.steps + 2)" and "twice" in message


def test_an_import_inside_a_method_keeps_its_name() -> None:
    out = converted(TRAINER.replace("        self.steps += 1", "        import math\n        self.steps += math.floor(1.5)") + "\n\nimport math\n" + MAIN)
    assert "import math_2" not in out and "math.floor(1.5)" in out


def test_a_helper_reading_a_global_the_call_would_rebind_stays() -> None:
    found_line, message = refusal(
        "rate = 0.1\n\n\ndef build():\n    net = nn.Linear(4, 2)\n    opt = torch.optim.SGD(net.parameters(), lr=rate)\n    return net, opt\n\n\n"
        "rate, sgd = build()\nfor x, y in loader:\n    sgd.zero_grad()\n    F.cross_entropy(rate(x), y).backward()\n    sgd.step()\n"
    )
    assert "cannot find where the optimizer 'sgd' is created" in message
