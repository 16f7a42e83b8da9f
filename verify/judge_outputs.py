"""Judge what the scripts report: their printed lines and their logged metrics.

* **Printed lines** (the script's own ``print``s, :mod:`.script_output`): identical, in order.
  Lightning runs some code in hooks whose order can move a line relative to its neighbours at
  an epoch boundary (an epoch-start print next to the previous epoch's last one); so when the
  order differs but every line is still printed as often, and each line was printed within one
  training step of where the original printed it, the lines count as equal and the moved lines
  are named in a note. Anything else is a difference, and the first differing line is named.
* **Logged metrics**: each metric of the :class:`~.metric_map.MetricMap` must be logged by the
  converted run once per time the original computed it (per epoch), with the same value; each
  ``SummaryWriter.add_scalar`` tag of the original must be logged (``self.log``) with the same
  values; what ``trainer.validate/test`` returned must match the original's value of that key
  (Lightning keeps logged values as float32 tensors: one float32 rounding is allowed there).

Under a tolerance (``--rtol``) numbers compare within it (a printed number also within one
unit of its last printed digit); on ``--compare-devices`` nothing here is judged, only reported.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from .metric_map import MetricMap
from .record import RunRecord

#: lines of a moved-lines note
MOVED_SHOWN = 5
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@dataclass
class OutputJudgement:
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines_compared: int = 0
    first_diff_line: dict | None = None
    moved_lines: list[str] = field(default_factory=list)
    metrics_compared: int = 0
    metric_keys: list[str] = field(default_factory=list)
    first_diff_metric: dict | None = None
    metrics: list[dict] = field(default_factory=list)  #: one entry per judged key


def _close(a: float | None, b: float | None, rtol: float, atol: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) and math.isnan(b):
        return True
    if rtol == 0 and atol == 0:
        return a == b
    return abs(a - b) <= atol + rtol * abs(a)


def _float32(value: float) -> float:
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except (OverflowError, struct.error):
        return value


def _same_line(a: str, b: str, rtol: float, atol: float) -> bool:
    if a == b:
        return True
    if rtol == 0 and atol == 0:
        return False
    if _NUMBER.split(a) != _NUMBER.split(b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
        fx, fy = float(x), float(y)
        decimals = len(x.split(".")[1]) if "." in x and "e" not in x.lower() else 0
        if not (_close(fx, fy, rtol, atol) or abs(fx - fy) <= 10.0 ** -decimals * 1.0000001):
            return False
    return True


def _short(text: str | None, width: int = 120) -> str:
    if text is None:
        return "(nothing)"
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def judge_printed(a: RunRecord, b: RunRecord, rtol: float = 0.0, atol: float = 0.0, out: OutputJudgement | None = None) -> OutputJudgement:
    out = out or OutputJudgement()
    ta, tb = [line[0] for line in a.printed], [line[0] for line in b.printed]
    n = min(len(ta), len(tb))
    first = next((i for i in range(n) if not _same_line(ta[i], tb[i], rtol, atol)), None)
    if first is None and len(ta) == len(tb):
        out.lines_compared = len(ta)
        if a.printed_truncated or b.printed_truncated:
            out.notes.append(f"printed lines beyond the first {len(ta)} were counted, not compared: "
                             f"{a.printed_truncated} vs {b.printed_truncated}")
            if a.printed_truncated != b.printed_truncated:
                out.reasons.append(f"different number of printed lines: {len(ta) + a.printed_truncated} vs {len(tb) + b.printed_truncated}")
        return out
    if first is None:
        first = n
    if rtol == 0 and atol == 0 and Counter(ta) == Counter(tb) and _moved_within_a_step(a.printed, b.printed):
        out.lines_compared = len(ta)
        out.moved_lines = _moved(ta, tb)
        shown = "; ".join(_short(t, 80) for t in out.moved_lines[:MOVED_SHOWN])
        more = f" and {len(out.moved_lines) - MOVED_SHOWN} more" if len(out.moved_lines) > MOVED_SHOWN else ""
        out.notes.append(f"{len(out.moved_lines)} printed line(s) come in another order (Lightning's hook order), "
                         f"each within a training step of where the original printed it: {shown}{more}")
        return out
    out.lines_compared = first
    line_a = a.printed[first] if first < len(ta) else None
    line_b = b.printed[first] if first < len(tb) else None
    out.first_diff_line = {
        "line": first + 1,
        "original": line_a[0] if line_a else None,
        "converted": line_b[0] if line_b else None,
        "step": (line_a or line_b)[1],
    }
    if line_a is not None and line_b is not None:
        what = f"{_short(line_a[0])} vs {_short(line_b[0])}"
    elif line_a is not None:
        what = f"the original printed {_short(line_a[0])}, the converted script nothing more"
    else:
        what = f"the converted script printed {_short(line_b[0])}, the original nothing more"
    out.reasons.append(f"printed lines differ from line {first + 1} (after training step {out.first_diff_line['step']}): {what}"
                       + (f" ({len(ta)} vs {len(tb)} lines)" if len(ta) != len(tb) else ""))
    return out


def _moved_within_a_step(pa: list, pb: list) -> bool:
    steps_a, steps_b = defaultdict(list), defaultdict(list)
    for text, step, _ in pa:
        steps_a[text].append(step)
    for text, step, _ in pb:
        steps_b[text].append(step)
    return all(abs(x - y) <= 1 for text, xs in steps_a.items() for x, y in zip(xs, steps_b[text]))


def _moved(ta: list[str], tb: list[str]) -> list[str]:
    moved = []
    for tag, i1, i2, _, _ in SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            moved += ta[i1:i2]
    return moved


def _values(entries: list[dict]) -> list[float | None]:
    return [e.get("value") for e in entries]


def _first(out: OutputJudgement, candidate: dict) -> None:
    """Keep the earliest differing value (by occurrence: epoch), the first key on a tie."""
    current = out.first_diff_metric
    if current is None or (isinstance(current["occurrence"], str) and isinstance(candidate["occurrence"], int)) or (
        isinstance(candidate["occurrence"], int) and isinstance(current["occurrence"], int)
        and candidate["occurrence"] < current["occurrence"]
    ):
        out.first_diff_metric = candidate


def _judge_series(out: OutputJudgement, key: str, what: str, original: list[float | None], converted: list[float | None],
                  rtol: float, atol: float, origin: str) -> None:
    """One key: the converted run's values against the original's, in order."""
    entry = {"key": key, "what": what, "original": original, "converted": converted, "equal": True}
    out.metrics.append(entry)
    out.metric_keys.append(key)
    n = min(len(original), len(converted))
    compared = 0
    for i in range(n):
        compared += 1
        if not _close(original[i], converted[i], rtol, atol):
            entry["equal"] = False
            out.metrics_compared += compared
            _first(out, {"key": key, "occurrence": i + 1, "original": original[i], "converted": converted[i]})
            out.reasons.append(f"logged {key} differs at occurrence {i + 1} (epoch {i + 1} when logged once per epoch): "
                               f"the original {origin} {original[i]!r}, the converted run logged {converted[i]!r}")
            return
    out.metrics_compared += compared
    if len(original) != len(converted):
        entry["equal"] = False
        _first(out, {"key": key, "occurrence": n + 1,
                     "original": original[n] if n < len(original) else None,
                     "converted": converted[n] if n < len(converted) else None})
        out.reasons.append(f"logged {key}: the original {origin} it {len(original)} time(s), "
                           f"the converted run logged it {len(converted)} time(s)")


def judge_metrics(a: RunRecord, b: RunRecord, mapping: MetricMap | None, rtol: float = 0.0, atol: float = 0.0,
                  out: OutputJudgement | None = None) -> OutputJudgement:
    out = out or OutputJudgement()
    strict = mapping is not None and mapping.strict
    logged_b: dict[str, list[dict]] = defaultdict(list)
    for entry in b.logged:
        logged_b[entry["key"]].append(entry)
    computed: dict[str, list[dict]] = defaultdict(list)
    for entry in a.computed:
        computed[entry["key"]].append(entry)

    last_original: dict[str, float | None] = {}
    for metric in (mapping.metrics if mapping else []):
        key = metric["key"]
        lines = f"`{metric['expression']}` after original lines {metric['start_line']}-{metric['end_line']}"
        values = computed.get(key, [])
        errors = [e["error"] for e in values if e.get("error")]
        if errors:
            out.notes.append(f"{key}: the original's value could not be read ({errors[0]}): not judged")
            continue
        if key not in logged_b:
            (out.reasons if strict else out.notes).append(
                f"{key}: the conversion logs it but the converted run never did" if strict
                else f"{key}: not logged by the converted script: not judged")
            continue
        original = _values(values)
        if original:
            last_original[key] = original[-1]
        _judge_series(out, key, lines, original, _values(logged_b[key]), rtol, atol, "computed")

    writer_tags: dict[str, list[dict]] = defaultdict(list)
    for entry in a.logged:
        if entry.get("via") == "add_scalar":
            writer_tags[entry["key"]].append(entry)
    for tag, entries in writer_tags.items():
        if tag not in logged_b:
            (out.reasons if strict else out.notes).append(
                f"{tag}: the original writes it with add_scalar, the converted run never logged it"
                + ("" if strict else ": not judged"))
            continue
        _judge_series(out, tag, "SummaryWriter.add_scalar", _values(entries), _values(logged_b[tag]), rtol, atol, "wrote")

    for call in b.trainer_calls:
        for metrics in call.get("returned") or []:
            for key, value in metrics.items():
                if key not in last_original:
                    continue
                expected = last_original[key]
                out.metrics_compared += 1
                if expected is None or value is None:
                    continue
                if not (_close(expected, value, rtol, atol) or value == _float32(expected)):
                    _first(out, {"key": key, "occurrence": f"trainer.{call['call']}()", "original": expected, "converted": value})
                    out.reasons.append(f"trainer.{call['call']}() returned {key}={value!r}; the original computed {expected!r}")
    return out
