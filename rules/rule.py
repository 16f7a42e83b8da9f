"""The base class of lint rules, and the examples every rule carries.

A rule is one class in one module of :mod:`pl_convert.rules.checks`: its code, name, default
message, a docstring in ruff's shape (*What it does* / *Why is this bad?* / *Fix safety*), and
``VALID`` / ``INVALID`` examples. The test suite runs every example; ``pl-convert rule CODE`` and
``docs/rules.md`` render the same docstring and examples. Rules implement ``visit_<Node>`` /
``leave_<Node>`` methods (libcst node class names); the engine calls all rules of a file in one
traversal and gives them a shared :class:`~pl_convert.rules.context.FileContext`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .context import FileContext


def _dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


@dataclass(frozen=True)
class Valid:
    """Code the rule must not flag."""

    code: str
    target_version: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _dedent(self.code))


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag (at ``line``, if given); with ``fixed``, what its fix produces
    (safe and unsafe fixes applied, until stable)."""

    code: str
    fixed: str | None = None
    line: int | None = None
    target_version: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _dedent(self.code))
        if self.fixed is not None:
            object.__setattr__(self, "fixed", _dedent(self.fixed))


@dataclass
class FixPlan:
    """A fix as node replacements; the engine turns it into text edits."""

    safety: str
    message: str
    replacements: dict[Any, Any] = field(default_factory=dict)


@dataclass
class RawFinding:
    """A finding before positions are known: the node it points at."""

    rule: "Rule"
    node: Any
    message: str
    fix: FixPlan | None


class Rule:
    """Base class of all rules. Subclasses set the class attributes and ``visit_*`` methods."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: the default message (and the one-line summary in ``pl-convert rules``)
    message: ClassVar[str] = ""
    #: the rule only runs on files containing one of these strings (a cheap pre-filter)
    keywords: ClassVar[tuple[str, ...]] = ("lightning",)
    #: ... and one of these: every rule judges Lightning code, which imports Lightning or at
    #: least defines a Lightning hook or uses a trainer
    markers: ClassVar[tuple[str, ...]] = ("lightning", "training_step", "configure_optimizers", "trainer")
    #: the rule only applies when the target Lightning version is at least this
    applies_from: ClassVar[tuple[int, int] | None] = None
    #: "safe", "unsafe", "sometimes-safe" (some findings safe, some unsafe) or None (no fix)
    fix_safety: ClassVar[str | None] = None
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx

    def report(self, node: Any, message: str | None = None, fix: FixPlan | None = None) -> None:
        """Record a finding at ``node`` (a libcst node of the file being linted)."""
        self.ctx.raw_findings.append(RawFinding(self, node, message or self.message, fix))

    def fix(self, safety: str, message: str, replacements: dict[Any, Any]) -> FixPlan:
        """A fix replacing each key node with its value (a node, a FlattenSentinel of
        statements, or ``libcst.RemovalSentinel.REMOVE``)."""
        return FixPlan(safety, message, dict(replacements))

    def finish(self) -> None:
        """Called once after the traversal, for rules that judge the file as a whole."""

    # -- documentation ----------------------------------------------------------------------
    @classmethod
    def group(cls) -> str:
        return cls.code[:4]

    @classmethod
    def summary(cls) -> str:
        return cls.message

    @classmethod
    def has_fix(cls) -> bool:
        return cls.fix_safety is not None

    @classmethod
    def documentation(cls) -> str:
        """The rule's docstring (Markdown with *What it does* / *Why is this bad?* / *Fix
        safety* sections), dedented."""
        return textwrap.dedent(cls.__doc__ or "").strip()
