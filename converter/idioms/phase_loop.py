"""``for phase in ["train", "val"]:`` around one batch loop (the PyTorch transfer-learning
tutorial) → ``training_step`` + ``validation_step``, each the loop specialised to its phase."""

from __future__ import annotations

import dataclasses

import libcst as cst

from ...api_knowledge import GRAD_MODE_SWITCH
from ..facts import Layout, Phase
from ..idiom import Example, Idiom
from ..layout import Shape, rebinding_line
from ..script import Script, Unsupported
from ..transforms import substitute_names
from ..tree import body_of, child_of, contains, innermost_loop


class PhaseLoop(Idiom):
    """One batch loop that runs a training and a validation phase every epoch, chosen by a
    loop over phase names (the PyTorch transfer-learning tutorial)::

        for epoch in range(num_epochs):
            for phase in ["train", "val"]:
                if phase == "train":
                    model.train()
                else:
                    model.eval()
                running_loss = 0.0
                for inputs, labels in dataloaders[phase]:
                    optimizer.zero_grad()
                    with torch.set_grad_enabled(phase == "train"):
                        loss = criterion(model(inputs), labels)
                        if phase == "train":
                            loss.backward()
                            optimizer.step()
                    running_loss += loss.item() * inputs.size(0)
                if phase == "train":
                    scheduler.step()
                epoch_loss = running_loss / dataset_sizes[phase]

    ## Becomes

    The loop specialised to each phase, as if the script had written it twice:
    ``training_step`` is the batch loop with ``phase == "train"`` (conditions on the phase
    decided, ``torch.set_grad_enabled(...)`` unwrapped: Lightning's training runs with
    gradients, its validation without), ``validation_step`` the same loop with ``phase ==
    "val"``; what the phase runs before its batch loop goes to ``on_train_epoch_start`` /
    ``on_validation_epoch_start``, what the training phase runs after it (``scheduler.step()``,
    the epoch's metrics) to the epoch between training and validation, what the validation phase
    runs after it (tracking the best weights) to ``on_validation_epoch_end``. Other uses of the
    phase name read its value (``dataset_sizes["val"]``). ``dataloaders["train"]`` and
    ``dataloaders["val"]`` go to ``trainer.fit``.

    ## Refuses

    A phase loop whose batch loop is nested in another block, that is not directly in an epoch
    loop, that runs other than one training phase followed by one evaluation phase (a training
    phase is one whose ``backward()`` runs), that leaves itself with ``break``/``continue``, or
    whose body assigns the phase variable again (its phases could not be told apart).

    ## Why

    Lightning runs each epoch's training, then its validation, like the loop; the phases share
    their variables (``running_loss``) the same way, as module state. The validation phase's
    ``optimizer.zero_grad()`` goes with the training's in automatic optimization (Lightning
    zeroes the gradients before every backward), and stays under manual optimization.
    """

    name = "phase-loop"
    title = "for phase in [\"train\", \"val\"]: one batch loop per phase → training_step + validation_step"
    fixtures = ("transfer_learning_phases",)
    examples = (
        Example(
            """
            loaders = {"train": loader, "val": val_loader}
            for epoch in range(2):
                for phase in ["train", "val"]:
                    model.train() if phase == "train" else model.eval()
                    for inputs, labels in loaders[phase]:
                        optimizer.zero_grad()
                        with torch.set_grad_enabled(phase == "train"):
                            loss = F.cross_entropy(model(inputs), labels)
                            if phase == "train":
                                loss.backward()
                                optimizer.step()
            """,
            after=(
                "def training_step(self, batch, batch_idx):",
                "def validation_step(self, batch, batch_idx):",
                'train_dataloaders=loaders["train"], val_dataloaders=loaders["val"]',
            ),
            absent=("set_grad_enabled", "phase"),
        ),
        Example(
            """
            loaders = {"train": loader, "val": val_loader}
            for epoch in range(2):
                for phase in ["train", "val"]:
                    for inputs, labels in loaders[phase]:
                        optimizer.zero_grad()
                        phase = F.cross_entropy(model(inputs), labels)
                        if phase == "train":
                            phase.backward()
                            optimizer.step()
            """,
            refused="the phase loop variable `phase` is assigned inside the phase loop",
        ),
    )
    order = 25

    def find_layout(self, script: Script, batch_loop: cst.For) -> Shape | None:
        phase_loop = innermost_loop(script.parents, batch_loop)
        names = _phase_names(phase_loop)
        if names is None:
            return None
        line = script.line(phase_loop)
        var = phase_loop.target.value
        if child_of(script.parents, batch_loop, phase_loop) is not batch_loop:
            raise Unsupported(script.line(batch_loop), "the batch loop of the phase loop is nested inside another block; only a loop directly in it is supported")
        epoch_loop = innermost_loop(script.parents, phase_loop)
        if not isinstance(epoch_loop, cst.For) or child_of(script.parents, phase_loop, epoch_loop) is not phase_loop:
            raise Unsupported(line, f"the `for {var} in ...` phase loop is not directly in a `for epoch in range(...)` loop")
        if phase_loop.orelse is not None or _leaves_itself(phase_loop, batch_loop):
            raise Unsupported(line, f"the `for {var} in ...` phase loop has an `else:` clause or a `break`/`continue` of its own")
        rebound = rebinding_line(script, phase_loop, var)
        if rebound is not None:
            raise Unsupported(rebound, f"the phase loop variable `{var}` is assigned inside the phase loop; its phases cannot be told apart")
        values = [v for v, _ in names]
        backward = _backward_calls(batch_loop)
        training = [v for v in values if any(_runs_under(script, call, batch_loop, var, v) for call in backward)]
        if len(values) != 2 or training != values[:1]:
            raise Unsupported(
                line,
                f"the phase loop runs {', '.join(repr(v) for v in values)}; only a training phase (the one that calls "
                "backward()) followed by one evaluation phase is converted",
            )
        statements = body_of(phase_loop)
        index = statements.index(batch_loop)
        before, after = statements[:index], statements[index + 1:]
        (_, train_literal), (_, val_literal) = names

        def phase(literal: cst.SimpleString, post: list[cst.BaseStatement]) -> Phase:
            return Phase(
                loop=batch_loop, body=list(batch_loop.body.body), pre=before, post=post, holder=phase_loop,
                loader=batch_loop.iter, batch_target=batch_loop.target, bindings={var: literal},
            )

        return Shape(train=phase(train_literal, []), val=phase(val_literal, after), mid=after)

    def present(self, layout: Layout) -> Layout:
        train, val, epoch = layout.train, layout.val, layout.epoch
        if val is None or epoch is None or train.holder is not val.holder or _phase_names(train.holder) is None:
            return layout
        var = train.holder.target.value
        script = layout.script

        def specialise(phase: Phase, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
            return _Specialiser(script, var, phase.bindings[var].evaluated_value).block(statements)

        # the training phase's statements after its loop run at the epoch's level: the phase is known there
        mid = specialise(train, epoch.mid)
        mid = [script.lines.remember(new, old) for new, old in zip(substitute_names(mid, train.bindings), mid)]
        return dataclasses.replace(
            layout,
            train=dataclasses.replace(train, body=specialise(train, train.body), pre=specialise(train, train.pre)),
            val=dataclasses.replace(val, body=specialise(val, val.body), pre=specialise(val, val.pre), post=specialise(val, val.post)),
            epoch=dataclasses.replace(epoch, mid=mid),
        )


def _phase_names(loop: cst.CSTNode | None) -> list[tuple[str, cst.SimpleString]] | None:
    """``for phase in ["train", "val"]`` -> [("train", <literal>), ("val", <literal>)]."""
    if not (isinstance(loop, cst.For) and isinstance(loop.target, cst.Name) and isinstance(loop.iter, (cst.List, cst.Tuple))):
        return None
    elements = [e.value for e in loop.iter.elements]
    if len(elements) < 2 or not all(isinstance(e, cst.SimpleString) and isinstance(e.evaluated_value, str) for e in elements):
        return None
    return [(e.evaluated_value, e) for e in elements]


def _backward_calls(loop: cst.For) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Backward(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward":
                found.append(node)

    loop.visit(_Backward())
    return found


def _runs_under(script: Script, node: cst.CSTNode, loop: cst.For, var: str, value: str) -> bool:
    """Does ``node`` run when ``var == value`` (no ``if`` on the phase around it says no)?"""
    child = node
    for ancestor in script.parents.ancestors(node):
        if ancestor is loop:
            return True
        if isinstance(ancestor, cst.If):
            decided = _decide(ancestor.test, var, value)
            in_body = child is ancestor.body
            if (in_body and decided is False) or (not in_body and child is not ancestor.test and decided is True):
                return False
        child = ancestor
    return True


def _leaves_itself(phase_loop: cst.For, batch_loop: cst.For) -> bool:
    """A ``break``/``continue`` of the phase loop (not of the batch loop or another inner loop)."""
    outside = [s for s in body_of(phase_loop) if s is not batch_loop]
    return any(contains(s, lambda n: isinstance(n, (cst.Break, cst.Continue))) and not contains(s, lambda n: isinstance(n, (cst.For, cst.While))) for s in outside)


def _decide(expr: cst.BaseExpression, var: str, value: str) -> bool | cst.BaseExpression:
    """``expr`` when ``var == value``: True/False where the phase decides it, else the expression
    (simplified where a decided part drops out: ``phase == "val" and acc > best`` -> ``acc > best``)."""
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        left, target = expr.left, expr.comparisons[0]
        operator, right = target.operator, target.comparator
        if isinstance(right, cst.Name) and right.value == var and isinstance(operator, (cst.Equal, cst.NotEqual)):
            left, right = right, left
        if isinstance(left, cst.Name) and left.value == var:
            literals = _literals(right)
            if literals is not None:
                if isinstance(operator, (cst.Equal, cst.In)):
                    return value in literals
                if isinstance(operator, (cst.NotEqual, cst.NotIn)):
                    return value not in literals
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = _decide(expr.expression, var, value)
        return (not inner) if isinstance(inner, bool) else expr
    if isinstance(expr, cst.BooleanOperation):
        left = _decide(expr.left, var, value)
        if isinstance(expr.operator, cst.And):
            if left is False:
                return False
            if left is True:
                return _decide(expr.right, var, value)
        else:
            if left is True:
                return True
            if left is False:
                return _decide(expr.right, var, value)
    return expr


def _literals(node: cst.BaseExpression) -> set[str] | None:
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return {node.evaluated_value}
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        found = [_literals(e.value) for e in node.elements]
        if all(f is not None and len(f) == 1 for f in found):
            return set().union(*found)
    return None


class _Specialiser:
    """Statements as they run when the phase variable holds one value: decided ``if``s replaced
    by the branch that runs, ``x if phase == ... else y`` by its value, ``with
    torch.set_grad_enabled(<decided>)`` unwrapped. Unchanged statements stay the same nodes."""

    def __init__(self, script: Script, var: str, value: str) -> None:
        self.script, self.var, self.value = script, var, value

    def block(self, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for stmt in statements:
            out.extend(self.statement(stmt))
        return out

    def statement(self, stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
        if isinstance(stmt, cst.If):
            return self._if(stmt)
        if isinstance(stmt, cst.With) and self._grad_switch(stmt):
            return self.block(self._unwrapped(stmt))
        if isinstance(stmt, cst.SimpleStatementLine):
            if not contains(stmt, lambda n: isinstance(n, cst.IfExp)):
                return [stmt]
            return [self._remember(stmt.visit(_DecideIfExp(self)), stmt)]
        if isinstance(getattr(stmt, "body", None), cst.IndentedBlock):
            body = self.block(list(stmt.body.body)) or [cst.SimpleStatementLine([cst.Pass()])]
            if all(a is b for a, b in zip(body, stmt.body.body)) and len(body) == len(stmt.body.body):
                return [stmt]
            return [self._remember(stmt.with_changes(body=stmt.body.with_changes(body=body)), stmt)]
        return [stmt]

    def _if(self, stmt: cst.If) -> list[cst.BaseStatement]:
        decided = _decide(stmt.test, self.var, self.value)
        if decided is True:
            return self.block(self._unwrapped(stmt))
        if decided is False:
            orelse = stmt.orelse
            if orelse is None:
                return []
            if isinstance(orelse, cst.If):
                return self._if(orelse.with_changes(leading_lines=list(stmt.leading_lines) + list(orelse.leading_lines)))
            return self.block(self._unwrapped(orelse, stmt.leading_lines))
        body = self.block(list(stmt.body.body)) or [cst.SimpleStatementLine([cst.Pass()])]
        return [self._remember(stmt.with_changes(test=decided, body=stmt.body.with_changes(body=body)), stmt)]

    def _unwrapped(self, stmt, leading=None) -> list[cst.BaseStatement]:
        """A block's statements, the first taking over the comments above the block."""
        leading = list(stmt.leading_lines) if leading is None else list(leading)
        inner = list(stmt.body.body)
        if inner and leading:
            inner[0] = self._remember(inner[0].with_changes(leading_lines=leading + list(inner[0].leading_lines)), inner[0])
        return inner

    def _grad_switch(self, stmt: cst.With) -> bool:
        """``with torch.set_grad_enabled(<decided by the phase>):`` as the only item."""
        if len(stmt.items) != 1 or not isinstance(stmt.items[0].item, cst.Call) or stmt.items[0].asname is not None:
            return False
        call = stmt.items[0].item
        return self.script.qualified_call(call) == GRAD_MODE_SWITCH and len(call.args) == 1 and isinstance(
            _decide(call.args[0].value, self.var, self.value), bool
        )

    def _remember(self, built: cst.CSTNode, original: cst.CSTNode) -> cst.CSTNode:
        return self.script.lines.remember(built, original)


class _DecideIfExp(cst.CSTTransformer):
    def __init__(self, specialiser: _Specialiser) -> None:
        self.specialiser = specialiser

    def leave_IfExp(self, original: cst.IfExp, updated: cst.IfExp) -> cst.BaseExpression:
        decided = _decide(updated.test, self.specialiser.var, self.specialiser.value)
        if decided is True:
            return updated.body
        if decided is False:
            return updated.orelse
        return updated
