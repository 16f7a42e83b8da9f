"""Plan: from the picture of a script, decide what to emit.

Automatic optimization when the batch loop is the canonical ``zero_grad / backward / step``
shape; manual optimization (the loop's own calls, ``self.manual_backward``) when it is not but
the semantics can be kept; :class:`~.analysis.Unsupported` otherwise. The plan holds the bodies
of every hook as statement lists, already transformed; ``emit.py`` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .analysis import PLATEAU, Phase, Picture, SchedulerFact, Unsupported, _no_grad_with, is_autocast_item, is_no_grad_item, phase_functions
from .lowering import Lowered, lower_loop
from .metric_origins import metric_origin
from .names import NameUsage, dotted, param_names, usage_of
from .result import LoggedMetric
from .transforms import (
    ContinueToReturn,
    RemoveReceiverCalls,
    RemoveCalls,
    RenameToSelf,
    ReplaceBackward,
    SUMMARY_WRITERS,
    WriterToLog,
    StripDeviceMoves,
    apply,
    expr,
    self_attribute,
    substitute_names,
    unwrap_no_grad,
)

#: attributes a LightningModule already has: hook state must not shadow them
RESERVED_ATTRIBUTES = {
    "device", "dtype", "trainer", "logger", "loggers", "log", "log_dict", "global_step", "current_epoch",
    "training", "train", "eval", "hparams", "model", "optimizers", "lr_schedulers", "forward", "parameters",
    "automatic_optimization", "example_input_array", "precision", "fabric", "on_gpu", "state_dict", "to", "cuda",
    "cpu", "half", "float", "double", "zero_grad", "modules", "children", "buffers", "apply", "type", "name",
}

HOOK_ORDER = (
    "on_train_epoch_start",
    "training_step",
    "on_validation_epoch_start",
    "validation_step",
    "on_validation_epoch_end",
    "on_train_epoch_end",
    "on_test_epoch_start",
    "test_step",
    "on_test_epoch_end",
)


@dataclass
class Plan:
    picture: Picture
    mode: str  #: "automatic" or "manual"
    manual_reason: str | None
    hooks: dict[str, list[cst.BaseStatement]]
    step_params: dict[str, str]  #: hook -> name of its batch-index parameter
    batch_params: dict[str, str]  #: hook -> name of its batch parameter
    loss_name: str | None
    optimizer_names: list[str]
    configured_schedulers: list[tuple[SchedulerFact, str, str | None]]  #: (fact, interval, monitor)
    removed_statements: list[cst.BaseStatement]
    declarations: dict[str, list[tuple[str, str]]]  #: hook -> (keyword, name): global/nonlocal declarations
    scope_is_function: bool
    bindings_needed: list[str]  #: names to bind to None before the class (nonlocal needs a binding)
    self_state: dict[str, str]
    model_attr: str
    gradient_clip: tuple[str, str] | None = None  #: (algorithm, value code) for the Trainer
    notes: list[tuple[int, str]] = field(default_factory=list)
    trainer_args: list[str] = field(default_factory=list)  #: from lowering: precision=, accumulate_grad_batches=
    lowering_changes: list[tuple[int, int, str]] = field(default_factory=list)
    setup_to_drop: list[cst.BaseStatement] = field(default_factory=list)  #: dropped once nothing reads them
    tensorboard_dir: str | None = None  #: the SummaryWriter's log_dir (code): Lightning's TensorBoardLogger writes there
    hook_notes: list[tuple[str, int, str]] = field(default_factory=list)  #: (hook, original line, message) to review
    metrics: list[LoggedMetric] = field(default_factory=list)  #: epoch metrics logged, and where the original computes them

    def describe(self) -> list[str]:
        out = [f"optimization: {self.mode}" + (f" ({self.manual_reason})" if self.manual_reason else "")]
        for arg in self.trainer_args:
            out.append(f"Trainer({arg})")
        for name in HOOK_ORDER:
            if self.hooks.get(name):
                out.append(f"emit {name} ({len(self.hooks[name])} statements)")
        for fact, interval, monitor in self.configured_schedulers:
            out.append(f"configure_optimizers: {fact.name} interval={interval!r}" + (f" monitor={monitor!r}" if monitor else ""))
        if self.self_state:
            out.append("state kept on the module: " + ", ".join(f"{k} -> self.{v}" for k, v in self.self_state.items()))
        return out


def _is_call_stmt(stmt: cst.BaseStatement, receiver: str | None, method: str) -> bool:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
        value = stmt.body[0].value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == method:
            return receiver is None or dotted(value.func.value) == receiver
    return False


def _contains(node: cst.CSTNode, predicate) -> bool:
    found = False

    class _Finder(cst.CSTVisitor):
        def on_visit(self, n):
            nonlocal found
            if predicate(n):
                found = True
            return not found

    node.visit(_Finder())
    return found


def _is_backward_call(n) -> bool:
    return isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value == "backward"


def _loop_breaks(loop: cst.For) -> cst.Break | None:
    """A ``break`` that belongs to ``loop`` (not to an inner loop)."""
    found = []

    class _Breaks(cst.CSTVisitor):
        depth = 0

        def visit_For(self, node):
            if node is loop:
                return True
            self.depth += 1

        def leave_For(self, node):
            if node is not loop:
                self.depth -= 1

        def visit_While(self, node):
            self.depth += 1

        def leave_While(self, node):
            self.depth -= 1

        def visit_FunctionDef(self, node):
            return False

        def visit_Break(self, node):
            if self.depth == 0:
                found.append(node)

    loop.visit(_Breaks())
    return found[0] if found else None


def _choose_mode_lowered(picture: Picture, body: list[cst.BaseStatement]) -> tuple[str, str | None, dict, Lowered | None]:
    """Lower mixed precision and accumulation when that makes the loop canonical, else keep it.

    Returns (mode, manual reason, info, the lowering used or None).
    """
    lowered = lower_loop(picture, body)
    if lowered.applied:
        mode, reason, info = choose_mode(picture, lowered.body, picture.train.bindings)
        if mode == "automatic":
            if lowered.loss_name is not None:
                info["loss_name"] = lowered.loss_name
            return mode, reason, info, lowered
        lowered.reasons.append(reason)
    mode, reason, info = choose_mode(picture, body, picture.train.bindings)
    if mode == "manual" and lowered.reasons:
        reason = "; ".join(dict.fromkeys(lowered.reasons))
    return mode, reason, info, None


def choose_mode(picture: Picture, body: list[cst.BaseStatement], bindings) -> tuple[str, str | None, dict]:
    """Automatic optimization when the batch body is canonical; else manual, with the reason."""
    global_names = {o.name for o in picture.optimizers}
    optimizer_names = global_names | {param for param, value in bindings.items() if dotted(value) in global_names}
    model_names = set(picture.model_names) | {param for param, value in bindings.items() if dotted(value) in picture.model_names}
    info: dict = {}
    if len(picture.optimizers) != 1:
        return "manual", f"{len(picture.optimizers)} optimizers", info
    backward_positions = [i for i, s in enumerate(body) if _contains(s, _is_backward_call)]
    if len(backward_positions) != 1:
        return "manual", "backward() is called more than once per batch", info
    b = backward_positions[0]
    stmt = body[b]
    if not (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and _is_backward_call(stmt.body[0].value)
        and isinstance(stmt.body[0].value.func.value, cst.Name)
        and not stmt.body[0].value.args
    ):
        return "manual", "backward() is conditional or called on an expression", info
    loss_name = stmt.body[0].value.func.value.value
    steps = [i for i, s in enumerate(body) if any(_is_call_stmt(s, name, "step") for name in optimizer_names)]
    all_steps = [s for s in body if _contains(s, lambda n: isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value == "step" and dotted(n.func.value) in optimizer_names)]
    if len(steps) != 1 or len(all_steps) != 1 or steps[0] < b:
        return "manual", "optimizer.step() is conditional or not after backward()", info
    s = steps[0]
    zero = [i for i, st in enumerate(body) if any(_is_call_stmt(st, name, "zero_grad") for name in optimizer_names | model_names)]
    all_zero = [st for st in body if _contains(st, lambda n: isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value == "zero_grad")]
    if len(zero) != 1 or len(all_zero) != 1:
        return "manual", "gradients are not zeroed exactly once per batch", info
    if b < zero[0] < s:
        return "manual", "zero_grad() runs between backward() and step()", info
    between = [st for i, st in enumerate(body) if b < i < s and i not in zero]
    clips = [(st, _gradient_clipping([st], picture, model_names)) for st in between]
    clips = [(st, clip) for st, clip in clips if clip is not None]
    if len(clips) > 1:
        return "manual", "gradients are clipped more than once", info
    clip_stmts = [st for st, _ in clips]
    others = [st for st in between if st not in clip_stmts]
    watched = optimizer_names | model_names | {f.name for f in picture.schedulers}
    if any(not _neutral_between(st, watched, loss_name) for st in others):
        return "manual", "the loop runs code between backward() and step()", info
    if clips:
        info["clip"] = clips[0][1]
    between = clip_stmts
    after = [st for i, st in enumerate(body) if i > s and i not in zero]
    sched_names = {f.name for f in picture.schedulers}
    after_checked = [st for st in after if not any(_is_call_stmt(st, n, "step") for n in sched_names)]
    for st in after_checked:
        usage = usage_of(st)
        if model_names & usage.loads or _contains(st, lambda n: isinstance(n, cst.Attribute) and n.attr.value in ("grad", "parameters", "named_parameters")):
            return "manual", "the loop uses the model after optimizer.step()", info
        if loss_name in usage.stores:
            return "manual", f"{loss_name!r} is reassigned after backward()", info
        if _contains(st, lambda n: isinstance(n, cst.Continue)):
            return "manual", "`continue` after backward()", info
        for opt in optimizer_names:
            if opt in usage.loads and not _only_param_group_reads(st, opt):
                return "manual", "the loop uses the optimizer after step()", info
    for i, st in enumerate(body):
        for name in sched_names:
            if _is_call_stmt(st, name, "step") and i < s:
                return "manual", "scheduler.step() runs before optimizer.step()", info
    info["loss_name"] = loss_name
    info["remove"] = [body[b], body[s], body[zero[0]]] + between
    return "automatic", None, info


def _neutral_between(stmt: cst.BaseStatement, watched: set[str], loss_name: str) -> bool:
    """Code between backward() and step() that may run before backward() instead (as it does in
    ``training_step``): bookkeeping on values, such as ``total += loss.item()`` or a print. It
    must not touch the model, the optimizer, a scheduler, gradients or the loss variable."""
    usage = usage_of(stmt)
    if (usage.loads | usage.stores) & watched or loss_name in usage.stores:
        return False
    return not _contains(stmt, lambda n: (
        isinstance(n, (cst.Continue, cst.Break, cst.Return, cst.Global, cst.Nonlocal))
        or (isinstance(n, cst.Attribute) and n.attr.value in ("grad", "parameters", "named_parameters", "backward", "step", "zero_grad", "data"))
        or (isinstance(n, cst.Name) and n.value in ("scaler", "model", "optimizer"))
    ))


CLIP_FUNCTIONS = {
    "torch.nn.utils.clip_grad_norm_": ("norm", ("max_norm",)),
    "torch.nn.utils.clip_grad.clip_grad_norm_": ("norm", ("max_norm",)),
    "torch.nn.utils.clip_grad_value_": ("value", ("clip_value",)),
    "torch.nn.utils.clip_grad.clip_grad_value_": ("value", ("clip_value",)),
}


def _manual_loss_name(body: list[cst.BaseStatement]) -> str | None:
    """The loss of a manual loop when one top-level ``loss.backward()`` runs every batch and the
    name is not rebound after it (so it still holds the loss at the end of the step)."""
    positions = [i for i, s in enumerate(body) if _contains(s, _is_backward_call)]
    if len(positions) != 1:
        return None
    stmt = body[positions[0]]
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if not (_is_backward_call(call) and isinstance(call.func.value, cst.Name)):
        return None
    name = call.func.value.value
    if any(name in usage_of(s).stores for s in body[positions[0] + 1:]):
        return None
    return name


def _gradient_clipping(between, picture: Picture, model_names: set[str]):
    """``clip_grad_norm_(model.parameters(), X)`` between backward and step -> (algorithm, X)."""
    stmt = between[0]
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call):
        return None
    name = picture.imports.qualified_call(call)
    if name not in CLIP_FUNCTIONS:
        return None
    algorithm, keywords = CLIP_FUNCTIONS[name]
    args = list(call.args)
    if not args or args[0].keyword is not None:
        return None
    params = args[0].value
    if not (
        isinstance(params, cst.Call)
        and isinstance(params.func, cst.Attribute)
        and params.func.attr.value == "parameters"
        and not params.args
        and dotted(params.func.value) in model_names
    ):
        return None
    value = None
    for arg in args[1:]:
        if arg.keyword is None and value is None:
            value = arg.value
        elif arg.keyword is not None and arg.keyword.value in keywords:
            value = arg.value
        elif arg.keyword is not None and arg.keyword.value == "norm_type" and cst.Module([]).code_for_node(arg.value) in ("2", "2.0"):
            continue
        else:
            return None
    if value is None:
        return None
    return algorithm, value


def _only_param_group_reads(stmt, name: str) -> bool:
    ok = True

    class _Uses(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == name:
                nonlocal ok
                if node.attr.value != "param_groups":
                    ok = False
                return False
            return True

        def visit_Name(self, node):
            nonlocal ok
            if node.value == name:
                ok = False

    stmt.visit(_Uses())
    return ok


def make_plan(picture: Picture) -> Plan:
    lines = picture.lines
    train = picture.train
    loop_break = _loop_breaks(train.loop)
    epoch_map: dict[str, cst.BaseExpression] = {}
    if picture.epoch_var:
        code = "self.current_epoch"
        if picture.epoch_start is not None:
            code = f"(self.current_epoch + {cst.Module([]).code_for_node(picture.epoch_start)})"
        epoch_map[picture.epoch_var] = expr(code)

    model = picture.model_name
    model_attr = model
    device_map = {name: expr("self.device") for name in picture.device_names}

    bars = [p for p in (train, picture.val) if p is not None and p.progress_bar]
    precision_lowered = False

    def prepare(phase: Phase | None, statements: list[cst.BaseStatement], batch_roots: set[str] | None = None, drop_modes: bool = True):
        """Bindings, the epoch variable, device moves, model references, mode switches."""
        out = [s for s in statements if not any(s is b.progress_bar_assign for b in bars)]
        if bars:
            # Lightning draws its own progress bar: the loop's bar and its updates go
            out = apply(RemoveReceiverCalls({b.progress_bar for b in bars}), out)
        if phase is not None and phase.bindings:
            out = substitute_names(out, phase.bindings)
        out = substitute_names(out, epoch_map)
        if batch_roots is not None:
            out = apply(StripDeviceMoves(picture.device_names, batch_roots), out)
        out = substitute_names(out, dict(device_map, **{m: self_attribute(m) for m in picture.model_names}))
        if drop_modes:
            out = apply(RemoveCalls({f"self.{m}.{mode}" for m in picture.model_names for mode in ("train", "eval")}), out)
        if drop_modes:  # Lightning's evaluation hooks already run without gradients (and in its precision)
            out = unwrap_no_grad(out, lambda s: _no_grad_with(s, picture.imports), dropped_with_item)
        return out

    def keep_contexts(phase: Phase, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        """An evaluation under ``with no_grad(), autocast(...)``: its step keeps the autocast,
        unless Lightning's precision (lowered from the training loop) applies it already."""
        if not phase.contexts or precision_lowered or not statements:
            return statements
        items = [substitute_names(substitute_names(item, phase.bindings or {}), device_map) for item in phase.contexts]
        items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        body = [statements[0].with_changes(leading_lines=[])] + statements[1:]
        return [cst.With(items=items, body=cst.IndentedBlock(body=body), leading_lines=list(getattr(statements[0], "leading_lines", [])))]

    def dropped_with_item(item: cst.WithItem) -> bool:
        if is_no_grad_item(item, picture.imports):
            return True
        return precision_lowered and is_autocast_item(item, picture.imports)

    def batch_roots(phase: Phase) -> set[str]:
        roots = usage_of(cst.Module([cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(phase.batch_target)], cst.Name("batch"))])])).stores
        # tensors computed from the batch inside the loop body count too
        return roots | _derived_names(cst.Module(phase.body), roots)

    # --- training -------------------------------------------------------------------------
    raw_body = train.body
    mode, manual_reason, info, lowered = _choose_mode_lowered(picture, raw_body)
    if lowered is not None:
        raw_body = lowered.body
        precision_lowered = any(arg.startswith("precision=") for arg in lowered.trainer_args)
    schedulers = lowered.schedulers if lowered is not None and lowered.schedulers is not None else picture.schedulers
    removed: list[cst.BaseStatement] = []
    configured: list[tuple[SchedulerFact, str, str | None]] = []
    hooks: dict[str, list[cst.BaseStatement]] = {name: [] for name in HOOK_ORDER}
    loss_name = info.get("loss_name")

    if mode == "automatic":
        drop = info["remove"]
        for fact in schedulers:
            if fact.step_stmt is None:
                continue
            if fact.step_where == "batch" and fact.step_arg is None and fact.qualname != PLATEAU:
                configured.append((fact, "step", None))
                drop = drop + [fact.step_stmt]
            elif fact.step_where == "epoch" and fact.qualname != PLATEAU and fact.step_arg is None:
                configured.append((fact, "epoch", None))
            elif fact.step_where == "epoch" and fact.qualname == PLATEAU and isinstance(fact.step_arg, cst.Name):
                configured.append((fact, "epoch", fact.step_arg.value))
        body = [s for s in raw_body if not any(s is d for d in drop)]
        removed.extend(drop)
    else:
        body = apply(ReplaceBackward(), raw_body)
    if loop_break is not None:
        body = _convert_breaks(body, raw_body, mode, info, loop_break, lines)
    body = apply(ContinueToReturn(), body)
    configured_stmts = [f.step_stmt for f, _, _ in configured]

    def without_configured(statements):
        return [s for s in statements if not any(s is c for c in configured_stmts)]

    val = picture.val
    test = picture.test
    roots = batch_roots(train)
    training = _unpack_phase(train) + prepare(train, body, roots)
    hooks["training_step"] = training
    # model.train() at the start of an epoch is Lightning's job, unless code that stays in the
    # hooks (or a function it calls) switches the model to eval mode: then keep it.
    keep_train = _evals_outside_phases(picture)
    hooks["on_train_epoch_start"] = prepare(None, picture.pre, drop_modes=not keep_train) + prepare(train, train.pre, drop_modes=not keep_train)
    if loop_break is not None:
        hooks["on_train_epoch_start"].insert(0, _stmt(f"self.{SKIP_FLAG} = False"))
        training.insert(0, _stmt(f"if self.{SKIP_FLAG}:\n    return None"))
    after_train = prepare(train, train.post)
    if train.result_target is not None and train.return_value is not None:
        after_train.append(_assign(train.result_target, substitute_names(train.return_value, train.bindings)))
    elif train.result_target is not None and train.rewritten_holder is not None:
        after_train.append(_assign(train.result_target, cst.Name("None")))  # the function returned nothing
    if train.rewritten_holder is not None:
        after_train.append(prepare(None, [train.rewritten_holder], drop_modes=False)[0])
    mid_statements = without_configured(picture.mid)
    if val is not None:
        mid_statements = _drop_mode_calls_of(mid_statements, picture.model_names)
    mid = after_train + prepare(None, mid_statements, drop_modes=False)

    if val is not None:
        val_roots = batch_roots(val)
        hooks["on_validation_epoch_start"] = mid + prepare(val, val.pre)
        hooks["validation_step"] = _unpack_phase(val) + keep_contexts(val, prepare(val, list(val.loop.body.body), val_roots))
        end = prepare(val, val.post)
        if val.result_target is not None and val.return_value is not None:
            end.append(_assign(val.result_target, substitute_names(val.return_value, val.bindings)))
        hooks["on_validation_epoch_end"] = end + prepare(None, without_configured(picture.post), drop_modes=False)
    else:
        hooks["on_train_epoch_end"] = mid + prepare(None, without_configured(picture.post), drop_modes=False)

    if test is not None:
        test_roots = batch_roots(test)
        hooks["test_step"] = _unpack_phase(test) + keep_contexts(test, prepare(test, list(test.loop.body.body), test_roots))
        hooks["on_test_epoch_start"] = prepare(test, test.pre)
        end = prepare(test, test.post)
        if test.result_target is not None and test.return_value is not None:
            end.append(_assign(expr("self.test_result"), substitute_names(test.return_value, test.bindings)))
        hooks["on_test_epoch_end"] = end

    # --- logging ---------------------------------------------------------------------------
    if loss_name and mode == "automatic":
        hooks["training_step"] += [_stmt(f'self.log("train_loss", {loss_name})'), _stmt(f"return {loss_name}")]
    elif loss_name:
        hooks["training_step"].append(_stmt(f'self.log("train_loss", {loss_name})'))
    elif mode == "manual" and loop_break is None:
        logged = _manual_loss_name(raw_body)
        if logged is not None and not _contains(cst.Module(hooks["training_step"]), lambda n: isinstance(n, cst.Return)):
            hooks["training_step"].append(_stmt(f'self.log("train_loss", {logged})'))
    monitors = [m for _, _, m in configured if m]
    logged_metrics: list[LoggedMetric] = []
    for stage, hook_names in (("val", ("on_validation_epoch_start", "validation_step", "on_validation_epoch_end")),
                              ("test", ("on_test_epoch_start", "test_step", "on_test_epoch_end"))):
        if not hooks[hook_names[1]]:
            continue
        wanted = monitors if stage == "val" else []
        for monitor in wanted:
            if not any(_assigns_name(hooks[h], monitor) for h in hook_names):
                fact = next(f for f, _, m in configured if m == monitor)
                raise Unsupported(lines.line(fact.step_stmt), f"ReduceLROnPlateau is stepped on {monitor!r}, which the evaluation does not compute")
        metric_names = _metric_names([s for h in hook_names for s in hooks[h]], wanted)
        for name in metric_names:
            hooks[hook_names[2]].append(_stmt(f'self.log("{metric_key(stage, name)}", {name})'))
            origin = metric_origin(picture, stage, metric_key(stage, name), name)
            if origin is not None:
                logged_metrics.append(origin)
    if monitors and val is None:
        fact = next(f for f, _, m in configured if m)
        raise Unsupported(lines.line(fact.step_stmt), "ReduceLROnPlateau is stepped on a metric but there is no evaluation loop")
    configured = [(f, i, metric_key("val", m) if m else None) for f, i, m in configured]
    for fact, interval, monitor in configured:
        if fact.step_stmt not in removed:
            removed.append(fact.step_stmt)

    _check_loaders_visible(picture)

    # --- variables that cross hooks -----------------------------------------------------------
    scope_is_function = isinstance(picture.scope, cst.FunctionDef)
    declarations, self_state, bindings_needed = _share_state(picture, hooks, model_attr)
    # renames into self.<attr>
    if self_state:
        renamer = RenameToSelf(self_state)
        for name in hooks:
            hooks[name] = apply(renamer, hooks[name])
    if mode == "manual":
        names = [o.name for o in picture.optimizers]
        target = ", ".join(names) if len(names) > 1 else names[0]
        local_names = _optimizer_local_names(picture, train)
        if local_names:
            target = ", ".join(local_names) if len(local_names) > 1 else local_names[0]
        hooks["training_step"].insert(0, _stmt(f"{target} = self.optimizers()"))
    trainer_args = list(lowered.trainer_args) if lowered is not None else []
    lowering_changes = list(lowered.changes) if lowered is not None else []
    writers, tensorboard_dir = _summary_writers(picture)
    if writers:
        rewrite = WriterToLog(writers)
        for name in hooks:
            before = rewrite.replaced
            hooks[name] = apply(rewrite, hooks[name])
            if name == "training_step" and rewrite.replaced > before:
                trainer_args.append("log_every_n_steps=1")  # the script chose when to log: log every value it logs
        if rewrite.replaced:
            first, last = lines.span(picture.region)
            lowering_changes.append((first, last, f"SummaryWriter.add_scalar → self.log ({rewrite.replaced} call{'s' if rewrite.replaced > 1 else ''})"))
    gradient_clip = None
    if mode == "automatic" and info.get("clip") is not None:
        algorithm, value = info["clip"]
        value = substitute_names(value, train.bindings) if train.bindings else value
        gradient_clip = (algorithm, cst.Module([]).code_for_node(value))
    plan = Plan(
        trainer_args=trainer_args,
        tensorboard_dir=tensorboard_dir if writers else None,
        lowering_changes=lowering_changes,
        setup_to_drop=list(lowered.setup) if lowered is not None else [],
        gradient_clip=gradient_clip,
        picture=picture,
        mode=mode,
        manual_reason=manual_reason,
        hooks=hooks,
        step_params={
            "training_step": step_index_param(train),
            "validation_step": step_index_param(val),
            "test_step": step_index_param(test),
        },
        batch_params={"training_step": batch_param(train), "validation_step": batch_param(val), "test_step": batch_param(test)},
        loss_name=loss_name,
        optimizer_names=[o.name for o in picture.optimizers],
        configured_schedulers=configured,
        removed_statements=removed,
        declarations=declarations,
        scope_is_function=scope_is_function,
        bindings_needed=bindings_needed,
        self_state=self_state,
        model_attr=model_attr,
        metrics=logged_metrics,
    )
    if mode == "manual":
        plan.notes.append((lines.line(train.loop), f"manual optimization keeps the loop's own zero_grad/backward/step ({manual_reason})"))
    plan.hook_notes.extend(_checkpoint_notes(picture, hooks))
    return plan


def _checkpoint_notes(picture: Picture, hooks: dict[str, list[cst.BaseStatement]]) -> list[tuple[str, int, str]]:
    """``torch.save(model.state_dict(), path)`` inside a hook: kept, with a pointer to ModelCheckpoint."""
    saves: list[int] = []
    models = set(picture.model_names)

    class _Saves(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if picture.imports.qualified_call(node) == "torch.save" and node.args:
                first = node.args[0].value
                if isinstance(first, cst.Call) and isinstance(first.func, cst.Attribute) and first.func.attr.value == "state_dict" and dotted(first.func.value) in models:
                    saves.append(picture.lines.line(node))

    picture.region.visit(_Saves())
    for phase in (picture.train, picture.val):
        if phase is not None and phase.function is not None:
            phase.function.visit(_Saves())
    if not saves:
        return []
    hook = next((name for name in HOOK_ORDER if "torch.save(" in cst.Module(hooks.get(name) or []).code), None)
    if hook is None:
        return []
    message = (
        "the script saves its own checkpoints (kept: the files hold the plain model's state_dict and load as before); "
        "Lightning's ModelCheckpoint(monitor=..., mode=...) with trainer.test(ckpt_path=\"best\") can replace this, but its "
        "files are Lightning checkpoints whose state_dict keys carry the `model.` prefix of the wrapper"
    )
    return [(hook, saves[0], message)]


def _summary_writers(picture: Picture) -> tuple[set[str], str | None]:
    """Names bound to a ``SummaryWriter``, and its log_dir when it is created unconditionally."""
    names: set[str] = set()
    log_dir: list[str | None] = []
    imports = picture.imports

    class _Writers(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            value = node.value
            calls = [value] if isinstance(value, cst.Call) else [value.body, value.orelse] if isinstance(value, cst.IfExp) else []
            for call in calls:
                if isinstance(call, cst.Call) and imports.qualified_call(call) in SUMMARY_WRITERS:
                    for target in node.targets:
                        if isinstance(target.target, cst.Name):
                            names.add(target.target.value)
                    if isinstance(value, cst.Call):
                        arg = next((a for a in call.args if (a.keyword is None or a.keyword.value == "log_dir") and not a.star), None)
                        log_dir.append(cst.Module([]).code_for_node(arg.value) if arg is not None and call.args.index(arg) == 0 else None)
                    else:
                        log_dir.append(None)

    picture.module.visit(_Writers())
    return names, (log_dir[0] if len(log_dir) == 1 else None)


SKIP_FLAG = "skip_rest_of_epoch"


def _convert_breaks(body, raw_body, mode: str, info: dict, loop_break: cst.Break, lines) -> list[cst.BaseStatement]:
    """``break`` -> skip the rest of the epoch (after this batch's update, as the loop did)."""
    from .transforms import BreakToSkip

    value = None
    if mode == "automatic":
        backward_index = raw_body.index(info["remove"][0])
        position = next(i for i, stmt in enumerate(raw_body) if _contains(stmt, lambda n: n is loop_break))
        if position > backward_index:
            value = info["loss_name"]
    return apply(BreakToSkip(SKIP_FLAG, value), body)


def _optimizer_local_names(picture: Picture, phase: Phase) -> list[str]:
    """The names the training code uses for each optimizer (function parameters included)."""
    out = []
    for opt in picture.optimizers:
        local = opt.name
        for param, value in phase.bindings.items():
            if dotted(value) == opt.name:
                local = param
        out.append(local)
    return out if any(a != b.name for a, b in zip(out, picture.optimizers)) else []


def _evals_outside_phases(picture: Picture) -> bool:
    """Does any ``X.eval()`` call run outside the evaluation loops the conversion recognised?"""
    skip: set[cst.CSTNode] = set()
    for phase in (picture.val, picture.test):
        if phase is not None:
            skip.add(phase.holder)
            if phase.function is not None:
                skip.add(phase.function)
    if picture.val is not None:  # these are dropped: validation switches modes itself
        skip.update(s for s in picture.mid if _is_call_stmt(s, None, "eval"))
    found = False

    class _Evals(cst.CSTVisitor):
        def on_visit(self, node):
            nonlocal found
            if node in skip or found:
                return False
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "eval" and not node.args:
                found = True
            return True

    picture.module.visit(_Evals())
    if not found:
        return False
    # an eval() just before the final test loop is removed by the conversion too
    return True


def _drop_mode_calls(statements: list[cst.BaseStatement], model: str) -> list[cst.BaseStatement]:
    """``model.eval()`` / ``model.train()`` between training and evaluation are Lightning's job."""
    return [s for s in statements if not (_is_call_stmt(s, model, "eval") or _is_call_stmt(s, model, "train"))]


def _drop_mode_calls_of(statements: list[cst.BaseStatement], models: list[str]) -> list[cst.BaseStatement]:
    for model in models:
        statements = _drop_mode_calls(statements, model)
    return statements


def _derived_names(block: cst.CSTNode, roots: set[str]) -> set[str]:
    """Names assigned in ``block`` from expressions that read a root (one pass, in order)."""
    derived: set[str] = set()
    known = set(roots)

    class _Flow(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign):
            reads = usage_of(node.value).loads
            if reads & known:
                for target in node.targets:
                    stores = usage_of(cst.Module([cst.SimpleStatementLine([cst.Assign([target], cst.Name("x"))])])).stores
                    derived.update(stores)
                    known.update(stores)
            return False

    block.visit(_Flow())
    return derived


def _unpack_phase(phase: Phase) -> list[cst.BaseStatement]:
    """``images, labels = batch`` (and ``step = batch_idx + start`` for ``enumerate(loader, start)``)."""
    out = _unpack(phase.batch_target)
    if phase.index_start is not None and phase.index_name:
        start = cst.Module([]).code_for_node(phase.index_start)
        out.insert(0, _stmt(f"{phase.index_name} = batch_idx + {start}"))
    return out


def step_index_param(phase: Phase | None) -> str:
    if phase is None or not phase.index_name or phase.index_start is not None:
        return "batch_idx"
    return phase.index_name


def batch_param(phase: Phase | None) -> str:
    """The step's batch parameter: the loop's own name for the batch when it is a plain name."""
    if phase is not None and isinstance(phase.batch_target, cst.Name):
        return phase.batch_target.value
    return "batch"


def _unpack(target: cst.BaseExpression) -> list[cst.BaseStatement]:
    if isinstance(target, cst.Name):
        return []
    if isinstance(target, cst.Tuple) and target.lpar:
        target = target.with_changes(lpar=[], rpar=[])
    code = cst.Module([]).code_for_node(target)
    return [_stmt(f"{code} = batch")]


def _assign(target: cst.BaseExpression, value: cst.BaseExpression) -> cst.BaseStatement:
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def _stmt(code: str) -> cst.BaseStatement:
    return cst.parse_statement(code + "\n")


METRIC_WORDS = ("loss", "acc", "correct", "error", "err", "score", "f1", "auc", "metric", "ppl", "perplexity", "mse", "mae", "rmse", "psnr", "iou")
STAGE_PREFIXES = {"val": ("val", "valid", "eval"), "test": ("test",)}


def metric_key(stage: str, name: str) -> str:
    """The logged key for a metric variable: its own name when it already names the stage."""
    if name.lower().startswith(STAGE_PREFIXES[stage]):
        return name
    return f"{stage}_{name}"


def _metric_names(statements: list[cst.BaseStatement], forced: list[str]) -> list[str]:
    """Variables of an evaluation that hold a scalar metric, to log at the end of the epoch.

    Accumulators and results named like metrics (``test_loss``, ``correct``, ``val_acc``);
    not containers (initialised as ``[]``/``{}``) and not plural collections.
    """
    usage = usage_of(*statements)
    containers: set[str] = set()

    class _Inits(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign):
            if isinstance(node.value, (cst.List, cst.Dict, cst.ListComp, cst.DictComp, cst.Tuple, cst.Set)) or (
                isinstance(node.value, cst.Call) and dotted(node.value.func) in ("list", "dict", "set", "tuple", "torch.cat", "torch.stack", "np.array", "numpy.array")
            ):
                for target in node.targets:
                    containers.update(usage_of(cst.Module([cst.SimpleStatementLine([cst.Assign([target], cst.Name("x"))])])).stores)

    for stmt in statements:
        stmt.visit(_Inits())
    names = []
    for name in sorted(usage.stores):
        lowered = name.lower()
        if name in forced:
            names.append(name)
            continue
        if name in containers or name.startswith("_"):
            continue
        if lowered.endswith("s") and not lowered.endswith(("loss", "acc", "ss")):
            continue
        if any(word in lowered for word in METRIC_WORDS) and name not in ("loss_fn", "criterion"):
            names.append(name)
    for name in forced:
        if name not in names:
            names.append(name)
    return names


def _assigns_name(statements, name: str) -> bool:
    return name in usage_of(*statements).stores if statements else False


def _share_state(picture: Picture, hooks: dict[str, list[cst.BaseStatement]], model_attr: str):
    """Decide how each name assigned in a hook is shared.

    A name that the surrounding scope binds or reads keeps living there (``global`` /
    ``nonlocal`` in the hooks that assign it); a name used by several hooks (or read before it
    is assigned in a hook, like an accumulator) becomes module state ``self.<name>``; anything
    else stays a local of its hook.
    """
    usages: dict[str, NameUsage] = {name: usage_of(*stmts) for name, stmts in hooks.items() if stmts}
    before, after, called_free = _scope_flow(picture)
    scope_globals = _declared_globals(picture.scope) if isinstance(picture.scope, cst.FunctionDef) else set()
    declarations: dict[str, list[tuple[str, str]]] = {}
    self_state: dict[str, str] = {}
    bindings_needed: list[str] = []
    stored_anywhere = set().union(*(u.stores for u in usages.values())) if usages else set()
    phases = [p for p in (picture.train, picture.val, picture.test) if p is not None]
    reserved_names = {"self", "batch", "batch_idx"} | {batch_param(p) for p in phases} | {step_index_param(p) for p in phases}
    in_function = isinstance(picture.scope, cst.FunctionDef)
    for name in sorted(stored_anywhere - reserved_names):
        storing = [h for h, u in usages.items() if name in u.stores]
        reading = [h for h, u in usages.items() if name in u.loads]
        read_first = any(name in u.first_load_before_store for u in usages.values())
        bound_outside = name in before.stores or name in scope_globals
        flows_in = read_first and bound_outside
        flows_out = name in after.first_load_before_store or name in called_free
        if flows_in or flows_out:
            keyword = "nonlocal" if in_function and name not in scope_globals else "global"
            for hook in storing:
                declarations.setdefault(hook, []).append((keyword, name))
            if keyword == "nonlocal" and name not in before.stores and name not in after.stores:
                bindings_needed.append(name)
            continue
        crosses = any(h not in storing for h in reading) or any(name in usages[h].first_load_before_store for h in storing)
        if crosses:
            attribute = name if name not in RESERVED_ATTRIBUTES else f"_{name}"
            self_state[name] = attribute
    return declarations, self_state, bindings_needed


def _scope_flow(picture: Picture) -> tuple[NameUsage, NameUsage, set[str]]:
    """Name usage of the loop's scope before and after the converted region.

    Also the free names of the module's (non-inlined) functions when the scope is the module:
    those functions may read a global that the loop assigns.
    """
    scope = picture.scope
    skip = {picture.region}
    if picture.test is not None:
        skip.add(picture.test.holder)
    inlined = set(phase_functions(picture))
    statements = list(scope.body.body) if isinstance(scope, cst.FunctionDef) else list(picture.module.body)
    before, after = NameUsage(), NameUsage()
    called_free: set[str] = set()
    current = before
    test_holder = picture.test.holder if picture.test is not None else None
    seen_region = False
    for stmt in _flatten_without(statements, set(), stop=skip):
        if stmt is picture.region:
            current = after
            seen_region = True
            continue
        if stmt is test_holder:
            # what the script sets up between training and the test loop flows into the test hooks
            before.stores |= after.stores if seen_region else set()
            continue
        if stmt in inlined:
            continue
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and not isinstance(scope, cst.FunctionDef):
            called_free |= usage_of(stmt).loads
        stmt.visit(current)
    return before, after, called_free


def _check_loaders_visible(picture: Picture) -> None:
    """The loaders go to ``trainer.fit``/``test``: every name they use must exist there."""
    import builtins

    visible = set(dir(builtins)) | _scope_usage(picture).stores
    if isinstance(picture.scope, cst.FunctionDef):
        visible |= usage_of(*picture.module.body).stores | set(param_names(picture.scope.params))
    for label, phase in (("training", picture.train), ("validation", picture.val), ("test", picture.test)):
        if phase is None or phase.loader is None:
            continue
        missing = sorted(usage_of(cst.Module([cst.SimpleStatementLine([cst.Expr(phase.loader)])])).loads - visible)
        if missing:
            code = cst.Module([]).code_for_node(phase.loader)
            raise Unsupported(
                picture.lines.line(phase.loop),
                f"the {label} data loader `{code}` is built inside the loop ({', '.join(missing)} is not defined outside it); "
                "create it once before training",
            )


def _declared_globals(function: cst.FunctionDef) -> set[str]:
    names: set[str] = set()

    class _Globals(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return node is function

        def visit_ClassDef(self, node):
            return False

        def visit_Global(self, node: cst.Global):
            names.update(item.name.value for item in node.names)

    function.visit(_Globals())
    return names


def _scope_usage(picture: Picture) -> NameUsage:
    """Names the scope of the loop binds and reads outside the converted statements."""
    scope = picture.scope
    skip = {picture.region}
    if picture.test is not None:
        skip.add(picture.test.holder)
    inlined = set(phase_functions(picture))
    statements = list(scope.body.body) if isinstance(scope, cst.FunctionDef) else list(picture.module.body)
    usage = NameUsage()
    for stmt in _flatten_without(statements, skip):
        if stmt in inlined:
            continue
        stmt.visit(usage)
    return usage


def _flatten_without(statements, skip, stop=frozenset()):
    """Statements of a block in order, descending into compound statements that hold a skipped
    (or ``stop``) statement; skipped ones are left out, ``stop`` ones are yielded as markers."""
    for stmt in statements:
        if stmt in skip:
            continue
        if stmt in stop:
            yield stmt
            continue
        if isinstance(stmt, (cst.If, cst.For, cst.While, cst.With, cst.Try)) and _contains_any(stmt, set(skip) | set(stop)):
            # visit the header parts and the children separately
            header = _header_usage_node(stmt)
            if header is not None:
                yield header
            for block in _blocks(stmt):
                yield from _flatten_without(list(block.body), skip, stop)
        else:
            yield stmt


def _contains_any(node, targets) -> bool:
    return _contains(node, lambda n: n in targets)


def _header_usage_node(stmt):
    if isinstance(stmt, cst.If):
        return cst.SimpleStatementLine([cst.Expr(stmt.test)])
    if isinstance(stmt, (cst.For,)):
        return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(stmt.target)], stmt.iter)])
    if isinstance(stmt, cst.While):
        return cst.SimpleStatementLine([cst.Expr(stmt.test)])
    if isinstance(stmt, cst.With):
        return cst.SimpleStatementLine([cst.Expr(cst.Tuple([cst.Element(i.item) for i in stmt.items]))])
    return None


def _blocks(stmt):
    out = []
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock):
        out.append(body)
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            if isinstance(orelse.body, cst.IndentedBlock):
                out.append(orelse.body)
            orelse = orelse.orelse
        else:
            if isinstance(orelse.body, cst.IndentedBlock):
                out.append(orelse.body)
            orelse = None
    for handler in getattr(stmt, "handlers", ()) or ():
        out.append(handler.body)
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        out.append(final.body)
    return out
