"""``--report parity.html``: one self-contained page (inline SVG, no scripts, no network).

Both loss curves on one plot, the per-step difference below it, the verdict with its reasons,
the logged metrics next to the original's values, the printed lines around the first difference,
the final figures of each run, the conversion as a diff of the two scripts, and the environment
(Python, torch, Lightning, device, seed).
"""

from __future__ import annotations

import difflib
import html
import math
from datetime import datetime, timezone
from pathlib import Path

from .session import VerifyResult

COLOURS = ("#1f77b4", "#d62728")
WIDTH, HEIGHT = 760, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 30, 40


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten), at most about ``most`` of them."""
    span = high - low
    power = 10 ** math.floor(math.log10(span / most))
    step = next(m * power for m in (1, 2, 5, 10, 20) if span / (m * power) <= most)
    first = math.ceil(low / step) * step
    ticks = []
    while first + len(ticks) * step <= high + step * 1e-9:
        ticks.append(round(first + len(ticks) * step, 12))
    return ticks


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def line_plot(series: list[tuple[str, list[float], str]], title: str, y_label: str, dashed: int | None = None) -> str:
    """An SVG line plot of several series against the step number (1-based)."""
    everything = [v for _, values, _ in series for v in _finite(values)]
    n = max((len(values) for _, values, _ in series), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{html.escape(title)}" font-family="sans-serif" '
        'font-size="11" fill="#444">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">'
        f"{html.escape(title)}</text>",
    ]
    if not everything or n == 0:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)
    low, high = min(everything), max(everything)
    if low == high:
        low, high = low - (abs(low) or 1) * 0.5, high + (abs(high) or 1) * 0.5
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(i: int) -> float:
        return MARGIN_LEFT + (plot_w * i / max(n - 1, 1))

    def y(v: float) -> float:
        return MARGIN_TOP + plot_h * (1 - (v - low) / (high - low))

    # axes, ticks and grid
    # presentation attributes, not CSS: the plot stays right when the SVG is used on its own
    parts.append(
        f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>'
    )
    for v in nice_ticks(low, high):
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    for k in range(6):
        i = round((n - 1) * k / 5)
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" text-anchor="middle">{i + 1}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle">training step</text>')
    parts.append(
        f'<text x="14" y="{HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 14 {HEIGHT / 2})">'
        f"{html.escape(y_label)}</text>"
    )
    if low < 0 < high:
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
            'stroke="#999" stroke-dasharray="2 2"/>'
        )
    # series (a dashed second line stays visible when it lies exactly on the first)
    for index, (label, values, colour) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if math.isfinite(v))
        dash = ' stroke-dasharray="6 4"' if dashed is not None and index == dashed else ""
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dash} points="{points}"/>')
        parts.append(
            f'<text x="{MARGIN_LEFT + 10 + 150 * index}" y="{MARGIN_TOP + 16}" fill="{colour}">'
            f"— {html.escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:820px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
.verdict{font-size:1.3em;font-weight:600;padding:.6em 1em;border-radius:6px}
.equal{background:#e6f4ea;color:#0d652d}.different{background:#fce8e6;color:#a50e0e}.failed{background:#fef7e0;color:#7a4f01}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f6f6}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
.add{background:#e6ffec}.del{background:#ffebe9}.hunk{color:#6f42c1}.bad{color:#a50e0e;font-weight:600}
svg text{font-size:11px;fill:#444}
"""


def _row(cells: list[str], header: bool = False) -> str:
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _figures(result: VerifyResult) -> list[list[str]]:
    from .console import run_rows

    return [[html.escape(str(c)) for c in row] for row in run_rows(result)]


def _metrics_table(result: VerifyResult) -> list[str]:
    c = result.comparison
    if c is None or not c.metrics:
        return []
    out = ["<h2>Logged metrics</h2><table>",
           _row(["key", "what", html.escape(result.a.script.label), html.escape(result.b.script.label), ""], header=True)]
    for entry in c.metrics:
        verdict = "equal" if entry["equal"] else '<span class="bad">different</span>'
        out.append(_row([
            f"<code>{html.escape(entry['key'])}</code>", html.escape(entry["what"]),
            html.escape(", ".join(repr(v) for v in entry["original"])),
            html.escape(", ".join(repr(v) for v in entry["converted"])), verdict,
        ]))
    out.append("</table>")
    return out


