"""Small libcst helpers shared by the rules: arguments, literals, returns, sub-tree scans."""

from __future__ import annotations

import ast
import dataclasses
from functools import lru_cache
from typing import Any, Iterator

import libcst as cst

#: node fields that only hold whitespace, punctuation or comments: never descended into
SKIPPED_FIELDS = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators", "header",
        "footer", "equal", "colon", "dot", "lbrace", "rbrace", "lbracket", "rbracket",
        "asynchronous", "trailing_whitespace", "newline", "operator", "star", "indent",
        "encoding", "default_indent", "default_newline", "has_trailing_newline", "relative",
    }
)


class Unknown:
    """Marker for "not a literal"."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@lru_cache(maxsize=None)
def child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a node type that can hold code (not whitespace or punctuation)."""
    return tuple(
        f.name
        for f in dataclasses.fields(node_type)
        if f.name not in SKIPPED_FIELDS and not f.name.startswith("whitespace")
    )


@lru_cache(maxsize=None)
def is_node_type(value_type: type) -> bool:
    """Whether values of ``value_type`` are libcst nodes. The walks below ask this rather than
    ``isinstance(value, cst.CSTNode)``: CSTNode is an ABC, and its first negative answer for
    each type (str, None, tuple, MaybeSentinel...) walks all of its subclasses: up to 25 million
    instructions per lint of a Lightning file, more than the walk itself."""
    return cst.CSTNode in value_type.__mro__


def iter_nodes(node: Any, *, into_scopes: bool = True) -> Iterator[Any]:
    """Every node under ``node`` (itself included), depth first. With ``into_scopes=False`` the
    bodies of nested functions, lambdas and classes are not entered."""
    stack = [node]
    first = True
    while stack:
        item = stack.pop()
        yield item
        if not into_scopes and not first and isinstance(item, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        first = False
        children = []
        for name in child_fields(type(item)):
            value = getattr(item, name)
            if is_node_type(type(value)):
                children.append(value)
            elif isinstance(value, (tuple, list)):
                children.extend(v for v in value if is_node_type(type(v)))
        stack.extend(reversed(children))


def returns_of(function: cst.FunctionDef) -> list[cst.Return]:
    """The ``return`` statements of a function (not of functions nested in it)."""
    return [n for n in iter_nodes(function.body, into_scopes=False) if isinstance(n, cst.Return)]


def names_used(node: Any) -> set[str]:
    return {n.value for n in iter_nodes(node) if isinstance(n, cst.Name)}


# -- call arguments ----------------------------------------------------------------------------
def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_args(call: cst.Call) -> bool:
    """``f(*a)`` or ``f(**kw)``: the call's real arguments are not all visible."""
    return any(arg.star for arg in call.args)


def positional(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def _fix_last_comma(args: list[cst.Arg], original_last: cst.Arg | None) -> list[cst.Arg]:
    if args and original_last is not None and args[-1] is not original_last:
        if isinstance(original_last.comma, cst.MaybeSentinel):
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        elif isinstance(args[-1].comma, cst.Comma) and isinstance(original_last.comma, cst.Comma):
            args[-1] = args[-1].with_changes(comma=original_last.comma)
    return args


def without_args(call: cst.Call, remove: list[cst.Arg]) -> cst.Call:
    """The call with some arguments removed (commas kept tidy)."""
    drop = {id(a) for a in remove}
    original = list(call.args)
    kept = [a for a in original if id(a) not in drop]
    kept = _fix_last_comma(kept, original[-1] if original else None)
    return call.with_changes(args=kept)


def with_args(call: cst.Call, replace: dict[int, list[cst.Arg]] | None = None, append: list[cst.Arg] | None = None) -> cst.Call:
    """Replace arguments (by ``id`` -> list of new arguments, possibly empty) and append some."""
    replace = replace or {}
    original = list(call.args)
    out: list[cst.Arg] = []
    for arg in original:
        if id(arg) in replace:
            out.extend(replace[id(arg)])
        else:
            out.append(arg)
    out = _fix_last_comma(out, original[-1] if original else None)
    if append:
        if out and isinstance(out[-1].comma, cst.MaybeSentinel):
            out[-1] = out[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        out.extend(append)
    # an appended/replaced argument must not end the call with a stray comma
    return call.with_changes(args=out)


def kwarg(name: str, value: str | cst.BaseExpression) -> cst.Arg:
    """A ``name=value`` argument; ``value`` may be source text."""
    expr = cst.parse_expression(value) if isinstance(value, str) else value
    return cst.Arg(
        value=expr,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def renamed(arg: cst.Arg, new_name: str) -> cst.Arg:
    return arg.with_changes(keyword=cst.Name(new_name))


# -- literals ----------------------------------------------------------------------------------
def literal(node: Any) -> Any:
    """The Python value of a simple literal (numbers, strings, True/False/None, and lists,
    tuples and dicts of those), else :data:`UNKNOWN`."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return ast.literal_eval(node.value)
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else UNKNOWN
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else UNKNOWN
    if isinstance(node, (cst.List, cst.Tuple)):
        values = [literal(e.value) for e in node.elements if isinstance(e, cst.Element)]
        if len(values) != len(node.elements) or any(v is UNKNOWN for v in values):
            return UNKNOWN
        return values if isinstance(node, cst.List) else tuple(values)
    return UNKNOWN


def string_value(node: Any) -> str | None:
    value = literal(node)
    return value if isinstance(value, str) else None


def dict_items(node: cst.Dict) -> dict[str, cst.DictElement]:
    """String-keyed elements of a dict literal."""
    items = {}
    for element in node.elements:
        if isinstance(element, cst.DictElement):
            key = string_value(element.key)
            if key is not None:
                items[key] = element
    return items


def is_self_method_call(node: Any, *names: str) -> bool:
    """``self.<name>(...)`` for one of ``names``."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == "self"
        and node.func.attr.value in names
    )


def method_name(call: Any) -> str | None:
    """``x.y.name(...)`` -> ``"name"``."""
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return None


def param_names(function: cst.FunctionDef) -> list[str]:
    params = function.params
    return [p.name.value for p in (*params.posonly_params, *params.params)]


def statement_lines(function: cst.FunctionDef) -> list[Any]:
    body = function.body
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []
