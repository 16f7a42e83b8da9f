"""Analysis: a read-only picture of a plain PyTorch training script.

Finds the batch loop (the loop that calls ``loss.backward()``), the epoch loop around it (inline,
or calling a ``train(...)`` function), the evaluation loop run every epoch and the final test loop,
the optimizer(s), schedulers, the model, and the device handling. Nothing here changes the tree;
the plan (``plan.py``) decides what to emit from this picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .names import ImportTable, call_name, dotted, param_names, usage_of
from .tree import Lines, ParentMap, assigned_call, body_of, calls_named, expr_call


class Unsupported(Exception):
    """The script does something the converter cannot convert safely (line, reason)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


NO_GRAD_CONTEXTS = {"torch.no_grad", "torch.inference_mode", "torch.set_grad_enabled", "torch.autograd.no_grad"}
OPTIMIZER_PREFIX = "torch.optim."
SCHEDULER_PREFIX = "torch.optim.lr_scheduler."
PLATEAU = "torch.optim.lr_scheduler.ReduceLROnPlateau"
DEVICE_FUNCS = {"torch.device"}
TQDM_NAMES = {"tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "tqdm.trange", "tqdm.auto.trange", "tqdm"}


@dataclass
class Phase:
    """A loop over batches and the statements that run around it once per epoch/evaluation.

    When the phase comes from a called function (``train(model, loader, ...)``), ``function`` is
    that function, ``bindings`` maps its parameters to the caller's argument expressions and
    ``result_target`` is what the caller assigns the return value to.
    """

    loop: cst.For
    pre: list[cst.BaseStatement]
    post: list[cst.BaseStatement]
    holder: cst.BaseStatement  #: the statement (in the epoch body / scope) that runs this phase
    function: cst.FunctionDef | None = None
    bindings: dict[str, cst.BaseExpression] = field(default_factory=dict)
    result_target: cst.BaseExpression | None = None
    return_value: cst.BaseExpression | None = None
    loader: cst.BaseExpression | None = None  #: the iterated data loader, in the caller's terms
    batch_target: cst.BaseExpression | None = None
    index_name: str | None = None  #: ``i`` of ``for i, batch in enumerate(loader)``
    index_start: cst.BaseExpression | None = None  #: ``start`` of ``enumerate(loader, start)``
    progress_bar: str | None = None  #: ``pbar`` of ``pbar = tqdm(loader); for batch in pbar``
    progress_bar_assign: cst.BaseStatement | None = None
    contexts: list[cst.WithItem] = field(default_factory=list)  #: autocast items of ``with no_grad(), autocast():``
    body_override: list[cst.BaseStatement] | None = None  #: the loop body with a per-batch step function inlined
    step_function: cst.FunctionDef | None = None  #: that function
    rewritten_holder: cst.BaseStatement | None = None  #: the calling statement reading ``<function>_result``

    @property
    def body(self) -> list[cst.BaseStatement]:
        """The statements run for each batch."""
        return list(self.body_override) if self.body_override is not None else list(self.loop.body.body)


@dataclass
class OptimizerFact:
    name: str
    assign: cst.BaseStatement
    call: cst.Call
    qualname: str


@dataclass
class SchedulerFact:
    name: str
    assign: cst.BaseStatement | None
    qualname: str
    step_stmt: cst.BaseStatement | None = None
    step_where: str = "none"  #: "batch", "epoch", "other"
    step_arg: cst.BaseExpression | None = None


@dataclass
class Picture:
    """What the analysis found: everything the plan needs, and what --explain prints."""

    module: cst.Module
    imports: ImportTable
    parents: ParentMap
    lines: Lines
    scope: cst.Module | cst.FunctionDef
    train: Phase
    epoch_loop: cst.For | None
    epoch_var: str | None
    epoch_start: cst.BaseExpression | None
    max_epochs: str
    pre: list[cst.BaseStatement]
    mid: list[cst.BaseStatement]
    post: list[cst.BaseStatement]
    val: Phase | None
    test: Phase | None
    optimizers: list[OptimizerFact]
    schedulers: list[SchedulerFact]
    model_name: str  #: the (first) model trained by the optimizers
    model_assign: cst.BaseStatement | None
    model_class: str | None
    device_names: set[str]
    device_assigns: list[cst.BaseStatement]
    uses_cuda_calls: bool
    backward_calls: list[cst.Call]
    region: cst.BaseStatement  #: the statement of the scope that the Trainer replaces
    model_names: list[str] = field(default_factory=list)  #: every model trained (a GAN has two)
    model_assigns: list[cst.BaseStatement] = field(default_factory=list)
    model_classes: list[str | None] = field(default_factory=list)

    def describe(self) -> list[str]:
        line = self.lines.line
        out = [
            f"model: {self.model_name}" + (f" = {self.model_class}(...)" if self.model_class else "")
            + (f" (line {line(self.model_assign)})" if self.model_assign is not None else ""),
        ]
        for opt in self.optimizers:
            out.append(f"optimizer: {opt.name} = {opt.qualname}(...) (line {line(opt.assign)})")
        for sched in self.schedulers:
            where = f"stepped per {sched.step_where}" if sched.step_where in ("batch", "epoch") else "stepped elsewhere"
            out.append(f"scheduler: {sched.name} = {sched.qualname}(...), {where}")
        for call in self.backward_calls[:1]:
            receiver = call.func.value if isinstance(call.func, cst.Attribute) else call
            out.append(f"loss: {cst.Module([]).code_for_node(receiver)} (backward() at line {line(call)})")
        loader = cst.Module([]).code_for_node(self.train.loader) if self.train.loader is not None else "?"
        out.append(f"batch loop: lines {'-'.join(map(str, self.lines.span(self.train.loop)))} over {loader}"
                   + (f" (in def {self.train.function.name.value})" if self.train.function else ""))
        if self.epoch_loop is not None:
            out.append(f"epoch loop: lines {'-'.join(map(str, self.lines.span(self.epoch_loop)))}, {self.max_epochs} epochs")
        else:
            out.append("epoch loop: none (one pass over the data: max_epochs=1)")
        for label, phase in (("validation", self.val), ("test", self.test)):
            if phase is not None:
                where = f" (in def {phase.function.name.value})" if phase.function else ""
                out.append(f"{label} loop: lines {'-'.join(map(str, self.lines.span(phase.loop)))}{where}")
        if self.device_names:
            out.append(f"device: {', '.join(sorted(self.device_names))}")
        return out


# ----------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------
def find_backward_calls(module: cst.Module) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class _Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "backward":
                calls.append(node)
            elif dotted(func) in ("torch.autograd.backward", "autograd.backward"):
                calls.append(node)

    module.visit(_Finder())
    return calls


def uses_lightning(module: cst.Module, imports: ImportTable) -> bool:
    if imports.imports_lightning:
        return True
    text_markers = ("LightningModule", "pl.Trainer", "L.Trainer")
    code = module.code
    return any(marker in code for marker in text_markers) and "import" in code and (
        "pytorch_lightning" in code or "lightning" in code
    )


def analyze(module: cst.Module, imports: ImportTable) -> Picture:
    """Build the picture of a script that has at least one ``.backward()`` call."""
    parents = ParentMap(module)
    lines = Lines(module)
    _refuse_distributed(module, imports, lines)
    all_backward = find_backward_calls(module)
    backward_calls = [c for c in all_backward if not parents.in_class(c)]
    if not backward_calls:
        raise Unsupported(
            lines.line(all_backward[0]),
            "backward() is only called inside a class (a trainer class of the script's own); "
            "converting a training loop written as methods is not supported yet",
        )

    # --- the batch loop ------------------------------------------------------------------
    batch_loops = []
    inlined_step = None
    for call in backward_calls:
        loop = _innermost_loop(parents, call)
        if loop is None:
            function = parents.enclosing_function(call)
            if function is not None:
                from .stepfunction import StepFunctionUnsupported, inline_step_function

                try:
                    found_step = inline_step_function(module, parents, lines, function, in_function_scope=False)
                    if found_step is not None and parents.enclosing_function(found_step.loop) is not None:
                        found_step = inline_step_function(module, parents, lines, function, in_function_scope=True)
                except StepFunctionUnsupported as exc:
                    raise Unsupported(exc.line, exc.message) from exc
                if found_step is not None:
                    inlined_step = found_step
                    batch_loops.append(found_step.loop)
                    continue
            caller_loop = _loop_calling(module, parents, function) if function is not None else None
            if caller_loop is not None:
                name = function.name.value
                raise Unsupported(
                    lines.line(call),
                    f"backward() is in {name}(), which the loop at line {lines.line(caller_loop)} calls; a step function is inlined "
                    f"only when it is called exactly once, from the batch loop: move the body of {name}() into that loop and convert again",
                )
            raise Unsupported(lines.line(call), "backward() is not inside a loop over batches")
        if isinstance(loop, cst.While):
            raise Unsupported(lines.line(loop), "the training loop is a `while` loop; only `for batch in loader` loops are supported")
        batch_loops.append(loop)
    loop = batch_loops[0]
    for other in batch_loops[1:]:
        if other is not loop:
            raise Unsupported(
                lines.line(other),
                f"backward() is called in two different loops (lines {lines.line(loop)} and {lines.line(other)}); "
                "several training phases are not supported",
            )

    function = parents.enclosing_function(loop)
    train_phase: Phase
    epoch_loop: cst.For | None
    scope: cst.Module | cst.FunctionDef
    outer = _innermost_loop(parents, loop)
    if outer is not None:
        # inline: for epoch in ...: for batch in loader: ...
        if isinstance(outer, cst.While):
            raise Unsupported(lines.line(outer), "the epoch loop is a `while` loop; only `for epoch in range(...)` is supported")
        epoch_loop = outer
        scope = function if function is not None else module
        holder = _child_of(parents, loop, epoch_loop)
        if holder is not loop:
            raise Unsupported(lines.line(loop), "the batch loop is nested inside another block of the epoch loop; only a loop directly in the epoch loop is supported")
        train_phase = Phase(loop=loop, pre=[], post=[], holder=loop)
    elif function is not None and _called_function(module, parents, function) is not None:
        # function style: def train(...): for batch in loader: ...  called from an epoch loop
        call_stmt, call = _called_function(module, parents, function)
        train_phase = _function_phase(function, loop, call_stmt, call, lines, parents)
        outer = _innermost_loop(parents, call_stmt)
        if outer is not None and isinstance(outer, cst.For) and _child_of(parents, call_stmt, outer) is call_stmt:
            epoch_loop = outer
        elif outer is None:
            epoch_loop = None
        else:
            raise Unsupported(lines.line(call_stmt), f"{function.name.value}() is called from a loop that is not a `for epoch in range(...)` loop")
        scope = parents.enclosing_function(call_stmt) or module
    else:
        epoch_loop = None
        scope = function if function is not None else module
        train_phase = Phase(loop=loop, pre=[], post=[], holder=loop)

    if isinstance(scope, cst.FunctionDef) and parents.in_class(scope):
        raise Unsupported(lines.line(scope), "the training loop is a method of a class; converting a trainer class is not supported yet")

    # --- epoch loop ------------------------------------------------------------------------
    epoch_var = None
    epoch_start = None
    max_epochs = "1"
    pre: list[cst.BaseStatement] = []
    mid: list[cst.BaseStatement] = []
    post: list[cst.BaseStatement] = []
    val: Phase | None = None
    region: cst.BaseStatement
    if epoch_loop is not None:
        epoch_var, epoch_start, max_epochs = _epoch_range(epoch_loop, imports, lines)
        if epoch_loop.orelse is not None:
            raise Unsupported(lines.line(epoch_loop), "the epoch loop has an `else:` clause")
        statements = body_of(epoch_loop)
        index = statements.index(train_phase.holder)
        pre = statements[:index]
        rest = statements[index + 1:]
        for position, stmt in enumerate(rest):
            found = _eval_phase(module, stmt, parents, imports, lines)
            if found is not None:
                val = found
                mid = rest[:position]
                post = rest[position + 1:]
                break
        else:
            mid = rest
        region = epoch_loop
        if parents.enclosing_function(epoch_loop) is not (scope if isinstance(scope, cst.FunctionDef) else None):
            raise Unsupported(lines.line(epoch_loop), "the epoch loop is in a different function than expected")
    else:
        region = train_phase.holder
        if train_phase.holder is train_phase.loop and train_phase.loop.orelse is not None:
            raise Unsupported(lines.line(train_phase.loop), "the batch loop has an `else:` clause")

    # the batch loop itself
    if inlined_step is not None:
        train_phase.body_override = inlined_step.body
        train_phase.step_function = inlined_step.function
    _describe_batch_loop(train_phase, imports, lines)
    _resolve_progress_bar(train_phase, pre + train_phase.pre, imports)
    if val is not None:
        _describe_batch_loop(val, imports, lines)
        _resolve_progress_bar(val, mid + val.pre, imports)

    # --- final test: first evaluation loop after the region in the same block --------------
    test = None
    owner = parents.block_owner(region)
    siblings = body_of(owner) if owner is not None else []
    if region in siblings:
        for stmt in siblings[siblings.index(region) + 1:]:
            found = _eval_phase(module, stmt, parents, imports, lines)
            if found is not None:
                test = found
                _describe_batch_loop(test, imports, lines)
                break

    # --- optimizers, schedulers, model, device ----------------------------------------------
    optimizers = _find_optimizers(module, parents, imports, train_phase, scope, lines)
    schedulers = _find_schedulers(module, imports, train_phase, epoch_loop, pre, mid, post, val, lines)
    model_names = _model_names(optimizers, lines)
    assignments = [_model_assignment(module, scope, name, imports) for name in model_names]
    model_name = model_names[0]
    model_assign, model_class = assignments[0]
    device_names, device_assigns, uses_cuda_calls = _device_handling(module, scope, imports)

    return Picture(
        module=module,
        imports=imports,
        parents=parents,
        lines=lines,
        scope=scope,
        train=train_phase,
        epoch_loop=epoch_loop,
        epoch_var=epoch_var,
        epoch_start=epoch_start,
        max_epochs=max_epochs,
        pre=pre,
        mid=mid,
        post=post,
        val=val,
        test=test,
        optimizers=optimizers,
        schedulers=schedulers,
        model_name=model_name,
        model_assign=model_assign,
        model_class=model_class,
        device_names=device_names,
        device_assigns=device_assigns,
        uses_cuda_calls=uses_cuda_calls,
        backward_calls=backward_calls,
        region=region,
        model_names=model_names,
        model_assigns=[a for a, _ in assignments if a is not None],
        model_classes=[c for _, c in assignments],
    )


DISTRIBUTED_CALLS = {
    "torch.distributed.init_process_group": "torch.distributed.init_process_group",
    "torch.nn.parallel.DistributedDataParallel": "DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel": "DistributedDataParallel",
    "torch.utils.data.distributed.DistributedSampler": "DistributedSampler",
    "torch.utils.data.DistributedSampler": "DistributedSampler",
    "torch.multiprocessing.spawn": "torch.multiprocessing.spawn",
    "torch.distributed.launch": "torch.distributed.launch",
}


def _refuse_distributed(module: cst.Module, imports: ImportTable, lines: Lines) -> None:
    """Hand-written multi-process training does not map onto one Lightning process."""

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            name = imports.qualified_call(node)
            if name in DISTRIBUTED_CALLS:
                raise Unsupported(
                    lines.line(node),
                    f"hand-written distributed training ({DISTRIBUTED_CALLS[name]}); convert the single-process "
                    "version of the script and run it with Trainer(devices=N, strategy=\"ddp\"), which starts the "
                    "processes, the sampler and the gradient sync itself",
                )

    module.visit(_Calls())


# ----------------------------------------------------------------------------------------
# loops
# ----------------------------------------------------------------------------------------
def _innermost_loop(parents: ParentMap, node: cst.CSTNode) -> cst.For | cst.While | None:
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, (cst.For, cst.While)):
            return ancestor
        if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return None
    return None


