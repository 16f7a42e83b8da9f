"""verify's hygiene beyond tests/test_verify_runner.py: the user's script runs only in a child
process, in a temporary working directory; everything it started is stopped at the time limit
and on Ctrl-C, and the working directory is removed in every case."""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pl_convert.verify.session import Script, VerifyOptions, verify_scripts

TRAIN = textwrap.dedent(
    """
    import torch
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 3)
    for step in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True)).backward()
        opt.step()
    """
)


@pytest.fixture
def options(mnist_root: Path, tmp_path: Path) -> VerifyOptions:
    work = tmp_path / "work"
    work.mkdir()
    return VerifyOptions(data_root=mnist_root, work_parent=work, timeout=120)


def make(tmp_path: Path, name: str, text: str, label: str) -> Script:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Script(label=label, path=path, source=text)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie of ours would still answer; it is not running
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split()[2] == "Z"
    except OSError:
        return True


def test_script_runs_in_a_child_process_in_a_temporary_directory(tmp_path: Path, options: VerifyOptions) -> None:
    facts = tmp_path / "facts.txt"
    probe = f"import os\nopen({str(facts)!r}, 'w').write(f'{{os.getpid()}}\\n{{os.getcwd()}}')\n"
    a = make(tmp_path, "a.py", probe + TRAIN, "original")
    original_bytes = a.path.read_bytes()
    result = verify_scripts(a, Script("converted", a.path, a.source), options)
    assert result.a.ok and result.b.ok, result.a.stderr_tail
    pid, cwd = facts.read_text().splitlines()
    assert int(pid) != os.getpid()
    assert Path(cwd).resolve().is_relative_to(options.work_parent.resolve())
    assert not Path(cwd).exists()  # removed afterwards
    assert list(options.work_parent.iterdir()) == []
    assert a.path.read_bytes() == original_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "facts.txt", "work"]


def test_processes_the_script_started_are_stopped_at_the_time_limit(tmp_path: Path, options: VerifyOptions) -> None:
    pids = tmp_path / "pids"
    hang = textwrap.dedent(
        f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        time.sleep(600)
        """
    )
    a = make(tmp_path, "a.py", TRAIN, "original")
    b = make(tmp_path, "b.py", hang, "converted")
    options.timeout = 20
    result = verify_scripts(a, b, options)
    assert result.b.timed_out and result.exit_code == 2
    script_pid, child_pid = map(int, pids.read_text().split())
    deadline = time.monotonic() + 10
    while not (gone(script_pid) and gone(child_pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone(script_pid) and gone(child_pid)  # the grandchild too, not left behind
    assert list(options.work_parent.iterdir()) == []


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_ctrl_c_stops_the_runs_and_removes_the_working_directory(tmp_path: Path, options: VerifyOptions, parallel: bool) -> None:
    """A real SIGINT to the main thread while it waits for a run that would hang for 600 s.

    The runs must be stopped by the Ctrl-C branches (``verify_scripts`` kills every live run;
    ``run_one`` kills its own when the wait is interrupted), not by the time limit: the limit is
    set far beyond what the test waits, and the interrupt must end everything within seconds.
    """
    pid_file = tmp_path / "pid"
    hang = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n"
    a = make(tmp_path, "a.py", hang, "original")
    b = make(tmp_path, "b.py", TRAIN, "converted")
    options.timeout = 120
    options.parallel = parallel
    interrupted_at: list[float] = []
    main_thread = threading.get_ident()

    def interrupt_once_the_hang_runs() -> None:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        interrupted_at.append(time.monotonic())
        signal.pthread_kill(main_thread, signal.SIGINT)  # what Ctrl-C does to the main thread

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    helper = threading.Thread(target=interrupt_once_the_hang_runs, daemon=True)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            verify_scripts(a, b, options)
        stopped_at = time.monotonic()
    finally:
        helper.join()
        signal.signal(signal.SIGINT, previous)
    assert pid_file.exists() and interrupted_at, "the hanging script never started"
    assert stopped_at - interrupted_at[0] < 30, "the runs were not stopped on Ctrl-C"
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone(pid)
    assert list(options.work_parent.iterdir()) == []
