"""Per-file classification (pl_convert.migrate.analyze): never raises, always a clear record."""

from __future__ import annotations

import pytest

from pl_convert.converter import result as conversion
from pl_convert.migrate.analyze import (
    AnalysisSettings,
    analyze_file,
    encodable,
    locate_review_notes,
    may_contain_training_code,
    syntax_error,
)
from pl_convert.migrate.records import FileRecord, FileStatus

SETTINGS = AnalysisSettings(lint=False)


def test_helper_without_training_code_is_untouched() -> None:
    record = analyze_file("helpers.py", b"def add(a, b):\n    return a + b\n", SETTINGS)
    assert record.status is FileStatus.NO_TRAINING_CODE
    assert record.output is None and record.error is None


def test_syntax_error_is_unparseable_with_its_line() -> None:
    record = analyze_file("bad.py", b"x = 1\n\ndef broken(:\n    pass\n", SETTINGS)
    assert record.status is FileStatus.UNPARSEABLE
    assert record.error is not None and record.error.line == 3
    assert "syntax error" in record.error.message


def test_syntax_error_in_a_torch_file_goes_through_the_converter() -> None:
    record = analyze_file("bad_torch.py", b"import torch\nfor x in :\n    pass\n", SETTINGS)
    assert record.status is FileStatus.UNPARSEABLE
    assert record.error is not None and record.error.line == 2


def test_python2_file_is_unparseable_with_a_hint() -> None:
    record = analyze_file("old.py", b"import torch\nprint 'hello'\n", SETTINGS)
    assert record.status is FileStatus.UNPARSEABLE
    assert "Python 2" in record.error.message


def test_non_utf8_without_cookie_is_unparseable() -> None:
    record = analyze_file("latin.py", "# caf\u00e9\nx = 1\n".encode("latin-1"), SETTINGS)
    assert record.status is FileStatus.UNPARSEABLE
    assert "encoding" in record.error.message


def test_pep263_cookie_is_honoured() -> None:
    data = "# -*- coding: latin-1 -*-\n# caf\u00e9\nx = 1\n".encode("latin-1")
    record = analyze_file("latin.py", data, SETTINGS)
    assert record.status is FileStatus.NO_TRAINING_CODE
    assert record.encoding == "iso-8859-1"


def test_binary_file_named_py_is_unparseable() -> None:
    record = analyze_file("blob.py", b"\x89PNG\r\n\x1a\n\x00\x00\x00", SETTINGS)
    assert record.status is FileStatus.UNPARSEABLE
    assert "binary" in record.error.message


def test_a_crash_inside_the_converter_becomes_an_error_record(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(source, options=None, path=None):
        raise RuntimeError("converter bug")

    monkeypatch.setattr("pl_convert.converter.convert_source", explode)
    record = analyze_file("train.py", b"import torch\n", SETTINGS)
    assert record.status is FileStatus.ERROR
    assert record.error.message == "internal error: RuntimeError: converter bug"


def test_prefilter_is_conservative() -> None:
    assert not may_contain_training_code("def add(a, b):\n    return a + b\n")
    assert may_contain_training_code("def step(model, opt):\n    loss.backward()\n")
    assert may_contain_training_code("from lightning import Trainer\n")


def test_syntax_error_none_for_valid_code() -> None:
    assert syntax_error("x = 1\n", "a.py") is None
    error = syntax_error("x = 1\ny = (\n", "a.py")
    assert error is not None and error.line == 2 and "never closed" in error.message


def test_encodable_keeps_representable_text_and_rewrites_the_rest() -> None:
    assert encodable("caf\u00e9 \u2014 ok", "utf-8") == "caf\u00e9 \u2014 ok"
    assert encodable("caf\u00e9 \u2014 ok", "iso-8859-1") == "caf\u00e9 - ok"
    assert encodable("\u4e2d", "iso-8859-1") == "\\u4e2d"


def test_review_notes_are_paired_with_their_markers() -> None:
    output = (
        "import torch\n"
        "# pl-convert: review \u2014 the scheduler steps per epoch\n"
        "x = 1\n"
        "    # pl-convert: review \u2014 check the loss reduction\n"
    )
    notes = locate_review_notes([(10, "check the loss reduction"), (4, "the scheduler steps per epoch"), (7, "absent")], output)
    assert [(n.line, n.output_line) for n in notes] == [(10, 4), (4, 2), (7, None)]


def _fake_converted(output: str, notes=()):
    def convert(source, options=None, path=None):
        return conversion.ConversionResult(
            conversion.Status.CONVERTED,
            source,
            output=output,
            changes=[conversion.Change(2, 5, "batch loop \u2192 training_step")],
            notes=[conversion.Note(line, message) for line, message in notes],
        )

    return convert


def test_converted_output_in_a_latin1_file_stays_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    output = "# -*- coding: latin-1 -*-\n# caf\u00e9\n# pl-convert: review \u2014 check it\nimport torch\n"
    monkeypatch.setattr("pl_convert.converter.convert_source", _fake_converted(output, [(3, "check it")]))
    data = "# -*- coding: latin-1 -*-\n# caf\u00e9\nimport torch\n".encode("latin-1")
    record = analyze_file("train.py", data, SETTINGS)
    assert record.status is FileStatus.CONVERTED
    assert record.output is not None
    record.output.encode("iso-8859-1")  # would raise if the em dash had been kept
    assert "# pl-convert: review - check it" in record.output
    assert record.notes[0].output_line == 3
    assert record.changes[0].where() == "lines 2-5"


def test_record_round_trips_through_json() -> None:
    record = FileRecord(
        "a/b.py",
        FileStatus.NOT_CONVERTIBLE,
        reasons=[],
        findings=[{"code": "PTL101", "line": 3}],
    )
    again = FileRecord.from_dict(record.to_dict(include_output=True), path="c.py")
    assert again.path == "c.py"
    assert again.status is FileStatus.NOT_CONVERTIBLE
    assert again.findings == record.findings


def test_lint_findings_of_a_lightning_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lint step is wired to the real rule engine (findings as its JSON records)."""
    pytest.importorskip("pl_convert.rules.engine")

    def already(source, options=None, path=None):
        return conversion.ConversionResult(conversion.Status.ALREADY_LIGHTNING, source)

    monkeypatch.setattr("pl_convert.converter.convert_source", already)
    text = "import pytorch_lightning as pl\n\ntrainer = pl.Trainer(gpus=1, max_epochs=1)\n"
    record = analyze_file("lit.py", text.encode(), AnalysisSettings(lint=True))
    assert record.status is FileStatus.ALREADY_LIGHTNING
    assert record.findings, "a 1.x `gpus=` argument must be reported"
    assert all(f["path"] == "lit.py" for f in record.findings)
    assert any(f["line"] == 3 for f in record.findings)
    fixed = analyze_file("lit.py", text.encode(), AnalysisSettings(lint=True, fix=True))
    assert fixed.fixes_applied >= 1
    assert fixed.output is not None and "gpus=" not in fixed.output
