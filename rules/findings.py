"""What the linter reports: findings, their fixes and the text edits a fix makes.

Plain records with no dependencies, so that they cross process boundaries (``--jobs``), go into
the result cache and come out as JSON unchanged. Immutable values are NamedTuples rather than
frozen dataclasses: defining a frozen dataclass compiles each of its generated methods, about
four times the cost, and this module is imported on every lint run (a pre-commit hook on one
file, where start-up is most of the time).
"""

from __future__ import annotations

from typing import Any, NamedTuple

SAFE = "safe"
UNSAFE = "unsafe"


class Edit(NamedTuple):
    """Replace the text between two positions (1-based lines and columns) with ``content``."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Edit":
        return cls(data["line"], data["column"], data["end_line"], data["end_column"], data["content"])


class Fix(NamedTuple):
    """An automatic fix: ``safety`` is ``"safe"`` (applied by ``--fix``) or ``"unsafe"``
    (only with ``--unsafe-fixes``: it may change behaviour, review it)."""

    safety: str
    message: str
    edits: tuple[Edit, ...] = ()

    @property
    def is_safe(self) -> bool:
        return self.safety == SAFE

    def to_dict(self) -> dict[str, Any]:
        return {
            "safety": self.safety,
            "message": self.message,
            "edits": [edit.to_dict() for edit in self.edits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fix":
        return cls(data["safety"], data["message"], tuple(Edit.from_dict(e) for e in data["edits"]))


class Finding(NamedTuple):
    """One problem in one file. Lines and columns are 1-based; ``end_*`` is exclusive-column.
    In a notebook, ``cell`` is the cell's number (1-based, among all cells) and the lines are
    the cell's own."""

    code: str
    name: str
    path: str | None
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Fix | None = None
    cell: int | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple:
        return (self.path or "", self.cell or 0, self.line, self.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--format json`` object)."""
        return {
            "code": self.code,
            "name": self.name,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
            "fix": None if self.fix is None else self.fix.to_dict(),
            "cell": self.cell,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        fix = data.get("fix")
        return cls(
            code=data["code"],
            name=data["name"],
            path=data["path"],
            line=data["line"],
            column=data["column"],
            end_line=data["end_line"],
            end_column=data["end_column"],
            message=data["message"],
            fix=None if fix is None else Fix.from_dict(fix),
            cell=data.get("cell"),
        )


class FileResult:
    """The outcome of linting one file (what the runner, the cache and the reporters share)."""

    __slots__ = ("path", "findings", "error", "error_line", "fixed", "fixed_findings", "diff", "source", "cell_lines", "output")

    def __init__(
        self,
        path: str,
        findings: list[Finding] | None = None,
        error: str | None = None,
        error_line: int | None = None,
        fixed: int = 0,
        diff: str | None = None,
        source: str | None = None,
    ) -> None:
        self.path = path
        self.findings: list[Finding] = [] if findings is None else findings
        self.error = error  #: the file could not be read or parsed: the message
        self.error_line = error_line
        self.fixed = fixed  #: how many fixes were applied (``--fix``)
        self.fixed_findings: list[Finding] = []  #: what they fixed (``--show-fixes``)
        self.diff = diff  #: unified diff of the fixes (``--diff``)
        self.source = source  #: the text (after fixes) for code frames in the report
        #: a notebook's cells as lists of lines (code frames of ``cell``-relative findings)
        self.cell_lines: dict[int, list[str]] | None = None
        self.output: str | None = None  #: the fixed text, where it is not written back (stdin)

    def to_cache(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "error": self.error,
            "error_line": self.error_line,
        }
