"""``loss = train_step(model, batch, optimizer)`` in the batch loop → the function's body inlined
into ``training_step``."""

from __future__ import annotations

import dataclasses

import libcst as cst

from ..facts import Layout, StepFunction
from ..functions import bind_arguments
from ..idiom import Example, Idiom
from ..names import fresh_name, usage_of
from ..script import Script, Unsupported
from ..transforms import ReplaceCall, substitute_names
from ..tree import calls_named, code_of, innermost_loop, is_docstring


class StepFunctions(Idiom):
    """A per-batch step function: ``backward()`` lives in a function with no loop of its own,
    called once from inside the batch loop.

    ## Becomes

    ``training_step`` is the loop's body with the call replaced by the function's body: its
    parameters become the call's arguments, its locals that the loop also uses are renamed
    (``loss`` → ``train_step_loss``), and its final ``return value`` becomes ``target = value``
    (the tensor, where the function returned ``loss.item()``: the step returns the loss).
    The function is removed once nothing calls it.

    ## Refuses

    A step function called more than once or from a nested block of the loop, decorated or
    async, returning from the middle of its body, a generator, declaring nonlocals (or globals,
    inside a function), called with an unpacked expression (``*f(x)``), or with a computed
    default. An expression argument (``train_iter(epoch + 1, model, (features, adj))``) is
    evaluated once, where the call was, into a local named after the function
    (``train_iter_epoch = epoch + 1``), as Python evaluates it before the body runs.

    ## Why

    Only what can be inlined exactly is: the inlined statements must mean what the call meant.
    """

    name = "step-functions"
    title = "loss = train_step(model, batch, optimizer) in the batch loop → its body inlined into training_step"
    fixtures = ("train_step_function",)
    examples = (
        Example(
            """
            def train_step(net, batch, opt):
                x, y = batch
                out = net(x)
                loss = F.cross_entropy(out, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                return loss.item()


            for batch in loader:
                loss = train_step(model, batch, optimizer)
            """,
            after=("train_step_loss = F.cross_entropy(out, y)",),
            absent=("def train_step(",),
        ),
    )
    order = 20

    def find_batch_loop(self, script: Script, function: cst.FunctionDef) -> StepFunction | None:
        found = find_step_function(script, function, in_function_scope=False)
        if found is not None and script.parents.enclosing_function(found.loop) is not None:
            found = find_step_function(script, function, in_function_scope=True)
        return found

    def present(self, layout: Layout) -> Layout:
        step = layout.train.step_function
        if step is None:
            return layout
        return dataclasses.replace(layout, train=dataclasses.replace(layout.train, body=inline(step, layout.script)))


def _simple_argument(node: cst.BaseExpression) -> bool:
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString))


def find_step_function(script: Script, function: cst.FunctionDef, in_function_scope: bool) -> StepFunction | None:
    """The batch loop that calls ``function`` and what inlining it needs (None: not this pattern)."""
    parents, line = script.parents, script.line
    name = function.name.value
    if parents.enclosing_function(function) is not None or parents.in_class(function) or not isinstance(parents.parent(function), cst.Module):
        return None
    calls = calls_named(script.module, name)
    if len(calls) != 1:
        return None
    call = calls[0]
    loop = innermost_loop(parents, call)
    if not isinstance(loop, cst.For):
        return None
    statement = parents.statement_of(call)
    loop_body = list(loop.body.body)
    if statement not in loop_body:
        raise Unsupported(line(call), f"{name}() is called inside a nested block of the batch loop")
    where = line(function)
    if function.asynchronous is not None or function.decorators:
        raise Unsupported(where, f"{name}() is decorated or async")
    body = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    if body and is_docstring(body[0]):
        body = body[1:]
    returned = None
    if body and isinstance(body[-1], cst.SimpleStatementLine) and len(body[-1].body) == 1 and isinstance(body[-1].body[0], cst.Return):
        returned = body[-1].body[0].value
        body = body[:-1]
    problem = _forbidden(function, body, in_function_scope)
    if problem:
        raise Unsupported(where, f"{name}() {problem}; cannot inline it into the batch loop")
    for arg in call.args:
        if arg.star and not _simple_argument(arg.value):
            raise Unsupported(line(call), f"{name}() is called with an unpacked expression (`{arg.star}{code_of(arg.value)}`); unpack a variable")
    supplied = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    positional = [a for a in call.args if a.keyword is None]
    all_params = list(function.params.posonly_params) + list(function.params.params)
    for index, param in enumerate(all_params + list(function.params.kwonly_params)):
        defaulted = param.name.value not in supplied and (index >= len(positional) or param in function.params.kwonly_params)
        if defaulted and param.default is not None and not _simple_argument(param.default):
            raise Unsupported(where, f"{name}() has a computed default for {param.name.value!r}")
    bindings = bind_arguments(script, function, call)

    # the function's locals that the loop or the surrounding code also uses get the function's name
    local_names = usage_of(*body).stores - set(bindings) if body else set()
    rest = [s for s in loop_body if s is not statement]
    outside = usage_of(*rest) if rest else None
    used_by_loop = (outside.loads | outside.stores) if outside else set()
    used_by_loop |= usage_of(statement).stores
    used_by_loop |= usage_of(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(loop.target)], cst.Name("batch"))])).stores
    scope_names = usage_of(*script.module.body).stores
    renamed = tuple(local for local in sorted(local_names) if local in used_by_loop or local in scope_names)
    # an expression argument (`epoch + 1`, `(features, adj)`) is evaluated once, where the call
    # was, into a local named after the function, as Python binds it before the body runs
    taken = used_by_loop | scope_names | local_names | {f"{name}_{local}" for local in renamed}
    if body:
        taken |= usage_of(*body).loads
    prologue = []
    for param, value in list(bindings.items()):
        if _simple_argument(value):
            continue
        local = fresh_name(f"{name}_{param}", taken)
        taken.add(local)
        prologue.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(local))], value)]))
        bindings[param] = cst.Name(local)
    return StepFunction(function, loop, call, statement, bindings, renamed, tuple(body), returned, tuple(prologue))