def _child_of(parents: ParentMap, node: cst.CSTNode, compound: cst.CSTNode) -> cst.BaseStatement | None:
    """The statement of ``compound``'s body that contains ``node``."""
    previous = node
    for ancestor in parents.ancestors(node):
        if isinstance(ancestor, cst.IndentedBlock) and parents.parent(ancestor) is compound:
            return previous if isinstance(previous, cst.BaseStatement) else None
        previous = ancestor
    return None


def _epoch_range(loop: cst.For, imports: ImportTable, lines: Lines):
    """(var, start expr or None, max_epochs code) for ``for epoch in range(...)``."""
    if not isinstance(loop.target, cst.Name):
        raise Unsupported(lines.line(loop), "the epoch loop variable is not a plain name")
    iterable = loop.iter
    if isinstance(iterable, cst.Call) and imports.qualify(call_name(iterable)) in TQDM_NAMES | {"tqdm.trange"}:
        if imports.qualify(call_name(iterable)).endswith("trange"):
            iterable = cst.Call(func=cst.Name("range"), args=iterable.args[:2] if iterable.args and iterable.args[0].keyword is None else iterable.args)
        elif iterable.args:
            iterable = iterable.args[0].value
    if not (isinstance(iterable, cst.Call) and dotted(iterable.func) == "range"):
        raise Unsupported(lines.line(loop), "the epoch loop does not iterate over range(...): cannot tell the number of epochs")
    args = [a for a in iterable.args if a.keyword is None]
    code = cst.Module([]).code_for_node
    if len(args) == 1:
        return loop.target.value, None, code(args[0].value)
    if len(args) == 2:
        start, stop = args[0].value, args[1].value
        start_code, stop_code = code(start), code(stop)
        if isinstance(start, cst.Integer) and start.value == "0":
            return loop.target.value, None, stop_code
        if (
            isinstance(stop, cst.BinaryOperation)
            and isinstance(stop.operator, cst.Add)
            and isinstance(stop.right, cst.Integer)
            and code(stop.right) == start_code
        ):
            return loop.target.value, start, code(stop.left)
        if isinstance(start, cst.Integer) and isinstance(stop, cst.Integer):
            return loop.target.value, start, str(int(stop.value, 0) - int(start.value, 0))
        return loop.target.value, start, f"({stop_code}) - ({start_code})"
    raise Unsupported(lines.line(loop), "the epoch loop uses range() with a step")


