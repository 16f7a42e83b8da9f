"""What a conversion produces: data, not exceptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    """How a conversion ended."""

    CONVERTED = "converted"  #: ``output`` holds the Lightning script
    ALREADY_LIGHTNING = "already-lightning"  #: nothing to do: the file already uses Lightning
    NO_TRAINING_LOOP = "no-training-loop"  #: nothing to do: no training loop was found
    NOT_CONVERTIBLE = "not-convertible"  #: refused; ``reasons`` says where and why
    UNPARSEABLE = "unparseable"  #: syntax error / bad input; ``reasons`` has the message


@dataclass(frozen=True)
class Change:
    """One edit the converter made, anchored to the original source lines."""

    start_line: int
    end_line: int
    description: str  #: e.g. "batch loop → training_step"

    def where(self) -> str:
        if self.start_line == self.end_line:
            return f"line {self.start_line}"
        return f"lines {self.start_line}-{self.end_line}"


@dataclass(frozen=True)
class Note:
    """A point the user should review (also emitted as a ``# pl-convert: review`` comment)."""

    line: int  #: line in the *original* source (0 when not tied to a line)
    message: str


@dataclass(frozen=True)
class Reason:
    """Why a script was not converted."""

    line: int  #: line in the original source (0 when not tied to a line)
    message: str


@dataclass
class ConversionResult:
    status: Status
    source: str
    output: str | None = None  #: the converted text when status is CONVERTED, else None
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    explanation: str | None = None  #: the analysis and plan, human readable (for --explain)

    @property
    def converted(self) -> bool:
        return self.status is Status.CONVERTED

    @property
    def changed(self) -> bool:
        return self.output is not None and self.output != self.source

    def to_dict(self) -> dict:
        return {
            "status": self.status.value,
            "changes": [
                {"start_line": c.start_line, "end_line": c.end_line, "description": c.description}
                for c in self.changes
            ],
            "notes": [{"line": n.line, "message": n.message} for n in self.notes],
            "reasons": [{"line": r.line, "message": r.message} for r in self.reasons],
        }


@dataclass(frozen=True)
class ConvertOptions:
    """Knobs of a conversion."""

    import_style: str = "pytorch_lightning"  #: or "lightning" (``import lightning as L``)
    review_markers: bool = True  #: emit ``# pl-convert: review — ...`` comments at review points
