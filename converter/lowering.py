"""Lowering: rewrite a batch loop's mixed precision and gradient accumulation into the canonical
``zero_grad / backward / step`` loop plus the Trainer arguments that do the same thing.

- ``with torch.autocast(...)`` + ``GradScaler`` → ``Trainer(precision="16-mixed" | "bf16-mixed")``:
  Lightning runs every step under the same autocast and scales, unscales, steps and updates the
  loss scale the way the loop did (a scaler with default arguments);
- ``if (i + 1) % k == 0 or i + 1 == len(loader): step; zero_grad`` with ``loss = loss / k`` →
  ``Trainer(accumulate_grad_batches=k)``: Lightning divides the loss by k itself and steps on the
  last, incomplete group of an epoch too.

Each lowering either applies completely or says why not (``Lowered.reasons``); the plan then keeps
the loop as it is, in manual optimization, which trains the same. Nothing here changes the tree
of the script: the lowered body is a new list of statements.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import libcst as cst

from .analysis import AUTOCAST_DEVICES, Picture, SchedulerFact, _resolve_name
from .devices import gpu_condition
from .names import all_names, dotted, fresh_name, usage_of
from .transforms import block_statements
from .tree import expr_call as _expr_call

GRAD_SCALERS = {"torch.amp.GradScaler", "torch.cuda.amp.GradScaler", "torch.GradScaler", "torch.amp.grad_scaler.GradScaler"}
HALF = {"torch.float16", "torch.half"}
BFLOAT = {"torch.bfloat16"}


@dataclass
class Lowered:
    """The loop body after lowering, and what the Trainer must do instead."""

    body: list[cst.BaseStatement]
    trainer_args: list[str] = field(default_factory=list)
    changes: list[tuple[int, int, str]] = field(default_factory=list)
    setup: list[cst.BaseStatement] = field(default_factory=list)  #: statements to drop once nothing reads them
    schedulers: list[SchedulerFact] | None = None  #: schedulers as the lowered loop steps them
    reasons: list[str] = field(default_factory=list)  #: why a lowering did not apply
    eval_autocast: set[str] = field(default_factory=set)  #: autocast codes Lightning now applies to evaluation too
    loss_name: str | None = None  #: the (undivided) loss Lightning must be given

    @property
    def applied(self) -> bool:
        return bool(self.trainer_args)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _method_call(stmt: cst.BaseStatement, receivers: set[str], method: str) -> cst.Call | None:
    call = _expr_call(stmt)
    if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == method and dotted(call.func.value) in receivers:
        return call
    return None


def _stmt(code: str, like: cst.BaseStatement | None = None) -> cst.BaseStatement:
    new = cst.parse_statement(code + "\n")
    if like is not None and hasattr(like, "leading_lines"):
        new = new.with_changes(leading_lines=like.leading_lines)
    return new


def lower_loop(picture: Picture, body: list[cst.BaseStatement]) -> Lowered:
    """Apply every lowering that fits ``body`` (the training loop's statements)."""
    lowered = Lowered(body=list(body))
    _lower_mixed_precision(picture, lowered)
    _lower_accumulation(picture, lowered)
    return lowered


# ----------------------------------------------------------------------------------------
# mixed precision
# ----------------------------------------------------------------------------------------
def _single_assignment(picture: Picture, name: str) -> tuple[cst.BaseStatement, cst.BaseExpression] | None:
    from .analysis import _assignments, _scope_nodes

    found = _assignments(_scope_nodes(picture.module, picture.scope), name) or _assignments(list(picture.module.body), name)
    return found[0] if len(found) == 1 else None


def _autocast_call(picture: Picture, stmt: cst.BaseStatement) -> cst.Call | None:
    if isinstance(stmt, cst.With) and len(stmt.items) == 1 and isinstance(stmt.items[0].item, cst.Call) and stmt.items[0].asname is None:
        call = stmt.items[0].item
        if picture.imports.qualified_call(call) in AUTOCAST_DEVICES:
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


def _dtype_precision(picture: Picture, dtype: cst.BaseExpression | None, kind: str, gpu_when=None) -> _Precision | str:
    """The Lightning precision of autocast's ``dtype`` on device ``kind`` ("gpu"/"cpu").

    A dtype chosen by the same condition as the device (``torch.float16 if use_cuda else
    torch.bfloat16``) is read for the branch that device takes.
    """
    if dtype is None:
        return _Precision("16-mixed" if kind == "gpu" else "bf16-mixed")
    name = picture.imports.qualify(dotted(dtype))
    if name in HALF:
        if kind == "cpu":
            return "float16 autocast on the CPU has no Lightning precision (Lightning turns it into bf16-mixed)"
        return _Precision("16-mixed")
    if name in BFLOAT:
        return _Precision("bf16-mixed")
    if isinstance(dtype, cst.Name):
        found = _single_assignment(picture, _resolve_name(picture.train, dtype.value))
        if found is not None and isinstance(found[1], cst.IfExp):
            branch = found[1]
            if isinstance(gpu_when, str) and _code(branch.test) == gpu_when:
                return _dtype_precision(picture, branch.body if kind == "gpu" else branch.orelse, kind)
            then = _dtype_precision(picture, branch.body, kind)
            otherwise = _dtype_precision(picture, branch.orelse, kind)
            if isinstance(then, str):
                return then
            if isinstance(otherwise, str):
                return otherwise
            return _Precision.choose(_code(branch.test), then, otherwise)
    return f"cannot tell the autocast dtype `{_code(dtype)}`"


def _autocast_precision(picture: Picture, call: cst.Call) -> _Precision | str:
    qualified = picture.imports.qualified_call(call)
    device = AUTOCAST_DEVICES[qualified]
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
            _resolve_name(picture.train, dotted(device_expr) or "") in picture.device_names
            or (isinstance(device_expr, cst.Attribute) and device_expr.attr.value == "type" and _resolve_name(picture.train, dotted(device_expr.value) or "") in picture.device_names)
        ):
            dynamic = True
        else:
            return f"cannot tell autocast's device `{_code(device_expr) if device_expr is not None else '?'}`"
    if device not in (None, "cuda", "cpu"):
        return f"autocast on {device!r}"

    when, _ = gpu_condition(picture)

    def on(kind: str) -> _Precision | str:
        if not dynamic and (device == "cuda") != (kind == "gpu"):
            return _Precision("32-true")  # autocast for another device type changes nothing here
        return _dtype_precision(picture, dtype, kind, when)

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
        if picture.train.bindings:
            from .transforms import substitute_names

            enabled = substitute_names(enabled, picture.train.bindings)  # the Trainer is built in the caller
        literal = _code(enabled)
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


