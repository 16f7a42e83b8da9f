"""Compare two multi-process runs rank by rank (``pl-convert verify --nproc N``).

Rank R of the original is compared with rank R of the conversion by :func:`~.compare.compare_runs`
(its loss trace and its final parameters, under the same tolerance); the result is one
:class:`~.compare.Comparison` whose first difference is "step K on rank R": the earliest step
that differs on any rank (the lowest rank on a tie). Every rank must have recorded, on both
sides, and there must be ``nproc`` of them.
"""

from __future__ import annotations

from .compare import Comparison, Tolerance, compare_runs
from .record import RunRecord


def first_difference(comparison: Comparison) -> str | None:
    """``"step 12 on rank 1"`` (``"rank 1"`` when the steps agree but something else differs)."""
    if comparison.first_diff_rank is None:
        return None
    if comparison.first_diff_step is None:
        return f"rank {comparison.first_diff_rank}"
    return f"step {comparison.first_diff_step} on rank {comparison.first_diff_rank}"


def compare_ranks(
    a: dict[int, RunRecord], b: dict[int, RunRecord], nproc: int, tolerance: Tolerance | None = None
) -> Comparison:
    """Compare every rank of ``b`` with the same rank of ``a``."""
    tol = tolerance or Tolerance.exact()
    reasons: list[str] = []
    notes: list[str] = []
    per_rank: list[dict] = []
    diffs: list[float] = []
    expected = set(range(nproc))
    for label, records in (("original", a), ("converted", b)):
        missing = sorted(expected - set(records))
        if missing:
            reasons.append(f"{label}: no record from rank(s) {', '.join(map(str, missing))} "
                           f"(recorded {len(records)} of {nproc}: did every process join the process group?)")
        extra = sorted(set(records) - expected)
        if extra:
            reasons.append(f"{label}: ranks {extra} beyond --nproc {nproc}")
    first: tuple[int, int] | None = None  # (step or a large number, rank)
    comparisons = {}
    for rank in sorted(set(a) & set(b)):
        c = compare_runs(a[rank], b[rank], tol)
        comparisons[rank] = c
        per_rank.append({
            "rank": rank, "steps_a": c.steps_a, "steps_b": c.steps_b, "steps_compared": c.steps_compared,
            "max_abs_diff": c.max_abs_diff, "first_diff_step": c.first_diff_step, "digest_equal": c.digest_equal,
            "equal": c.equal, "params_sha256_a": a[rank].final_params_sha256, "params_sha256_b": b[rank].final_params_sha256,
        })  # fmt: skip
        diffs += c.diffs
        reasons += [f"rank {rank}: {r}" for r in c.reasons]
        notes += [f"rank {rank}: {n}" for n in c.notes]
        if not c.equal:
            key = (c.first_diff_step if c.first_diff_step is not None else 10**12, rank)
            first = key if first is None or key < first else first
    steps = sum(c.steps_compared for c in comparisons.values())
    abs_diffs = [c.max_abs_diff for c in comparisons.values() if c.max_abs_diff is not None]
    rel_diffs = [c.max_rel_diff for c in comparisons.values() if c.max_rel_diff is not None]
    comparison = Comparison(
        equal=not reasons,
        mode=tol.mode,
        rule=f"per rank ({nproc} processes): " + tol.describe() + (f" ({tol.reason})" if tol.reason else ""),
        steps_a=sum(len(r.losses) for r in a.values()),
        steps_b=sum(len(r.losses) for r in b.values()),
        steps_compared=steps,
        max_abs_diff=max(abs_diffs) if abs_diffs else None,
        max_rel_diff=max(rel_diffs) if rel_diffs else None,
        first_diff_step=None if first is None or first[0] == 10**12 else first[0],
        diffs=diffs,
        digest_equal=len(comparisons) == nproc and all(c.digest_equal for c in comparisons.values()),
        reasons=reasons,
        notes=notes,
        first_diff_rank=None if first is None else first[1],
        ranks=per_rank,
    )
    if comparison.first_diff_rank is not None:
        comparison.reasons.insert(0, f"first difference: {first_difference(comparison)}")
    elif reasons:  # every rank both sides recorded is equal: the difference is a missing rank
        comparison.first_diff_rank = next((r for r in sorted(expected) if r not in a or r not in b), None)
    return comparison
