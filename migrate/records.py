"""What a migration produces, per file and in total: plain data, serialisable to JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class FileStatus(str, Enum):
    """How one Python file came out of a migration."""

    CONVERTED = "converted"  #: rewritten to Lightning (``output`` holds the new text)
    ALREADY_LIGHTNING = "already-lightning"  #: uses Lightning already: linted, not converted
    NO_TRAINING_CODE = "no-training-code"  #: nothing to convert: left untouched
    NOT_CONVERTIBLE = "not-convertible"  #: has training code the converter refused (``reasons``)
    UNPARSEABLE = "unparseable"  #: syntax error, undecodable or binary (``error``)
    ERROR = "error"  #: pl-convert itself failed on this file (``error``); a bug to report

    @property
    def label(self) -> str:
        """A short human label ("already Lightning")."""
        return _LABELS[self]


_LABELS = {
    FileStatus.CONVERTED: "converted",
    FileStatus.ALREADY_LIGHTNING: "already Lightning",
    FileStatus.NO_TRAINING_CODE: "no training code",
    FileStatus.NOT_CONVERTIBLE: "not convertible",
    FileStatus.UNPARSEABLE: "unparseable",
    FileStatus.ERROR: "error",
}

#: Statuses that mean "this file still needs a person" (``--strict`` exits 1 on them).
PROBLEM_STATUSES = frozenset({FileStatus.NOT_CONVERTIBLE, FileStatus.UNPARSEABLE, FileStatus.ERROR})


def cell_prefix(cell: int | None) -> str:
    """``"cell 4, "`` for a line of a notebook cell (lines are then the cell's own)."""
    return "" if cell is None else f"cell {cell}, "


@dataclass(frozen=True)
class LineMessage:
    """A message tied to a source line (0 when not tied to one); in a notebook, to a line of
    cell ``cell``."""

    line: int
    message: str
    cell: int | None = None

    def where(self) -> str:
        """``line 3``, ``cell 4, line 3`` or "" (not tied to a line)."""
        return f"{cell_prefix(self.cell)}line {self.line}" if self.line else ""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "cell": self.cell}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LineMessage":
        return cls(int(data.get("line") or 0), str(data["message"]), data.get("cell"))


@dataclass(frozen=True)
class ChangeRecord:
    """An edit of the converter, anchored to lines of the original file."""

    start_line: int
    end_line: int
    description: str
    cell: int | None = None  #: a notebook's cell (the lines are the cell's own)

    def where(self) -> str:
        """``line 3``, ``lines 3-9``, ``cell 4, lines 3-9``, or ``new code`` (not tied to a
        line of the original)."""
        if self.start_line <= 0:
            return "new code"
        if self.start_line == self.end_line:
            return f"{cell_prefix(self.cell)}line {self.start_line}"
        return f"{cell_prefix(self.cell)}lines {self.start_line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {"start_line": self.start_line, "end_line": self.end_line, "description": self.description, "cell": self.cell}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChangeRecord":
        return cls(int(data["start_line"]), int(data["end_line"]), str(data["description"]), data.get("cell"))


@dataclass(frozen=True)
class ReviewNote:
    """A point the user must review: its line in the original and where its marker landed."""

    line: int  #: line in the original file (0: not tied to a line)
    message: str
    output_line: int | None = None  #: line of the ``# pl-convert: review`` marker in the output
    cell: int | None = None  #: a notebook's cell of ``line``
    output_cell: int | None = None  #: a notebook's cell of ``output_line``

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "output_line": self.output_line, "cell": self.cell, "output_cell": self.output_cell}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ReviewNote":
        out = data.get("output_line")
        return cls(int(data.get("line") or 0), str(data["message"]), None if out is None else int(out), data.get("cell"), data.get("output_cell"))


