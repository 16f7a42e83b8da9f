"""Jupyter notebooks in convert, lint and migrate: round trips that keep every untouched byte.

The notebooks are built from the converter's own fixtures (each script cut into cells, with a
markdown cell before each, outputs, metadata, and IPython magics around them), so the
conversions are the real ones; every test compares bytes, not only parsed JSON.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.cli import cli
from pl_convert.notebook import parse_notebook
from pl_convert.sourcefile import SourceError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCRIPT = (FIXTURES / "feedforward_mnist" / "original.py").read_text(encoding="utf-8")
CONVERTIBLE = sorted(
    p.parent.name for p in FIXTURES.glob("*/original.py") if (p.parent / "expected.py").exists()
)
MAGIC_CELL = ["%matplotlib inline\n", "!pip install torch \\\n", "    torchvision"]
LIGHTNING_CELL = textwrap.dedent(
    """\
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader
    trainer = pl.Trainer(max_epochs=1, gpus=1)
    trainer.fit(model, DataLoader(ds, num_workers=2))"""
)


def split_cells(script: str) -> list[str]:
    """A script cut into cells at blank lines before top-level code (as people write notebooks)."""
    lines = script.splitlines(keepends=True)
    cells, current = [], []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not line.strip() and current and following[:1] not in ("", " ", "\t", "\n", ")", "]", "}"):
            cells.append("".join(current).rstrip("\n"))
            current = []
            continue
        current.append(line)
    if current:
        cells.append("".join(current).rstrip("\n"))
    return cells


def make_notebook(code_cells: list, *, indent=1, ensure_ascii=False, sort_keys=True, newline=True, as_string=False) -> str:
    cells = []
    for number, code in enumerate(code_cells):
        cells.append({"cell_type": "markdown", "metadata": {}, "source": [f"## Step {number} \u2014 caf\u00e9"]})
        source = code if isinstance(code, list) else (code if as_string else code.splitlines(keepends=True))
        cells.append(
            {
                "cell_type": "code",
                "execution_count": number + 1,
                "id": f"cell-{number}",
                "metadata": {"tags": ["t"], "collapsed": False},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": [f"step {number} \u00e9\n"]},
                    {"data": {"image/png": "iVBORw0KGgo=\n", "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"},
                ],
                "source": source,
            }
        )
    document = {
        "nbformat_minor": 5,
        "nbformat": 4,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "zz": [1, 2.5, None]},
        "cells": cells,
    }
    text = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii, sort_keys=sort_keys)
    return text + ("\n" if newline else "")


def untouched_bytes(raw: str, changed: set[int]) -> list[str]:
    """The file's text outside the ``source`` values of the cells numbered ``changed``."""
    notebook = parse_notebook(raw)
    pieces, cursor = [], 0
    for cell in notebook.cells:
        if cell.number in changed:
            pieces.append(raw[cursor : cell.span[0]])
            cursor = cell.span[1]
    pieces.append(raw[cursor:])
    return pieces


def assert_only_sources_changed(before: str, after: str) -> set[int]:
    """Every byte outside the changed cells' sources is identical; returns the changed cells."""
    old, new = json.loads(before), json.loads(after)
    assert len(old["cells"]) == len(new["cells"])
    changed = {i + 1 for i, (a, b) in enumerate(zip(old["cells"], new["cells"])) if a["source"] != b["source"]}
    for a, b in zip(old["cells"], new["cells"]):
        assert {k: v for k, v in a.items() if k != "source"} == {k: v for k, v in b.items() if k != "source"}
    assert untouched_bytes(before, changed) == untouched_bytes(after, changed)
    return changed


def invoke(*args, cwd: Path):
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


# -- the Python of a notebook ---------------------------------------------------------------------
def test_magics_are_masked_line_for_line_and_restored():
    raw = make_notebook(
        [
            MAGIC_CELL,
            "import torch\nx = ('%d'\n     % 3)\nfiles = !ls\ntorch?\nif x:\n    !echo hi",
            "%%time\ny = 2",
            "%%bash\necho not python",
        ]
    )
    notebook = parse_notebook(raw)
    assert [cell.number for cell in notebook.cells] == [2, 4, 6]  # the %%bash cell is not Python
    source = notebook.python_source
    compile(source, "nb", "exec")  # the masked text is Python
    assert source.count("\n") == sum(len(c.text.splitlines()) for c in notebook.cells)  # line for line
    assert "     % 3)" in source  # a line inside brackets is Python, not a magic
    assert notebook.locate(5) == (4, 2)
    assert notebook.rebuild(source) == raw
    # a change moves an indented magic: it comes back at its new indentation, verbatim otherwise
    moved = re.sub(r"\n    (__ipython_magic__\(\d+\))", r"\n        \1", source.replace("if x:\n", "def f():\n    if x:\n"))
    rebuilt = json.loads(notebook.rebuild(moved))
    assert "".join(rebuilt["cells"][3]["source"]).endswith("def f():\n    if x:\n        !echo hi")
    assert rebuilt["cells"][1]["source"] == MAGIC_CELL


