"""Rendering a report's content as Markdown (for PRs and terminals) or HTML (for browsers)."""

from __future__ import annotations

import html
import json
import re

from .pipeline import MigrationRun
from .report_model import Inline, ReportContent, build_report

#: Characters Markdown would read as markup; ``_`` only outside words (GFM ignores intraword ``_``).
_MD_SPECIAL = re.compile(r"([\\`*\[\]<|]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def _md_text(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def _md_code(text: str) -> str:
    text = text.replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_inline(content: Inline) -> str:
    return "".join(_md_code(s.text) if s.code else _md_text(s.text) for s in content)


def render_markdown(content: ReportContent) -> str:
    """The report as GitHub-flavoured Markdown."""
    lines = [f"# {content.title}", "", _md_inline(content.subtitle), "", "## Summary", ""]
    lines += ["| Status | Files |", "| --- | ---: |"]
    for label, count in content.totals_rows:
        lines.append(f"| {'**total**' if label == 'total' else label} | {count} |")
    lines.append("")
    lines += [_md_inline(item) + "  " for item in content.headline]
    lines.append("")
    if content.write_errors:
        lines += ["## Write errors", ""]
        lines += [f"- {_md_code(path)}: {_md_text(why)}" for path, why in content.write_errors]
        lines.append("")
    for section in content.sections:
        count = len(section.files) + len(section.compact)
        lines += [f"## {section.title}: {count}", ""]
        for file in section.files:
            lines += [f"### {_md_code(file.path)}", ""]
            for group in file.groups:
                lines += [f"**{_md_inline(group.heading)}**", ""]
                lines += [f"- {_md_inline(item)}" for item in group.items]
                lines.append("")
        if section.compact:
            if section.files:
                lines += ["Nothing further to report for:", ""]
            lines += [f"- {_md_code(path)}" for path in section.compact]
            lines.append("")
    if content.next_step is not None:
        what, command = content.next_step
        lines += ["## Next step", "", _md_inline(what), "", "```sh", command, "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _html_inline(content: Inline) -> str:
    return "".join(
        f"<code>{html.escape(s.text)}</code>" if s.code else html.escape(s.text) for s in content
    )


_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
code { font: 13px ui-monospace, monospace; background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
table { border-collapse: collapse; } td, th { padding: .2em .8em; border-bottom: 1px solid #ddd; }
td.n { text-align: right; } h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
h3 { margin-bottom: .2rem; } .group { margin: .4rem 0 .4rem 1rem; } .group b { display: block; }
section.error h2, section.unparseable h2, section.not-convertible h2 { color: #a33; }
section.converted h2 { color: #262; }
"""


def render_html(content: ReportContent) -> str:
    """The report as one self-contained HTML page."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(content.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(content.title)}</h1>",
        f"<p>{_html_inline(content.subtitle)}</p>",
        "<h2>Summary</h2><table><tr><th>Status</th><th>Files</th></tr>",
    ]
    for label, count in content.totals_rows:
        cell = f"<b>{label}</b>" if label == "total" else html.escape(label)
        out.append(f'<tr><td>{cell}</td><td class="n">{count}</td></tr>')
    out.append("</table>")
    out += [f"<p>{_html_inline(item)}</p>" for item in content.headline]
    if content.write_errors:
        out.append("<h2>Write errors</h2><ul>")
        out += [f"<li><code>{html.escape(p)}</code>: {html.escape(w)}</li>" for p, w in content.write_errors]
        out.append("</ul>")
    for section in content.sections:
        count = len(section.files) + len(section.compact)
        out.append(f'<section class="{section.status.value}"><h2>{html.escape(section.title)}: {count}</h2>')
        for file in section.files:
            out.append(f"<h3><code>{html.escape(file.path)}</code></h3>")
            for group in file.groups:
                items = "".join(f"<li>{_html_inline(item)}</li>" for item in group.items)
                out.append(f'<div class="group"><b>{_html_inline(group.heading)}</b><ul>{items}</ul></div>')
        if section.compact:
            items = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in section.compact)
            out.append(f"<ul>{items}</ul>")
        out.append("</section>")
    if content.next_step is not None:
        what, command = content.next_step
        out.append(f"<h2>Next step</h2><p>{_html_inline(what)}</p><pre><code>{html.escape(command)}</code></pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_json(run: MigrationRun) -> str:
    """The machine report: totals and one record per file (sorted by path)."""
    from .. import __version__
    from .next_step import safe_fix_command

    options = run.options
    document = {
        "tool": "pl-convert",
        "version": __version__,
        "source": str(options.source),
        "mode": options.mode.value,
        "output": None if options.out is None else str(options.out),
        "totals": run.totals.to_dict(),
        "files": [record.to_dict() for record in sorted(run.records, key=lambda r: r.path)],
        "write_errors": [{"path": path, "message": why} for path, why in run.writes.errors],
        "safe_fix_command": safe_fix_command(run),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_report(run: MigrationRun, fmt: str) -> str:
    """``fmt``: "markdown", "html" or "json"."""
    if fmt == "json":
        return render_json(run)
    content = build_report(run)
    return render_html(content) if fmt == "html" else render_markdown(content)


def format_for_path(path: str) -> str:
    """The report format a file name asks for: ``.html``/``.htm`` → HTML, ``.json`` → JSON,
    anything else → Markdown."""
    lowered = path.lower()
    if lowered.endswith((".html", ".htm")):
        return "html"
    if lowered.endswith(".json"):
        return "json"
    return "markdown"
