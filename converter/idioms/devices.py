"""Device selection and device moves → the Trainer's accelerator and Lightning's own moves."""

from __future__ import annotations

import libcst as cst

from ...api_knowledge import DEVICE_CONSTRUCTORS, dotted_name
from ..device_choice import gpu_condition
from ..facts import Facts, Phase
from ..idiom import Example, Idiom
from ..names import usage_of
from ..plan import HookSource, NotePlace, Plan, Replacement
from ..transforms import apply
from ..tree import code_of, has_call, if_chain


class Devices(Idiom):
    """Choosing a device (``device = torch.device("cuda" if ... else "cpu")``) and moving the
    model and the batches to it (``.to(device)``, ``.cuda()``).

    ## Becomes

    ``Trainer(accelerator=..., devices=1)`` following the script's own choice (``"gpu" if C
    else "cpu"`` for ``torch.device("cuda" if C else "cpu")``); the batch moves inside the
    loops and the model's moves go (Lightning moves both); other uses of the device variable
    inside hooks become ``self.device``; the device selection goes once nothing reads it.

    ## Refuses

    Never. Where the device is chosen at run time in a way that cannot be read statically, the
    accelerator is ``"auto"`` with a review note above the Trainer.

    ## Why

    Lightning places the module and each batch on the Trainer's device; a move of its own is
    redundant, and a hard-coded ``.cuda()`` breaks CPU runs and multi-device strategies. One
    device, like the script, keeps the numbers.
    """

    name = "devices"
    title = "device selection, .to(device) / .cuda() → Trainer(accelerator=..., devices=1), moves removed"
    fixtures = ("feedforward_mnist", "lenet_plateau", "device_global")
    examples = (
        Example(
            setup="""
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            model.to(device)
            """,
            batch_start="x, y = x.to(device), y.to(device)",
            after=('accelerator="gpu" if torch.cuda.is_available() else "cpu", devices=1',),
            absent=(".to(device)", "torch.device("),
        ),
    )
    order = 55
    rewrite_order = 40

    def __init__(self) -> None:
        self._batch_names: dict[int, set[str]] = {}

    def rewrite(self, statements: list[cst.BaseStatement], source: HookSource, plan: Plan) -> list[cst.BaseStatement]:
        if source.part.is_step and source.phase is not None:
            devices = plan.facts.devices.names | plan.facts.devices.index_names  # batch.to(rank) too
            statements = apply(StripDeviceMoves(devices, self._batch_roots(source.phase)), statements)
        return statements

    def prepare(self, plan: Plan) -> None:
        # other uses of the device variable in the hooks read the module's device
        plan.module_attributes.update({name: "self.device" for name in plan.facts.devices.names})

    def _batch_roots(self, phase: Phase) -> set[str]:
        """The batch's names, and the tensors the loop computes from them."""
        if id(phase) not in self._batch_names:
            roots = usage_of(cst.Module([cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(phase.batch_target)], cst.Name("batch"))])])).stores
            self._batch_names[id(phase)] = roots | _derived_names(cst.Module(phase.body), roots)
        return self._batch_names[id(phase)]

    def contribute(self, plan: Plan) -> None:
        facts = plan.facts
        accelerator, note = accelerator_argument(facts)
        plan.add_trainer_argument("accelerator", accelerator)
        plan.add_trainer_argument("devices", "1")
        if note:
            plan.note(facts.script.line(facts.region), note, NotePlace.TRAINER)
        self._remove_model_moves(plan)

    def _remove_model_moves(self, plan: Plan) -> None:
        """``model.to(device)`` / ``model = model.cuda()`` statements; the moves in ``model = Net().to(device)``."""
        facts = plan.facts
        models, devices = facts.model_names, facts.devices.names | facts.devices.index_names  # model.to(rank) too
        for stmt in facts.scope_statements():
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            call = small.value if isinstance(small, cst.Expr) else None
            if _moves_model(call, models, devices):
                plan.remove(stmt, f"removed {code_of(call)} (Lightning moves the model)")
            if isinstance(small, cst.Assign):
                value = small.value
                if _moves_model(value, models, devices) and dotted_name(small.targets[0].target) == dotted_name(value.func.value):
                    plan.remove(stmt, f"removed {code_of(small)} (Lightning moves the model)")
        for model in facts.models:
            if model.assign is None or plan.is_removed(model.assign):
                continue
            stripper = StripDeviceMoves(devices)
            stripped = model.assign.visit(stripper)
            plan.replacements.append(Replacement(model.assign, [stripped] if isinstance(stripped, cst.BaseStatement) else [], keep_leading_lines=False))
            if stripper.removed:
                plan.change(model.assign, "removed the model's device move")

    def prune(self, plan: Plan, still_read: set[str]) -> None:
        facts = plan.facts
        for stmt in facts.devices.assigns:
            names = usage_of(stmt).stores
            if names and not (names & still_read) and not plan.is_removed(stmt):
                plan.remove(stmt, "removed device selection (Lightning chooses the device)")
        for stmt in facts.scope_statements():
            if isinstance(stmt, cst.If) and not plan.is_removed(stmt) and _all_branches_removed(stmt, plan):
                plan.remove(stmt, "removed device selection (Lightning chooses the device)")


