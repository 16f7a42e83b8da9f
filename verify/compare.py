"""Compare two run records: equal loss traces, parameters and reported outputs, or equal within a tolerance.

Three rules for training, one function:

* **exact** (original vs converted, same device): the per-step loss traces have the same length
  and are bitwise identical (max |Δ| == 0), and so are the final parameter digests.
* **tolerance** (a fixture that cannot be bitwise, with a stated reason): every step within
  ``atol + rtol·|loss|`` and the parameters' L2 norm within ``rtol``.
* **devices** (one script, CPU vs GPU): the first 20 steps within a relative 1e-3 and the final
  test accuracy within 1 percentage point.

What the scripts report is judged too (:mod:`.judge_outputs`): the lines their own code prints
and the metrics they log, against the values the original computed.

Everything is reported either way: a difference is never hidden, only judged.
"""

from __future__ import annotations

import math
import struct
from dataclasses import asdict, dataclass, field

from .judge_outputs import OutputJudgement, judge_metrics, judge_printed
from .metric_map import MetricMap
from .record import RunRecord


@dataclass(frozen=True)
class Tolerance:
    """How close two runs must be. ``exact()`` is bitwise."""

    mode: str = "exact"  #: "exact", "tolerance" or "devices"
    rtol: float = 0.0
    atol: float = 0.0
    steps: int | None = None  #: compare only the first N steps (None: all, lengths must match)
    accuracy_points: float | None = None  #: max |Δ test accuracy| in percentage points
    reason: str | None = None  #: why this comparison is not exact

    @classmethod
    def exact(cls) -> Tolerance:
        return cls()

    @classmethod
    def devices(cls) -> Tolerance:
        """The issue's CPU-vs-GPU rule: first 20 steps within rel 1e-3, accuracy within 1 point."""
        return cls(mode="devices", rtol=1e-3, steps=20, accuracy_points=1.0,
                   reason="CPU and GPU kernels round differently")

    @classmethod
    def relative(cls, rtol: float, atol: float = 0.0, reason: str | None = None) -> Tolerance:
        return cls(mode="tolerance", rtol=rtol, atol=atol, reason=reason)

    def describe(self) -> str:
        if self.mode == "exact":
            return "bitwise: identical loss trace and parameter digest"
        scope = f"first {self.steps} steps" if self.steps else "every step"
        text = f"{scope} within rtol {self.rtol:g}" + (f", atol {self.atol:g}" if self.atol else "")
        if self.accuracy_points is not None:
            text += f"; test accuracy within {self.accuracy_points:g} point(s)"
        if self.mode == "tolerance":
            text += "; parameter L2 norm within rtol"
        return text


