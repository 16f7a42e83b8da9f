"""``pl-convert verify --devices N``: the conversion trained under ``strategy="ddp"`` on N CPU processes.

A conversion is meant to scale: the same LightningModule on several devices. With ``--devices N``
the converted script runs with every ``pl.Trainer(...)`` given ``accelerator="cpu"``,
``devices=N``, ``strategy="ddp"`` (gloo), in every rank; each rank records itself
(:mod:`.ranks`). It passes when every rank ran to the end and every loss it recorded is finite.
Its numbers differ from the one-process original, as they should (each rank trains on 1/N of
every epoch's batches and the gradients are averaged): :func:`judge_ddp_run` measures that
difference and reports it as a note, never as a failure.
"""

from __future__ import annotations

import math

from .compare import Comparison, compare_runs
from .record import RunRecord


def trainer_overrides(devices: int) -> dict:
    return {"accelerator": "cpu", "devices": devices, "strategy": "ddp"}


def allow_unused_parameters(trainer, module) -> bool:
    """Give DDP ``find_unused_parameters=True`` for a module that steps its optimizers by hand.

    Under manual optimization each optimizer's backward/step may leave parameters without a
    gradient (a GAN's discriminator step never touches the generator), which DDP refuses unless
    told to look for them; Lightning's own error asks for
    ``strategy="ddp_find_unused_parameters_true"``, and pl-convert's docstring of such a module says
    so. Applied before ``fit`` when the strategy is DDP and the script did not set it; True when set.
    """
    kwargs = getattr(getattr(trainer, "strategy", None), "_ddp_kwargs", None)
    if kwargs is None or getattr(module, "automatic_optimization", True) or "find_unused_parameters" in kwargs:
        return False
    kwargs["find_unused_parameters"] = True
    return True


def judge_ddp_run(original: RunRecord, ranks: dict[int, RunRecord], devices: int) -> Comparison:
    """Every rank present, trained, finite; the difference from one process as a note."""
    reasons: list[str] = []
    missing = sorted(set(range(devices)) - set(ranks))
    if missing:
        reasons.append(f"converted: no record from rank(s) {', '.join(map(str, missing))} of {devices}")
    first_bad = None
    for rank, record in ranks.items():
        if not record.losses:
            reasons.append(f"rank {rank}: no training step recorded")
            first_bad = rank if first_bad is None else first_bad
            continue
        bad = next((i + 1 for i, v in enumerate(record.losses) if not math.isfinite(v)), None)
        if bad is not None:
            reasons.append(f"rank {rank}: loss is {record.losses[bad - 1]!r} at step {bad}")
            first_bad = rank if first_bad is None else min(first_bad, rank)
    notes = []
    rank0 = ranks.get(0)
    if rank0 is not None and rank0.losses:
        versus = compare_runs(original, rank0)
        where = "none" if versus.first_diff_step is None else f"step {versus.first_diff_step}"
        notes.append(
            f"{devices} processes (strategy=\"ddp\", CPU): numbers differ from one process, as expected (each rank "
            f"trains on 1/{devices} of every epoch's batches, gradients averaged): rank 0 ran {len(rank0.losses)} "
            f"steps, the original {len(original.losses)}; first difference {where}, max |Δloss| "
            f"{'n/a' if versus.max_abs_diff is None else f'{versus.max_abs_diff:.3g}'} over the steps both ran"
        )
    steps = [len(r.losses) for r in ranks.values()]
    return Comparison(
        equal=not reasons,
        mode="ddp",
        rule=f"--devices {devices}: every rank runs to the end with finite losses (numbers not compared)",
        steps_a=len(original.losses),
        steps_b=sum(steps),
        steps_compared=sum(steps),
        max_abs_diff=None,
        max_rel_diff=None,
        first_diff_step=None,
        reasons=reasons,
        notes=notes,
        first_diff_rank=first_bad,
        ranks=[{"rank": rank, "steps_a": 0, "steps_b": len(r.losses), "steps_compared": 0, "max_abs_diff": None,
                "first_diff_step": None, "digest_equal": False, "equal": True,
                "final_loss": r.losses[-1] if r.losses else None} for rank, r in ranks.items()],
    )
