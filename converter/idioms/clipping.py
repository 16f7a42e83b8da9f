"""``clip_grad_norm_(model.parameters(), x)`` between ``backward()`` and ``step()`` →
``Trainer(gradient_clip_val=x, gradient_clip_algorithm="norm")``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import GRADIENT_CLIPPERS, dotted_name
from ..idiom import Example, Idiom
from ..plan import Absorbed, Plan, TrainerArgument
from ..transforms import substitute_names
from ..tree import code_of


class GradientClipping(Idiom):
    """Gradient clipping on the model's parameters between ``backward()`` and ``step()``
    (``torch.nn.utils.clip_grad_norm_`` with the default 2-norm, ``clip_grad_value_``).

    ## Becomes

    ``Trainer(gradient_clip_val=x, gradient_clip_algorithm="norm" | "value")`` with the
    script's own limit (in the caller's terms where the loop is a function), and the call goes.

    ## Refuses

    Never: clipping twice per step, on something else than ``model.parameters()``, with another
    norm, or inside a loop that is not canonical otherwise stays in the loop under manual
    optimization, with the reason.

    ## Why

    Lightning clips at the same point (after backward and unscaling, before the step) with the
    same function. The call's return value (the total norm) is not available then: a loop that
    uses it is not canonical.
    """

    name = "gradient-clipping"
    title = "clip_grad_norm_ / clip_grad_value_ between backward() and step() → Trainer(gradient_clip_val=...)"
    fixtures = ("clip_grad_norm", "grad_clipping", "accumulation_last_batch")
    examples = (
        Example(
            between="torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)",
            after=('gradient_clip_val=1.0, gradient_clip_algorithm="norm"',),
            absent=("clip_grad_norm_",),
        ),
    )
    order = 35

    def absorb(self, plan: Plan, statements: list[cst.BaseStatement], trained: set[str]) -> Absorbed | str | None:
        clips = [(stmt, _gradient_clipping(plan, stmt, trained)) for stmt in statements]
        clips = [(stmt, clip) for stmt, clip in clips if clip is not None]
        if len(clips) > 1:
            return "gradients are clipped more than once"
        if not clips:
            return None
        stmt, (algorithm, value) = clips[0]
        bindings = plan.facts.train.bindings
        value_code = code_of(substitute_names(value, bindings) if bindings else value)
        return Absorbed(
            statements=[stmt],
            trainer_args=[TrainerArgument("gradient_clip_val", value_code), TrainerArgument("gradient_clip_algorithm", f'"{algorithm}"')],
            change=f"gradient clipping → Trainer(gradient_clip_val={value_code}, gradient_clip_algorithm=\"{algorithm}\")",
        )


def _gradient_clipping(plan: Plan, stmt: cst.BaseStatement, trained: set[str]) -> tuple[str, cst.BaseExpression] | None:
    """``clip_grad_norm_(model.parameters(), X)`` -> (algorithm, X)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call):
        return None
    name = plan.facts.script.qualified_call(call)
    if name not in GRADIENT_CLIPPERS:
        return None
    algorithm, keywords = GRADIENT_CLIPPERS[name]
    args = list(call.args)
    if not args or args[0].keyword is not None:
        return None
    params = args[0].value
    if not (
        isinstance(params, cst.Call)
        and isinstance(params.func, cst.Attribute)
        and params.func.attr.value == "parameters"
        and not params.args
        and dotted_name(params.func.value) in trained
    ):
        return None
    value = None
    for arg in args[1:]:
        if arg.keyword is None and value is None:
            value = arg.value
        elif arg.keyword is not None and arg.keyword.value in keywords:
            value = arg.value
        elif arg.keyword is not None and arg.keyword.value == "norm_type" and code_of(arg.value) in ("2", "2.0"):
            continue
        else:
            return None
    if value is None:
        return None
    return algorithm, value