@dataclass
class FileRecord:
    """The outcome for one Python file.

    ``findings`` are the lint findings as :meth:`pl_convert.rules.Finding.to_dict` gives them;
    for a converted file they refer to lines of the *converted* output.
    """

    path: str  #: relative to the migrated root, with ``/`` separators
    status: FileStatus
    changes: list[ChangeRecord] = field(default_factory=list)
    notes: list[ReviewNote] = field(default_factory=list)
    reasons: list[LineMessage] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    error: LineMessage | None = None
    output: str | None = None  #: new text to write (converted, or lint-fixed); None: unchanged
    encoding: str = "utf-8"  #: the file's own encoding, used to write ``output`` back
    fixes_applied: int = 0  #: lint fixes applied with ``--fix``
    cached: bool = False  #: came from the result cache

    @property
    def changed(self) -> bool:
        """Whether migrating rewrites this file."""
        return self.output is not None

    def to_dict(self, include_output: bool = False) -> dict[str, Any]:
        """The JSON record (the report's; with ``include_output`` also the cache's)."""
        data: dict[str, Any] = {
            "path": self.path,
            "status": self.status.value,
            "changes": [c.to_dict() for c in self.changes],
            "notes": [n.to_dict() for n in self.notes],
            "reasons": [r.to_dict() for r in self.reasons],
            "findings": list(self.findings),
            "error": None if self.error is None else self.error.to_dict(),
            "changed": self.changed,
            "fixes_applied": self.fixes_applied,
        }
        if include_output:
            data["output"] = self.output
            data["encoding"] = self.encoding
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | None = None) -> "FileRecord":
        """Rebuild a record (from the cache: ``path`` replaces the stored one)."""
        error = data.get("error")
        return cls(
            path=path if path is not None else str(data["path"]),
            status=FileStatus(data["status"]),
            changes=[ChangeRecord.from_dict(c) for c in data.get("changes", [])],
            notes=[ReviewNote.from_dict(n) for n in data.get("notes", [])],
            reasons=[LineMessage.from_dict(r) for r in data.get("reasons", [])],
            findings=list(data.get("findings", [])),
            error=None if error is None else LineMessage.from_dict(error),
            output=data.get("output"),
            encoding=str(data.get("encoding") or "utf-8"),
            fixes_applied=int(data.get("fixes_applied") or 0),
        )


@dataclass
class Totals:
    """Counts over a migration."""

    files: int = 0
    by_status: dict[FileStatus, int] = field(default_factory=dict)
    findings: int = 0
    notes: int = 0
    changed: int = 0  #: Python files rewritten (converted or fixed)
    copied: int = 0  #: other files copied to ``--out``
    symlinks: int = 0  #: symlinks recreated in ``--out``
    cache_hits: int = 0

    def count(self, status: FileStatus) -> int:
        return self.by_status.get(status, 0)

    @property
    def convert_rate(self) -> float | None:
        """Converted files over files with training code (converted + not convertible).

        None when no file had training code. Unparseable files are left out: whether they
        hold training code is unknown.
        """
        converted = self.count(FileStatus.CONVERTED)
        denominator = converted + self.count(FileStatus.NOT_CONVERTIBLE)
        return None if denominator == 0 else converted / denominator

    @classmethod
    def of(cls, records: list[FileRecord], copied: int = 0, symlinks: int = 0) -> "Totals":
        """Count ``records``."""
        totals = cls(files=len(records), copied=copied, symlinks=symlinks)
        for status in FileStatus:
            totals.by_status[status] = 0
        for record in records:
            totals.by_status[record.status] += 1
            totals.findings += len(record.findings)
            totals.notes += len(record.notes)
            totals.changed += record.changed
            totals.cache_hits += record.cached
        return totals

    def to_dict(self) -> dict[str, Any]:
        rate = self.convert_rate
        return {
            "files": self.files,
            **{status.value: self.count(status) for status in FileStatus},
            "convert_rate": None if rate is None else round(rate, 4),
            "changed": self.changed,
            "findings": self.findings,
            "notes": self.notes,
            "copied": self.copied,
            "symlinks": self.symlinks,
            "cache_hits": self.cache_hits,
        }
