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
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .context import FileContext

# The records below are plain classes with __slots__, not dataclasses: this module is imported on
# every lint run, and creating a dataclass compiles each generated method with exec() (about a
# millisecond per class), which is most of what importing it would cost.


def _dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


class Valid:
    """Code the rule must not flag."""

    __slots__ = ("_code", "target_version")

    def __init__(self, code: str, target_version: tuple[int, int] | None = None) -> None:
        self._code = code
        self.target_version = target_version

    @property
    def code(self) -> str:
        # dedented on use: the examples are read by the tests and the docs, not when linting
        return _dedent(self._code)


class Invalid:
    """Code the rule must flag (at ``line``, if given); with ``fixed``, what its fix produces
    (safe and unsafe fixes applied, until stable)."""

    __slots__ = ("_code", "_fixed", "line", "target_version")

    def __init__(
        self,
        code: str,
        fixed: str | None = None,
        line: int | None = None,
        target_version: tuple[int, int] | None = None,
    ) -> None:
        self._code = code
        self._fixed = fixed
        self.line = line
        self.target_version = target_version

    @property
    def code(self) -> str:
        return _dedent(self._code)

    @property
    def fixed(self) -> str | None:
        return None if self._fixed is None else _dedent(self._fixed)


class FixPlan:
    """A fix as node replacements; the engine turns it into text edits."""

    __slots__ = ("safety", "message", "replacements")

    def __init__(self, safety: str, message: str, replacements: dict[Any, Any] | None = None) -> None:
        self.safety = safety
        self.message = message
        self.replacements = {} if replacements is None else replacements


class RawFinding:
    """A finding before positions are known: the node it points at."""

    __slots__ = ("rule", "node", "message", "fix")

    def __init__(self, rule: "Rule", node: Any, message: str, fix: FixPlan | None) -> None:
        self.rule = rule
        self.node = node
        self.message = message
        self.fix = fix


class Rule:
    """Base class of all rules. Subclasses set the class attributes and ``visit_*`` methods."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: the default message (and the one-line summary in ``pl-convert rules``)
    message: ClassVar[str] = ""
    # keywords, markers and applies_from are copied into catalog_data.py, which lets the engine
    # pick a file's rules before importing any: run `python -m pl_convert.rules.catalog` after
    # changing them (all_rules() raises while the copy is stale)
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
