"""Small tree transforms, one job each, applied to the statements that move into hooks."""

from __future__ import annotations

from typing import Iterable, Sequence

import libcst as cst

from .names import dotted


def _module(statements: Sequence[cst.BaseStatement]) -> cst.Module:
    return cst.Module(body=list(statements))


def apply(transformer: cst.CSTTransformer, statements: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """Run ``transformer`` over a list of statements (statements may be removed)."""
    return list(_module(statements).visit(transformer).body)


class _Substitute(cst.CSTTransformer):
    """Replace loads of plain names by expressions (not attribute names, keywords or targets)."""

    def __init__(self, mapping: dict[str, cst.BaseExpression]) -> None:
        self.mapping = mapping

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return True

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        # keep the attribute name itself
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)

    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        return updated.with_changes(name=original.name)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        replacement = self.mapping.get(original.value)
        if replacement is None:
            return updated
        return replacement.deep_clone() if hasattr(replacement, "deep_clone") else replacement

    def leave_FunctionDef(self, original, updated):
        return updated.with_changes(name=original.name)

    def leave_ClassDef(self, original, updated):
        return updated.with_changes(name=original.name)

    def leave_ImportAlias(self, original, updated):
        return original

    def leave_Global(self, original, updated):
        return original

    def leave_Nonlocal(self, original, updated):
        return original


def substitute_names(node, mapping: dict[str, cst.BaseExpression]):
    """Substitute names in an expression or a list of statements."""
    if not mapping:
        return node
    transformer = _Substitute(mapping)
    if isinstance(node, list):
        return apply(transformer, node)
    return node.visit(transformer)


def expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def self_attribute(name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name("self"), attr=cst.Name(name))


def _is_device_arg(arg: cst.Arg, device_names: set[str]) -> bool:
    if arg.keyword is not None and arg.keyword.value != "device":
        return False
    value = arg.value
    if isinstance(value, cst.Name) and value.value in device_names:
        return True
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value if isinstance(value.evaluated_value, str) else ""
        return text.split(":")[0] in ("cuda", "cpu", "mps")
    if isinstance(value, cst.Call) and dotted(value.func) in ("torch.device",):
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
            rest = [a for a in updated.args if not _is_device_arg(a, self.device_names) and not (a.keyword and a.keyword.value in ("non_blocking", "copy"))]
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


def has_call(node: cst.CSTNode) -> bool:
    """Does ``node`` contain a call (so evaluating it may have side effects)?"""
    found = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, n):
            found.append(n)

    node.visit(_Calls())
    return bool(found)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _is_noop(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, cst.Expr) and isinstance(small.value, (cst.Name, cst.Attribute)):
        return True
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
        return _code(target).replace(" ", "").strip("()") == _code(value).replace(" ", "").strip("()")
    return False


class RemoveCalls(cst.CSTTransformer):
    """Remove expression statements that call one of the given ``receiver.method`` pairs."""

    def __init__(self, calls: Iterable[str]) -> None:
        self.calls = set(calls)
        self.removed: list[cst.BaseStatement] = []

    def leave_SimpleStatementLine(self, original, updated):
        if len(original.body) == 1 and isinstance(original.body[0], cst.Expr):
            value = original.body[0].value
            if isinstance(value, cst.Call) and dotted(value.func) in self.calls:
                self.removed.append(original)
                return cst.RemoveFromParent()
        return updated


class RemoveReceiverCalls(cst.CSTTransformer):
    """Remove expression statements that call a method of one of ``receivers`` (``pbar.update()``)."""

    def __init__(self, receivers: set[str]) -> None:
        self.receivers = receivers

    def leave_SimpleStatementLine(self, original, updated):
        if len(original.body) == 1 and isinstance(original.body[0], cst.Expr):
            value = original.body[0].value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and dotted(value.func.value) in self.receivers:
                return cst.RemoveFromParent()
        return updated


class RemoveStatements(cst.CSTTransformer):
    """Remove the given statements (by identity)."""

    def __init__(self, statements: Iterable[cst.BaseStatement]) -> None:
        self.targets = list(statements)

    def on_leave(self, original, updated):
        if isinstance(original, cst.BaseStatement) and any(original is t for t in self.targets):
            return cst.RemoveFromParent()
        return updated


