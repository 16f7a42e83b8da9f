"""Conversion documentation, from the idioms themselves: ``pl-convert conversion NAME`` and
docs/conversions.md.

``python -m pl_convert.converter.docs`` rewrites docs/conversions.md; ``--check`` exits 1 if it
is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..sourcefile import atomic_write_text
from .idiom import SECTIONS, Example, Idiom
from .registry import all_idioms

INTRO = """\
Each idiom is one torch pattern and its Lightning equivalent, in its own module of
`converter/idioms/`. A conversion keeps what training computes: where an idiom cannot keep the
numbers exactly it leaves the loop as it is under manual optimization (the loop's own
`zero_grad`/`backward`/`step`, with the reason as a `# pl-convert: review` comment), or refuses
the script with the line and the reason, writing nothing. `pl-convert conversion NAME` prints one
page; the fixtures named with each idiom (`fixtures/<case>/original.py` → `expected.py`) show it
on a whole script, and `pl-convert verify` trains both and compares the numbers."""


def sections(idiom: type[Idiom]) -> tuple[str, dict[str, str]]:
    """The idiom docstring's summary and its ``## Becomes`` / ``## Refuses`` / ``## Why`` texts."""
    doc = idiom.documentation()
    summary, _, rest = doc.partition("\n## ")
    found: dict[str, str] = {}
    for block in ("## " + rest).split("\n## ") if rest else []:
        title, _, text = block.removeprefix("## ").partition("\n")
        found[title.strip()] = text.strip()
    return " ".join(summary.split()), found


def idiom_markdown(idiom: type[Idiom], heading: str = "#") -> str:
    """One idiom's page: what it is, its fixtures, what it becomes, when it refuses, why."""
    summary, found = sections(idiom)
    fixtures = ", ".join(f"[`{case}`](../fixtures/{case}/original.py)" for case in idiom.fixtures)
    parts = [f"{heading} `{idiom.name}`", "", f"*{idiom.title}*", "", summary, "", f"Fixtures: {fixtures}", ""]
    for title in SECTIONS:
        parts += [f"{heading}# {title}", "", found.get(title, ""), ""]
    if idiom.examples:
        parts += _example_markdown(idiom.examples[0], heading)
    return "\n".join(parts).rstrip() + "\n"


def _example_markdown(example: Example, heading: str) -> list[str]:
    """An example: the script's own part, and what the conversion shows (a test checks it)."""
    parts = [f"{heading}# Example", "", "```python", example.body.rstrip("\n"), "```", ""]
    if example.refused:
        return parts + [f"is refused: *{example.refused}...*", ""]
    shown = [f"- `{text}`" for text in example.after] + [f"- no more `{text}`" for text in example.absent]
    if example.note:
        shown.append(f"- the report notes: *{example.note}...*")
    return parts + ["becomes a script with (after the common preamble of every example, "
                    "`pl_convert.converter.idiom.EXAMPLE_PREAMBLE`):", ""] + shown + [""]


def conversions_markdown() -> str:
    """The whole docs/conversions.md."""
    idioms = sorted(all_idioms(), key=lambda idiom: idiom.name)
    out = [
        "# pl-convert conversions",
        "",
        "<!-- Generated from the idiom classes by `python -m pl_convert.converter.docs`; a test keeps it current. -->",
        "",
        f"{len(idioms)} conversion idioms. " + INTRO,
        "",
        "| Idiom | What it becomes | Fixtures |",
        "| --- | --- | --- |",
    ]
    for idiom in idioms:
        title = idiom.title.replace("|", "\\|")
        fixtures = ", ".join(f"`{case}`" for case in idiom.fixtures)
        out.append(f"| [`{idiom.name}`](#{idiom.name}) | {title} | {fixtures} |")
    out.append("")
    for idiom in idioms:
        out.append(idiom_markdown(idiom, heading="##"))
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(__file__).resolve().parent.parent / "docs" / "conversions.md"
    text = conversions_markdown()
    if "--check" in args:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date; run: python -m pl_convert.converter.docs", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(target, text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