@dataclass
class Comparison:
    """The verdict and the figures behind it."""

    equal: bool
    mode: str
    rule: str
    steps_a: int
    steps_b: int
    steps_compared: int
    max_abs_diff: float | None
    max_rel_diff: float | None
    first_diff_step: int | None  #: 1-based index of the first step that differs (None: none)
    diffs: list[float] = field(default_factory=list)  #: b - a per compared step
    digest_equal: bool = False
    accuracy_diff: float | None = None
    reasons: list[str] = field(default_factory=list)  #: why not equal (empty when equal)
    notes: list[str] = field(default_factory=list)  #: differences reported but not judged
    lines_a: int = 0  #: lines the original's own code printed
    lines_b: int = 0
    lines_compared: int = 0  #: printed lines found equal (up to the first difference)
    first_diff_line: dict | None = None  #: {"line" (1-based), "original", "converted", "step"}
    moved_lines: list[str] = field(default_factory=list)  #: equal lines printed in another order
    metrics_compared: int = 0  #: logged values compared with the original's
    metric_keys: list[str] = field(default_factory=list)  #: the keys judged
    first_diff_metric: dict | None = None  #: {"key", "occurrence", "original", "converted"}
    metrics: list[dict] = field(default_factory=list)  #: per key: both series and the verdict
    #: several processes (``--nproc``): the rank of the first difference, and each rank's figures
    first_diff_rank: int | None = None
    ranks: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _same_bits(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return struct.pack("<d", a) == struct.pack("<d", b) or a == b  # 0.0 == -0.0 counts


def _abs_diff(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isinf(a) and a == b:
        return 0.0
    return abs(b - a)


def compare_runs(a: RunRecord, b: RunRecord, tolerance: Tolerance | None = None, metric_map: MetricMap | None = None) -> Comparison:
    """Compare run ``b`` against run ``a`` under ``tolerance`` (default: exact); ``metric_map``
    names the conversion's logged metrics to judge against the original's values."""
    tol = tolerance or Tolerance.exact()
    la, lb = a.losses, b.losses
    n = min(len(la), len(lb))
    if tol.steps is not None:
        n = min(n, tol.steps)
    diffs = [lb[i] - la[i] if not (math.isnan(la[i]) and math.isnan(lb[i])) else 0.0 for i in range(n)]
    abs_diffs = [_abs_diff(la[i], lb[i]) for i in range(n)]
    rel_diffs = [d / abs(la[i]) if la[i] not in (0.0,) and math.isfinite(la[i]) else d for i, d in enumerate(abs_diffs)]
    reasons: list[str] = []
    notes: list[str] = []

    if tol.mode == "exact":
        close = [_same_bits(la[i], lb[i]) for i in range(n)]
    else:
        close = [abs_diffs[i] <= tol.atol + tol.rtol * abs(la[i]) for i in range(n)]
    first_diff = next((i + 1 for i, ok in enumerate(close) if not ok), None)

    if not la and not lb:
        reasons.append("neither run called backward(): nothing was trained")
    elif tol.steps is None and len(la) != len(lb):
        reasons.append(f"different number of training steps: {len(la)} vs {len(lb)}")
    elif tol.steps is not None and n < min(tol.steps, max(len(la), len(lb))):
        reasons.append(f"too few steps to compare: {len(la)} vs {len(lb)} (need {tol.steps})")
    if first_diff is not None:
        i = first_diff - 1
        reasons.append(
            f"losses differ from step {first_diff}: {la[i]!r} vs {lb[i]!r}"
            + (f" (max |Δ| {max(abs_diffs):.3g})" if tol.mode == "exact" else f" (beyond {tol.describe()})")
        )

    digest_equal = a.final_params_sha256 is not None and a.final_params_sha256 == b.final_params_sha256
    if tol.mode == "exact":
        if not digest_equal:
            reasons.append("final parameters differ (sha256 digests are not equal)")
    elif not digest_equal:
        notes.append("final parameter digests differ (expected under a tolerance)")
        if tol.mode == "tolerance" and a.params_l2 is not None and b.params_l2 is not None:
            if abs(a.params_l2 - b.params_l2) > tol.atol + tol.rtol * abs(a.params_l2):
                reasons.append(f"final parameter L2 norms differ: {a.params_l2:.6g} vs {b.params_l2:.6g}")

    accuracy_diff = None
    if a.test_accuracy is not None and b.test_accuracy is not None:
        accuracy_diff = b.test_accuracy - a.test_accuracy
    if tol.accuracy_points is not None:
        if accuracy_diff is None:
            notes.append("test accuracy was not measured on both runs: judged on the losses only")
        elif abs(accuracy_diff) > tol.accuracy_points:
            reasons.append(
                f"test accuracy differs by {accuracy_diff:+.2f} points "
                f"({a.test_accuracy:.2f}% vs {b.test_accuracy:.2f}%; allowed {tol.accuracy_points:g})"
            )
    elif accuracy_diff:
        notes.append(f"test accuracy differs by {accuracy_diff:+.2f} points")

    if a.optimizer_steps != b.optimizer_steps:
        notes.append(f"optimizer steps differ: {a.optimizer_steps} vs {b.optimizer_steps}")
    if a.device and b.device and a.device != b.device and tol.mode != "devices":
        notes.append(f"the runs trained on different devices: {a.device} vs {b.device}")

    outputs = OutputJudgement()
    judge_printed(a, b, tol.rtol, tol.atol, outputs)
    judge_metrics(a, b, metric_map, tol.rtol, tol.atol, outputs)
    if tol.mode == "devices":  # one script on two devices: reported, not judged
        notes += [f"not judged on --compare-devices: {r}" for r in outputs.reasons]
    else:
        reasons += outputs.reasons
    notes += outputs.notes

    from .hints import lightning_hints

    notes += lightning_hints(a, b, equal=not reasons)
    return Comparison(
        equal=not reasons,
        mode=tol.mode,
        rule=tol.describe() + (f" ({tol.reason})" if tol.reason else ""),
        steps_a=len(la),
        steps_b=len(lb),
        steps_compared=n,
        max_abs_diff=max(abs_diffs) if abs_diffs else None,
        max_rel_diff=max(rel_diffs) if rel_diffs else None,
        first_diff_step=first_diff,
        diffs=diffs,
        digest_equal=digest_equal,
        accuracy_diff=accuracy_diff,
        reasons=reasons,
        notes=notes,
        lines_a=len(a.printed) + a.printed_truncated,
        lines_b=len(b.printed) + b.printed_truncated,
        lines_compared=outputs.lines_compared,
        first_diff_line=outputs.first_diff_line,
        moved_lines=outputs.moved_lines,
        metrics_compared=outputs.metrics_compared,
        metric_keys=outputs.metric_keys,
        first_diff_metric=outputs.first_diff_metric,
        metrics=outputs.metrics,
    )
