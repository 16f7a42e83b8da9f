"""``with torch.autocast(...)`` + ``GradScaler`` → ``Trainer(precision="16-mixed" | "bf16-mixed")``."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import AUTOCAST_CONTEXTS, BFLOAT16_DTYPES, FLOAT16_DTYPES, GRAD_SCALERS, dotted_name
from ..device_choice import gpu_condition
from ..facts import Facts
from ..idiom import Example, Idiom
from ..names import usage_of
from ..plan import HookSource, Lowering, Plan, TrainerArgument
from ..result import Change
from ..training import single_assignment
from ..transforms import block_statements, statement_like, substitute_names
from ..tree import code_of, expr_call


class MixedPrecision(Idiom):
    """Mixed precision written by hand: the forward pass under ``with torch.autocast(...)``
    (``torch.cuda.amp.autocast``...) and a ``GradScaler`` scaling the loss.

    ## Becomes

    ``Trainer(precision="16-mixed")`` (float16 on a GPU), ``"bf16-mixed"`` (bfloat16), or a
    choice between them when the script chooses the dtype or the device at run time
    (``"16-mixed" if use_cuda else "bf16-mixed"``); ``enabled=False`` is ``"32-true"``. The
    ``with`` block is unwrapped, ``scaler.scale(loss).backward()`` becomes ``loss.backward()``,
    ``scaler.step(optimizer)`` ``optimizer.step()``, ``scaler.update()`` and ``unscale_`` go,
    and the scaler's creation goes once nothing reads it. An evaluation loop under the same
    autocast loses it too (Lightning's precision applies there); without the lowering an
    evaluation keeps its ``with autocast(...)`` around ``validation_step``'s body.

    ## Refuses

    Never: when the loop does not match exactly (autocast entered twice, ``backward()`` inside
    autocast, a scaler with non-default arguments, used outside the loop or not stepped once per
    batch, float16 without a scaler, a dtype or device that cannot be told), the loop keeps its
    own calls under manual optimization, with the reason.

    ## Why

    Lightning's precision plugin runs every step under the same autocast and scales, unscales
    (before clipping), steps and updates the loss scale the way the loop did — with a default
    ``GradScaler``, once per optimizer step — so the numbers stay the same.
    """

    name = "mixed-precision"
    title = "torch.autocast + GradScaler → Trainer(precision=\"16-mixed\" | \"bf16-mixed\")"
    fixtures = ("mixed_precision",)
    examples = (
        Example(
            forward="""
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x), y)
            """,
            after=('precision="bf16-mixed"',),
            absent=("torch.autocast",),
        ),
    )
    order = 30
    rewrite_order = 80

    def lower(self, plan: Plan, lowering: Lowering) -> None:
        _lower_mixed_precision(plan.facts, lowering)

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        """An evaluation under ``with no_grad(), autocast(...)``: its step keeps the autocast,
        unless Lightning's precision (lowered from the training loop) applies it already."""
        phase = source.phase
        if not source.part.is_step or phase is None or not phase.contexts or not statements or plan.lowered("precision"):
            return statements
        devices = {name: cst.parse_expression("self.device") for name in plan.facts.devices.names}
        items = [substitute_names(substitute_names(item, phase.bindings), devices) for item in phase.contexts]
        items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        body = [statements[0].with_changes(leading_lines=[])] + statements[1:]
        return [cst.With(items=items, body=cst.IndentedBlock(body=body), leading_lines=list(getattr(statements[0], "leading_lines", [])))]

    def prune(self, plan: Plan, still_read: set[str]) -> None:
        for stmt in plan.lowering.setup if plan.lowering is not None else []:
            names = usage_of(stmt).stores
            if names and not (names & still_read) and not plan.is_removed(stmt):
                plan.remove(stmt, "removed the GradScaler (Lightning's precision plugin scales the loss)")


def _autocast_call(facts: Facts, stmt: cst.BaseStatement) -> cst.Call | None:
    if isinstance(stmt, cst.With) and len(stmt.items) == 1 and isinstance(stmt.items[0].item, cst.Call) and stmt.items[0].asname is None:
        call = stmt.items[0].item
        if facts.script.qualified_call(call) in AUTOCAST_CONTEXTS:
            return call
    return None


