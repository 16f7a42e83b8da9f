"""The README's before/after is the converter's real output, not a picture of an older one."""

from __future__ import annotations

import re
from pathlib import Path

from pl_convert.converter import Status, convert_source

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_after_block_is_what_the_converter_writes_for_the_before_block() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Before / after"):text.index("The conversion keeps what training computes")]
    before, after = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[:2]
    result = convert_source(before, path="train.py")
    assert result.status is Status.CONVERTED
    assert result.output == after, "README.md's before/after is stale: paste the converter's output of the first block"
    # the change lines it quotes are the converter's own
    for quoted in re.findall(r"`((?:lines?) [\d-]+)  ([^`]+)`", section):
        assert any(c.description == quoted[1] and quoted[0].endswith(f"{c.start_line}" if c.start_line == c.end_line
                                                                     else f"{c.start_line}-{c.end_line}")
                   for c in result.changes), quoted
