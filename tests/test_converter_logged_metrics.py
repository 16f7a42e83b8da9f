"""What an evaluation logs: the values a person reads (accuracy, mean loss), derived from the
sums after they are added over the processes; raw counts only when nothing is derived; and, for
``pl-convert verify``, where the original computes each logged value."""

from __future__ import annotations

import textwrap

from pl_convert.converter import convert_source
from pl_convert.converter.idiom import EXAMPLE_PREAMBLE
from pl_convert.converter.logged_metrics import metric_key
from pl_convert.converter.result import Status

TRAIN = """\
for epoch in range(2):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
"""


def _convert(body: str):
    source = EXAMPLE_PREAMBLE + "\n" + textwrap.dedent(body)
    result = convert_source(source)
    assert result.status is Status.CONVERTED, result.reasons
    compile(result.output, "<converted>", "exec")
    return source, result


def _hook(output: str, name: str) -> str:
    start = output.index(f"    def {name}(")
    end = output.find("\n    def ", start + 1)
    return output[start:end if end > 0 else None]


def _line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


VALIDATION = TRAIN + """\
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in val_loader:
            total += y.size(0)
            correct += (model(x).argmax(1) == y).sum().item()
    print(f"epoch {epoch}: accuracy {100 * correct / total:.2f}%")
"""


def test_the_accuracy_derived_from_the_counts_is_logged_not_the_counts() -> None:
    _, result = _convert(VALIDATION)
    end = _hook(result.output, "on_validation_epoch_end")
    assert 'self.log("val_acc", 100 * self.correct / self.total, prog_bar=True)' in end
    assert "val_correct" not in result.output and "val_total" not in result.output
    # the log comes after the sums over processes, so every process logs the same value
    assert end.index("self._sum_over_processes(self.correct)") < end.index('self.log("val_acc"')


def test_the_metric_entry_points_at_the_original_expression() -> None:
    source, result = _convert(VALIDATION)
    [metric] = result.metrics
    assert metric.key == "val_acc"
    assert metric.expression == "100 * correct / total"
    assert metric.called_from is None
    # final once the evaluation and the statements after it in the epoch ran
    assert metric.start_line <= _line_of(source, "with torch.no_grad()")
    assert metric.end_line >= _line_of(source, "print(f\"epoch")


def test_the_count_is_logged_when_nothing_is_derived_from_it() -> None:
    _, result = _convert(TRAIN + """\
    correct = 0
    with torch.no_grad():
        for x, y in val_loader:
            correct += (model(x).argmax(1) == y).sum().item()
    print(epoch, correct)
""")
    assert 'self.log("val_correct", self.correct)' in result.output
    assert [m.key for m in result.metrics] == ["val_correct"]
    assert result.metrics[0].expression == "correct"


def test_a_mean_loss_is_logged_under_the_stage_name() -> None:
    _, result = _convert(TRAIN + """\
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
            test_loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    test_loss /= len(val_loader.dataset)
    print(test_loss, 100. * correct / len(val_loader.dataset))
""")
    end = _hook(result.output, "on_validation_epoch_end")
    assert 'self.log("val_loss", self.test_loss)' in end
    assert 'self.log("val_acc", 100. * self.correct / len(val_loader.dataset), prog_bar=True)' in end
    assert "val_correct" not in end and "val_test_loss" not in end
    assert {m.key: m.expression for m in result.metrics} == {
        "val_loss": "test_loss", "val_acc": "100. * correct / len(val_loader.dataset)"}


def test_a_value_whose_inputs_change_after_the_print_is_not_logged_as_derived() -> None:
    _, result = _convert(TRAIN + """\
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in val_loader:
            total += y.size(0)
            correct += (model(x).argmax(1) == y).sum().item()
    print(correct / total)
    total = 1
""")
    assert "val_acc" not in result.output  # at the hook's end `total` is no longer the count
    assert 'self.log("val_correct", self.correct)' in result.output


def test_the_test_accuracy_printed_after_the_loop_is_logged() -> None:
    source, result = _convert(TRAIN + """\
correct, total = 0, 0
with torch.no_grad():
    for x, y in val_loader:
        total += y.size(0)
        correct += (model(x).argmax(1) == y).sum().item()
print("accuracy: %.2f %%" % (100 * correct / total))
""")
    end = _hook(result.output, "on_test_epoch_end")
    assert "global total, correct" in end or "global correct, total" in end
    assert "correct = self._sum_over_processes(correct)" in end
    assert end.rstrip().endswith('self.log("test_acc", 100 * correct / total)')
    assert "test_correct" not in result.output
    [metric] = result.metrics
    assert (metric.key, metric.expression) == ("test_acc", "100 * correct / total")
    assert (metric.start_line, metric.end_line) == (_line_of(source, "with torch.no_grad()"), _line_of(source, "correct += "))
    # what the script prints after the test is unchanged
    assert 'print("accuracy: %.2f %%" % (100 * correct / total))' in result.output