def _loop_loader(loop: cst.For, imports: ImportTable):
    """(loader expression, batch target, index name) of ``for ... in [enumerate(][tqdm(]loader...)``."""
    iterable = loop.iter
    target = loop.target
    index_name = None
    index_start = None
    for _ in range(3):
        name = imports.qualify(call_name(iterable)) if isinstance(iterable, cst.Call) else None
        if name == "enumerate" and isinstance(iterable, cst.Call) and iterable.args:
            if isinstance(target, cst.Tuple) and len(target.elements) == 2 and isinstance(target.elements[0].value, cst.Name):
                index_name = target.elements[0].value.value
                target = target.elements[1].value
                extra = list(iterable.args[1:])
                if len(extra) > 1 or (extra and extra[0].keyword is not None and extra[0].keyword.value != "start"):
                    return None, None, None, None
                if extra and not (isinstance(extra[0].value, cst.Integer) and extra[0].value.value == "0"):
                    index_start = extra[0].value
                iterable = iterable.args[0].value
                continue
            return None, None, None, None
        if name in TQDM_NAMES and isinstance(iterable, cst.Call) and iterable.args and iterable.args[0].keyword is None:
            iterable = iterable.args[0].value
            continue
        break
    return iterable, target, index_name, index_start


def _describe_batch_loop(phase: Phase, imports: ImportTable, lines: Lines) -> None:
    loader, target, index_name, index_start = _loop_loader(phase.loop, imports)
    if loader is None:
        raise Unsupported(lines.line(phase.loop), "cannot tell which data loader the loop iterates over")
    if phase.loop.orelse is not None:
        raise Unsupported(lines.line(phase.loop), "the batch loop has an `else:` clause")
    if phase.bindings:
        from .transforms import substitute_names

        loader = substitute_names(loader, phase.bindings)
    phase.loader = loader
    phase.batch_target = target
    phase.index_name = index_name
    phase.index_start = index_start


