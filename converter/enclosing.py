"""The LightningModule at module level: what its hooks read from the enclosing function.

A loop inside ``main()`` reads ``main()``'s locals (``args``, loaders, the criterion, the
optimizer...). A class defined inside ``main()`` would read them as closures, and could then be
neither imported, pickled (``ddp_spawn``) nor rebuilt by ``load_from_checkpoint``. So the class
goes to module level, above the function, and:

* every name its hooks (and ``configure_optimizers``) read that the enclosing function binds
  becomes a constructor argument, kept as ``self.<name>`` (but a loader the hooks read only for
  its size is the Trainer's, :mod:`.trainer_loaders`, and the argparse values the hooks read are
  hyperparameters when the module builds the model, :mod:`.namespace_values`);
* every name a hook assigns in the function's scope (``nonlocal`` before: a best accuracy, a
  history list) becomes module state ``self.<name>``, started from the function's value when it
  has one, and copied back after ``trainer.fit`` (and ``trainer.test``) for the code after it.

The module is still constructed where the loop was, so nothing the script runs moves (the
random-number stream is unchanged).

A loop in the script's ``if __name__ == "__main__":`` block is the same case without closures:
the class goes above the block, at module level; what the hooks read or assign there are module
globals, so nothing is renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .names import NameUsage, fresh_name, param_names, usage_of
from .plan import Plan
from .state import RESERVED_ATTRIBUTES
from .trainer_loaders import read_loaders_from_trainer
from .transforms import RenameToSelf, apply


@dataclass(eq=False)
class Lifted:
    """How the class leaves the enclosing function (``Plan.lifted``)."""

    before: cst.BaseStatement  #: the module-level statement the class is written above
    function: str  #: the enclosing function's name, for the docstring
    where: str = ""  #: the docstring's name for what the class left (default ``function()``)
    arguments: dict[str, str] = field(default_factory=dict)  #: script name -> attribute (read-only values)
    state: dict[str, str] = field(default_factory=dict)  #: script name -> attribute (assigned by hooks)
    state_initial: set[str] = field(default_factory=set)  #: state names the function binds before the loop
    write_back_after_test: set[str] = field(default_factory=set)  #: state names the test hooks assign

    def attribute(self, name: str) -> str | None:
        return self.arguments.get(name) or self.state.get(name)


def lift_class(plan: Plan) -> None:
    """Record in ``plan.lifted`` how the class moves to module level (nothing to do when the
    loop is at module level already), and rename what the hooks read to ``self.<name>``."""
    facts = plan.facts
    scope = facts.scope
    if not isinstance(scope, cst.FunctionDef):
        guard = main_guard(facts)
        if guard is not None:
            _lift_from_guard(plan, guard)
        return
    parents = facts.script.parents
    top = scope
    functions = [scope]
    for ancestor in parents.ancestors(scope):
        if isinstance(ancestor, cst.FunctionDef):
            functions.append(ancestor)
        if isinstance(ancestor, cst.BaseStatement):
            top = ancestor
    bound = set()
    declared_global = set()
    for function in functions:
        bound |= set(param_names(function.params)) | usage_of(*function.body.body).stores
        declared_global |= _globals_of(function)
    bound -= declared_global
    bound.discard("self")

    lifted = Lifted(before=top, function=scope.name.value)
    # a name Lightning's module already has gets a trailing underscore (``hparams`` →
    # ``self.hparams_``; a leading one would meet Lightning's own ``self._hparams``)
    taken = set(RESERVED_ATTRIBUTES) | set(facts.model_names) | set(plan.self_state.values()) | _self_attributes(plan)
    # hooks that assigned an enclosing name (``nonlocal``): module state
    for hook_name, hook in plan.hooks.items():
        for declaration in list(hook.declarations):
            if declaration.keyword != "nonlocal":
                continue
            hook.declarations.remove(declaration)
            name = declaration.name
            if name not in lifted.state:
                lifted.state[name] = fresh_name(name if name not in taken else f"{name}_", taken)
            if hook_name in ("on_test_epoch_start", "test_step", "on_test_epoch_end"):
                lifted.write_back_after_test.add(name)
    before_region = _bound_before(facts, scope)
    lifted.state_initial = {name for name in lifted.state if name in before_region}
    plan.bindings_needed = [name for name in plan.bindings_needed if name not in lifted.state]

    # what the hooks read from the function: constructor arguments
    read = _hook_reads(plan)
    for name in sorted((read & bound) - set(facts.model_names) - set(lifted.state)):
        lifted.arguments[name] = fresh_name(name if name not in taken else f"{name}_", taken)
    # a loader read only for its size: the Trainer's loader (no constructor argument)
    read_loaders_from_trainer(plan, lifted.arguments)

    _rename_to_self(plan, lifted)


def _rename_to_self(plan: Plan, lifted: Lifted) -> None:
    mapping = {**lifted.arguments, **lifted.state}
    if mapping:
        renamer = RenameToSelf(mapping)
        for hook in plan.hooks.values():
            hook.statements = apply(renamer, hook.statements)
        plan.optimizer_setup = apply(renamer, plan.optimizer_setup)
    plan.lifted = lifted


def _hook_reads(plan: Plan) -> set[str]:
    """The names the hooks (and ``configure_optimizers``) read and do not bind themselves."""
    facts = plan.facts
    read = set()
    for hook in plan.hooks.values():
        if hook.statements:
            usage = usage_of(*hook.statements)
            parameters = {hook.batch_param, hook.index_param}
            read |= usage.loads - usage.stores - parameters - {d.name for d in hook.declarations}
    if plan.optimizer_setup:
        usage = usage_of(*plan.optimizer_setup)
        read |= usage.loads - usage.stores
    else:
        read |= {opt.name for opt in facts.optimizers} | {config.fact.name for config in plan.schedulers}
    return read


def main_guard(facts) -> cst.If | None:
    """The module's ``if __name__ == "__main__":`` statement holding the loop, if it does."""
    top = facts.region
    for ancestor in facts.script.parents.ancestors(facts.region):
        if isinstance(ancestor, cst.BaseStatement):
            top = ancestor
    if top is facts.region or not isinstance(top, cst.If) or top.orelse is not None:
        return None
    test = top.test
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.Equal)):
        return None
    sides = {_literal(test.left), _literal(test.comparisons[0].comparator)}
    return top if sides == {"__name__", "'__main__'"} else None