def _printed_excerpt(result: VerifyResult, around: int = 4) -> list[str]:
    """Both runs' printed lines near the first difference (or the first lines when equal)."""
    a, b, c = result.a.record, result.b.record, result.comparison
    if a is None or b is None or c is None:
        return []
    first = (c.first_diff_line or {}).get("line", 1) - 1
    low = max(0, first - around)
    out = ["<h2>Printed lines</h2>",
           f"<p>{c.lines_a} vs {c.lines_b} lines printed by the scripts' own code; "
           + ("identical." if c.first_diff_line is None else f"the first difference is line {first + 1}.") + "</p>"]
    for label, record in ((result.a.script.label, a), (result.b.script.label, b)):
        lines = record.printed[low:first + around + 1]
        body = "\n".join(
            (f'<span class="bad">{low + i + 1:>5}  {html.escape(t[0])}</span>' if low + i == first and c.first_diff_line
             else f"{low + i + 1:>5}  {html.escape(t[0])}")
            for i, t in enumerate(lines)
        )
        out.append(f"<p>{html.escape(label)}:</p><pre>{body or '(nothing)'}</pre>")
    return out


def conversion_diff(result: VerifyResult) -> list[str]:
    """The two scripts as a unified diff, coloured."""
    a, b = result.a.script, result.b.script
    if a.source == b.source:
        return []
    diff = difflib.unified_diff(a.source.splitlines(), b.source.splitlines(), str(a.path.name), str(b.path.name), lineterm="")
    lines = []
    for line in diff:
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else "hunk" if line.startswith("@@") else ""
        text = html.escape(line)
        lines.append(f'<span class="{cls}">{text}</span>' if cls else text)
    return ["<h2>The conversion</h2>", "<pre>" + "\n".join(lines) + "</pre>"]


def render_html(result: VerifyResult, converted_file: Path | None = None) -> str:
    """The report as one HTML string (``converted_file``: where the converted script was kept)."""
    data = result.to_dict()
    verdict = data["verdict"]
    a, b = result.a, result.b
    la = a.record.losses if a.record else []
    lb = b.record.losses if b.record else []
    c = result.comparison
    headline = {
        "equal": "EQUAL — the two runs trained the same",
        "different": "DIFFERENT — the two runs did not train the same",
        "failed": "FAILED — a script did not run to the end",
    }[verdict]
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>pl-convert verify: {html.escape(str(a.script.path.name))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>pl-convert verify: <code>{html.escape(str(a.script.path))}</code></h1>",
        f'<p class="verdict {verdict}">{headline}</p>',
        f"<p>Rule: {html.escape(data['rule'])}.</p>",
    ]
    if c is not None:
        out.append(
            f"<p>Steps compared: <b>{c.steps_compared}</b> · max |Δloss| per step: "
            f"<b>{'n/a' if c.max_abs_diff is None else repr(c.max_abs_diff)}</b> · first difference: "
            f"<b>{html.escape(data['first_difference'] or 'none')}</b> · "
            f"parameter digests {'identical' if c.digest_equal else 'differ'}</p>"
        )
        from .console import outputs_summary

        out.append(f"<p>{html.escape(outputs_summary(result))}</p>")
    if result.metric_map is not None:
        out.append(f"<p>Metrics: {html.escape(result.metric_map.how)}.</p>")
    if converted_file is not None:
        out.append(f'<p>Converted script verified: <a href="{html.escape(converted_file.name)}"><code>'
                   f"{html.escape(str(converted_file))}</code></a></p>")
    if data["reasons"]:
        out.append("<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in data["reasons"]) + "</ul>")
    if data["notes"]:
        out.append("<p>Reported, not judged:</p><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in data["notes"]) + "</ul>")
    out.append("<h2>Training loss</h2>")
    out.append(
        line_plot([(a.script.label, la, COLOURS[0]), (b.script.label, lb, COLOURS[1])], "loss per training step", "loss", dashed=1)
    )
    if c is not None and c.diffs:
        out.append("<h2>Per-step difference</h2>")
        caption = "identical at every step" if c.max_abs_diff == 0 else f"max |Δ| = {c.max_abs_diff!r}"
        out.append(line_plot([(f"{b.script.label} − {a.script.label}", c.diffs, "#555")], f"loss difference ({caption})", "Δ loss"))
    out.extend(_metrics_table(result))
    out.extend(_printed_excerpt(result))
    out.append("<h2>Final figures</h2><table>")
    rows = _figures(result)
    out.append(_row(["", html.escape(a.script.label), html.escape(b.script.label)], header=True))
    out.extend(_row(r) for r in rows)
    out.append("</table>")
    for outcome in (a, b):
        if not outcome.ok:
            out.append(f"<h2>{html.escape(outcome.script.label)}: {html.escape(outcome.failure() or '')}</h2>")
            out.append(f"<pre>{html.escape(outcome.stderr_tail or outcome.stdout_tail or '(no output)')}</pre>")
    out.extend(conversion_diff(result))
    out.append("<h2>Environment</h2><table>")
    out.extend(_row([html.escape(k), html.escape(v)]) for k, v in result.environment().items())
    out.append(_row(["arguments", html.escape(" ".join(result.options.args) or "(none)")]))
    out.append(_row(["generated", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")]))
    out.append("</table></body></html>\n")
    return "\n".join(out)
