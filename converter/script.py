"""The script being converted, as analysis reads it: its tree, imports, parents and lines; and
:class:`Unsupported`, how every stage refuses a script (the line and the reason)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..api_knowledge import ImportTable, dotted_name
from .tree import Lines, ParentMap


class Unsupported(Exception):
    """A refusal: the script does something the converter cannot convert safely (line, reason)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Script:
    """A parsed script and what every stage looks up in it (read-only)."""

    module: cst.Module
    imports: ImportTable
    parents: ParentMap
    lines: Lines

    @classmethod
    def read(cls, module: cst.Module, imports: ImportTable) -> "Script":
        return cls(module=module, imports=imports, parents=ParentMap(module), lines=Lines(module))

    def qualify(self, name: str | None) -> str | None:
        """A dotted local name through the script's imports; a name no import binds (a builtin,
        or the script's own) stands for itself."""
        return self.imports.qualify(name) or name

    def qualified_call(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of the function a call calls (see :meth:`qualify`)."""
        return self.qualify(dotted_name(node.func)) if isinstance(node, cst.Call) else None

    def line(self, node: cst.CSTNode) -> int:
        return self.lines.line(node)

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        return self.lines.span(node)