def test_a_test_value_read_after_something_reassigned_is_not_logged() -> None:
    _, result = _convert(TRAIN + """\
correct, total = 0, 0
with torch.no_grad():
    for x, y in val_loader:
        total += y.size(0)
        correct += (model(x).argmax(1) == y).sum().item()
total = max(total, 1)
print(correct / total)
""")
    assert "test_acc" not in result.output
    assert 'self.log("test_correct", correct)' in result.output


def test_a_function_returning_the_accuracy_points_verify_at_its_return() -> None:
    source, result = _convert("""\
def accuracy(net, data):
    correct = 0
    with torch.no_grad():
        for x, y in data:
            correct += (net(x).argmax(1) == y).sum().item()
    return correct / len(data.dataset)


for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    val_acc = accuracy(model, val_loader)
    print(val_acc)
test_acc = accuracy(model, loader)
print(test_acc)
""")
    assert 'self.log("val_acc", val_acc, prog_bar=True)' in result.output
    metrics = {m.key: m for m in result.metrics}
    assert set(metrics) == {"val_acc", "test_acc"}
    test = metrics["test_acc"]
    assert test.expression == "correct / len(data.dataset)"  # in the function's own terms
    assert test.called_from == (_line_of(source, "test_acc = accuracy("),) * 2


def test_metric_keys() -> None:
    assert metric_key("val", "test_loss") == "val_loss"
    assert metric_key("test", "val_acc") == "test_acc"
    assert metric_key("val", "val_acc") == "val_acc"
    assert metric_key("val", "epoch_acc") == "val_epoch_acc"
    assert metric_key("val", "self.best_acc") == "val_best_acc"
    assert metric_key("val", "testimony") == "val_testimony"


def test_a_value_from_a_sum_not_summed_over_processes_is_averaged_by_lightning() -> None:
    # the counts start before training (not right before the test): they are not summed, so
    # each process has its own value and Lightning averages them (sync_dist)
    _, result = _convert("""\
correct, total = 0, 0
""" + TRAIN + """\
with torch.no_grad():
    for x, y in val_loader:
        total += y.size(0)
        correct += (model(x).argmax(1) == y).sum().item()
print(100 * correct / total)
""")
    end = _hook(result.output, "on_test_epoch_end")
    assert "_sum_over_processes" not in end
    assert 'self.log("test_acc", 100 * correct / total, sync_dist=True)' in end


def test_values_of_an_unrolled_trainer_class_point_verify_at_the_method_and_its_call_sites() -> None:
    # the evaluation is a method the original calls twice (validation in the epoch loop, the final
    # test after fit): the value is the method's own expression, read when the method returns,
    # counted per call site
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "fixtures" / "custom_trainer_class" / "original.py").read_text()
    lines = source.splitlines()
    result = convert_source(source)
    assert 'self.log("val_acc", correct / n, prog_bar=True)' in result.output
    metrics = {m.key: m for m in result.metrics}
    assert sorted(metrics) == ["test_acc", "test_loss", "val_acc", "val_loss"]
    assert metrics["val_acc"].expression == metrics["test_acc"].expression == "correct / n"
    method = lines[metrics["val_acc"].start_line - 2]
    assert method.strip() == "def evaluate(self, loader: DataLoader) -> dict:"
    assert lines[metrics["val_acc"].end_line - 1].strip().startswith("return {")
    assert lines[metrics["val_acc"].called_from[0] - 1].strip() == "metrics = self.evaluate(val_loader)"
    assert lines[metrics["test_acc"].called_from[0] - 1].strip() == "final = trainer.evaluate(test_loader)"


def test_the_last_batch_value_is_not_logged_next_to_an_epoch_value() -> None:
    _, result = _convert(TRAIN + """\
    correct = 0
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
            val_loss = F.cross_entropy(out, y)  # each batch's own: the last one at the end
            correct += (out.argmax(1) == y).sum().item()
    print(correct / len(val_loader.dataset))
""")
    end = _hook(result.output, "on_validation_epoch_end")
    assert 'self.log("val_acc", self.correct / len(val_loader.dataset), prog_bar=True)' in end
    assert "val_loss" not in end
    assert [m.key for m in result.metrics] == ["val_acc"]
