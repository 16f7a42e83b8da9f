"""How to make a script train for N epochs, decided statically (the script is never imported).

Scripts take their epoch count in different ways. ``pl-convert verify --epochs N`` looks, in
this order, for

1. an ``argparse`` option named like an epoch count (``--epochs``, ``--num-epochs``,
   ``--n-epochs``, ``--max-epochs``, ``--epoch``, underscores allowed): ``OPTION N`` is added to
   the script's arguments (unless the arguments already set it);
2. a module-level constant assigned an integer (``EPOCHS = 10``, ``NUM_EPOCHS``, ``N_EPOCHS``,
   ``MAX_EPOCHS``, ``EPOCH``, any case): its value is replaced by N in the text that runs;

and otherwise leaves the script alone and says so (the result then reports a warning).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

_OPTION = re.compile(r"^--(num[-_]?|n[-_]?|max[-_]?)?epochs?$", re.IGNORECASE)
_CONSTANT = re.compile(r"^(num_?|n_?|max_?)?epochs?$", re.IGNORECASE)


@dataclass(frozen=True)
class EpochPlan:
    """What to change so that a script trains ``epochs`` epochs."""

    epochs: int
    source: str  #: the text to run (the original, or with the constant replaced)
    extra_args: list[str] = field(default_factory=list)
    how: str = ""  #: human-readable: "--epochs 1", "EPOCHS = 1 (line 12)", ...
    applied: bool = False


def find_epoch_option(tree: ast.AST) -> str | None:
    """The first ``add_argument("--epochs", ...)``-style option string in the module."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
        ):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _OPTION.match(arg.value):
                    return arg.value
    return None


def find_epoch_constant(tree: ast.Module) -> ast.Assign | ast.AnnAssign | None:
    """The first module-level ``EPOCHS = <int>``-style assignment."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if (
            isinstance(target, ast.Name)
            and _CONSTANT.match(target.id)
            and isinstance(value, ast.Constant)
            and type(value.value) is int
        ):
            return node
    return None


def _replace_segment(source: str, node: ast.expr, text: str) -> str:
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: node.lineno - 1]) + _char_offset(lines[node.lineno - 1], node.col_offset)
    end_line = node.end_lineno or node.lineno
    end = sum(len(line) for line in lines[: end_line - 1]) + _char_offset(lines[end_line - 1], node.end_col_offset or 0)
    return source[:start] + text + source[end:]


def _char_offset(line: str, byte_offset: int) -> int:
    # ast columns are UTF-8 byte offsets
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def plan_epochs(source: str, epochs: int | None, args: list[str] | None = None) -> EpochPlan:
    """Decide how to run ``source`` for ``epochs`` epochs (None: leave the script alone)."""
    if epochs is None:
        return EpochPlan(epochs=0, source=source, how="the script's own setting")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return EpochPlan(epochs, source, how="not applied: the script does not parse")
    option = find_epoch_option(tree)
    if option is not None:
        given = [a for a in (args or []) if a == option or a.startswith(option + "=")]
        if given:
            return EpochPlan(epochs, source, how=f"not applied: the arguments already set {option}")
        return EpochPlan(epochs, source, [option, str(epochs)], how=f"{option} {epochs}", applied=True)
    constant = find_epoch_constant(tree)
    if constant is not None:
        name = constant.targets[0].id if isinstance(constant, ast.Assign) else constant.target.id
        new_source = _replace_segment(source, constant.value, str(epochs))
        return EpochPlan(epochs, new_source, how=f"{name} = {epochs} (line {constant.lineno})", applied=True)
    return EpochPlan(
        epochs, source, how="not applied: no --epochs option or EPOCHS constant found; the script's own setting"
    )
