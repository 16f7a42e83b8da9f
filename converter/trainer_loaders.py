"""Loaders the hooks read only for their size come from the Trainer, not the constructor.

A lifted class (:mod:`.enclosing`) takes every name of the enclosing function its hooks read as
a constructor argument, so ``len(train_loader.dataset)`` in a progress line made
``train_loader`` one, which ``save_hyperparameters`` cannot record (``load_from_checkpoint``
needs it again). The loader a hook of the training, validation or test loop reads is the one
the conversion passes to ``trainer.fit`` (train or val) or ``trainer.test``, and Lightning
hands it back as ``self.trainer.train_dataloader``, ``self.trainer.val_dataloaders`` or
``self.trainer.test_dataloaders`` while that loop runs (Lightning 2.x: the ``DataLoader``
itself for a single loader; on one process the very object the script built, so the printed
lines are unchanged). Under DDP it is the loader Lightning gives each process, whose ``len`` is
the process's share, as the ``batch_idx`` it is compared with.

Only reads of its size move: ``len(X)``, ``X.dataset``, ``X.batch_size``. A loader a hook
iterates, passes on or assigns, or that ``configure_optimizers`` reads (the Trainer has no
loader yet when it runs), or that a hook of another loop reads, stays a constructor argument.
"""

from __future__ import annotations

import libcst as cst

from .name_uses import NameUse, ReplaceNodes, uses_of
from .names import usage_of
from .plan import Plan
from .transforms import apply

#: the loop a hook belongs to
PHASE_OF_HOOK = {
    "on_train_epoch_start": "train", "training_step": "train", "on_train_epoch_end": "train",
    "on_validation_epoch_start": "val", "validation_step": "val", "on_validation_epoch_end": "val",
    "on_test_epoch_start": "test", "test_step": "test", "on_test_epoch_end": "test",
}
#: the Trainer's property holding the loop's loader
TRAINER_LOADER = {"train": "train_dataloader", "val": "val_dataloaders", "test": "test_dataloaders"}
SIZE_ATTRIBUTES = ("dataset", "batch_size")


def read_loaders_from_trainer(plan: Plan, arguments: dict[str, str]) -> list[str]:
    """Rewrite the hooks' size-only reads of the loaders among ``arguments`` (the lifted
    constructor arguments) to the Trainer's loader, and drop those loaders from ``arguments``.
    Returns the names dropped."""
    roles = loader_roles(plan)
    facts = plan.facts
    scope_body = facts.scope.body.body if isinstance(facts.scope, cst.FunctionDef) else ()
    if "len" in usage_of(*facts.script.module.body, *scope_body).stores:
        return []  # ``len`` is not the builtin
    setup_reads = usage_of(*plan.optimizer_setup).loads if plan.optimizer_setup else set()
    dropped = []
    for name in list(arguments):
        phases = roles.get(name, set())
        if not phases or name in setup_reads:
            continue
        replacements = _replacements(plan, name, phases)
        if not replacements:
            continue
        for hook in plan.hooks.values():
            hook.statements = apply(ReplaceNodes(replacements), hook.statements)
        del arguments[name]
        dropped.append(name)
    return dropped


def loader_roles(plan: Plan) -> dict[str, set[str]]:
    """Loader name -> the loops it is given to (``train``, ``val``, ``test``)."""
    roles: dict[str, set[str]] = {}
    for argument in plan.fit_loaders:
        phase = {"train_dataloaders": "train", "val_dataloaders": "val"}.get(argument.keyword)
        if phase is not None and argument.code.isidentifier():
            roles.setdefault(argument.code, set()).add(phase)
    if plan.test is not None and plan.test.loader.isidentifier():
        roles.setdefault(plan.test.loader, set()).add("test")
    return roles


def _replacements(plan: Plan, name: str, phases: set[str]) -> dict[int, tuple[cst.Name, cst.BaseExpression]]:
    """Each use of ``name`` in the hooks → the Trainer's loader; empty when one use is not a
    size-only read in a hook of a loop the loader is given to."""
    replacements = {}
    for hook_name, hook in plan.hooks.items():
        uses = uses_of(hook.statements, name)
        if not uses:
            continue
        phase = PHASE_OF_HOOK.get(hook_name)
        if phase not in phases or any(d.name == name for d in hook.declarations):
            return {}
        for use in uses:
            if not is_size_read(use):
                return {}
            replacements[id(use.node)] = (use.node, cst.parse_expression(f"self.trainer.{TRAINER_LOADER[phase]}"))
    return replacements


def is_size_read(use: NameUse) -> bool:
    """``len(X)``, ``X.dataset`` or ``X.batch_size``, never assigned."""
    if use.assigned:
        return False
    parent, grandparent = use.parent, use.grandparent
    if isinstance(parent, cst.Attribute) and parent.value is use.node:
        return parent.attr.value in SIZE_ATTRIBUTES
    return (
        isinstance(parent, cst.Arg) and parent.keyword is None and not parent.star
        and isinstance(grandparent, cst.Call) and len(grandparent.args) == 1
        and isinstance(grandparent.func, cst.Name) and grandparent.func.value == "len"
    )