def _resolve_progress_bar(phase: Phase, before: list[cst.BaseStatement], imports: ImportTable) -> None:
    """``pbar = tqdm(loader, ...)`` then ``for batch in pbar``: the loader is ``loader``."""
    if not isinstance(phase.loader, cst.Name):
        return
    name = phase.loader.value
    for stmt in reversed(before):
        assigned = assigned_call(stmt)
        if assigned is None:
            continue
        targets, call = assigned
        if len(targets) == 1 and isinstance(targets[0], cst.Name) and targets[0].value == name:
            if imports.qualify(call_name(call)) in TQDM_NAMES and call.args and call.args[0].keyword is None:
                loader = call.args[0].value
                if phase.bindings:
                    from .transforms import substitute_names

                    loader = substitute_names(loader, phase.bindings)
                phase.loader = loader
                phase.progress_bar = name
                phase.progress_bar_assign = stmt
            return


#: autocast context managers -> the device type they imply (None: the first argument says)
AUTOCAST_DEVICES = {
    "torch.autocast": None,
    "torch.amp.autocast": None,
    "torch.amp.autocast_mode.autocast": None,
    "torch.cuda.amp.autocast": "cuda",
    "torch.cuda.amp.autocast_mode.autocast": "cuda",
    "torch.cpu.amp.autocast": "cpu",
}


