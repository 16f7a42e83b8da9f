"""The instrumented runner and the run session, on tiny synthetic scripts (no MNIST training)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from pl_convert.verify.session import Script, VerifyOptions, verify_scripts

REGRESSION = textwrap.dedent(
    """
    import sys
    import torch

    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x = torch.randn(32, 3)
    y = x.sum(dim=1, keepdim=True)
    for step in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        BACKWARD
        opt.step()
    """
)


def script(tmp_path: Path, name: str, text: str, label: str) -> Script:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Script(label=label, path=path, source=text)


def regression(lr: float = 0.1, steps: int = 5, backward: str = "loss.backward()") -> str:
    return REGRESSION.replace("LR", repr(lr)).replace("STEPS", str(steps)).replace("BACKWARD", backward)


@pytest.fixture
def options(mnist_root: Path, tmp_path: Path) -> VerifyOptions:
    work = tmp_path / "work"
    work.mkdir()
    return VerifyOptions(data_root=mnist_root, work_parent=work, timeout=120)


def test_every_backward_and_step_is_recorded(tmp_path: Path, options: VerifyOptions) -> None:
    a = script(tmp_path, "a.py", regression(steps=7), "original")
    b = script(tmp_path, "b.py", regression(steps=7, backward="torch.autograd.backward(loss)"), "converted")
    result = verify_scripts(a, b, options)
    assert result.exit_code == 0, result.to_dict()["reasons"]
    ra, rb = result.a.record, result.b.record
    assert len(ra.losses) == 7 and ra.optimizer_steps == 7  # Tensor.backward is not counted twice
    assert ra.losses == rb.losses
    assert ra.losses[0] > ra.losses[-1]  # it really trained
    assert ra.param_count == 4 and ra.param_tensors == 2 and ra.optimizers == 1
    assert len(ra.final_params_sha256) == 64
    assert ra.final_params_sha256 == rb.final_params_sha256
    assert ra.device == "cpu" and ra.deterministic


def test_changed_learning_rate_is_different(tmp_path: Path, options: VerifyOptions) -> None:
    a = script(tmp_path, "a.py", regression(lr=0.1), "original")
    b = script(tmp_path, "b.py", regression(lr=0.11), "converted")
    result = verify_scripts(a, b, options)
    assert result.exit_code == 1
    comparison = result.comparison
    assert comparison.first_diff_step == 2  # step 1's loss is computed before any update
    assert not comparison.digest_equal


def test_the_runner_seeds_unseeded_scripts_and_seeded_ones_keep_their_own(tmp_path: Path, options: VerifyOptions) -> None:
    seeded = script(tmp_path, "seeded.py", regression(), "original")
    unseeded = script(tmp_path, "unseeded.py", regression().replace("torch.manual_seed(1)", ""), "converted")
    first = verify_scripts(seeded, unseeded, options)
    options.seed = 5
    second = verify_scripts(seeded, unseeded, options)
    assert first.a.record.losses == second.a.record.losses  # the script's own seed decides
    assert first.b.record.losses != second.b.record.losses  # --seed decides
    assert first.b.record.seed == 0 and second.b.record.seed == 5
    again = verify_scripts(Script("original", unseeded.path, unseeded.source), unseeded, options)
    assert again.exit_code == 0  # and with the same --seed, two runs are bitwise the same
    assert again.a.record.losses == second.b.record.losses


def test_script_runs_as_main_with_its_path_arguments_and_siblings(tmp_path: Path, options: VerifyOptions) -> None:
    (tmp_path / "helper_module_for_verify.py").write_text("VALUE = 41\n", encoding="utf-8")
    checks = textwrap.dedent(
        f"""
        import os, sys
        import helper_module_for_verify
        assert __name__ == "__main__", __name__
        assert __file__ == {str(tmp_path / "a.py")!r}, __file__
        assert sys.argv[1:] == ["--flag", "x y"], sys.argv
        assert os.path.islink("data"), os.listdir(".")
        assert helper_module_for_verify.VALUE == 41
        open("written_by_the_script.txt", "w").write("scratch")
        """
    )
    a = script(tmp_path, "a.py", checks + regression(), "original")
    options.args = ["--flag", "x y"]
    result = verify_scripts(a, Script("converted", a.path, a.source), options)
    assert result.exit_code == 0, result.a.stderr_tail
    assert not (tmp_path / "written_by_the_script.txt").exists()
    assert list(options.work_parent.iterdir()) == []  # working directories removed


def test_sys_exit_zero_is_success_and_nonzero_is_failure(tmp_path: Path, options: VerifyOptions) -> None:
    a = script(tmp_path, "a.py", regression() + "sys.exit(0)\n", "original")
    b = script(tmp_path, "b.py", regression() + "sys.exit(3)\n", "converted")
    result = verify_scripts(a, b, options)
    assert result.a.ok
    assert not result.b.ok and result.b.returncode == 3
    assert result.exit_code == 2


def test_crash_shows_the_scripts_traceback_not_the_runners(tmp_path: Path, options: VerifyOptions) -> None:
    a = script(tmp_path, "a.py", regression(), "original")
    b = script(tmp_path, "b.py", regression() + "raise ValueError('the conversion broke')\n", "converted")
    result = verify_scripts(a, b, options)
    assert result.exit_code == 2
    assert result.comparison is None
    assert "ValueError: the conversion broke" in result.b.stderr_tail
    assert 'b.py", line' in result.b.stderr_tail
    assert "runner.py" not in result.b.stderr_tail
    assert result.b.failure() == "ValueError: the conversion broke"
    assert list(options.work_parent.iterdir()) == []


def test_hanging_script_is_stopped_at_the_time_limit(tmp_path: Path, options: VerifyOptions) -> None:
    pid_file = tmp_path / "pid"
    hang = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n"
    a = script(tmp_path, "a.py", regression(), "original")
    b = script(tmp_path, "b.py", hang, "converted")
    options.timeout = 20  # the runner imports torch first: slow on a busy CI machine
    result = verify_scripts(a, b, options)
    assert result.exit_code == 2
    assert result.b.timed_out and "timed out" in result.b.failure()
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the hanging process is gone, not left behind
    assert list(options.work_parent.iterdir()) == []


def test_script_that_trains_nothing_is_not_equal(tmp_path: Path, options: VerifyOptions) -> None:
    a = script(tmp_path, "a.py", "print('hello')\n", "original")
    result = verify_scripts(a, Script("converted", a.path, a.source), options)
    assert result.exit_code == 1
    assert any("nothing was trained" in r for r in result.comparison.reasons)
