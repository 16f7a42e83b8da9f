"""Running the rules over one parsed file: one traversal, then positioned findings.

The expensive half of the lint engine (:mod:`.engine` decides whether a file gets here): one walk
over the libcst tree that skips whitespace nodes and calls each rule only for the node types it
handles, and positions (a full code-generation pass) only for files that have findings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .config import LintConfig
from .context import FileContext
from .cst_helpers import child_fields as _child_fields
from .cst_helpers import is_node_type as _is_node_type
from .findings import Edit, Finding, Fix
from .noqa import Suppressions, parse_suppressions
from .rule import RawFinding, Rule


def run_rules(
    module: cst.Module, source: str, path: str | None, config: LintConfig, rule_types: list[type[Rule]], suppressions: Suppressions | None = None
) -> list[Finding]:
    """Run ``rule_types`` over the parsed ``module``; the findings, sorted by position.
    ``suppressions`` (parsed here when not given) records which noqa comments were used."""
    ctx = FileContext(module, source, path, config)
    _prescan_imports(module, ctx)
    rules = [rule_type(ctx) for rule_type in rule_types]
    _walk(module, ctx, rules)
    for rule in rules:
        rule.finish()
    if not ctx.raw_findings:
        return []
    return _materialize(module, source, path, ctx.raw_findings, suppressions or parse_suppressions(source))


@lru_cache(maxsize=None)
def _rule_handlers(rule_type: type[Rule]) -> tuple[tuple[type, str, bool], ...]:
    """(node type, method name, is_leave) for each ``visit_X`` / ``leave_X`` of a rule."""
    handlers = []
    for attr in dir(rule_type):
        for prefix, is_leave in (("visit_", False), ("leave_", True)):
            if attr.startswith(prefix):
                node_type = getattr(cst, attr[len(prefix) :], None)
                if not isinstance(node_type, type):
                    raise TypeError(f"{rule_type.__name__}.{attr}: no libcst node named {attr[len(prefix):]}")
                handlers.append((node_type, attr, is_leave))
    return tuple(handlers)


class _Leave:
    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:
        self.node = node


def _walk(module: Any, ctx: FileContext, rules: list[Rule]) -> None:
    """Depth-first traversal calling the rules' handlers; keeps ``ctx`` up to date."""
    visit: dict[type, list] = {}
    leave: dict[type, list] = {}
    for rule in rules:
        for node_type, attr, is_leave in _rule_handlers(type(rule)):
            (leave if is_leave else visit).setdefault(node_type, []).append(getattr(rule, attr))
    ClassDef, FunctionDef, Import, ImportFrom, Assign = (
        cst.ClassDef, cst.FunctionDef, cst.Import, cst.ImportFrom, cst.Assign
    )
    stack: list[Any] = [module]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        if item.__class__ is _Leave:
            node = item.node
            node_type = type(node)
            for handler in leave.get(node_type, ()):
                handler(node)
            if node_type is ClassDef:
                ctx.leave_class()
            elif node_type is FunctionDef:
                ctx.leave_function()
            continue
        node_type = type(item)
        if node_type is ClassDef:
            ctx.enter_class(item)
        elif node_type is FunctionDef:
            ctx.enter_function(item)
        elif node_type is Import or node_type is ImportFrom:
            ctx.imports.add_import(item)
        elif node_type is Assign:
            ctx.note_assign(item)
        for handler in visit.get(node_type, ()):
            handler(item)
        if node_type in leave or node_type is ClassDef or node_type is FunctionDef:
            push(_Leave(item))
        children: list[Any] = []
        for name in _child_fields(node_type):
            value = getattr(item, name)
            if _is_node_type(type(value)):
                children.append(value)
            elif isinstance(value, (tuple, list)):
                children.extend(v for v in value if _is_node_type(type(v)))
        children.reverse()
        extend(children)


def _prescan_imports(module: Any, ctx: FileContext) -> None:
    """Module-level imports (also inside top-level if/try), so that names used in functions
    defined above an import still resolve."""
    def scan(statements: Iterable[Any]) -> None:
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        ctx.imports.add_import(small)
            elif isinstance(stmt, (cst.If, cst.Try, cst.With)):
                scan(stmt.body.body)
                for extra in getattr(stmt, "handlers", ()):
                    scan(extra.body.body)
                orelse = getattr(stmt, "orelse", None)
                if orelse is not None and hasattr(orelse, "body"):
                    body = orelse.body
                    scan(body.body if hasattr(body, "body") else [orelse])

    scan(module.body)


def _materialize(module: Any, source: str, path: str | None, raw: list[RawFinding], suppressions: Suppressions) -> list[Finding]:
    """Positions, suppressions and fix edits for the raw findings of one file."""
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    findings: list[Finding] = []
    seen: set[tuple] = set()
    for item in raw:
        where = positions[item.node]
        code = item.rule.code
        line, column = where.start.line, where.start.column + 1
        if suppressions.suppresses(code, line):
            continue
        key = (code, line, column, item.message)
        if key in seen:
            continue
        seen.add(key)
        fix = None
        if item.fix is not None:
            edit = _edit_for(module, source, item.fix.replacements)
            if edit is not None:
                fix = Fix(item.fix.safety, item.fix.message, (edit,))
        findings.append(
            Finding(
                code=code,
                name=item.rule.name,
                path=path,
                line=line,
                column=column,
                end_line=where.end.line,
                end_column=where.end.column + 1,
                message=item.message,
                fix=fix,
            )
        )
    findings.sort(key=Finding.sort_key)
    return findings


def _edit_for(module: Any, source: str, replacements: dict[Any, Any]) -> Edit | None:
    """Apply the node replacements to a copy of the tree; the text difference is the edit."""
    by_id = {id(old): new for old, new in replacements.items()}

    class Replacer(cst.CSTTransformer):
        def on_visit(self, node: Any) -> bool:
            return id(node) not in by_id

        def on_leave(self, original_node: Any, updated_node: Any) -> Any:
            return by_id.get(id(original_node), updated_node)

    new_source = module.visit(Replacer()).code
    if new_source == source:
        return None
    start = _common_prefix(source, new_source)
    end = _common_suffix(source, new_source, start)
    old_end = len(source) - end
    content = new_source[start : len(new_source) - end]
    line, column = _line_col(source, start)
    end_line, end_column = _line_col(source, old_end)
    return Edit(line, column, end_line, end_column, content)


def _common_prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # largest n with a[:n] == b[:n]
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, prefix: int) -> int:
    lo, hi = 0, min(len(a), len(b)) - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