def is_no_grad_item(item: cst.WithItem, imports: ImportTable) -> bool:
    call = item.item
    name = imports.qualify(call_name(call)) if isinstance(call, cst.Call) else None
    if name == "torch.set_grad_enabled":
        args = call.args
        return bool(args) and isinstance(args[0].value, cst.Name) and args[0].value.value == "False"
    return name in NO_GRAD_CONTEXTS and item.asname is None


def is_autocast_item(item: cst.WithItem, imports: ImportTable) -> bool:
    call = item.item
    return isinstance(call, cst.Call) and imports.qualify(call_name(call)) in AUTOCAST_DEVICES and item.asname is None


def _no_grad_with(stmt: cst.BaseStatement, imports: ImportTable) -> bool:
    """``with torch.no_grad():`` (also together with autocast: ``with torch.no_grad(), autocast(...):``)."""
    if not isinstance(stmt, cst.With) or not stmt.items:
        return False
    no_grad = [item for item in stmt.items if is_no_grad_item(item, imports)]
    others = [item for item in stmt.items if not is_no_grad_item(item, imports)]
    return len(no_grad) == 1 and all(is_autocast_item(item, imports) for item in others)


def _eval_loop_in(statements: list[cst.BaseStatement], imports: ImportTable):
    """Find ``[pre] with no_grad(): [pre] for ...: ... [post]`` or a bare for loop.

    Returns (pre, loop, post, holder) where holder is the statement in ``statements``.
    """
    for index, stmt in enumerate(statements):
        if _no_grad_with(stmt, imports):
            inner = body_of(stmt)
            loops = [s for s in inner if isinstance(s, cst.For)]
            if len(loops) == 1 and not find_backward_calls(cst.Module(body=[stmt])):
                position = inner.index(loops[0])
                return (
                    statements[:index] + inner[:position],
                    loops[0],
                    inner[position + 1:] + statements[index + 1:],
                    stmt,
                )
    return None