class _Precision:
    """A precision choice: a literal (``"16-mixed"``) or ``a if test else b``."""

    def __init__(self, literal: str | None = None, test: str | None = None, then=None, otherwise=None) -> None:
        self.literal, self.test, self.then, self.otherwise = literal, test, then, otherwise

    @classmethod
    def choose(cls, test: str, then: "_Precision", otherwise: "_Precision") -> "_Precision":
        if then.code() == otherwise.code():
            return then
        return cls(test=test, then=then, otherwise=otherwise)

    def code(self) -> str:
        if self.literal is not None:
            return f'"{self.literal}"'
        then = self.then.code() if self.then.literal is not None else f"({self.then.code()})"
        otherwise = self.otherwise.code() if self.otherwise.literal is not None else f"({self.otherwise.code()})"
        return f"{then} if {self.test} else {otherwise}"

    def leaves(self) -> set[str]:
        if self.literal is not None:
            return {self.literal}
        return self.then.leaves() | self.otherwise.leaves()

    def conditions_of(self, leaf: str) -> set[str]:
        """The tests on the way to ``leaf`` (where it is the ``then`` branch)."""
        if self.literal is not None:
            return set()
        out = self.then.conditions_of(leaf) | self.otherwise.conditions_of(leaf)
        if leaf in self.then.leaves() and leaf not in self.otherwise.leaves():
            out.add(self.test)
        return out


def _dtype_precision(facts: Facts, dtype: cst.BaseExpression | None, kind: str, gpu_when=None) -> _Precision | str:
    """The Lightning precision of autocast's ``dtype`` on device ``kind`` ("gpu"/"cpu").

    A dtype chosen by the same condition as the device (``torch.float16 if use_cuda else
    torch.bfloat16``) is read for the branch that device takes.
    """
    if dtype is None:
        return _Precision("16-mixed" if kind == "gpu" else "bf16-mixed")
    name = facts.script.qualify(dotted_name(dtype))
    if name in FLOAT16_DTYPES:
        if kind == "cpu":
            return "float16 autocast on the CPU has no Lightning precision (Lightning turns it into bf16-mixed)"
        return _Precision("16-mixed")
    if name in BFLOAT16_DTYPES:
        return _Precision("bf16-mixed")
    if isinstance(dtype, cst.Name):
        found = single_assignment(facts.script, facts.scope, facts.train.resolve_name(dtype.value))
        if found is not None and isinstance(found[1], cst.IfExp):
            branch = found[1]
            if isinstance(gpu_when, str) and code_of(branch.test) == gpu_when:
                return _dtype_precision(facts, branch.body if kind == "gpu" else branch.orelse, kind)
            then = _dtype_precision(facts, branch.body, kind)
            otherwise = _dtype_precision(facts, branch.orelse, kind)
            if isinstance(then, str):
                return then
            if isinstance(otherwise, str):
                return otherwise
            return _Precision.choose(code_of(branch.test), then, otherwise)
    return f"cannot tell the autocast dtype `{code_of(dtype)}`"


