"""Which device the script trains on, as the Trainer's ``accelerator`` sees it.

``gpu_condition`` reads the script's device choice (``device = torch.device("cuda" if C else
"cpu")``, ``if C: device = ...``, ``model.cuda()`` under ``if C``) into one answer: always the
GPU (True), always the CPU (False), on the GPU exactly when condition ``C`` holds (its code), or
unknown (None). The Trainer's accelerator (idiom ``devices``) and the mixed-precision lowering
(idiom ``mixed-precision``) both follow it.
"""

from __future__ import annotations

import libcst as cst

from ..api_knowledge import dotted_name
from .facts import Facts
from .tree import code_of

def _device_kind(value: cst.BaseExpression | None) -> str | None:
    """"gpu" / "cpu" for a device expression naming one, else None."""
    if isinstance(value, cst.Call) and value.args:
        value = value.args[0].value
    if isinstance(value, cst.Integer):
        return "gpu"  # a CUDA index: x.to(0) is x.to("cuda:0")
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value if isinstance(value.evaluated_value, str) else ""
        if text.startswith("cuda"):
            return "gpu"
        if text.startswith("cpu"):
            return "cpu"
    return None


def _negate(test: str) -> str:
    return f"not ({test})"


def gpu_condition(facts: Facts) -> tuple[bool | str | None, str | None]:
    """(when the script trains on the GPU, a note when that cannot be told statically)."""
    code = code_of
    assigns = facts.devices.assigns
    values = [stmt.body[0].value if isinstance(stmt, cst.SimpleStatementLine) else None for stmt in assigns]
    if len(assigns) == 1:
        value = values[0]
        if isinstance(value, cst.Call) and value.args:
            value = value.args[0].value
        if isinstance(value, cst.IfExp):
            body, orelse = _device_kind(value.body), _device_kind(value.orelse)
            if body and orelse and body != orelse:
                return (code(value.test) if body == "gpu" else _negate(code(value.test))), None
        kind = _device_kind(value)
        if kind:
            return kind == "gpu", None
    elif len(assigns) == 2:
        # if COND: device = torch.device("cuda") / else: device = torch.device("cpu")
        owner = facts.script.parents.block_owner(assigns[0])
        other = facts.script.parents.block_owner(assigns[1])
        if isinstance(owner, cst.If) and isinstance(other, cst.Else) and owner.orelse is other:
            first, second = _device_kind(values[0]), _device_kind(values[1])
            if first and second and first != second:
                return (code(owner.test) if first == "gpu" else _negate(code(owner.test))), None
    if assigns:
        return None, "the device is chosen at run time here; check the Trainer's accelerator"
    conditions = _model_cuda_conditions(facts)
    if conditions:
        if all(c is None for c in conditions):
            return True, None
        tests = {code(c) for c in conditions if c is not None}
        if len(tests) == 1 and None not in conditions:
            return tests.pop(), None
        return None, "the model is moved to the GPU under different conditions; check the Trainer's accelerator"
    return False, None


def _model_cuda_conditions(facts: Facts) -> list:
    """For each ``model.cuda()`` statement: the ``if`` test it runs under (None: always)."""
    out = []

    class _Moves(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "cuda":
                receiver = func.value
                while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
                    receiver = receiver.func.value
                base = dotted_name(receiver.func) if isinstance(receiver, cst.Call) else dotted_name(receiver)
                if base in facts.model_names or base in [m.class_name for m in facts.models if m.class_name]:
                    stmt = facts.script.parents.statement_of(node)
                    owner = facts.script.parents.block_owner(stmt) if stmt is not None else None
                    out.append(owner.test if isinstance(owner, cst.If) else None)

    facts.script.module.visit(_Moves())
    return out
