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


@dataclass(frozen=True)
class LoggedMetric:
    """An epoch metric the conversion logs with ``self.log``, and where the original computes it.

    For ``pl-convert verify``: it evaluates ``expression`` in the original run when execution
    leaves lines ``start_line``-``end_line`` (the evaluation phase: its loop and the statements
    around it that finish the value), once per occurrence (per epoch), and compares each value
    with what the conversion logged under ``key``. When the lines are inside a function the phase
    calls, ``called_from`` holds the lines of the calling statement: only those calls count (the
    same function may also run another phase, e.g. validation and test).
    """

    key: str  #: the ``self.log`` key, e.g. ``"val_acc"``
    expression: str  #: the logged value in the original script's terms, e.g. ``"correct"``
    start_line: int  #: first line (in the original) of the span after which the value is final
    end_line: int  #: last line of that span
    called_from: tuple[int, int] | None = None  #: (first, last) line of the calling statement


@dataclass
class ConversionResult:
    status: Status
    source: str
    output: str | None = None  #: the converted text when status is CONVERTED, else None
    changes: list[Change] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    explanation: str | None = None  #: the analysis and plan, human readable (for --explain)
    metrics: list[LoggedMetric] = field(default_factory=list)  #: epoch metrics the conversion logs

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
