"""Shared by the PTL3xx DataLoader rules: which DataLoader(...) calls feed a Trainer."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import method_name, positional
from ..lightning_facts import is_dataloader_call
from ...api_knowledge import dotted_name
from ..rule import Rule

_LOADER_HOOKS = {"train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader"}
_TRAINER_METHODS = {"fit", "validate", "test", "predict"}


class TrainerLoaderRule(Rule):
    """Base: calls :meth:`check_loader` once for each ``DataLoader(...)`` that is returned from a
    ``*_dataloader`` hook of a Lightning class or passed to ``trainer.fit/validate/test/predict``
    (directly or through a variable). Not a rule itself (no code)."""

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.assigned: dict[str, cst.Call] = {}
        self.passed: set[str] = set()
        self.seen: set[int] = set()

    def check_loader(self, call: cst.Call) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _once(self, call: cst.Call) -> None:
        if id(call) not in self.seen:
            self.seen.add(id(call))
            self.check_loader(call)

    def visit_Assign(self, node: cst.Assign) -> None:
        if is_dataloader_call(self.ctx, node.value) and len(node.targets) == 1:
            name = dotted_name(node.targets[0].target)
            if name:
                self.assigned[name] = node.value

    def visit_Call(self, node: cst.Call) -> None:
        if is_dataloader_call(self.ctx, node):
            method = self.ctx.method
            if method is not None and method.cls is not None and method.cls.kind and method.name in _LOADER_HOOKS:
                self._once(node)
            return
        if method_name(node) not in _TRAINER_METHODS or not self.ctx.is_trainer_expr(node.func.value):
            return
        for arg in [*positional(node)[1:], *(a for a in node.args if a.keyword is not None and "dataloader" in a.keyword.value)]:
            value = arg.value
            items = [e.value for e in value.elements] if isinstance(value, (cst.List, cst.Tuple)) else [value]
            for item in items:
                if is_dataloader_call(self.ctx, item):
                    self._once(item)
                else:
                    dotted = dotted_name(item)
                    if dotted:
                        self.passed.add(dotted)

    def finish(self) -> None:
        for name in sorted(self.passed):
            if name in self.assigned:
                self._once(self.assigned[name])
