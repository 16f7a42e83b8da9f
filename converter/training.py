"""Analysis: what trains — the optimizers stepped in the batch loop, the schedulers, the models
the optimizers are built from, and the device handling (read-only)."""

from __future__ import annotations

import dataclasses

import libcst as cst

from ..api_knowledge import DEVICE_CONSTRUCTORS, OPTIMIZER_CLASSES, OPTIMIZER_MODULE, SCHEDULER_MODULE, dotted_name
from .device_index import index_devices
from .distributed import find_distributed
from .facts import DeviceFacts, Facts, Layout, ModelFact, OptimizerFact, Phase, SchedulerFact
from .functions import bind_arguments, single_call_site
from .names import call_name, param_names
from .script import Script, Unsupported
from .tree import code_of, expr_call, inner_blocks


def gather_facts(layout: Layout) -> Facts:
    """The layout (with its views built) and what trains."""
    script = layout.script
    caller = Caller.of(layout)
    distributed = find_distributed(script, layout)
    optimizers = find_optimizers(layout, caller)
    epoch = layout.epoch
    schedulers = find_schedulers(script, layout.train, epoch.pre + epoch.mid + epoch.post if epoch else [], caller)
    wrapped = distributed.wrapped if distributed is not None else {}
    names = list(dict.fromkeys(wrapped.get(name, name) for name in _model_names(script, optimizers, caller)))
    models = [_model(caller, name) for name in names]
    devices = _device_handling(script, layout.scope)
    indices, choices = index_devices(script, layout.scope, caller, assignments)  # device = 0 (cuda:0), gpu_id
    devices = dataclasses.replace(devices, assigns=devices.assigns + choices, index_names=frozenset(indices))
    if distributed is not None:
        devices = dataclasses.replace(devices, index_names=distributed.index_names | devices.index_names)
    fields = {name: getattr(layout, name) for name in Layout.__dataclass_fields__}
    return Facts(**fields, optimizers=optimizers, schedulers=schedulers, models=models, devices=devices, distributed=distributed)


def assignments(script: Script, scope: cst.Module | cst.FunctionDef, name: str) -> list[tuple[cst.BaseStatement, cst.BaseExpression]]:
    """``name = value`` statements of the scope (else of the module), not inside defs/classes."""
    return _assignments(_scope_nodes(script.module, scope), name) or _assignments(list(script.module.body), name)


def single_assignment(script: Script, scope, name: str) -> tuple[cst.BaseStatement, cst.BaseExpression] | None:
    """The one ``name = value`` statement of the scope (else of the module), if there is one."""
    found = assignments(script, scope, name)
    return found[0] if len(found) == 1 else None


class Caller:
    """Where the loop's scope gets its objects: its own assignments, or — for a training in a
    function such as ``train_model(model, criterion, optimizer, scheduler)`` called once — the
    arguments of that call, assigned where the call is."""

    def __init__(self, script: Script, scope, bindings: dict[str, cst.BaseExpression], caller_scope) -> None:
        self.script, self.scope, self.bindings, self.caller_scope = script, scope, bindings, caller_scope

    @classmethod
    def of(cls, layout: Layout) -> "Caller":
        script, scope = layout.script, layout.scope
        if isinstance(scope, cst.FunctionDef) and param_names(scope.params):
            site = single_call_site(script, scope)
            if site is not None:
                try:
                    bindings = bind_arguments(script, scope, site[1])
                except Unsupported:  # a function whose parameters cannot stand for the arguments
                    bindings = {}
                return cls(script, scope, bindings, script.parents.enclosing_function(site[0]) or script.module)
        return cls(script, scope, {}, script.module)

    def assignments(self, name: str) -> list[tuple[cst.BaseStatement, cst.BaseExpression]]:
        """``name = value`` for a name of the scope (through the call for a parameter)."""
        found = assignments(self.script, self.scope, name)
        outer = self.outer_name(name)
        if not found and outer is not None:
            found = assignments(self.script, self.caller_scope, outer)
        return found

    def outer_name(self, name: str) -> str | None:
        """The caller's name for parameter ``name`` (None: not a parameter passed a name)."""
        return dotted_name(self.bindings[name]) if name in self.bindings else None

    def local_name(self, outer: str) -> str:
        """The scope's name for the caller's ``outer`` (the parameter it is passed as)."""
        return next((param for param, value in self.bindings.items() if dotted_name(value) == outer), outer)


def _assignments(scope_nodes: list[cst.CSTNode], name: str) -> list[tuple[cst.BaseStatement, cst.BaseExpression]]:
    """``name = value`` in the statements of ``scope_nodes`` (not inside defs and classes): the
    statement line and the value. Assignments are statements, so only statements are walked."""
    found: list[tuple[cst.BaseStatement, cst.BaseExpression]] = []
    for node in scope_nodes:
        _collect_assignments(node, name, found, [None])
    return found


def _collect_assignments(node: cst.CSTNode, name: str, found: list, last_line: list) -> None:
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return
    if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        if isinstance(node, cst.SimpleStatementLine):
            last_line[0] = node
        for small in node.body:
            if isinstance(small, cst.Assign):
                found.extend((last_line[0], small.value) for t in small.targets if isinstance(t.target, cst.Name) and t.target.value == name)
        return
    for child in node.body if isinstance(node, (cst.Module, cst.IndentedBlock)) else inner_blocks(node):
        _collect_assignments(child, name, found, last_line)


def _scope_nodes(module: cst.Module, scope) -> list[cst.CSTNode]:
    if isinstance(scope, cst.FunctionDef):
        return [scope.body]
    return list(module.body)