def _literal(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.SimpleString):
        return "'" + node.evaluated_value + "'" if isinstance(node.evaluated_value, str) else ""
    return ""


def _lift_from_guard(plan: Plan, guard: cst.If) -> None:
    """The loop runs in the script's ``if __name__ == "__main__":`` block: the class goes above
    the block, at module level, so it is defined once, importable and pickled by reference. The
    names its hooks read or assign there are module globals, so they stay as they are (the
    module is still constructed where the loop was: nothing the script runs moves)."""
    plan.lifted = Lifted(before=guard, function="", where="this script")


def _globals_of(function: cst.FunctionDef) -> set[str]:
    names: set[str] = set()
    for stmt in function.body.body:
        for node in _walk_global(stmt):
            names.update(item.name.value for item in node.names)
    return names


def _walk_global(stmt: cst.CSTNode) -> list[cst.Global]:
    found: list[cst.Global] = []

    class _Globals(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return False

        def visit_ClassDef(self, node):
            return False

        def visit_Global(self, node: cst.Global):
            found.append(node)

    stmt.visit(_Globals())
    return found


def _bound_before(facts, scope: cst.FunctionDef) -> set[str]:
    """Names the function binds (parameters, statements) before the converted loop."""
    usage = NameUsage()
    names = set(param_names(scope.params))
    region = facts.region

    def holds_region(stmt) -> bool:
        found = []

        class _Find(cst.CSTVisitor):
            def on_visit(self, node):
                if node is region:
                    found.append(node)
                return not found

        stmt.visit(_Find())
        return bool(found)

    for stmt in scope.body.body:
        if stmt is region or holds_region(stmt):
            break
        stmt.visit(usage)
    return names | usage.stores


def _self_attributes(plan: Plan) -> set[str]:
    """``self.<attribute>`` names the hooks already use (skip flags, logged state)."""
    found: set[str] = set()

    class _Attributes(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                found.add(node.attr.value)

    for hook in plan.hooks.values():
        for stmt in hook.statements:
            stmt.visit(_Attributes())
    return found
