"""The convert command through click's CliRunner: modes, overwrite protection, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.cli import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCRIPT = (FIXTURES / "feedforward_mnist" / "original.py").read_text(encoding="utf-8")
EXPECTED = (FIXTURES / "feedforward_mnist" / "expected.py").read_text(encoding="utf-8")


def run(*args: str, cwd: Path):
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def test_default_writes_lightning_file_next_to_script(script: Path) -> None:
    result = run("train.py", cwd=script.parent)
    assert result.exit_code == 0, result.output
    out = script.parent / "train_lightning.py"
    assert out.read_text(encoding="utf-8") == EXPECTED
    assert script.read_text(encoding="utf-8") == SCRIPT  # the input is untouched
    assert "Converted train.py → train_lightning.py" in result.stderr
    assert "batch loop → training_step" in result.stderr
    assert "removed device selection" in result.stderr


def test_existing_output_needs_force(script: Path) -> None:
    out = script.parent / "train_lightning.py"
    out.write_text("keep me\n", encoding="utf-8")
    result = run("train.py", cwd=script.parent)
    assert result.exit_code == 2
    assert "use --force" in result.stderr
    assert out.read_text(encoding="utf-8") == "keep me\n"
    result = run("train.py", "--force", cwd=script.parent)
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8") == EXPECTED


def test_diff_and_check_write_nothing(script: Path) -> None:
    result = run("train.py", "--diff", cwd=script.parent)
    assert result.exit_code == 0
    assert "--- a/train.py" in result.stdout and "+import pytorch_lightning as pl" in result.stdout
    assert not (script.parent / "train_lightning.py").exists()
    result = run("train.py", "--check", cwd=script.parent)
    assert result.exit_code == 1
    assert "would convert train.py" in result.stderr
    assert not (script.parent / "train_lightning.py").exists()


def test_output_to_stdout_and_to_a_path(script: Path) -> None:
    result = run("train.py", "-o", "-", cwd=script.parent)
    assert result.exit_code == 0
    assert result.stdout == EXPECTED
    result = run("train.py", "-o", "other.py", cwd=script.parent)
    assert result.exit_code == 0
    assert (script.parent / "other.py").read_text(encoding="utf-8") == EXPECTED


def test_in_place_then_check_is_clean_and_idempotent(script: Path) -> None:
    mode = 0o750
    script.chmod(mode)
    result = run("train.py", "--in-place", cwd=script.parent)
    assert result.exit_code == 0
    assert script.read_text(encoding="utf-8") == EXPECTED
    assert script.stat().st_mode & 0o777 == mode
    result = run("train.py", "--check", cwd=script.parent)
    assert result.exit_code == 0
    result = run("train.py", "--in-place", cwd=script.parent)
    assert result.exit_code == 0
    assert "already uses Lightning" in result.stderr
    assert script.read_text(encoding="utf-8") == EXPECTED


def test_import_style_and_explain(script: Path) -> None:
    result = run("train.py", "--import-style", "lightning", "-o", "-", "--explain", cwd=script.parent)
    assert result.exit_code == 0
    assert "import lightning as L" in result.stdout
    assert "found:" in result.stderr and "optimizer:" in result.stderr and "plan:" in result.stderr


def test_not_convertible_exit_1_and_nothing_written(tmp_path: Path) -> None:
    source = (FIXTURES / "ddp_boilerplate" / "original.py").read_text(encoding="utf-8")
    (tmp_path / "t.py").write_text(source, encoding="utf-8")
    result = run("t.py", cwd=tmp_path)
    assert result.exit_code == 1
    assert "not convertible" in result.stderr
    assert "t.py:" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.py"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"def f(:\n    pass\n", "t.py:1: syntax error"),
        (b'print "hello"\n', "Python 2 code is not supported"),
        (b"x = '\xe9\xff'\n", "not UTF-8"),
        (b"\x00\x01binary", "binary file"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "t.py").write_bytes(content)
    result = run("t.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert (tmp_path / "t.py").read_bytes() == content
    assert not (tmp_path / "t_lightning.py").exists()


def test_nothing_to_do_cases(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("", encoding="utf-8")
    (tmp_path / "helpers.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (tmp_path / "lit.py").write_text(EXPECTED, encoding="utf-8")
    result = run("empty.py", "helpers.py", "lit.py", cwd=tmp_path)
    assert result.exit_code == 0
    assert "empty.py has no training loop" in result.stderr
    assert "helpers.py has no training loop" in result.stderr
    assert "lit.py already uses Lightning" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.py", "helpers.py", "lit.py"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    result = run("nope.py", cwd=tmp_path)
    assert result.exit_code == 2 and "no such file" in result.stderr
    (tmp_path / "d").mkdir()
    result = run("d", cwd=tmp_path)
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_encoding_cookie_is_kept(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + SCRIPT
    (tmp_path / "t.py").write_bytes(source.encode("latin-1"))
    result = run("t.py", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    data = (tmp_path / "t_lightning.py").read_bytes()
    assert data.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert "LightningModule" in data.decode("latin-1")


def test_usage_errors(script: Path) -> None:
    result = run("train.py", "--diff", "--check", cwd=script.parent)
    assert result.exit_code == 2
    result = run("--help", cwd=script.parent)
    assert result.exit_code == 0 and "migrate" in result.stdout
    result = run("--version", cwd=script.parent)
    assert result.exit_code == 0 and "pl-convert" in result.stdout


def test_convert_and_lint_never_import_torch(script: Path) -> None:
    code = (
        "import sys\n"
        "from pl_convert.cli import main\n"
        f"main([{str(script)!r}, '-o', '-', '-q'])\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'pytorch_lightning' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
