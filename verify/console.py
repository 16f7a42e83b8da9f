"""Terminal output of ``pl-convert verify``: a rich table that degrades to plain text when piped."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .session import RunOutcome, VerifyResult


def _loss(value: float | None) -> str:
    return "—" if value is None else repr(value)


def _side_rows(outcome: RunOutcome) -> dict[str, str]:
    r = outcome.record
    rows = {
        "script": str(outcome.script.path.name),
        "status": "ok" if outcome.ok else f"failed: {outcome.failure()}",
        "epochs": outcome.epoch_plan.how,
    }
    if r is None:
        return rows
    rows.update(
        {
            "device": r.device or "—",
            "epochs trained": "—" if r.epochs is None else str(r.epochs),
            "training steps (backward)": str(len(r.losses)),
            "optimizer steps": str(r.optimizer_steps),
            "first loss": _loss(r.losses[0] if r.losses else None),
            "final loss": _loss(r.losses[-1] if r.losses else None),
            "parameters": f"{r.param_count:,} in {r.param_tensors} tensors",
            "params sha256": (r.final_params_sha256 or "—")[:16],
            "test accuracy": "—" if r.test_accuracy is None else f"{r.test_accuracy:.2f}%",
            "wall time": "—" if r.wall_time_s is None else f"{r.wall_time_s:.1f} s",
        }
    )
    rows["printed lines (own code)"] = str(len(r.printed) + r.printed_truncated)
    rows["values logged"] = str(len(r.logged))
    if r.trainer_calls:
        calls = ", ".join(dict.fromkeys(c["call"] for c in r.trainer_calls))
        rows["Lightning"] = (f"Trainer.{calls}; {r.training_step_calls} training_step calls; "
                             f"{r.lightning_backward} of {len(r.losses)} steps via LightningModule.backward")
    for key, value in sorted(r.logged_metrics.items()):
        rows[f"logged {key}"] = f"{value:.6g}"
    return rows


def outputs_summary(result: VerifyResult) -> str:
    """One line: printed lines and logged metrics compared, and the first difference of each."""
    c = result.comparison
    if c is None:
        return ""
    line = c.first_diff_line
    metric = c.first_diff_metric
    first_line = "none" if line is None else f"line {line['line']}"
    first_metric = "none" if metric is None else f"{metric['key']} (occurrence {metric['occurrence']})"
    return (
        f"printed lines compared: {c.lines_compared} of {c.lines_a}   first difference: {first_line}   "
        f"logged values compared: {c.metrics_compared} ({len(c.metric_keys)} keys)   first difference: {first_metric}"
    )


def run_rows(result: VerifyResult) -> list[list[str]]:
    """Rows of (figure, run a, run b), shared by the terminal table and the HTML report."""
    a, b = _side_rows(result.a), _side_rows(result.b)
    keys = list(a) + [k for k in b if k not in a]
    return [[key, a.get(key, "—"), b.get(key, "—")] for key in keys]


def print_result(result: VerifyResult, console: Console) -> None:
    """Print the figures, the comparison and the verdict."""
    plain = not console.is_terminal
    table = Table(
        title=f"pl-convert verify — {result.a.script.label} vs {result.b.script.label} ({result.device})",
        box=None if plain else box.SIMPLE_HEAVY,
        title_justify="left",
    )
    table.add_column("")
    table.add_column(result.a.script.label)
    table.add_column(result.b.script.label)
    for key, left, right in run_rows(result):
        style = "red" if key in ("params sha256", "final loss") and left != right else None
        table.add_row(Text(key), Text(left), Text(right), style=style)  # no markup in user text
    console.print(table)

    c = result.comparison
    if c is not None:
        console.print(
            f"steps compared: {c.steps_compared}   max |Δloss| per step: "
            f"{'n/a' if c.max_abs_diff is None else repr(c.max_abs_diff)}   first difference: "
            f"{result.to_dict()['first_difference'] or 'none'}   "
            f"param digests: {'identical' if c.digest_equal else 'differ'}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        if c.ranks:
            for rank in c.ranks:
                console.print(
                    f"rank {rank['rank']}: steps {rank['steps_a']} / {rank['steps_b']}   first difference: "
                    f"{'none' if rank['first_diff_step'] is None else 'step ' + str(rank['first_diff_step'])}   "
                    + (f"final loss: {rank['final_loss']!r}" if "final_loss" in rank else
                       f"param digests: {'identical' if rank['digest_equal'] else 'differ'}"),
                    highlight=False, markup=False, soft_wrap=True,
                )  # fmt: skip
        else:
            console.print(outputs_summary(result), highlight=False, markup=False, soft_wrap=True)
        for outcome in (result.a, result.b):
            checks = outcome.record.module_checks if outcome.record else []
            if checks:
                line = "; ".join(f"{k['name']} {k['status']}" for k in checks)
                console.print(f"module checks ({outcome.script.label}): {line}", highlight=False, markup=False,
                              soft_wrap=True)
        console.print(f"rule: {c.rule}", style="dim", highlight=False, markup=False, soft_wrap=True)
        if result.metric_map is not None:
            console.print(f"metrics: {result.metric_map.how}", style="dim", highlight=False, markup=False, soft_wrap=True)
    for outcome in (result.a, result.b):
        if not outcome.ok:
            console.print(f"\n{outcome.script.label} failed to run: {outcome.failure()}", style="bold yellow", markup=False)
            tail = outcome.stderr_tail or outcome.stdout_tail
            if tail:
                console.print(Text(tail), style="dim", soft_wrap=True)
    if result.failed:
        verdict = Text("FAILED: a script did not run to the end", style="bold yellow")
    elif result.equal and result.options.devices:
        verdict = Text(f"PASSED: the conversion trained to the end on {result.options.devices} processes "
                       "(strategy=\"ddp\") with finite losses on every rank", style="bold green")
    elif result.equal:
        verdict = Text("EQUAL: the two runs trained the same", style="bold green")
    else:
        verdict = Text("DIFFERENT: the two runs did not train the same", style="bold red")
    console.print(verdict)
    if c is not None:
        for reason in c.reasons:
            console.print(f"  - {reason}", style="red", highlight=False, markup=False, soft_wrap=True)
        for note in c.notes:
            console.print(f"  note: {note}", style="yellow", highlight=False, markup=False, soft_wrap=True)