def _forbidden(function: cst.FunctionDef, body: list[cst.BaseStatement], in_function_scope: bool) -> str | None:
    """Why the body cannot be inlined (None: it can)."""

    class _Forbidden(cst.CSTVisitor):
        problem: str | None = None

        def visit_FunctionDef(self, node):
            return node is function

        def visit_ClassDef(self, node):
            return False

        def visit_Lambda(self, node):
            return False

        def visit_Return(self, node):
            self.problem = self.problem or "returns from the middle of its body"

        def visit_Yield(self, node):
            self.problem = self.problem or "is a generator"

        def visit_Global(self, node):
            if in_function_scope:
                self.problem = self.problem or "declares globals"

        def visit_Nonlocal(self, node):
            self.problem = self.problem or "declares nonlocals"

    checker = _Forbidden()
    for stmt in body:
        stmt.visit(checker)
    return checker.problem


def inline(step: StepFunction, script: Script) -> list[cst.BaseStatement]:
    """The batch loop's body with the call replaced by the step function's body."""
    name = step.function.name.value
    mapping: dict[str, cst.BaseExpression] = dict(step.bindings)
    mapping.update({local: cst.Name(f"{name}_{local}") for local in step.renamed})
    inlined = [*step.prologue, *(s for s in substitute_names(list(step.body), mapping) if not _is_global(s))]
    returned = substitute_names(step.returned, mapping) if step.returned is not None else None
    statement, call = step.statement, step.call

    # the call's own statement: `target = f(...)`, `f(...)`, or any expression using the result
    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
    tail: list[cst.BaseStatement] = []
    if isinstance(small, cst.Expr) and small.value is call:
        if returned is not None and not isinstance(returned, (cst.Name, cst.Attribute)) and not _is_item(returned):
            tail = [cst.SimpleStatementLine([cst.Expr(returned)])]
    elif isinstance(small, cst.Assign) and small.value is call:
        if returned is None:
            returned = cst.Name("None")
        tail = [statement.with_changes(body=[small.with_changes(value=returned)], leading_lines=[])]
    else:
        if returned is None:
            returned = cst.Name("None")
        result = f"{name}_result"
        tail = [
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(result))], returned)]),
            statement.visit(ReplaceCall(call, cst.Name(result))).with_changes(leading_lines=[]),
        ]
    expanded = inlined + tail
    if expanded:
        expanded[0] = expanded[0].with_changes(leading_lines=list(statement.leading_lines) + list(getattr(expanded[0], "leading_lines", [])))
    loop_body = list(step.loop.body.body)
    index = loop_body.index(statement)
    return loop_body[:index] + expanded + loop_body[index + 1:]


def _is_global(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Global) for s in stmt.body)


def _is_item(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "item" and not node.args
