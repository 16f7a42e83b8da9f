"""Report rendering of pl-convert migrate: Markdown, HTML and JSON say the same things."""

from __future__ import annotations

import json
from pathlib import Path

from pl_convert.migrate.pipeline import MigrateOptions, MigrationRun, Mode
from pl_convert.migrate.records import ChangeRecord, FileRecord, FileStatus, LineMessage, ReviewNote, Totals
from pl_convert.migrate.report_render import format_for_path, render_report
from pl_convert.walk import TreeListing
from pl_convert.migrate.writer import WriteStats

FINDING = {
    "code": "PTL201",
    "name": "removed-device-trainer-argument",
    "path": "lit.py",
    "line": 27,
    "column": 26,
    "end_line": 27,
    "end_column": 32,
    "message": "`Trainer(gpus=...)` was removed in Lightning 2.0",
    "fix": {"safety": "safe", "message": "use devices", "edits": []},
}


def make_run(records: list[FileRecord], mode: Mode = Mode.OUT) -> MigrationRun:
    options = MigrateOptions(Path("legacy"), mode, out=Path("migrated") if mode is Mode.OUT else None, jobs=1)
    writes = WriteStats(copied=2, symlinks=1, errors=[("locked.py", "Permission denied")])
    return MigrationRun(options, TreeListing(Path("legacy")), records, writes, Totals.of(records, 2, 1))


RECORDS = [
    FileRecord(
        "train.py",
        FileStatus.CONVERTED,
        changes=[ChangeRecord(0, 0, "added `import pytorch_lightning as pl`"), ChangeRecord(12, 20, "batch loop → training_step")],
        notes=[ReviewNote(15, "check the *scheduler* | interval", output_line=40)],
        output="...",
    ),
    FileRecord("lit.py", FileStatus.ALREADY_LIGHTNING, findings=[FINDING]),
    FileRecord("refused.py", FileStatus.NOT_CONVERTIBLE, reasons=[LineMessage(9, "a `while` loop <trains>")]),
    FileRecord("bad.py", FileStatus.UNPARSEABLE, error=LineMessage(3, "syntax error: '(' was never closed")),
    FileRecord("util_a.py", FileStatus.NO_TRAINING_CODE),
    FileRecord("util_b.py", FileStatus.NO_TRAINING_CODE),
]


def test_markdown_report_sections_and_escaping() -> None:
    text = render_report(make_run(RECORDS), "markdown")
    assert "`legacy/` → `migrated/`" in text
    assert "| converted | 1 |" in text and "| no training code | 2 |" in text and "| **total** | 6 |" in text
    assert "Convert rate: 50% (1 of 2 files with a training loop converted)." in text
    # problems come before successes
    assert text.index("## Unparseable: 1") < text.index("## Not convertible: 1") < text.index("## Converted: 1")
    assert "- new code: added `import pytorch_lightning as pl`" in text
    assert "- lines 12-20: batch loop → training_step" in text
    assert "- line 15 (marker at line 40 of the new file): check the \\*scheduler\\* \\| interval" in text
    assert "- line 9: a `while` loop \\<trains>" in text
    assert "- line 3: syntax error: '(' was never closed" in text
    assert "- line 27:26 `PTL201 removed-device-trainer-argument`: `Trainer(gpus=...)` was removed" in text
    assert "(safe fix available)" in text
    assert "- `util_a.py`\n- `util_b.py`" in text
    assert "## Write errors" in text and "`locked.py`: Permission denied" in text
    assert "Also copied: 2 non-Python file(s) and 1 symlink(s)." in text


def test_html_report_escapes_and_matches_markdown() -> None:
    page = render_report(make_run(RECORDS), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "a <code>while</code> loop &lt;trains&gt;" in page
    assert "check the *scheduler* | interval" in page
    assert '<section class="unparseable">' in page
    assert "<code>PTL201 removed-device-trainer-argument</code>" in page


def test_json_report_records_and_totals() -> None:
    data = json.loads(render_report(make_run(RECORDS), "json"))
    assert [f["path"] for f in data["files"]] == sorted(r.path for r in RECORDS)
    by_path = {f["path"]: f for f in data["files"]}
    assert by_path["train.py"]["notes"] == [{"line": 15, "message": "check the *scheduler* | interval", "output_line": 40, "cell": None, "output_cell": None}]
    assert by_path["bad.py"]["error"] == {"line": 3, "message": "syntax error: '(' was never closed", "cell": None}
    assert by_path["lit.py"]["findings"] == [FINDING]
    assert "output" not in by_path["train.py"]  # the converted text is in the files, not the report
    assert data["totals"]["convert_rate"] == 0.5
    assert data["totals"]["no-training-code"] == 2
    assert data["write_errors"] == [{"path": "locked.py", "message": "Permission denied"}]


def test_convert_rate_is_none_without_training_code() -> None:
    run = make_run([FileRecord("a.py", FileStatus.NO_TRAINING_CODE)], Mode.DRY_RUN)
    assert run.totals.convert_rate is None
    assert "Convert rate: n/a" in render_report(run, "markdown")
    assert "(dry run: nothing written)" in render_report(run, "markdown")


def test_format_for_path() -> None:
    assert format_for_path("r.md") == "markdown"
    assert format_for_path("R.HTML") == "html"
    assert format_for_path("r.json") == "json"
    assert format_for_path("report") == "markdown"
