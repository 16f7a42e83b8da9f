"""What is known about the rules without importing them (importing a rule imports libcst).

``pl-convert lint`` runs as a pre-commit hook, on every commit, so its start-up matters. This
module answers from data alone the questions asked before any rule is loaded: is a ``--select``
code real, and which rules would run on a given text (enabled by the configuration for the
target Lightning version, with their text pre-filter passing: one of the rule's ``markers`` and
one of its ``keywords`` in the text). The engine imports only those rules, and nothing of libcst
for a file that no rule would look at.

The per-rule facts are copied from the rule classes into :mod:`.catalog_data` by
``python -m pl_convert.rules.catalog``. :func:`.registry.all_rules` raises when that copy no
longer matches the classes, so a stale catalog fails every test that loads the rules.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .catalog_data import DEFAULT_MARKERS, RULES

if TYPE_CHECKING:
    from .config import LintConfig
    from .rule import Rule

#: every rule's code, sorted
RULE_CODES: tuple[str, ...] = tuple(RULES)


def unknown_selectors(selectors: tuple[str, ...]) -> list[str]:
    """Selectors that match no rule (a typo such as ``PTL9``); ``ALL`` matches every rule."""
    return [s for s in selectors if s != "ALL" and not any(code.startswith(s) for code in RULE_CODES)]


def candidate_codes(source: str, config: "LintConfig", path: str | None = None) -> list[str]:
    """The codes of the rules that run on ``source``, sorted: enabled for ``path``, applicable
    to the target version, and passing their text pre-filter."""
    has_marker: dict[tuple[str, ...], bool] = {}  # most rules share the default markers: scan once
    codes = []
    for code, (_module, applies_from, markers, keywords) in RULES.items():
        markers = markers or DEFAULT_MARKERS
        if markers not in has_marker:
            has_marker[markers] = any(m in source for m in markers)
        if (
            has_marker[markers]
            and config.is_enabled(code, path)
            and (applies_from is None or config.targets(applies_from))
            and any(k in source for k in keywords)
        ):
            codes.append(code)
    return codes


def module_of(code: str) -> str:
    """The module of :mod:`pl_convert.rules.checks` that defines rule ``code``."""
    return RULES[code][0]


# -- keeping catalog_data.py current ---------------------------------------------------------
def entry(rule: type["Rule"], default_markers: tuple[str, ...]) -> tuple:
    """What the catalog records of ``rule``: (module in pl_convert.rules.checks, applies_from,
    markers or None for the default, keywords)."""
    markers = None if tuple(rule.markers) == tuple(default_markers) else tuple(rule.markers)
    return (rule.__module__.rsplit(".", 1)[-1], rule.applies_from, markers, tuple(rule.keywords))


def stale_entries(rules: tuple[type["Rule"], ...], default_markers: tuple[str, ...]) -> list[str]:
    """Where catalog_data.py no longer describes ``rules`` (codes; empty when current)."""
    expected = {rule.code: entry(rule, default_markers) for rule in rules}
    stale = sorted(code for code in expected.keys() | RULES.keys() if expected.get(code) != RULES.get(code))
    if tuple(default_markers) != DEFAULT_MARKERS:
        stale.insert(0, "DEFAULT_MARKERS")
    return stale


def render(rules: tuple[type["Rule"], ...], default_markers: tuple[str, ...]) -> str:
    """The text of catalog_data.py for ``rules``."""
    lines = [
        '"""The rules\' pre-filter facts, for :mod:`pl_convert.rules.catalog`.',
        "",
        "Generated from the rule classes by ``python -m pl_convert.rules.catalog``: do not edit. Run it",
        "after adding a rule or changing a rule's ``keywords``, ``markers`` or ``applies_from``.",
        '"""',
        "",
        "#: ``Rule.markers``, the markers of every rule that does not set its own",
        f"DEFAULT_MARKERS: tuple[str, ...] = {_tuple(default_markers)}",
        "",
        "#: code -> (module in pl_convert.rules.checks, applies_from, markers or None, keywords)",
        "RULES: dict[str, tuple] = {",
    ]
    for rule in rules:
        module, applies_from, markers, keywords = entry(rule, default_markers)
        head = f"    {rule.code!r}: ({module!r}, {applies_from!r}, {_tuple(markers) if markers else None}, "
        one_line = f"{head}{_tuple(keywords)}),"
        if len(one_line) <= 100:
            lines.append(one_line)
            continue
        lines.append(head.rstrip())
        lines += _wrapped(keywords, indent=8)
        lines[-1] += "),"
    lines.append("}")
    return "\n".join(lines) + "\n"


def _tuple(items: tuple[str, ...]) -> str:
    return "(" + ", ".join(map(repr, items)) + ("," if len(items) == 1 else "") + ")"


def _wrapped(items: tuple[str, ...], indent: int) -> list[str]:
    """A tuple literal over several lines of at most 100 characters."""
    lines, current = [], " " * indent + "("
    for index, item in enumerate(items):
        piece = repr(item) + ("," if index < len(items) - 1 or len(items) == 1 else "")
        if len(current) + len(piece) + 2 > 100:
            lines.append(current.rstrip())
            current = " " * (indent + 1)
        current += piece + " "
    lines.append(current.rstrip() + ")")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Rewrite catalog_data.py from the rule classes (``--check``: only say whether it is current)."""
    from pathlib import Path

    from .registry import discover_rules
    from .rule import Rule

    from ..sourcefile import write_generated

    args = sys.argv[1:] if argv is None else argv
    target = Path(__file__).with_name("catalog_data.py")
    text = render(discover_rules(), Rule.markers)
    return write_generated(target, text, "--check" in args, "python -m pl_convert.rules.catalog")

if __name__ == "__main__":
    sys.exit(main())