def _autocast_precision(facts: Facts, call: cst.Call) -> _Precision | str:
    qualified = facts.script.qualified_call(call)
    device = AUTOCAST_CONTEXTS[qualified]
    args = list(call.args)
    device_expr = dtype = enabled = None
    positional = [a for a in args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
    if device is None:
        if positional:
            device_expr = positional[0].value
            positional = positional[1:]
        device_expr = keywords.pop("device_type", device_expr)
        if positional:
            dtype = positional[0].value
            positional = positional[1:]
    if positional:
        return "autocast is called with positional arguments"
    dtype = keywords.pop("dtype", dtype)
    enabled = keywords.pop("enabled", None)
    if keywords:
        return f"autocast is called with {', '.join(sorted(keywords))}="
    dynamic = False
    if device is None:
        if isinstance(device_expr, cst.SimpleString) and isinstance(device_expr.evaluated_value, str):
            device = device_expr.evaluated_value.split(":")[0]
        elif device_expr is not None and (
            facts.train.resolve_name(dotted_name(device_expr) or "") in facts.devices.names
            or (isinstance(device_expr, cst.Attribute) and device_expr.attr.value == "type" and facts.train.resolve_name(dotted_name(device_expr.value) or "") in facts.devices.names)
        ):
            dynamic = True
        else:
            return f"cannot tell autocast's device `{code_of(device_expr) if device_expr is not None else '?'}`"
    if device not in (None, "cuda", "cpu"):
        return f"autocast on {device!r}"

    when, _ = gpu_condition(facts)

    def on(kind: str) -> _Precision | str:
        if not dynamic and (device == "cuda") != (kind == "gpu"):
            return _Precision("32-true")  # autocast for another device type changes nothing here
        return _dtype_precision(facts, dtype, kind, when)

    if when is None:
        return "the device is chosen at run time, so the precision cannot be told"
    if when is True or when is False:
        precision = on("gpu" if when else "cpu")
    else:
        on_gpu, on_cpu = on("gpu"), on("cpu")
        if isinstance(on_gpu, str):
            return on_gpu
        if isinstance(on_cpu, str):
            return on_cpu
        precision = _Precision.choose(when, on_gpu, on_cpu)
    if isinstance(precision, str):
        return precision
    if enabled is not None:
        if facts.train.bindings:
            enabled = substitute_names(enabled, facts.train.bindings)  # the Trainer is built in the caller
        literal = code_of(enabled)
        if literal == "False":
            return _Precision("32-true")
        if literal != "True":
            precision = _Precision.choose(literal, precision, _Precision("32-true"))
    return precision


class _ScalerCalls(cst.CSTVisitor):
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.uses: list[cst.CSTNode] = []

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.uses.append(node)


def _lower_mixed_precision(facts: Facts, lowered: Lowering) -> None:
    body = lowered.body
    autocasts = [(i, _autocast_call(facts, s)) for i, s in enumerate(body)]
    autocasts = [(i, c) for i, c in autocasts if c is not None]
    loop_code = code_of(cst.Module(body))
    if not autocasts:
        if "autocast" in loop_code or "scaler" in loop_code.lower():
            lowered.reasons.append("mixed precision is not written as one `with torch.autocast(...)` block around the forward pass")
        return
    if len(autocasts) > 1:
        lowered.reasons.append("the loop enters autocast more than once per batch")
        return
    index, call = autocasts[0]
    precision = _autocast_precision(facts, call)
    if isinstance(precision, str):
        lowered.reasons.append(precision)
        return
    inner = list(body[index].body.body)
    if any("backward" in code_of(s) for s in inner):
        lowered.reasons.append("backward() runs inside autocast")
        return

    # the scaler: scale(loss).backward(), [unscale_(opt)], step(opt), update()
    scaler_local = None
    for stmt in body:
        call_ = expr_call(stmt)
        if call_ is not None and isinstance(call_.func, cst.Attribute) and call_.func.attr.value == "backward":
            receiver = call_.func.value
            if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "scale":
                scaler_local = dotted_name(receiver.func.value)
    new_body: list[cst.BaseStatement] = []
    setup: list[cst.BaseStatement] = []
    if scaler_local is not None:
        scaler = facts.train.resolve_name(scaler_local)
        found = single_assignment(facts.script, facts.scope, scaler)
        if found is None or not isinstance(found[1], cst.Call) or facts.script.qualified_call(found[1]) not in GRAD_SCALERS:
            lowered.reasons.append(f"cannot find where the GradScaler {scaler!r} is created")
            return
        scaler_stmt, scaler_call = found
        enabled = None
        for arg in scaler_call.args:
            if arg.keyword is None and isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value == "cuda":
                continue
            if arg.keyword is not None and arg.keyword.value == "device" and isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value == "cuda":
                continue
            if arg.keyword is not None and arg.keyword.value == "enabled":
                enabled = code_of(arg.value)
                continue
            shown = f"{arg.keyword.value}={code_of(arg.value)}" if arg.keyword is not None else code_of(arg.value)
            lowered.reasons.append(f"the GradScaler is created with `{shown}` (Lightning's 16-mixed uses a default GradScaler)")
            return
        fp16 = "16-mixed" in precision.leaves()
        if not fp16:
            if enabled != "False":
                lowered.reasons.append("a GradScaler scales the loss although autocast never uses float16")
                return
        elif enabled is not None and enabled != "True" and enabled not in precision.conditions_of("16-mixed"):
            lowered.reasons.append(f"the GradScaler is enabled by `{enabled}`, not by the condition that selects float16")
            return
        if enabled is None and fp16 and precision.code() != '"16-mixed"':
            when, _ = gpu_condition(facts)
            if not isinstance(when, str) or when not in precision.conditions_of("16-mixed"):
                lowered.reasons.append("the GradScaler is enabled on every GPU run but autocast uses float16 only on some")
                return
        for stmt in body:
            if stmt is body[index]:
                new_body.extend(block_statements(stmt))
                continue
            rewritten = _rewrite_scaler_statement(stmt, scaler_local)
            if rewritten is None:
                lowered.reasons.append(f"the loop uses the GradScaler {scaler_local!r} in a way Lightning's precision plugin does not")
                return
            new_body.extend(rewritten)
        calls = code_of(cst.Module(body))
        for method in ("step", "update"):
            if calls.count(f"{scaler_local}.{method}(") != 1:
                lowered.reasons.append(f"{scaler_local}.{method}() is not called exactly once per batch (Lightning calls it after every optimizer step)")
                return
        rest = _ScalerCalls({scaler_local})
        cst.Module(new_body).visit(rest)
        if rest.uses:
            lowered.reasons.append(f"the loop uses the GradScaler {scaler_local!r} in a way Lightning's precision plugin does not")
            return
        outside = _ScalerCalls({scaler})
        for stmt in _statements_outside(facts):
            if stmt is not scaler_stmt:
                stmt.visit(outside)
        if outside.uses:
            lowered.reasons.append(f"the GradScaler {scaler!r} is used outside the training loop (its state would be lost)")
            return
        setup.append(scaler_stmt)
    else:
        if "16-mixed" in precision.leaves():
            lowered.reasons.append("float16 autocast without a GradScaler (Lightning's 16-mixed scales the loss)")
            return
        new_body = body[:index] + block_statements(body[index]) + body[index + 1:]
    lowered.body = new_body
    lowered.setup.extend(setup)
    span = facts.script.span(body[index])
    if precision.leaves() == {"32-true"}:
        lowered.trainer_args.append(TrainerArgument("precision", '"32-true"'))
        lowered.changes.append(Change(span[0], span[1], "autocast is a no-op on this script's device: removed"))
    else:
        lowered.trainer_args.append(TrainerArgument("precision", precision.code()))
        lowered.changes.append(Change(span[0], span[1], f"autocast + GradScaler → Trainer(precision={precision.code()})"))


def _rewrite_scaler_statement(stmt: cst.BaseStatement, scaler: str) -> list[cst.BaseStatement] | None:
    """One statement of the loop with the scaler's calls lowered (None: a use we cannot lower)."""
    if isinstance(stmt, cst.If) and stmt.orelse is None and isinstance(stmt.body, cst.IndentedBlock):
        inner: list[cst.BaseStatement] = []
        for s in stmt.body.body:
            out = _rewrite_scaler_statement(s, scaler)
            if out is None:
                return None
            inner.extend(out)
        if not inner:
            return None
        return [stmt.with_changes(body=stmt.body.with_changes(body=inner))]
    call = expr_call(stmt)
    if call is None or not isinstance(call.func, cst.Attribute):
        return [stmt]
    method = call.func.attr.value
    receiver = call.func.value
    if method == "backward" and isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "scale" and dotted_name(receiver.func.value) == scaler:
        if len(receiver.args) != 1 or not isinstance(receiver.args[0].value, cst.Name) or call.args:
            return None
        return [statement_like(f"{receiver.args[0].value.value}.backward()", stmt)]
    if dotted_name(receiver) != scaler:
        return [stmt]
    if method == "step" and len(call.args) == 1 and call.args[0].keyword is None and isinstance(call.args[0].value, cst.Name):
        return [statement_like(f"{call.args[0].value.value}.step()", stmt)]
    if method in ("update", "unscale_") and (method == "unscale_" or not call.args):
        return []  # Lightning updates the scale after each step and unscales before clipping
    return None


def _statements_outside(facts: Facts) -> list[cst.BaseStatement]:
    """Top-level statements of the module except the training region and inlined functions."""
    skip = {facts.region, facts.train.loop} | set(facts.inlined_functions())
    out = []
    for stmt in facts.script.module.body:
        if stmt in skip:
            continue
        if isinstance(stmt, cst.FunctionDef) and facts.scope is stmt:
            out.extend(s for s in stmt.body.body if s not in skip)
            continue
        out.append(stmt)
    return out


