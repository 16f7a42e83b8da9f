"""What the linter reports: findings, their fixes and the text edits a fix makes.

Plain dataclasses with no dependencies, so that they cross process boundaries (``--jobs``), go
into the result cache and come out as JSON unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SAFE = "safe"
UNSAFE = "unsafe"


@dataclass(frozen=True)
class Edit:
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


@dataclass(frozen=True)
class Fix:
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


@dataclass(frozen=True)
class Finding:
    """One problem in one file. Lines and columns are 1-based; ``end_*`` is exclusive-column."""

    code: str
    name: str
    path: str | None
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Fix | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple:
        return (self.path or "", self.line, self.column, self.code)

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
        )


@dataclass
class FileResult:
    """The outcome of linting one file (what the runner, the cache and the reporters share)."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  #: the file could not be read or parsed: the message
    error_line: int | None = None
    fixed: int = 0  #: how many fixes were applied (``--fix``)
    diff: str | None = None  #: unified diff of the fixes (``--diff``)
    source: str | None = None  #: the text (after fixes) for code frames in the report

    def to_cache(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "error": self.error,
            "error_line": self.error_line,
        }