def _eval_phase(module: cst.Module, stmt: cst.BaseStatement, parents: ParentMap, imports: ImportTable, lines: Lines) -> Phase | None:
    """Is ``stmt`` an evaluation: a no_grad loop, or a call of a function that runs one?"""
    found = _eval_loop_in([stmt], imports)
    if found is not None:
        pre, loop, post, holder = found
        return Phase(loop=loop, pre=pre, post=post, holder=holder, contexts=_autocast_items(holder, imports))
    call = expr_call(stmt)
    target = None
    if call is None:
        assigned = assigned_call(stmt)
        if assigned is None or len(assigned[0]) != 1:
            return None
        (target,), call = assigned
    if not isinstance(call.func, cst.Name):
        return None
    function = _module_function(module, call.func.value)
    if function is None:
        return None
    found = _eval_loop_in(body_of(function), imports)
    if found is None:
        return None
    pre, loop, post, inner_holder = found
    bindings = _bind_arguments(function, call, lines)
    return_value = None
    if post and isinstance(post[-1], cst.SimpleStatementLine) and isinstance(post[-1].body[0], cst.Return):
        return_value = post[-1].body[0].value
        post = post[:-1]
    _check_no_inner_return(function, loop, lines)
    return Phase(
        loop=loop, pre=pre, post=post, holder=stmt, function=function, bindings=bindings,
        result_target=target, return_value=return_value, contexts=_autocast_items(inner_holder, imports),
    )


def _autocast_items(holder: cst.BaseStatement, imports: ImportTable) -> list[cst.WithItem]:
    if isinstance(holder, cst.With):
        return [item for item in holder.items if is_autocast_item(item, imports)]
    return []


def _module_function(module: cst.Module, name: str) -> cst.FunctionDef | None:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    return None


def _check_no_inner_return(function: cst.FunctionDef, loop: cst.For, lines: Lines) -> None:
    class _Returns(cst.CSTVisitor):
        found: cst.Return | None = None

        def visit_FunctionDef(self, node):
            return node is function

        def visit_Return(self, node):
            self.found = self.found or node

    finder = _Returns()
    loop.visit(finder)
    if finder.found is not None:
        raise Unsupported(lines.line(finder.found), f"`return` inside the loop of {function.name.value}()")