def _lower_mixed_precision(picture: Picture, lowered: Lowered) -> None:
    body = lowered.body
    lines = picture.lines
    autocasts = [(i, _autocast_call(picture, s)) for i, s in enumerate(body)]
    autocasts = [(i, c) for i, c in autocasts if c is not None]
    loop_code = _code(cst.Module(body))
    if not autocasts:
        if "autocast" in loop_code or "scaler" in loop_code.lower():
            lowered.reasons.append("mixed precision is not written as one `with torch.autocast(...)` block around the forward pass")
        return
    if len(autocasts) > 1:
        lowered.reasons.append("the loop enters autocast more than once per batch")
        return
    index, call = autocasts[0]
    precision = _autocast_precision(picture, call)
    if isinstance(precision, str):
        lowered.reasons.append(precision)
        return
    inner = list(body[index].body.body)
    if any("backward" in _code(s) for s in inner):
        lowered.reasons.append("backward() runs inside autocast")
        return

    # the scaler: scale(loss).backward(), [unscale_(opt)], step(opt), update()
    scaler_local = None
    for stmt in body:
        call_ = _expr_call(stmt)
        if call_ is not None and isinstance(call_.func, cst.Attribute) and call_.func.attr.value == "backward":
            receiver = call_.func.value
            if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "scale":
                scaler_local = dotted(receiver.func.value)
    new_body: list[cst.BaseStatement] = []
    setup: list[cst.BaseStatement] = []
    if scaler_local is not None:
        scaler = _resolve_name(picture.train, scaler_local)
        found = _single_assignment(picture, scaler)
        if found is None or not isinstance(found[1], cst.Call) or picture.imports.qualified_call(found[1]) not in GRAD_SCALERS:
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
                enabled = _code(arg.value)
                continue
            shown = f"{arg.keyword.value}={_code(arg.value)}" if arg.keyword is not None else _code(arg.value)
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
            when, _ = gpu_condition(picture)
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
        calls = _code(cst.Module(body))
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
        for stmt in _statements_outside(picture):
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
    lowered.eval_autocast.add(_code(call))
    span = lines.span(body[index])
    if precision.leaves() == {"32-true"}:
        lowered.trainer_args.append('precision="32-true"')
        lowered.changes.append((span[0], span[1], "autocast is a no-op on this script's device: removed"))
    else:
        lowered.trainer_args.append(f"precision={precision.code()}")
        lowered.changes.append((span[0], span[1], f"autocast + GradScaler → Trainer(precision={precision.code()})"))


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
    call = _expr_call(stmt)
    if call is None or not isinstance(call.func, cst.Attribute):
        return [stmt]
    method = call.func.attr.value
    receiver = call.func.value
    if method == "backward" and isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "scale" and dotted(receiver.func.value) == scaler:
        if len(receiver.args) != 1 or not isinstance(receiver.args[0].value, cst.Name) or call.args:
            return None
        return [_stmt(f"{receiver.args[0].value.value}.backward()", stmt)]
    if dotted(receiver) != scaler:
        return [stmt]
    if method == "step" and len(call.args) == 1 and call.args[0].keyword is None and isinstance(call.args[0].value, cst.Name):
        return [_stmt(f"{call.args[0].value.value}.step()", stmt)]
    if method in ("update", "unscale_") and (method == "unscale_" or not call.args):
        return []  # Lightning updates the scale after each step and unscales before clipping
    return None


def _statements_outside(picture: Picture) -> list[cst.BaseStatement]:
    """Top-level statements of the module except the training region and inlined functions."""
    from .analysis import phase_functions

    skip = {picture.region, picture.train.loop} | set(phase_functions(picture))
    out = []
    for stmt in picture.module.body:
        if stmt in skip:
            continue
        if isinstance(stmt, cst.FunctionDef) and picture.scope is stmt:
            out.extend(s for s in stmt.body.body if s not in skip)
            continue
        out.append(stmt)
    return out


# ----------------------------------------------------------------------------------------
# gradient accumulation
# ----------------------------------------------------------------------------------------
def _is_zero(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "0"


def _index_plus_one(node: cst.BaseExpression, index: str) -> bool:
    """``i + 1`` (or ``(i + 1)``)."""
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Add)
        and isinstance(node.left, cst.Name)
        and node.left.value == index
        and isinstance(node.right, cst.Integer)
        and node.right.value == "1"
    )


def _every_k(test: cst.BaseExpression, index: str) -> cst.BaseExpression | None:
    """``(i + 1) % k == 0`` → k."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.Equal) and _is_zero(test.comparisons[0].comparator):
        left = test.left
        if isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Modulo) and _index_plus_one(left.left, index):
            return left.right
    return None


def _last_batch(test: cst.BaseExpression, index: str, loader: str) -> bool:
    """``i + 1 == len(loader)`` or ``i == len(loader) - 1``."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.Equal)):
        return False
    left, right = test.left, test.comparisons[0].comparator

    def is_len(node) -> bool:
        return isinstance(node, cst.Call) and dotted(node.func) == "len" and len(node.args) == 1 and _code(node.args[0].value) == loader

    for a, b in ((left, right), (right, left)):
        if _index_plus_one(a, index) and is_len(b):
            return True
        if isinstance(a, cst.Name) and a.value == index and isinstance(b, cst.BinaryOperation) and isinstance(b.operator, cst.Subtract) and is_len(b.left) and _code(b.right) == "1":
            return True
    return False


