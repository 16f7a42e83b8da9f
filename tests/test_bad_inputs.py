"""Bad input through the command line: convert, lint and migrate on each kind of broken file.

Every case must end with a clear message and the documented exit code (convert: 2 for an
input error; lint: 2, with the other files still reported; migrate: the file is recorded as
unparseable and the run goes on, exit 0, or 1 with ``--strict``), never a traceback, and no
input file is ever modified. Cases that could take the interpreter down (deep nesting, symlink
loops) run in a subprocess with a time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.cli import cli
from pl_convert.sourcefile import MAX_SOURCE_BYTES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRAINING_SCRIPT = (FIXTURES / "feedforward_mnist" / "original.py").read_text(encoding="utf-8")
#: a Lightning file with a finding (PTL201: `gpus=` was removed in Lightning 2.0)
LINTABLE = "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1)\n"

#: name -> (file content, a fragment of the message every command must print)
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "syntax_error": (b"import torch\ndef f(:\n    pass\n", "syntax error"),
    "python2_print": (b'import torch\nprint "hello"\n', "Python 2 code is not supported"),
    "python2_raise": (b"import torch\nraise ValueError, \"bad\"\n", "Python 2 code is not supported"),
    "python2_not_equal": (b"import torch\nif a <> b:\n    pass\n", "Python 2 code is not supported"),
    "latin1_without_cookie": (b"import torch\nx = 'caf\xe9'\n", "no encoding is declared"),
    "utf8_cookie_but_latin1": (b"# -*- coding: utf-8 -*-\nx = 'caf\xe9'\n", "cannot decode as utf-8"),
    "unknown_cookie": (b"# -*- coding: no-such-codec -*-\nx = 1\n", "encoding"),
    "binary_named_py": (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00", "binary file"),
    "too_large": (b"x = 1\n" * (10 * 1024 * 1024 // 6 + 1), "too large"),
}
BAD_IDS = list(BAD_FILES)


def invoke(args: list[str], cwd: Path):
    """Run the CLI in-process (click's runner) in ``cwd``; exceptions propagate to the test."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def run_subprocess(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run ``pl-convert ARGS`` in a fresh interpreter (a segfault or hang cannot take pytest down)."""
    return subprocess.run(
        [sys.executable, "-m", "pl_convert.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (not following symlinks) and its bytes."""
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(directory))] = path.read_bytes()
    return files


def migrate_records(report: Path) -> dict[str, dict]:
    return {record["path"]: record for record in json.loads(report.read_text(encoding="utf-8"))["files"]}


def test_the_large_case_is_over_the_limit() -> None:
    assert len(BAD_FILES["too_large"][0]) > MAX_SOURCE_BYTES


# --- convert -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_IDS)
def test_convert_refuses_bad_input_with_exit_2(tmp_path: Path, case: str) -> None:
    content, message = BAD_FILES[case]
    (tmp_path / "t.py").write_bytes(content)
    result = invoke(["t.py"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr and "t.py" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == {"t.py": content}  # no output written, input untouched


@pytest.mark.parametrize("mode", [["--in-place"], ["--diff"], ["--check"], ["-o", "-"]])
def test_convert_bad_input_in_every_mode_is_exit_2_and_untouched(tmp_path: Path, mode: list[str]) -> None:
    content = BAD_FILES["syntax_error"][0]
    (tmp_path / "t.py").write_bytes(content)
    result = invoke(["t.py", *mode], tmp_path)
    assert result.exit_code == 2
    assert "t.py:2: syntax error" in result.stderr
    assert snapshot(tmp_path) == {"t.py": content}


def test_convert_goes_on_after_a_bad_file_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_bytes(BAD_FILES["binary_named_py"][0])
    (tmp_path / "train.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    result = invoke(["bad.py", "train.py"], tmp_path)
    assert result.exit_code == 2
    assert "bad.py: binary file" in result.stderr
    assert "LightningModule" in (tmp_path / "train_lightning.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# only a comment\n", b"\xef\xbb\xbf"])
def test_convert_empty_files_have_nothing_to_do(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "empty.py").write_bytes(content)
    result = invoke(["empty.py"], tmp_path)
    assert result.exit_code == 0
    assert "empty.py has no training loop" in result.stderr
    assert snapshot(tmp_path) == {"empty.py": content}


@pytest.mark.parametrize(
    "encoding, cookie",
    [("latin-1", "# -*- coding: latin-1 -*-\n"), ("cp1252", "# vim: set fileencoding=cp1252 :\n"), ("utf-8-sig", "")],
)
def test_convert_output_keeps_the_input_encoding(tmp_path: Path, encoding: str, cookie: str) -> None:
    source = cookie + "# caf\xe9 \u2018quoted\u2019\n" if encoding == "cp1252" else cookie + "# caf\xe9\n"
    data = (source + TRAINING_SCRIPT).encode(encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    (tmp_path / "t.py").write_bytes(data)
    result = invoke(["t.py"], tmp_path)
    assert result.exit_code == 0, result.stderr
    out = (tmp_path / "t_lightning.py").read_bytes()
    text = out.decode(encoding)  # decodes: written in the input's encoding
    assert text.startswith(source.lstrip("\ufeff"))
    assert "LightningModule" in text
    if encoding == "utf-8-sig":
        assert out.startswith(b"\xef\xbb\xbf") and not out.startswith(b"\xef\xbb\xbf" * 2)
    else:
        with pytest.raises(UnicodeDecodeError):
            out.decode("utf-8")
    assert (tmp_path / "t.py").read_bytes() == data


def test_convert_a_directory_or_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    result = invoke(["pkg"], tmp_path)
    assert result.exit_code == 2 and "pkg: is a directory, expected a Python file" in result.stderr
    result = invoke(["missing.py"], tmp_path)
    assert result.exit_code == 2 and "missing.py: no such file" in result.stderr


def test_convert_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    result = invoke(["a.py"], tmp_path)
    assert result.exit_code == 2
    assert "a.py: cannot access" in result.stderr and "symbolic links" in result.stderr


def test_convert_unreadable_file_real_permissions(open_tmp_path: Path, unprivileged) -> None:
    """A real ``chmod 000`` file (as an unprivileged user when the tests run as root)."""
    open_tmp_path.chmod(0o777)  # the converter may write its output here
    path = open_tmp_path / "t.py"
    path.write_text(TRAINING_SCRIPT, encoding="utf-8")
    warm_up = invoke(["t.py", "--diff"], open_tmp_path)  # imports what the command needs
    assert warm_up.exit_code in (0, 1), warm_up.output
    assert invoke(["missing.py"], open_tmp_path).exit_code == 2  # and what a usage error needs
    import click._textwrap  # noqa: F401  (click's usage formatter, imported lazily)
    path.chmod(0)

    def convert() -> tuple[int, str]:
        result = invoke(["t.py"], open_tmp_path)
        return result.exit_code, result.stderr

    try:
        exit_code, stderr = unprivileged(convert)
    finally:
        path.chmod(0o644)
    # click's readable-path check answers first with real permissions (the monkeypatched test
    # below reaches the converter's own "cannot read" message)
    assert exit_code == 2 and "t.py" in stderr and ("not readable" in stderr or "Permission denied" in stderr), stderr
    assert "Traceback" not in stderr
    assert not (open_tmp_path / "t_lightning.py").exists()


@pytest.fixture
def unreadable(monkeypatch):
    """Make reading ``*unreadable*.py`` fail as a chmod 000 file does (we may run as root)."""
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if "unreadable" in self.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_convert_unreadable_file(tmp_path: Path, unreadable) -> None:
    (tmp_path / "unreadable.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    result = invoke(["unreadable.py"], tmp_path)
    assert result.exit_code == 2
    assert "unreadable.py: cannot read: Permission denied" in result.stderr
    assert not (tmp_path / "unreadable_lightning.py").exists()


@pytest.mark.parametrize(
    "make_target, message",
    [
        (lambda d: (d / "outdir").mkdir() or "outdir", "is a directory"),
        (lambda d: "no_such_dir/out.py", "No such file or directory"),
        (lambda d: (d / "afile").write_text("x") and "afile/out.py", "Not a directory"),
    ],
    ids=["output-is-a-directory", "missing-parent", "parent-is-a-file"],
)
def test_convert_unwritable_output_is_exit_2_and_leaves_nothing(tmp_path: Path, make_target, message: str) -> None:
    (tmp_path / "t.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    target = make_target(tmp_path)
    before = snapshot(tmp_path)
    result = invoke(["t.py", "-o", target, "--force"], tmp_path)
    assert result.exit_code == 2, result.stderr
    assert "error:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
@pytest.mark.parametrize("mode", [[], ["--in-place"], ["--force"]])
def test_convert_write_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch, failing: str, mode: list[str]) -> None:
    (tmp_path / "t.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    if "--force" in mode:
        (tmp_path / "t_lightning.py").write_text("# an older conversion\n", encoding="utf-8")
    before = snapshot(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(failing, disk_full)
    result = invoke(["t.py", *mode], tmp_path)
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "No space left on device" in result.stderr
    assert snapshot(tmp_path) == before  # input and any old output intact, no temporary file


# --- lint ----------------------------------------------------------------------------------


def lint(args: list[str], cwd: Path):
    return invoke(["lint", "--no-cache", "-j", "1", "--format", "concise", *args], cwd)


@pytest.mark.parametrize("case", BAD_IDS)
def test_lint_reports_bad_input_with_exit_2_and_lints_the_rest(tmp_path: Path, case: str) -> None:
    content, message = BAD_FILES[case]
    (tmp_path / "bad.py").write_bytes(content)
    (tmp_path / "model.py").write_text(LINTABLE, encoding="utf-8")
    before = snapshot(tmp_path)
    result = lint(["bad.py", "model.py"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("bad.py"))
    assert ": error: " in line and message in line
    assert "model.py:2:" in result.output and "PTL201" in result.output
    assert snapshot(tmp_path) == before


def test_lint_fix_never_touches_a_bad_file(tmp_path: Path) -> None:
    for case, (content, _) in BAD_FILES.items():
        if case != "too_large":
            (tmp_path / f"{case}.py").write_bytes(content + b"\nimport pytorch_lightning as pl\n")
    before = snapshot(tmp_path)
    result = invoke(["lint", "--no-cache", "-j", "1", "--fix", "."], tmp_path)
    assert result.exit_code == 2
    assert snapshot(tmp_path) == before


def test_lint_fix_keeps_the_input_encoding(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + LINTABLE
    (tmp_path / "model.py").write_bytes(source.encode("latin-1"))
    result = invoke(["lint", "--no-cache", "-j", "1", "--fix", "model.py"], tmp_path)
    assert result.exit_code == 0, result.output
    data = (tmp_path / "model.py").read_bytes()
    assert data.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert b"gpus" not in data  # the fix was applied


@pytest.mark.parametrize("content", [b"", b"\n", b"# nothing\n"])
def test_lint_empty_file_is_clean(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "empty.py").write_bytes(content)
    result = lint(["empty.py"], tmp_path)
    assert result.exit_code == 0, result.output


def test_lint_unreadable_file_and_directory_walk_with_symlink_loops(tmp_path: Path, unreadable) -> None:
    (tmp_path / "unreadable.py").write_text(LINTABLE, encoding="utf-8")
    (tmp_path / "model.py").write_text(LINTABLE, encoding="utf-8")
    (tmp_path / "loop").symlink_to(".")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    result = lint(["."], tmp_path)
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert "unreadable.py: error: cannot read: Permission denied" in lines
    assert sum(line.startswith("model.py:2:") for line in lines) == 1  # found once, not per loop
    assert any(line.startswith("a.py: error: cannot access") for line in lines)


def test_lint_write_failure_under_fix_keeps_the_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "model.py").write_text(LINTABLE, encoding="utf-8")
    before = snapshot(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", disk_full)
    result = invoke(["lint", "--no-cache", "-j", "1", "--fix", "model.py"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_lint_config_that_is_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(LINTABLE, encoding="utf-8")
    (tmp_path / "conf").mkdir()
    result = lint(["--config", "conf", "model.py"], tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in result.output


# --- migrate -------------------------------------------------------------------------------


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    """A tree with every bad file, an empty one, a convertible script and a Lightning file."""
    root = tmp_path / "repo"
    root.mkdir()
    for case, (content, _) in BAD_FILES.items():
        (root / f"{case}.py").write_bytes(content)
    (root / "empty.py").write_bytes(b"")
    (root / "train.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    (root / "model.py").write_text(LINTABLE, encoding="utf-8")
    return root


def test_migrate_dry_run_records_every_bad_file_and_goes_on(bad_tree: Path, tmp_path: Path) -> None:
    before = snapshot(bad_tree)
    report = tmp_path / "report.json"
    result = invoke(["migrate", str(bad_tree), "--dry-run", "--no-cache", "-j", "1", "-q", "--json", str(report)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    records = migrate_records(report)
    for case, (_, message) in BAD_FILES.items():
        record = records[f"{case}.py"]
        assert record["status"] == "unparseable", record
        assert message in record["error"]["message"]
    assert records["empty.py"]["status"] == "no-training-code"
    assert records["train.py"]["status"] == "converted"
    assert records["model.py"]["status"] == "already-lightning"
    assert not any(record["status"] == "error" for record in records.values())
    assert snapshot(bad_tree) == before
    strict = invoke(["migrate", str(bad_tree), "--dry-run", "--no-cache", "-j", "1", "-q", "--strict"], tmp_path)
    assert strict.exit_code == 1


def test_migrate_out_copies_bad_files_unchanged_and_keeps_encodings(bad_tree: Path, tmp_path: Path) -> None:
    latin = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + TRAINING_SCRIPT
    (bad_tree / "latin_train.py").write_bytes(latin.encode("latin-1"))
    before = snapshot(bad_tree)
    out = tmp_path / "out"
    result = invoke(["migrate", str(bad_tree), "--out", str(out), "--no-cache", "-j", "1", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    assert snapshot(bad_tree) == before
    migrated = snapshot(out)
    for case in BAD_FILES:
        assert migrated[f"{case}.py"] == before[f"{case}.py"]
    converted = migrated["latin_train.py"]
    assert converted.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert "LightningModule" in converted.decode("latin-1")


def test_migrate_unreadable_file_and_symlink_loops(tmp_path: Path, unreadable) -> None:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "unreadable.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    (root / "train.py").write_text(TRAINING_SCRIPT, encoding="utf-8")
    (root / "loop").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    (root / "a.py").symlink_to("b.py")
    (root / "b.py").symlink_to("a.py")
    report = tmp_path / "report.json"
    result = invoke(["migrate", str(root), "--dry-run", "--no-cache", "-j", "1", "-q", "--json", str(report)], tmp_path)
    assert result.exit_code == 0, result.output
    records = migrate_records(report)
    assert records["unreadable.py"]["status"] == "unparseable"
    assert "Permission denied" in records["unreadable.py"]["error"]["message"]
    assert records["train.py"]["status"] == "converted"
    assert not any("loop/" in path or "up/" in path for path in records)


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d: ["--out", str((d / "afile").write_text("x") and d / "afile")], "afile"),
        (lambda d: ["--report", str(d)], "is a directory"),
        (lambda d: ["--json", str(d / "missing" / "r.json")], "does not exist"),
    ],
    ids=["out-is-a-file", "report-is-a-directory", "report-parent-missing"],
)
def test_migrate_bad_destinations_are_exit_2(bad_tree: Path, tmp_path: Path, make_args, message: str) -> None:
    before = snapshot(bad_tree)
    result = invoke(["migrate", str(bad_tree), "--no-cache", "-j", "1", "-q", *make_args(tmp_path)], tmp_path)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert snapshot(bad_tree) == before


def test_migrate_source_that_is_missing_is_exit_2(tmp_path: Path) -> None:
    result = invoke(["migrate", "nowhere", "--no-cache", "-q"], tmp_path)
    assert result.exit_code == 2 and "nowhere" in result.output


def test_migrate_write_failure_is_exit_1_and_leaves_no_partial_file(bad_tree: Path, tmp_path: Path, monkeypatch) -> None:
    before = snapshot(bad_tree)
    out = tmp_path / "out"
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("train.py"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr("os.replace", replace)
    result = invoke(["migrate", str(bad_tree), "--out", str(out), "--no-cache", "-j", "1", "-q"], tmp_path)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (out / "train.py").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert snapshot(bad_tree) == before


# --- pathological nesting (subprocesses: a crash must not take pytest down) -------------------

DEEP_PARENS = "import torch\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
DEEP_IFS = "import torch\n" + "".join("    " * i + f"if x{i}:\n" for i in range(200)) + "    " * 200 + "pass\n"
LONG_CHAIN = "import torch\nx = " + "-" * 20000 + "1\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (DEEP_PARENS, "too many nested parentheses"),
        (DEEP_IFS, "too many levels of indentation"),
        (LONG_CHAIN, "nesting is too deep"),
    ],
    ids=["5000-parentheses", "200-nested-ifs", "20000-unary-minus"],
)
def test_pathological_nesting_is_a_clear_error_for_every_command(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "deep.py").write_text(content + TRAINING_SCRIPT, encoding="utf-8")
    before = snapshot(tmp_path)
    convert = run_subprocess(["deep.py"], tmp_path)
    assert convert.returncode == 2, convert.stderr[-2000:]
    assert message in convert.stderr and "Traceback" not in convert.stderr
    linted = run_subprocess(["lint", "--no-cache", "--format", "concise", "deep.py"], tmp_path)
    assert linted.returncode == 2, linted.stderr[-2000:]
    assert message in linted.stdout and "Traceback" not in linted.stderr
    migrated = run_subprocess(["migrate", ".", "--dry-run", "--no-cache", "-q", "--json", "-"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    (record,) = json.loads(migrated.stdout)["files"]
    assert record["status"] == "unparseable" and message in record["error"]["message"]
    assert snapshot(tmp_path) == before


DEEP_LIST = "x = " + "[" * 150 + "1" + "]" * 150 + "\n"


def test_nesting_python_accepts_does_not_crash_lint_or_migrate(tmp_path: Path) -> None:
    """150 nested lists are valid Python (CPython allows 200 levels)."""
    (tmp_path / "deep.py").write_text("import pytorch_lightning as pl\n" + DEEP_LIST, encoding="utf-8")
    linted = run_subprocess(["lint", "--no-cache", "--select", "ALL", "deep.py"], tmp_path)
    assert linted.returncode in (0, 1, 2) and "Traceback" not in linted.stderr, linted.stderr[-2000:]
    migrated = run_subprocess(["migrate", ".", "--dry-run", "--no-cache", "-q", "--json", "-"], tmp_path)
    assert migrated.returncode == 0 and "Traceback" not in migrated.stderr, migrated.stderr[-2000:]
    (record,) = json.loads(migrated.stdout)["files"]
    assert record["status"] != "error", record


def test_convert_deeply_nested_valid_python_in_a_training_script(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text(TRAINING_SCRIPT + DEEP_LIST, encoding="utf-8")
    proc = run_subprocess(["deep.py", "-o", "-"], tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.returncode in (0, 1, 2)
