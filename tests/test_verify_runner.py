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
        assert os.path.basename(__file__) == "a.py" and os.path.dirname(__file__) == os.getcwd(), __file__
        assert os.path.dirname(__file__) != {str(tmp_path)!r}  # a copy of the script's directory
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


def test_script_runs_in_a_copy_of_its_directory_and_never_writes_into_it(tmp_path: Path, options: VerifyOptions, monkeypatch) -> None:
    """A repository ships folders its script writes into (results/, checkpoint/) and files it reads."""
    repo = tmp_path / "repo"
    (repo / "results").mkdir(parents=True)
    (repo / "results" / ".gitkeep").write_text("", encoding="utf-8")
    (repo / "checkpoint").mkdir()
    (repo / "checkpoint" / "previous.txt").write_text("kept", encoding="utf-8")
    (repo / "config.json").write_text('{"steps": 3}', encoding="utf-8")
    (repo / "big.bin").write_bytes(b"x" * 4096)
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    body = textwrap.dedent(
        """
        import json, os
        steps = json.load(open("config.json"))["steps"]
        assert open(os.path.join(os.path.dirname(__file__), "checkpoint", "previous.txt")).read() == "kept"
        assert not os.path.exists(".git")
        assert open("big.bin", "rb").read(1) == b"x"
        open("results/reconstruction_1.png", "wb").write(b"png")
        open(os.path.join("checkpoint", "previous.txt"), "w").write("overwritten by the run")
        print(f"saved to {os.path.abspath('results/reconstruction_1.png')}")
        """
    )
    a = script(repo, "train.py", body + regression(steps=3), "original")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    monkeypatch.setattr("pl_convert.verify.workdir.LARGE_FILE", 1024)  # big.bin is linked, not copied
    result = verify_scripts(a, Script("converted", a.path, a.source), options)
    assert result.exit_code == 0, result.a.stderr_tail + str(result.to_dict()["reasons"])
    after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert after == before  # nothing written into the original directory
    assert result.a.linked_files == 1 and result.a.changed_originals == []
    assert result.a.record.printed == [["saved to <script dir>/results/reconstruction_1.png", 0, "out"]]
    assert list(options.work_parent.iterdir()) == []


def test_a_run_that_writes_through_a_linked_file_is_reported(tmp_path: Path, options: VerifyOptions, monkeypatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "weights.bin").write_bytes(b"0" * 4096)
    a = script(repo, "train.py", "open('weights.bin', 'ab').write(b'1')\n" + regression(steps=2), "original")
    monkeypatch.setattr("pl_convert.verify.workdir.LARGE_FILE", 1024)
    result = verify_scripts(a, Script("converted", a.path, a.source), options)
    assert result.a.changed_originals == [str((repo / "weights.bin").resolve())]
    assert any("changed files of the original directory" in n for n in result.comparison.notes)


def test_progress_is_reported_while_the_runs_train(tmp_path: Path, options: VerifyOptions) -> None:
    slow = regression(steps=40).replace("    opt.step()\n", "    opt.step()\n    __import__('time').sleep(0.05)\n")
    a = script(tmp_path, "a.py", slow, "original")
    seen = []
    options.progress_interval = 0.2
    result = verify_scripts(a, Script("converted", a.path, a.source), options, on_progress=seen.append)
    assert result.exit_code == 0
    for label in ("original", "converted"):
        steps = [p.steps for p in seen if p.label == label]
        assert steps == sorted(steps) and 0 < steps[-1] <= 40, steps
        assert all(p.timeout == options.timeout and 0 <= p.elapsed <= p.timeout for p in seen)


def test_only_the_scripts_own_prints_are_recorded_and_timings_read_a_virtual_clock(tmp_path: Path, options: VerifyOptions) -> None:
    (tmp_path / "helper_for_verify_prints.py").write_text("def report(x):\n    print('helper', x)\n", encoding="utf-8")
    body = textwrap.dedent(
        """
        import sys, time, warnings, logging
        import helper_for_verify_prints
        start = time.time()
        print("first", end=" ")
        print("line")
        sys.stderr.write("to stderr\\n")
        warnings.warn("a warning")                  # written by the warnings module: not a line of the script
        logging.getLogger("x").warning("logged")    # the script's own log record (lastResort handler)
        from tqdm import tqdm
        tqdm.write("via tqdm")                        # tqdm writes on the script's behalf
        helper_for_verify_prints.report(3)           # a module next to the script is its code
        print(f"took {time.time() - start:.3f}s", "no newline at the end", end="")
        """
    )
    a = script(tmp_path, "a.py", body + regression(steps=1), "original")
    b_source = body.replace("start = time.time()", "start = time.time()\ntime.sleep(0.3)") + regression(steps=1)
    b = script(tmp_path, "b.py", b_source, "converted")
    result = verify_scripts(a, b, options)
    assert result.exit_code == 0, result.to_dict()["reasons"]
    assert [line[0] for line in result.a.record.printed] == [
        "first line", "to stderr", "logged", "via tqdm", "helper 3", "took 0.001s no newline at the end"
    ]
    assert [line[2] for line in result.a.record.printed] == ["out", "err", "err", "out", "out", "out"]
    assert result.b.record.printed == result.a.record.printed  # the real 0.3 s sleep does not show