def test_a_lost_magic_is_an_error_not_a_silent_deletion():
    notebook = parse_notebook(make_notebook(["import torch", "for i in range(3):\n    %time f(i)"]))
    without = notebook.python_source.replace("    __ipython_magic__(0)\n", "    pass\n")
    with pytest.raises(SourceError, match="cell 4: the IPython line `%time f\\(i\\)`"):
        notebook.rebuild(without)


@pytest.mark.parametrize(
    "style",
    [
        dict(indent=1, ensure_ascii=False, sort_keys=True, newline=True),  # nbformat's own
        dict(indent=2, ensure_ascii=True, sort_keys=False, newline=False),
        dict(indent=4, ensure_ascii=False, sort_keys=False, newline=True),
        dict(indent=None, ensure_ascii=True, sort_keys=True, newline=False),
        dict(indent=1, ensure_ascii=False, sort_keys=True, newline=True, as_string=True),
    ],
    ids=["nbformat", "indent2-ascii-unsorted-no-newline", "indent4", "one-line", "string-sources"],
)
def test_rewritten_cells_keep_the_files_json_style(style):
    raw = make_notebook(["import torch\nx = 1", "y = 2", "z = 3"], **style)
    notebook = parse_notebook(raw)
    new = notebook.rebuild(notebook.python_source.replace("y = 2", "y = 2\n# caf\u00e9 \u2014 ok"))
    assert assert_only_sources_changed(raw, new) == {4}
    # the new value is written as json.dump would have written the whole file
    as_dumped = json.loads(new)
    reference = json.dumps(as_dumped, indent=style["indent"], ensure_ascii=style["ensure_ascii"], sort_keys=style["sort_keys"])
    assert new == reference + ("\n" if style["newline"] else "")


@pytest.mark.parametrize("case", CONVERTIBLE)
def test_converting_a_fixture_as_a_notebook_touches_only_changed_cells(case):
    """The fixture's conversion, as a notebook: the cells hold exactly the script's conversion,
    and every byte outside the changed cells' sources (outputs, metadata, markdown, untouched
    cells, the magics cell, the formatting) is the original's."""
    from pl_convert.converter import ConvertOptions, convert_source

    script = (FIXTURES / case / "original.py").read_text(encoding="utf-8")
    raw = make_notebook([MAGIC_CELL, *split_cells(script)])
    notebook = parse_notebook(raw, f"{case}.ipynb")
    result = convert_source(notebook.python_source, ConvertOptions(), f"{case}.ipynb")
    as_script = convert_source(script, ConvertOptions(), case)
    assert result.status is as_script.status
    new = notebook.rebuild(result.output)
    changed = assert_only_sources_changed(raw, new)
    assert changed and 2 not in changed  # the magics cell is untouched, the imports go after it
    cells = [c for c in json.loads(new)["cells"] if c["cell_type"] == "code"]
    assert cells[0]["source"] == MAGIC_CELL
    code = "\n".join("".join(c["source"]) for c in cells[1:])
    nonblank = lambda text: [line for line in text.splitlines() if line.strip()]  # noqa: E731
    assert nonblank(code) == nonblank(as_script.output)


# -- convert ----------------------------------------------------------------------------------------
@pytest.fixture
def nb_dir(tmp_path: Path) -> Path:
    (tmp_path / "nb.ipynb").write_text(make_notebook([MAGIC_CELL, *split_cells(SCRIPT)]), encoding="utf-8")
    return tmp_path


def test_convert_a_notebook_writes_nb_lightning_ipynb(nb_dir: Path):
    raw = (nb_dir / "nb.ipynb").read_text(encoding="utf-8")
    result = invoke("nb.ipynb", cwd=nb_dir)
    assert result.exit_code == 0, result.output
    assert "Converted nb.ipynb → nb_lightning.ipynb" in result.stderr
    assert re.search(r"cell \d+, lines \d+-\d+  batch loop → training_step", result.stderr)  # places are cells
    assert (nb_dir / "nb.ipynb").read_text(encoding="utf-8") == raw
    new = (nb_dir / "nb_lightning.ipynb").read_text(encoding="utf-8")
    assert "LightningModule" in new
    assert_only_sources_changed(raw, new)
    again = invoke("nb_lightning.ipynb", cwd=nb_dir)
    assert again.exit_code == 0 and "already uses Lightning" in again.stderr


def test_convert_notebook_diff_check_stdout_and_in_place(nb_dir: Path):
    raw = (nb_dir / "nb.ipynb").read_text(encoding="utf-8")
    diff = invoke("nb.ipynb", "--diff", cwd=nb_dir)
    assert diff.exit_code == 0
    assert "--- a/nb.ipynb:cell 4\n+++ b/nb_lightning.ipynb:cell 4\n" in diff.stdout
    assert "+import pytorch_lightning as pl" in diff.stdout and '"cells"' not in diff.stdout
    check = invoke("nb.ipynb", "--check", cwd=nb_dir)
    assert check.exit_code == 1 and "would convert nb.ipynb" in check.stderr
    stdout = invoke("nb.ipynb", "-o", "-", cwd=nb_dir)
    assert stdout.exit_code == 0 and "LightningModule" in stdout.stdout
    assert_only_sources_changed(raw, stdout.stdout)
    assert sorted(p.name for p in nb_dir.iterdir()) == ["nb.ipynb"]  # none of these wrote a file
    in_place = invoke("nb.ipynb", "--in-place", cwd=nb_dir)
    assert in_place.exit_code == 0
    assert (nb_dir / "nb.ipynb").read_text(encoding="utf-8") == stdout.stdout
    assert invoke("nb.ipynb", "--check", cwd=nb_dir).exit_code == 0  # idempotent


def test_a_magic_inside_the_loop_runs_where_it_ran(tmp_path: Path):
    """A per-epoch magic stays per epoch: the converter sees it as a call with effects."""
    cells = split_cells(SCRIPT)
    loop = next(i for i, c in enumerate(cells) if "for epoch in range(num_epochs):" in c)
    cells[loop] = cells[loop].replace("for epoch in range(num_epochs):\n", "for epoch in range(num_epochs):\n    !nvidia-smi\n")
    (tmp_path / "nb.ipynb").write_text(make_notebook(cells), encoding="utf-8")
    result = invoke("nb.ipynb", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    new = json.loads((tmp_path / "nb_lightning.ipynb").read_text(encoding="utf-8"))
    # the class goes to the cell that built the model (the module builds it there)
    code = "\n".join("".join(cell["source"]) for cell in new["cells"] if cell["cell_type"] == "code")
    assert "    def on_train_epoch_start(self):\n        !nvidia-smi\n" in code


def test_convert_refuses_when_a_magic_would_be_lost(tmp_path: Path, monkeypatch):
    import pl_convert.converter as converter

    real = converter.convert_source

    def dropping_the_magic(text, options, path=None):
        result = real(text, options, path=path)
        result.output = re.sub(r"\n *__ipython_magic__\(\d+\)\n", "\n", result.output)
        return result

    monkeypatch.setattr(converter, "convert_source", dropping_the_magic)
    cells = split_cells(SCRIPT)
    loop = next(i for i, c in enumerate(cells) if "for epoch in range(num_epochs):" in c)
    cells[loop] = cells[loop].replace("for epoch in range(num_epochs):\n", "for epoch in range(num_epochs):\n    %time x = 1\n")
    (tmp_path / "nb.ipynb").write_text(make_notebook(cells), encoding="utf-8")
    result = invoke("nb.ipynb", cwd=tmp_path)
    assert result.exit_code == 1
    assert "not convertible: nb.ipynb (nothing written)" in result.stderr
    assert "the IPython line `%time x = 1` was in code that had to be rewritten" in result.stderr
    assert not (tmp_path / "nb_lightning.ipynb").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a notebook: invalid JSON"),
        ('{"worksheets": [], "nbformat": 3}', "nbformat 3 notebooks are not supported"),
        ("[1, 2]", 'not a notebook: no "cells" list'),
    ],
)
def test_bad_notebooks_are_a_clear_error_in_convert_and_lint(tmp_path: Path, content: str, message: str):
    (tmp_path / "bad.ipynb").write_text(content, encoding="utf-8")
    converted = invoke("bad.ipynb", cwd=tmp_path)
    assert converted.exit_code == 2 and message in converted.stderr
    linted = invoke("lint", "bad.ipynb", cwd=tmp_path)
    assert linted.exit_code == 2 and message in linted.stdout


def test_a_notebook_in_another_language_has_nothing_to_convert(tmp_path: Path):
    raw = make_notebook(["x <- 1"]).replace('"language": "python"', '"language": "R"')
    (tmp_path / "r.ipynb").write_text(raw, encoding="utf-8")
    result = invoke("r.ipynb", cwd=tmp_path)
    assert result.exit_code == 0 and "nothing to do: r.ipynb is a r notebook" in result.stderr
    assert invoke("lint", "r.ipynb", cwd=tmp_path).exit_code == 0


# -- lint -------------------------------------------------------------------------------------------
def test_lint_reports_findings_by_cell_and_fix_writes_back_only_that_cell(tmp_path: Path):
    raw = make_notebook([MAGIC_CELL, "import torch", LIGHTNING_CELL + "  # noqa: PTL999"])
    path = tmp_path / "nb.ipynb"
    path.write_text(raw, encoding="utf-8")
    result = invoke("lint", "nb.ipynb", "--no-cache", cwd=tmp_path)
    assert result.exit_code == 1
    assert "nb.ipynb:cell 6:3:36: PTL201 [*]" in result.stdout
    assert "3 | trainer = pl.Trainer(max_epochs=1, gpus=1)" in result.stdout  # the cell's own line
    assert "nb.ipynb:cell 6:4:" in result.stdout and "PTL001" in result.stdout  # unknown noqa code
    data = json.loads(invoke("lint", "nb.ipynb", "--no-cache", "--format", "json", cwd=tmp_path).stdout)
    assert {(d["code"], d["cell"], d["line"]) for d in data} == {("PTL201", 6, 3), ("PTL001", 6, 4)}
    fixed = invoke("lint", "nb.ipynb", "--fix", "--no-cache", cwd=tmp_path)
    assert fixed.exit_code == 0, fixed.output
    new = path.read_text(encoding="utf-8")
    assert assert_only_sources_changed(raw, new) == {6}
    assert json.loads(new)["cells"][5]["source"][2] == 'trainer = pl.Trainer(max_epochs=1, accelerator="gpu", devices=1)\n'
    assert json.loads(new)["cells"][1]["source"] == MAGIC_CELL


def test_lint_diff_and_stdin_of_a_notebook(tmp_path: Path):
    raw = make_notebook(["import torch", LIGHTNING_CELL])
    (tmp_path / "nb.ipynb").write_text(raw, encoding="utf-8")
    diff = invoke("lint", "nb.ipynb", "--diff", "--no-cache", cwd=tmp_path)
    assert diff.exit_code == 1
    assert "--- nb.ipynb:cell 4\n+++ nb.ipynb:cell 4\n" in diff.stdout
    assert (tmp_path / "nb.ipynb").read_text(encoding="utf-8") == raw
    runner = CliRunner()
    piped = runner.invoke(cli, ["lint", "-", "--stdin-filename", str(tmp_path / "nb.ipynb"), "--fix", "--no-cache"], input=raw)
    assert piped.exit_code == 0
    assert_only_sources_changed(raw, piped.stdout)
    assert "accelerator" in piped.stdout


def test_lint_directory_walk_includes_notebooks_but_not_checkpoints(tmp_path: Path):
    (tmp_path / "nb.ipynb").write_text(make_notebook([LIGHTNING_CELL]), encoding="utf-8")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text(make_notebook([LIGHTNING_CELL]), encoding="utf-8")
    result = invoke("lint", ".", "--no-cache", "--format", "concise", cwd=tmp_path)
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in result.stdout.splitlines() if "PTL201" in line] == ["nb.ipynb"]


# -- migrate ----------------------------------------------------------------------------------------
def test_migrate_converts_and_lints_notebooks_in_a_tree(tmp_path: Path):
    src = tmp_path / "repo"
    src.mkdir()
    raw = make_notebook([MAGIC_CELL, *split_cells(SCRIPT)])
    (src / "train.ipynb").write_text(raw, encoding="utf-8")
    (src / "lit.ipynb").write_text(make_notebook(["import torch", LIGHTNING_CELL]), encoding="utf-8")
    report = tmp_path / "report.json"
    result = invoke("migrate", src, "--out", tmp_path / "out", "--json", report, "--no-cache", "-j", "1", "--fix", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    data = {f["path"]: f for f in json.loads(report.read_text())["files"]}
    assert data["train.ipynb"]["status"] == "converted"
    assert all(change["cell"] for change in data["train.ipynb"]["changes"] if change["start_line"])
    assert data["lit.ipynb"]["status"] == "already-lightning" and data["lit.ipynb"]["fixes_applied"] == 1
    converted = (tmp_path / "out" / "train.ipynb").read_text(encoding="utf-8")
    assert "LightningModule" in converted
    assert_only_sources_changed(raw, converted)
    assert (src / "train.ipynb").read_text(encoding="utf-8") == raw  # --out never touches the source
    diff = invoke("migrate", src, "--dry-run", "--diff", "-q", "--no-cache", "-j", "1", cwd=tmp_path)
    assert "--- a/train.ipynb:cell 4\n+++ b/train.ipynb:cell 4\n" in diff.stdout