def accelerator_argument(facts: Facts) -> tuple[str, str | None]:
    """Trainer accelerator argument (code) matching the script's device choice, and a note."""
    when, note = gpu_condition(facts)
    if when is None:
        own = _device_variable(facts)
        if own is not None:
            return f"{own}.type", None  # the script's own choice ("cuda" / "mps" / "cpu"), kept
        return '"auto"', note
    if when is True:
        return '"gpu"', None
    if when is False:
        return '"cpu"', None
    if when.startswith("not (") and when.endswith(")"):
        return f'"cpu" if {when[5:-1]} else "gpu"', None
    return f'"gpu" if {when} else "cpu"', None


#: ``torch.device(...)`` strings whose ``.type`` is a Trainer accelerator on device index 0
_PLAIN_DEVICES = {"cuda", "cuda:0", "mps", "mps:0", "cpu"}


def _device_variable(facts: Facts) -> str | None:
    """The one name the script's device choice assigns, when every branch assigns it a plain
    ``torch.device("cuda" / "mps" / "cpu")``: its ``.type`` is the Trainer's accelerator."""
    names = set()
    for stmt in facts.devices.assigns:
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
            return None
        assign = stmt.body[0]
        value = assign.value
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return None
        if not (isinstance(value, cst.Call) and facts.script.qualified_call(value) == "torch.device" and len(value.args) == 1):
            return None
        text = value.args[0].value
        if not (isinstance(text, cst.SimpleString) and text.evaluated_value in _PLAIN_DEVICES):
            return None
        names.add(assign.targets[0].target.value)
    if len(names) != 1 or facts.script.parents.block_owner(facts.devices.assigns[0]) is None:
        return None
    return names.pop()


def _moves_model(call, models: list[str], devices: set[str]) -> bool:
    """``model.cuda()`` / ``model.to(device)`` (device arguments only)."""
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and dotted_name(call.func.value) in models):
        return False
    method = call.func.attr.value
    return method == "cuda" or (method == "to" and bool(call.args) and all(
        is_device_arg(a, devices) or (a.keyword and a.keyword.value == "non_blocking") for a in call.args
    ))


def _all_branches_removed(stmt: cst.If, plan: Plan) -> bool:
    return all(
        isinstance(node.body, cst.IndentedBlock) and all(plan.is_removed(s) for s in node.body.body)
        and not (isinstance(node, cst.If) and has_call(node.test))
        for node in if_chain(stmt)
    )


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


def is_device_arg(arg: cst.Arg, device_names: set[str]) -> bool:
    """A ``.to(...)`` argument naming a device."""
    if arg.keyword is not None and arg.keyword.value != "device":
        return False
    value = arg.value
    if isinstance(value, cst.Name) and value.value in device_names:
        return True
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value if isinstance(value.evaluated_value, str) else ""
        return text.split(":")[0] in ("cuda", "cpu", "mps")
    if isinstance(value, cst.Call) and dotted_name(value.func) in DEVICE_CONSTRUCTORS:
        return True
    if isinstance(value, cst.Attribute) and value.attr.value == "device":
        return True  # x.to(other.device)
    return False


class StripDeviceMoves(cst.CSTTransformer):
    """``x.to(device)`` -> ``x``, ``x.cuda()`` -> ``x``; ``x.to(device, dtype)`` -> ``x.to(dtype)``.

    Only for receivers rooted at one of ``roots`` (the batch variables), or any receiver when
    ``roots`` is None. Statements that become no-ops (``x = x``, ``x, y = x, y``, bare ``x``)
    are removed. ``removed`` counts the moves taken out.
    """

    def __init__(self, device_names: set[str], roots: set[str] | None = None) -> None:
        self.device_names = device_names
        self.roots = roots
        self.removed = 0

    def _rooted(self, receiver: cst.BaseExpression) -> bool:
        if self.roots is None:
            return True
        node = receiver
        while True:
            if isinstance(node, cst.Name):
                return node.value in self.roots
            if isinstance(node, cst.Attribute):
                node = node.value
            elif isinstance(node, cst.Call):
                node = node.func
            elif isinstance(node, cst.Subscript):
                node = node.value
            else:
                return False

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if not isinstance(func, cst.Attribute) or not self._rooted(func.value):
            return updated
        method = func.attr.value
        if method == "cuda" and all(a.keyword is None or a.keyword.value in ("non_blocking", "device") for a in updated.args):
            self.removed += 1
            return func.value
        if method == "to" and updated.args:
            rest = [a for a in updated.args if not is_device_arg(a, self.device_names) and not (a.keyword and a.keyword.value in ("non_blocking", "copy"))]
            if len(rest) == len(updated.args):
                return updated
            self.removed += 1
            if not rest:
                return func.value
            rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(args=rest)
        return updated

    def leave_If(self, original, updated):
        """``if use_cuda: x = x.cuda()`` whose body is now empty goes too."""
        if self.removed and _empty_block(updated.body) and updated.orelse is None and not has_call(updated.test):
            return cst.RemoveFromParent()
        return updated

    def leave_SimpleStatementLine(self, original, updated):
        body = [small for small in updated.body if not _is_noop(small)]
        if not body:
            return cst.RemoveFromParent()
        if len(body) != len(updated.body):
            body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(body=body)
        return updated


def _empty_block(block) -> bool:
    return isinstance(block, cst.IndentedBlock) and not block.body


def _is_noop(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, cst.Expr) and isinstance(small.value, (cst.Name, cst.Attribute)):
        return True
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
        return code_of(target).replace(" ", "").strip("()") == code_of(value).replace(" ", "").strip("()")
    return False


