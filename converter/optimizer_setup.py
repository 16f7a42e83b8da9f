"""Optimizers and schedulers built in ``configure_optimizers``.

A strategy that wraps or shards the model before the optimizer exists (FSDP, DeepSpeed) needs
the optimizer built by the LightningModule, from its own parameters. So when nothing but the
converted loop uses them, the statements that create the optimizers and the schedulers
returned by ``configure_optimizers`` move into it: ``optimizer = optim.SGD(model.parameters(),
lr=args.lr)`` becomes ``optimizer = optim.SGD(self.model.parameters(), lr=self.args.lr)`` there
(the enclosing function's names through the constructor, :mod:`.enclosing`). Hooks that read
them use ``self.optimizers()`` / ``self.lr_schedulers()``.

They stay where the script built them (and ``configure_optimizers`` returns them) when anything
else reads them (a checkpoint saved with ``optimizer.state_dict()``, a resume that loads it), when
they are built inside a condition, or when a name they read is assigned again between their
creation and the loop (the value they would see would change). Building an optimizer draws no
random numbers, so the move keeps the training the same.
"""

from __future__ import annotations

import libcst as cst

from .enclosing import main_guard
from .names import NameUsage, usage_of
from .plan import Plan
from .transforms import expr, self_attribute, substitute_names


def move_optimizer_setup(plan: Plan) -> None:
    """Fill ``plan.optimizer_setup`` (and remove the statements where they were) when allowed."""
    facts = plan.facts
    scope = facts.scope
    guard = main_guard(facts) if not isinstance(scope, cst.FunctionDef) else None
    if isinstance(scope, cst.FunctionDef):
        body = list(scope.body.body)
    else:  # the module, or its ``if __name__ == "__main__":`` block when the loop is there
        body = list(guard.body.body) if guard is not None else list(facts.script.module.body)
    assigns = [opt.assign for opt in facts.optimizers] + [config.fact.assign for config in plan.schedulers]
    names = [opt.name for opt in facts.optimizers] + [config.fact.name for config in plan.schedulers]
    if not assigns or any(a is None or not _plain_assign(a) for a in assigns) or len(set(names)) != len(names):
        return
    if any(not any(a is stmt for stmt in body) for a in assigns) or any(plan.is_removed(a) for a in assigns):
        return  # built in a condition or a loop, or already gone
    ordered = sorted(assigns, key=lambda a: next(i for i, stmt in enumerate(body) if stmt is a))
    if _targets(ordered) != set(names):
        return
    region_index = _index_holding(body, facts.region)
    first = next(i for i, stmt in enumerate(body) if stmt is ordered[0])
    if region_index is None or first > region_index:
        return
    read = usage_of(*ordered).loads - set(names) - set(facts.model_names)
    between = NameUsage()
    for stmt in body[first:region_index]:
        if not any(stmt is a for a in ordered):
            stmt.visit(between)
    if read & between.stores:
        return
    if set(names) & _read_elsewhere(plan, ordered):
        return
    if not _hooks_can_ask_lightning(plan, names):
        return

    self_names = {m: self_attribute(m) for m in facts.model_names}
    self_names.update({name: expr(code) for name, code in plan.module_attributes.items()})
    setup = []
    for stmt in ordered:
        moved = substitute_names([stmt], self_names)[0]
        setup.append(moved.with_changes(leading_lines=[line for line in moved.leading_lines if line.comment is not None]))
        plan.remove(stmt, "optimizer / scheduler built in configure_optimizers")
    plan.optimizer_setup = setup


def _plain_assign(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
    )


def _targets(assigns: list[cst.BaseStatement]) -> set[str]:
    return {a.body[0].targets[0].target.value for a in assigns}


def _index_holding(body: list[cst.BaseStatement], node: cst.CSTNode) -> int | None:
    for index, stmt in enumerate(body):
        if stmt is node or _contains(stmt, node):
            return index
    return None


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    found = []

    class _Find(cst.CSTVisitor):
        def on_visit(self, node):
            if node is target:
                found.append(node)
            return not found

    root.visit(_Find())
    return bool(found)


def _read_elsewhere(plan: Plan, moved: list[cst.BaseStatement]) -> set[str]:
    """Names the script reads outside the converted loop, the functions the conversion inlines,
    the statements it removes and the ones that move."""
    facts = plan.facts
    skipped = {id(facts.region)} | {id(s) for s in moved} | {id(f) for f in facts.inlined_functions()}
    skipped |= {id(r.statement) for r in plan.removals} | {id(r.statement) for r in plan.replacements if not r.statements}
    if facts.test is not None:
        skipped.add(id(facts.test.holder))
    usage = NameUsage()

    class _Outside(cst.CSTVisitor):
        def on_visit(self, node):
            if id(node) in skipped:
                return False
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) and not _has_skipped(node):
                node.visit(usage)
                return False
            return True

    def _has_skipped(node) -> bool:
        found = []

        class _Find(cst.CSTVisitor):
            def on_visit(self, inner):
                if id(inner) in skipped:
                    found.append(inner)
                return not found

        node.visit(_Find())
        return bool(found)

    facts.script.module.visit(_Outside())
    return usage.loads


def _hooks_can_ask_lightning(plan: Plan, names: list[str]) -> bool:
    """Hooks that read an optimizer or a scheduler read ``self.optimizers()`` /
    ``self.lr_schedulers()`` instead (where the name is not their own local)."""
    facts = plan.facts
    optimizers = [opt.name for opt in facts.optimizers]
    schedulers = [config.fact.name for config in plan.schedulers]
    mapping: dict[str, cst.BaseExpression] = {}
    for index, name in enumerate(optimizers):
        mapping[name] = expr("self.optimizers()" if len(optimizers) == 1 else f"self.optimizers()[{index}]")
    for index, name in enumerate(schedulers):
        mapping[name] = expr("self.lr_schedulers()" if len(schedulers) == 1 else f"self.lr_schedulers()[{index}]")
    edits = []
    for hook in plan.hooks.values():
        if not hook.statements:
            continue
        usage = usage_of(*hook.statements)
        free = {name: mapping[name] for name in names if name in usage.loads and name not in usage.stores}
        if any(d.name in names for d in hook.declarations):
            return False
        if free:
            edits.append((hook, free))
    for hook, free in edits:
        hook.statements = substitute_names(hook.statements, free)
    return True
