"""Names that cross hooks: each name a hook assigns lives on in the scope (``global`` /
``nonlocal``), on the module (``self.<name>``), or as a local of its hook; and the loaders, which
``trainer.fit``/``test`` read where the loop was, must be defined there."""

from __future__ import annotations

import builtins

import libcst as cst

from .facts import Facts
from .names import NameUsage, param_names, usage_of
from .plan import HOOK_ORDER, STEP_HOOKS, Declaration, Plan
from .script import Unsupported
from .transforms import RenameToSelf, apply, statement
from .tree import code_of, contains, inner_blocks

#: attributes a LightningModule already has: hook state must not shadow them
RESERVED_ATTRIBUTES = {
    "device", "dtype", "trainer", "logger", "loggers", "log", "log_dict", "global_step", "current_epoch",
    "training", "train", "eval", "hparams", "model", "optimizers", "lr_schedulers", "forward", "parameters",
    "automatic_optimization", "example_input_array", "precision", "fabric", "on_gpu", "state_dict", "to", "cuda",
    "cpu", "half", "float", "double", "zero_grad", "modules", "children", "buffers", "apply", "type", "name",
}


def share_state(plan: Plan) -> None:
    """Decide how each name assigned in a hook is shared, and rename module state to ``self.x``.

    A name that the surrounding scope binds or reads keeps living there (``global`` /
    ``nonlocal`` in the hooks that assign it); a name used by several hooks (or read before it
    is assigned in a hook, like an accumulator) becomes module state ``self.<name>``; anything
    else stays a local of its hook.
    """
    facts = plan.facts
    usages: dict[str, NameUsage] = {name: usage_of(*hook.statements) for name, hook in plan.hooks.items() if hook.statements}
    before, after, called_free = _scope_flow(facts)
    scope_globals = _declared_globals(facts.scope) if isinstance(facts.scope, cst.FunctionDef) else set()
    stored_anywhere = set().union(*(u.stores for u in usages.values())) if usages else set()
    step_names = {name for hook in plan.hooks.values() for name in (hook.batch_param, hook.index_param) if name}
    reserved_names = {"self", "batch", "batch_idx"} | step_names
    in_function = isinstance(facts.scope, cst.FunctionDef)
    shared_in: dict[str, set[str]] = {}
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
                plan.hooks[hook].declarations.append(Declaration(keyword, name))
            if keyword == "nonlocal" and name not in before.stores and name not in after.stores:
                plan.bindings_needed.append(name)
            continue
        sharing = _hooks_sharing(name, plan, usages)
        if sharing:
            plan.self_state[name] = name if name not in RESERVED_ATTRIBUTES else f"{name}_"  # `_device`, `_hparams`... are Lightning's own
            shared_in[name] = sharing
    for hook in plan.hooks.values():
        hook.statements = _without_idle_declarations(hook.statements)
    detached = _losses_kept_detached(plan, shared_in)
    for hook_name, hook in plan.hooks.items():
        mapping = {name: attribute for name, attribute in plan.self_state.items() if hook_name in shared_in[name]}
        if hook_name == "training_step":
            mapping = {name: attribute for name, attribute in mapping.items() if name not in detached}
        if mapping:
            hook.statements = apply(RenameToSelf(mapping), hook.statements)
    if detached:
        step = plan.hooks["training_step"]
        out = []
        for stmt in step.statements:
            out.append(stmt)
            for name in sorted(detached & _assigned_here(stmt)):
                out.append(statement(f"self.{plan.self_state[name]} = {name}.detach()  # for the epoch's end, without its graph"))
        step.statements = out


def _without_idle_declarations(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The script's own ``global x`` statements that came along with a function's statements
    (``def test(): global best_acc ...``), kept only for the names this hook assigns."""
    stores = usage_of(*statements).stores if statements else set()
    out = []
    for stmt in statements:
        if isinstance(stmt, cst.SimpleStatementLine) and stmt.body and all(isinstance(s, (cst.Global, cst.Nonlocal)) for s in stmt.body):
            kept = []
            for small in stmt.body:
                names = [item for item in small.names if item.name.value in stores]
                if names:
                    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    kept.append(small.with_changes(names=names))
            if not kept:
                if out or len(statements) > 1:
                    continue
            else:
                kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                stmt = stmt.with_changes(body=kept)
        out.append(stmt)
    return out


def _losses_kept_detached(plan: Plan, shared_in: dict[str, set[str]]) -> set[str]:
    """The training loss, when a later hook reads the last step's value (``print(loss.item())``
    after the loop): ``training_step`` keeps it a local and gives the module a detached copy, so
    the last step's autograd graph is not kept alive between steps."""
    step = plan.hooks.get("training_step")
    if step is None or not step.statements:
        return set()
    losses = {plan.optimization.loss_name} if plan.optimization.loss_name else set()
    code = "\n".join(code_of(s) for s in step.statements)
    losses |= {name for name in plan.self_state if f"manual_backward({name})" in code}
    return {
        name
        for name in losses
        if name in plan.self_state
        and "training_step" in shared_in.get(name, ())
        and _assigns_first(step.statements, name)
        and name not in usage_of(*step.statements).first_load_before_store
    }


def _assigned_here(stmt: cst.BaseStatement) -> set[str]:
    """Names a simple statement assigns at its own level."""
    names: set[str] = set()
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    names |= _target_names(target.target)
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                names |= _target_names(small.target)
    return names