def _called_function(module: cst.Module, parents: ParentMap, function: cst.FunctionDef):
    """The single statement that calls ``function`` (``f(...)`` or ``x = f(...)``), if any."""
    sites = calls_named(module, function.name.value)
    if len(sites) != 1:
        return None
    call = sites[0]
    stmt = parents.statement_of(call)
    if stmt is None:
        return None
    if expr_call(stmt) is call or (assigned_call(stmt) or (None, None))[1] is call:
        return stmt, call
    # nested in a one-line statement (`print(epoch, train(...))`): fine unless it may not run
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], (cst.Expr, cst.Assign, cst.AugAssign))):
        return None
    for ancestor in parents.ancestors(call):
        if ancestor is stmt:
            break
        if isinstance(ancestor, (cst.IfExp, cst.BooleanOperation, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return None
    return stmt, call


def _loop_calling(module: cst.Module, parents: ParentMap, function: cst.FunctionDef) -> cst.For | cst.While | None:
    """The loop around a call of ``function`` (by name or as ``self.<name>``), if any."""
    loops = [_innermost_loop(parents, call) for call in calls_named(module, function.name.value, methods=True)]
    return next((loop for loop in loops if loop is not None), None)


def _bind_arguments(function: cst.FunctionDef, call: cst.Call, lines: Lines) -> dict[str, cst.BaseExpression]:
    params = function.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT and isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
        raise Unsupported(lines.line(function), f"{function.name.value}() takes *args/**kwargs")
    positional = list(params.posonly_params) + list(params.params)
    bindings: dict[str, cst.BaseExpression] = {}
    args = list(call.args)
    for arg in args:
        if arg.star:
            raise Unsupported(lines.line(call), f"{function.name.value}() is called with *args/**kwargs")
    pos_args = [a for a in args if a.keyword is None]
    if len(pos_args) > len(positional):
        raise Unsupported(lines.line(call), f"{function.name.value}() is called with more arguments than it takes")
    for param, arg in zip(positional, pos_args):
        bindings[param.name.value] = arg.value
    for arg in args:
        if arg.keyword is not None:
            bindings[arg.keyword.value] = arg.value
    for param in positional + list(params.kwonly_params):
        if param.name.value not in bindings:
            if param.default is None:
                raise Unsupported(lines.line(call), f"{function.name.value}() is called without its argument {param.name.value!r}")
            bindings[param.name.value] = param.default
    # parameters rebound inside the function cannot be substituted
    stores = usage_of(function.body).stores
    rebound = sorted(set(bindings) & stores)
    if rebound:
        raise Unsupported(lines.line(function), f"{function.name.value}() reassigns its parameter(s) {', '.join(rebound)}")
    return bindings


def _function_phase(function, loop, call_stmt, call, lines: Lines, parents: ParentMap) -> Phase:
    statements = body_of(function)
    holder = _child_of(parents, loop, function)
    if holder is not loop:
        raise Unsupported(lines.line(loop), f"the batch loop of {function.name.value}() is nested inside another block")
    index = statements.index(loop)
    pre = statements[:index]
    post = statements[index + 1:]
    return_value = None
    if post and isinstance(post[-1], cst.SimpleStatementLine) and isinstance(post[-1].body[0], cst.Return):
        return_value = post[-1].body[0].value
        post = post[:-1]
    _check_no_inner_return(function, loop, lines)
    target = None
    rewritten_holder = None
    assigned = assigned_call(call_stmt)
    if expr_call(call_stmt) is not call and (assigned is None or assigned[1] is not call):
        # `print(epoch, train(...))`: the result goes to a variable the statement then reads
        from .stepfunction import _ReplaceCall

        result = f"{function.name.value}_result"
        target = cst.Name(result)
        rewritten_holder = call_stmt.visit(_ReplaceCall(call, cst.Name(result))).with_changes(leading_lines=[])
        assigned = None
    if assigned is not None:
        if len(assigned[0]) != 1:
            raise Unsupported(lines.line(call_stmt), "chained assignment of the training function's result")
        target = assigned[0][0]
    # a leading docstring is not code to run
    if pre and isinstance(pre[0], cst.SimpleStatementLine) and isinstance(pre[0].body[0], cst.Expr) and isinstance(pre[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        pre = pre[1:]
    return Phase(
        loop=loop, pre=pre, post=post, holder=call_stmt, function=function,
        bindings=_bind_arguments(function, call, lines), result_target=target, return_value=return_value,
        rewritten_holder=rewritten_holder,
    )


# ----------------------------------------------------------------------------------------
# optimizers, schedulers, model, device
# ----------------------------------------------------------------------------------------
def _assignments(scope_nodes: list[cst.CSTNode], name: str) -> list[tuple[cst.BaseStatement, cst.BaseExpression]]:
    found: list[tuple[cst.BaseStatement, cst.BaseExpression]] = []

    class _Assigns(cst.CSTVisitor):
        def __init__(self):
            self.stmt = None

        def visit_SimpleStatementLine(self, node):
            self.stmt = node

        def visit_FunctionDef(self, node):
            return False

        def visit_ClassDef(self, node):
            return False

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    found.append((self.stmt, node.value))

    for node in scope_nodes:
        node.visit(_Assigns())
    return found


def _scope_nodes(module: cst.Module, scope) -> list[cst.CSTNode]:
    if isinstance(scope, cst.FunctionDef):
        return [scope.body]
    return list(module.body)


def _resolve_name(phase: Phase, name: str) -> str:
    """A name used in the phase's loop, in the caller's terms (function parameters substituted)."""
    if phase.bindings and name in phase.bindings:
        bound = phase.bindings[name]
        resolved = dotted(bound)
        return resolved or name
    return name


def _find_optimizers(module, parents, imports, phase: Phase, scope, lines) -> list[OptimizerFact]:
    stepped: list[str] = []
    scopes = _scope_nodes(module, scope)

    def is_scaler(local: str) -> bool:
        name = _resolve_name(phase, local)
        for _, value in _assignments(scopes, name) or _assignments(list(module.body), name):
            if isinstance(value, cst.Call) and (imports.qualified_call(value) or "").endswith("GradScaler"):
                return True
        return False

    class _Steps(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "step" and isinstance(func.value, cst.Name):
                receiver = func.value.value
                if is_scaler(receiver):
                    # scaler.step(optimizer): the optimizer is the argument
                    if node.args and isinstance(node.args[0].value, cst.Name):
                        receiver = node.args[0].value.value
                    else:
                        return
                if receiver not in stepped:
                    stepped.append(receiver)

    cst.Module(phase.body).visit(_Steps())
    facts: list[OptimizerFact] = []
    for local in stepped:
        name = _resolve_name(phase, local)
        if "." in name:
            raise Unsupported(lines.line(phase.loop), f"the optimizer {name} is an attribute; only plain variables are supported")
        assigns = _assignments(_scope_nodes(module, scope), name) or _assignments(list(module.body), name)
        calls = [(s, v) for s, v in assigns if isinstance(v, cst.Call)]
        qualified = [(s, v, imports.qualified_call(v) or "") for s, v in calls]
        schedulers = [q for q in qualified if q[2].startswith(SCHEDULER_PREFIX)]
        if schedulers:
            continue
        optim = [q for q in qualified if q[2].startswith(OPTIMIZER_PREFIX) or _looks_like_optimizer(q[2])]
        if not optim:
            if "sched" in name.lower():
                continue
            raise Unsupported(lines.line(phase.loop), f"cannot find where the optimizer {name!r} is created")
        if len(optim) > 1:
            raise Unsupported(lines.line(optim[1][0]), f"the optimizer {name!r} is created more than once")
        stmt, call, qualname = optim[0]
        facts.append(OptimizerFact(name=name, assign=stmt, call=call, qualname=qualname))
    if not facts:
        raise Unsupported(lines.line(phase.loop), "no optimizer.step() call found in the training loop")
    return facts


def _looks_like_optimizer(qualname: str) -> bool:
    last = qualname.rsplit(".", 1)[-1]
    return last in {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS", "ASGD", "Rprop", "SparseAdam"}


def _find_schedulers(module, imports, phase, epoch_loop, pre, mid, post, val, lines) -> list[SchedulerFact]:
    facts: list[SchedulerFact] = []
    assigned: dict[str, tuple[cst.BaseStatement, str]] = {}

    class _Assigns(cst.CSTVisitor):
        stmt = None

        def visit_SimpleStatementLine(self, node):
            self.stmt = node

        def visit_Assign(self, node: cst.Assign) -> None:
            q = imports.qualified_call(node.value) if isinstance(node.value, cst.Call) else None
            if q and q.startswith(SCHEDULER_PREFIX):
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        assigned[target.target.value] = (self.stmt, q)

    module.visit(_Assigns())
    if not assigned:
        return facts

    def step_calls(statements, where):
        for stmt in statements:
            call = expr_call(stmt)
            if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "step":
                name = _resolve_name(phase, dotted(call.func.value) or "")
                if name in assigned:
                    yield name, stmt, where, (call.args[0].value if call.args else None)

    seen = {}
    for item in step_calls(phase.body, "batch"):
        seen.setdefault(item[0], item)
    for item in step_calls(pre + mid + post, "epoch"):
        seen.setdefault(item[0], item)
    for name, (stmt, qualname) in assigned.items():
        if name in seen:
            _, step_stmt, where, arg = seen[name]
            facts.append(SchedulerFact(name, stmt, qualname, step_stmt, where, arg))
        else:
            facts.append(SchedulerFact(name, stmt, qualname, None, "other", None))
    return facts


def _model_names(optimizers: list[OptimizerFact], lines: Lines) -> list[str]:
    names: list[str] = []

    class _Params(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("parameters", "named_parameters"):
                base = dotted(func.value)
                if base:
                    names.append(base.split(".")[0])

    for opt in optimizers:
        opt.call.visit(_Params())
    unique = list(dict.fromkeys(names))
    if not unique:
        raise Unsupported(lines.line(optimizers[0].assign), "the optimizer is not built from model.parameters(); cannot tell which model is trained")
    return unique


def _model_assignment(module, scope, model_name: str, imports: ImportTable):
    assigns = _assignments(_scope_nodes(module, scope), model_name) or _assignments(list(module.body), model_name)
    if not assigns:
        return None, None
    stmt, value = assigns[0]
    call = value
    # Net().to(device) / Net().cuda()
    while isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in ("to", "cuda", "cpu", "float", "double"):
        call = call.func.value
    cls = call_name(call) if isinstance(call, cst.Call) else None
    return stmt, cls


def _device_handling(module: cst.Module, scope, imports: ImportTable):
    names: set[str] = set()
    assigns: list[cst.BaseStatement] = []
    uses_cuda = False

    class _Moves(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal uses_cuda
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "to":
                for arg in node.args:
                    if (arg.keyword is None or arg.keyword.value == "device") and isinstance(arg.value, cst.Name):
                        names.add(arg.value.value)
            if isinstance(func, cst.Attribute) and func.attr.value == "cuda" and dotted(func.value) != "torch":
                uses_cuda = True

    module.visit(_Moves())
    device_names = set()
    for name in names:
        for stmt, value in _assignments(list(module.body) + ([scope.body] if isinstance(scope, cst.FunctionDef) else []), name):
            if _is_device_expr(value, imports):
                device_names.add(name)
                assigns.append(stmt)
    return device_names, assigns, uses_cuda


def _is_device_expr(value: cst.BaseExpression, imports: ImportTable) -> bool:
    if isinstance(value, cst.Call) and imports.qualified_call(value) in DEVICE_FUNCS:
        return True
    code = cst.Module([]).code_for_node(value)
    return ("cuda" in code or "cpu" in code or "mps" in code) and isinstance(value, (cst.IfExp, cst.SimpleString, cst.Call))


def phase_functions(picture: Picture) -> list[cst.FunctionDef]:
    """Functions whose loops the conversion inlines (candidates for removal)."""
    out = []
    for phase in (picture.train, picture.val, picture.test):
        if phase is not None:
            for function in (phase.function, phase.step_function):
                if function is not None and function not in out:
                    out.append(function)
    return out


def params_of(function: cst.FunctionDef) -> list[str]:
    return param_names(function.params)