def _lower_accumulation(picture: Picture, lowered: Lowered) -> None:
    body = lowered.body
    train = picture.train
    optimizers = {o.name for o in picture.optimizers} | {p for p, v in train.bindings.items() if dotted(v) in {o.name for o in picture.optimizers}}
    guarded = [
        (i, s) for i, s in enumerate(body)
        if isinstance(s, cst.If) and any(_method_call(inner, optimizers, "step") for inner in getattr(s.body, "body", ()))
    ]
    if len(guarded) != 1 or len(picture.optimizers) != 1:
        return
    position, guard = guarded[0]
    index = train.index_name
    if guard.orelse is not None or index is None or train.index_start is not None:
        lowered.reasons.append("optimizer.step() is conditional and not the `(i + 1) % k == 0` accumulation pattern")
        return
    test = guard.test
    parts = [test.left, test.right] if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or) else [test]
    k = next((_every_k(p, index) for p in parts if _every_k(p, index) is not None), None)
    if k is None:
        lowered.reasons.append("optimizer.step() is conditional and not the `(i + 1) % k == 0` accumulation pattern")
        return
    k_code = _code(k)
    from .analysis import _loop_loader

    raw_loader = _loop_loader(train.loop, picture.imports)[0]
    loader_code = _code(raw_loader) if raw_loader is not None else ""
    if len(parts) != 2 or not any(_last_batch(p, index, loader_code) for p in parts):
        lowered.reasons.append(
            f"gradient accumulation does not step on the last, incomplete group of {k_code} batches of an epoch "
            f"(Trainer(accumulate_grad_batches={k_code}) would); add `or {index} + 1 == len({loader_code})` to convert it"
        )
        return
    # the if may hold only what Lightning does at an optimizer step
    schedulers = {f.name: f for f in picture.schedulers}
    moved_schedulers: dict[str, SchedulerFact] = {}
    for inner in guard.body.body:
        call = _expr_call(inner)
        name = picture.imports.qualified_call(call) if call is not None else None
        if _method_call(inner, optimizers | set(picture.model_names), "step") or _method_call(inner, optimizers | set(picture.model_names), "zero_grad"):
            continue
        if name and name.startswith("torch.nn.utils.clip_grad"):
            continue
        sched = next((n for n in schedulers if _method_call(inner, {n}, "step")), None)
        if sched is not None and not call.args:
            moved_schedulers[sched] = dataclasses.replace(schedulers[sched], step_stmt=inner, step_where="batch")
            continue
        lowered.reasons.append(f"the accumulation `if` also runs `{_code(inner).strip()}` once every {k_code} batches")
        return
    # the loss must be divided by k, as Lightning does
    backward_at = [i for i, s in enumerate(body) if _is_backward_statement(s)]
    if len(backward_at) != 1 or backward_at[0] > position:
        lowered.reasons.append("backward() is not called once, before the accumulation `if`")
        return
    b = backward_at[0]
    backward = _expr_call(body[b])
    receiver = backward.func.value
    new_body = list(body)
    undivided = None
    if isinstance(receiver, cst.BinaryOperation) and isinstance(receiver.operator, cst.Divide) and _code(receiver.right) == k_code and isinstance(receiver.left, cst.Name):
        # (loss / k).backward()
        undivided = receiver.left.value
        new_body[b] = _stmt(f"{undivided}.backward()", body[b])
    elif isinstance(receiver, cst.Name):
        loss = receiver.value
        for j in range(b - 1, -1, -1):
            stmt = body[j]
            if loss not in usage_of(stmt).stores:
                continue
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and _code(small.targets[0].target) == loss and isinstance(small.value, cst.BinaryOperation) and isinstance(small.value.operator, cst.Divide) and _code(small.value.right) == k_code:
                undivided = fresh_name(f"{loss}_for_step", all_names(picture.module))
                if _code(small.value.left) == loss:  # loss = loss / k: keep the line, remember the loss first
                    new_body[j:j + 1] = [_stmt(f"{undivided} = {loss}", stmt), stmt.with_changes(leading_lines=[])]
                else:
                    new_body[j:j + 1] = [
                        _stmt(f"{undivided} = {_code(small.value.left)}", stmt),
                        _stmt(f"{loss} = {undivided} / {k_code}"),
                    ]
                b += 1
                new_body[b] = _stmt(f"{undivided}.backward()", body[backward_at[0]])
            break
    if undivided is None:
        lowered.reasons.append(
            f"the loop does not divide the loss by {k_code} before backward(); Trainer(accumulate_grad_batches={k_code}) "
            f"would, scaling every gradient by 1/{k_code}"
        )
        return
    guard_at = new_body.index(guard)
    new_body[guard_at:guard_at + 1] = block_statements(guard)
    lowered.body = new_body
    lowered.loss_name = undivided
    from .transforms import substitute_names

    trainer_k = _code(substitute_names(k, train.bindings)) if train.bindings else k_code  # in the caller's terms
    lowered.trainer_args.append(f"accumulate_grad_batches={trainer_k}")
    if moved_schedulers:
        lowered.schedulers = [moved_schedulers.get(f.name, f) for f in picture.schedulers]
    span = picture.lines.span(guard)
    lowered.changes.append((span[0], span[1], f"gradient accumulation → Trainer(accumulate_grad_batches={k_code}) (Lightning divides the loss by {k_code})"))


def _is_backward_statement(stmt: cst.BaseStatement) -> bool:
    call = _expr_call(stmt)
    return call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "backward"