def _hooks_sharing(name: str, plan: Plan, usages: dict[str, NameUsage]) -> set[str]:
    """The hooks through which a value of ``name`` flows from one hook (or one step) to another.

    A hook that reads ``name`` before assigning it sees what the hooks run before it stored
    (Lightning runs them in :data:`HOOK_ORDER`, epoch after epoch, a step hook once per batch):
    walking back from it, every hook that stores ``name`` joins, up to one that assigns it
    first thing (its value starts anew there). Other hooks keep ``name`` a local of their own:
    ``loss`` of ``training_step`` and the ``loss`` total of an evaluation loop stay two names.
    """
    order = [h for h in HOOK_ORDER if h in usages]
    sharing: set[str] = set()
    for reader in order:
        if name not in usages[reader].first_load_before_store:
            continue
        position = order.index(reader)
        # back from the reader, cyclically: a step hook's own previous call comes first, any
        # other hook's own previous call (the epoch before) last
        earlier, later = order[:position][::-1], order[position + 1:][::-1]
        walk = [reader] + earlier + later if reader in STEP_HOOKS else earlier + later + [reader]
        found = set()
        for hook in walk:
            if name in usages[hook].stores:
                found.add(hook)
                if _assigns_first(plan.hooks[hook].statements, name):
                    break
        if found:
            sharing |= found | {reader}
    return sharing


def _assigns_first(statements: list[cst.BaseStatement], name: str) -> bool:
    """Does ``name = ...`` stand among the statements (at their own level) before any read of it?"""
    for stmt in statements:
        if name in usage_of(stmt).first_load_before_store:
            return False
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target] if isinstance(small, cst.AnnAssign) and small.value is not None else []
                if any(name in _target_names(t) for t in targets):
                    return True
    return False


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(_target_names(e.value) for e in target.elements)) if target.elements else set()
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def check_loaders_visible(facts: Facts) -> None:
    """The loaders go to ``trainer.fit``/``test``: every name they use must exist there."""
    visible = set(dir(builtins)) | _scope_usage(facts).stores
    if isinstance(facts.scope, cst.FunctionDef):
        visible |= usage_of(*facts.script.module.body).stores | set(param_names(facts.scope.params))
    for label, phase in (("training", facts.train), ("validation", facts.val), ("test", facts.test)):
        if phase is None:
            continue
        missing = sorted(usage_of(cst.Module([cst.SimpleStatementLine([cst.Expr(phase.loader)])])).loads - visible)
        if missing:
            raise Unsupported(
                facts.script.line(phase.loop),
                f"the {label} data loader `{code_of(phase.loader)}` is built inside the loop ({', '.join(missing)} is not defined outside it); "
                "create it once before training",
            )


def _scope_statements(facts: Facts) -> tuple[list[cst.BaseStatement], set[cst.CSTNode], set[cst.CSTNode]]:
    """The statements of the loop's scope, the converted ones (region, test loop) and the
    functions the conversion inlines."""
    scope = facts.scope
    converted = {facts.region} | ({facts.test.holder} if facts.test is not None else set())
    statements = list(scope.body.body) if isinstance(scope, cst.FunctionDef) else list(facts.script.module.body)
    return statements, converted, set(facts.inlined_functions())


def _scope_flow(facts: Facts) -> tuple[NameUsage, NameUsage, set[str]]:
    """Name usage of the loop's scope before and after the converted region.

    Also the free names of the module's (non-inlined) functions when the scope is the module:
    those functions may read a global that the loop assigns.
    """
    statements, converted, inlined = _scope_statements(facts)
    test_holder = facts.test.holder if facts.test is not None else None
    before, after = NameUsage(), NameUsage()
    called_free: set[str] = set()
    current = before
    seen_region = False
    for stmt in _flatten_without(statements, set(), stop=converted):
        if stmt is facts.region:
            current = after
            seen_region = True
            continue
        if stmt is test_holder:
            # what the script sets up between training and the test loop flows into the test hooks
            before.stores |= after.stores if seen_region else set()
            continue
        if stmt in inlined:
            continue
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and not isinstance(facts.scope, cst.FunctionDef):
            called_free |= usage_of(stmt).loads
        stmt.visit(current)
    return before, after, called_free


def _scope_usage(facts: Facts) -> NameUsage:
    """Names the scope of the loop binds and reads outside the converted statements."""
    statements, converted, inlined = _scope_statements(facts)
    usage = NameUsage()
    for stmt in _flatten_without(statements, converted):
        if stmt not in inlined:
            stmt.visit(usage)
    return usage


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


def _flatten_without(statements, skip, stop=frozenset()):
    """Statements of a block in order, descending into compound statements that hold a skipped
    (or ``stop``) statement; skipped ones are left out, ``stop`` ones are yielded as markers."""
    for stmt in statements:
        if stmt in skip:
            continue
        if stmt in stop:
            yield stmt
            continue
        targets = set(skip) | set(stop)
        if isinstance(stmt, (cst.If, cst.For, cst.While, cst.With, cst.Try)) and contains(stmt, lambda n: n in targets):
            # visit the header parts and the children separately
            header = _header_usage_node(stmt)
            if header is not None:
                yield header
            for block in inner_blocks(stmt):
                if not isinstance(block, cst.IndentedBlock):
                    continue
                yield from _flatten_without(list(block.body), skip, stop)
        else:
            yield stmt


def _header_usage_node(stmt):
    if isinstance(stmt, cst.If):
        return cst.SimpleStatementLine([cst.Expr(stmt.test)])
    if isinstance(stmt, cst.For):
        return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(stmt.target)], stmt.iter)])
    if isinstance(stmt, cst.While):
        return cst.SimpleStatementLine([cst.Expr(stmt.test)])
    if isinstance(stmt, cst.With):
        return cst.SimpleStatementLine([cst.Expr(cst.Tuple([cst.Element(i.item) for i in stmt.items]))])
    return None