class RenameToSelf(cst.CSTTransformer):
    """``name`` -> ``self.<attribute>`` for loads and stores of the given names."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def leave_Attribute(self, original, updated):
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original, updated):
        return updated.with_changes(keyword=original.keyword)

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        attribute = self.mapping.get(original.value)
        if attribute is None:
            return updated
        return self_attribute(attribute)

    def leave_FunctionDef(self, original, updated):
        return updated.with_changes(name=original.name)

    def leave_Param(self, original, updated):
        return updated.with_changes(name=original.name)


class _BatchLoopLevel(cst.CSTTransformer):
    """Tracks loop nesting, so that only the batch loop's own ``break``/``continue`` are changed."""

    def __init__(self) -> None:
        self.depth = 0

    def visit_For(self, node):
        self.depth += 1

    def leave_For(self, original, updated):
        self.depth -= 1
        return updated

    def visit_While(self, node):
        self.depth += 1

    def leave_While(self, original, updated):
        self.depth -= 1
        return updated

    def visit_FunctionDef(self, node):
        return False


class ContinueToReturn(_BatchLoopLevel):
    """``continue`` of the batch loop -> ``return`` (inner loops keep their own)."""

    def leave_Continue(self, original, updated):
        if self.depth == 0:
            return cst.Return(value=None)
        return updated


class ReplaceBackward(cst.CSTTransformer):
    """``loss.backward()`` -> ``self.manual_backward(loss)`` (manual optimization)."""

    def leave_Call(self, original, updated):
        func = updated.func
        if isinstance(func, cst.Attribute) and func.attr.value == "backward":
            args = [cst.Arg(value=func.value)] + [a for a in updated.args]
            return cst.Call(func=expr("self.manual_backward"), args=args)
        return updated


def block_statements(stmt: cst.BaseStatement) -> list[cst.BaseStatement]:
    """The body of a compound statement, its first statement taking over the statement's own
    leading lines (comments and blank lines above it stay where they were)."""
    inner = list(stmt.body.body)
    if inner:
        inner[0] = inner[0].with_changes(leading_lines=list(stmt.leading_lines) + list(inner[0].leading_lines))
    return inner


def unwrap_no_grad(statements: list[cst.BaseStatement], is_no_grad, drop_item=None) -> list[cst.BaseStatement]:
    """Replace ``with torch.no_grad(): body`` statements by their body (Lightning does this).

    ``drop_item(item)`` says which items of such a ``with`` go (the ``no_grad()`` itself, and an
    autocast that Lightning's precision now applies); a ``with`` keeps the items that stay.
    """
    out: list[cst.BaseStatement] = []
    for stmt in statements:
        if is_no_grad(stmt):
            kept = [item for item in stmt.items if drop_item is not None and not drop_item(item)]
            if kept:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                out.append(stmt.with_changes(items=kept))
                continue
            out.extend(block_statements(stmt))
        else:
            out.append(stmt)
    return out


class BreakToSkip(_BatchLoopLevel):
    """``break`` of the batch loop -> ``self.<flag> = True; return <value>``.

    Lightning runs every batch of an epoch; the flag makes the remaining batches return early,
    which keeps the original's updates (the data loader is still read to its end).
    """

    def __init__(self, flag: str, value: str | None) -> None:
        super().__init__()
        self.flag = flag
        self.value = value

    def leave_SimpleStatementLine(self, original, updated):
        if self.depth or not any(isinstance(small, cst.Break) for small in updated.body):
            return updated
        body = []
        for small in updated.body:
            if isinstance(small, cst.Break):
                body.append(cst.parse_statement(f"self.{self.flag} = True").body[0])
                ret = cst.parse_statement(f"return {self.value}" if self.value else "return").body[0]
                body.append(ret)
            else:
                body.append(small)
        lines = [updated.with_changes(body=[body[i]]) for i in range(len(body))]
        return cst.FlattenSentinel(lines)


SUMMARY_WRITERS = {"torch.utils.tensorboard.SummaryWriter", "torch.utils.tensorboard.writer.SummaryWriter", "tensorboardX.SummaryWriter"}


class WriterToLog(cst.CSTTransformer):
    """``writer.add_scalar(tag, value[, step])`` -> ``self.log(tag, value)`` (Lightning's logger
    keeps its own step)."""

    def __init__(self, writers: set[str]) -> None:
        self.writers = writers
        self.replaced = 0

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        func = updated.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "add_scalar" and dotted(func.value) in self.writers):
            return updated
        args = list(updated.args)
        tag = next((a for a in args if a.keyword is not None and a.keyword.value == "tag"), args[0] if args and args[0].keyword is None else None)
        value = next((a for a in args if a.keyword is not None and a.keyword.value == "scalar_value"), args[1] if len(args) > 1 and args[1].keyword is None else None)
        if tag is None or value is None or any(a.star for a in args):
            return updated
        self.replaced += 1
        return cst.Call(
            func=cst.Attribute(value=cst.Name("self"), attr=cst.Name("log")),
            args=[tag.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                  value.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT, comma=cst.MaybeSentinel.DEFAULT)],
        )