def find_optimizers(layout: Layout, caller: Caller) -> list[OptimizerFact]:
    """The optimizers the batch loop steps (``opt.step()``, ``scaler.step(opt)``), where created."""
    script, phase, scope = layout.script, layout.train, layout.scope
    line = script.line
    stepped: list[str] = []

    def is_scaler(local: str) -> bool:
        for _, value in assignments(script, scope, phase.resolve_name(local)):
            if isinstance(value, cst.Call) and (script.qualified_call(value) or "").endswith("GradScaler"):
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
        name = phase.resolve_name(local)
        if "." in name:
            raise Unsupported(line(phase.loop), f"the optimizer {name} is an attribute; only plain variables are supported")
        calls = [(s, v) for s, v in caller.assignments(name) if isinstance(v, cst.Call)]
        qualified = [(s, v, script.qualified_call(v) or "") for s, v in calls]
        if any(q[2].startswith(SCHEDULER_MODULE + ".") for q in qualified):
            continue
        optim = [q for q in qualified if q[2].startswith(OPTIMIZER_MODULE + ".") or q[2].rsplit(".", 1)[-1] in OPTIMIZER_CLASSES]
        if not optim:
            if "sched" in name.lower():
                continue
            raise Unsupported(line(phase.loop), f"cannot find where the optimizer {name!r} is created")
        if len(optim) > 1:
            raise Unsupported(line(optim[1][0]), f"the optimizer {name!r} is created more than once")
        stmt, call, qualname = optim[0]
        facts.append(OptimizerFact(name=name, assign=stmt, call=call, qualname=qualname))
    if not facts:
        raise Unsupported(line(phase.loop), "no optimizer.step() call found in the training loop")
    return facts


def find_schedulers(script: Script, phase: Phase, epoch_statements: list[cst.BaseStatement], caller: Caller) -> list[SchedulerFact]:
    """Every scheduler of the script, and where it is stepped: in the batch loop ("batch"), in
    the epoch loop ("epoch"), or elsewhere ("other")."""
    facts: list[SchedulerFact] = []
    assigned: dict[str, tuple[cst.BaseStatement, str]] = {}

    class _Assigns(cst.CSTVisitor):
        stmt = None

        def visit_SimpleStatementLine(self, node):
            self.stmt = node

        def visit_Assign(self, node: cst.Assign) -> None:
            q = script.qualified_call(node.value) if isinstance(node.value, cst.Call) else None
            if q and q.startswith(SCHEDULER_MODULE + "."):
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        assigned[target.target.value] = (self.stmt, q)

    script.module.visit(_Assigns())
    if not assigned:
        return facts

    def step_calls(statements, where):
        for stmt in statements:
            call = expr_call(stmt)
            if call is not None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "step":
                name = phase.resolve_name(dotted_name(call.func.value) or "")
                outer = name if name in assigned else caller.outer_name(name)
                if outer in assigned:
                    yield outer, stmt, where, (call.args[0].value if call.args else None)

    seen = {}
    for item in step_calls(phase.body, "batch"):
        seen.setdefault(item[0], item)
    for item in step_calls(epoch_statements, "epoch"):
        seen.setdefault(item[0], item)
    for name, (stmt, qualname) in assigned.items():
        if name in seen:
            _, step_stmt, where, arg = seen[name]
            facts.append(SchedulerFact(caller.local_name(name), stmt, qualname, step_stmt, where, arg))
        else:
            facts.append(SchedulerFact(name, stmt, qualname, None, "other", None))
    return facts


def _model_names(script: Script, optimizers: list[OptimizerFact], caller: Caller) -> list[str]:
    names: list[str] = []

    class _Params(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("parameters", "named_parameters"):
                base = dotted_name(func.value)
                if base:
                    names.append(base.split(".")[0])

    for opt in optimizers:
        opt.call.visit(_Params())
    unique = list(dict.fromkeys(caller.local_name(name) for name in names))
    if not unique:
        raise Unsupported(script.line(optimizers[0].assign), "the optimizer is not built from model.parameters(); cannot tell which model is trained")
    return unique


def _model(caller: Caller, name: str) -> ModelFact:
    found = caller.assignments(name)
    if not found:
        return ModelFact(name, None, None)
    stmt, call = found[0]
    # Net().to(device) / Net().cuda()
    while isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in ("to", "cuda", "cpu", "float", "double"):
        call = call.func.value
    return ModelFact(name, stmt, call_name(call) if isinstance(call, cst.Call) else None)


def _device_handling(script: Script, scope) -> DeviceFacts:
    names: set[str] = set()
    uses_cuda = False

    class _Moves(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal uses_cuda
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "to":
                for arg in node.args:
                    if (arg.keyword is None or arg.keyword.value == "device") and isinstance(arg.value, cst.Name):
                        names.add(arg.value.value)
            if isinstance(func, cst.Attribute) and func.attr.value == "cuda" and dotted_name(func.value) != "torch":
                uses_cuda = True

    script.module.visit(_Moves())
    device_names = set()
    assigns: list[cst.BaseStatement] = []
    for name in names:
        for stmt, value in _assignments(list(script.module.body) + ([scope.body] if isinstance(scope, cst.FunctionDef) else []), name):
            if _is_device_expr(script, value):
                device_names.add(name)
                assigns.append(stmt)
    return DeviceFacts(device_names, assigns, uses_cuda)


def _is_device_expr(script: Script, value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Call) and script.qualified_call(value) in DEVICE_CONSTRUCTORS:
        return True
    code = code_of(value)
    return ("cuda" in code or "cpu" in code or "mps" in code) and isinstance(value, (cst.IfExp, cst.SimpleString, cst.Call))
