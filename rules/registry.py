"""Finding the rules: every ``Rule`` subclass in a module of :mod:`pl_convert.rules.checks`.

Adding a rule is adding a file; nothing else registers it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING

from .rule import Rule

if TYPE_CHECKING:
    from .config import LintConfig


@lru_cache(maxsize=None)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule, sorted by code. Raises RuntimeError on a duplicate code or name."""
    from . import checks

    found: dict[str, type[Rule]] = {}
    names: dict[str, str] = {}
    for info in pkgutil.iter_modules(checks.__path__):
        module = importlib.import_module(f"{checks.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.code and value.__module__ == module.__name__:
                if value.code in found or value.name in names:
                    raise RuntimeError(f"duplicate rule {value.code} / {value.name} in {module.__name__}")
                found[value.code] = value
                names[value.name] = value.code
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code_or_name: str) -> type[Rule] | None:
    """The rule with this code (``PTL101``) or name (``mixed-lightning-imports``)."""
    key = code_or_name.strip()
    for rule in all_rules():
        if rule.code == key.upper() or rule.name == key.lower():
            return rule
    return None


def selected_rules(config: "LintConfig", path: str | None = None) -> list[type[Rule]]:
    """The rules ``config`` enables for ``path`` and its target Lightning version."""
    return [
        rule
        for rule in all_rules()
        if config.is_enabled(rule.code, path)
        and (rule.applies_from is None or config.targets(rule.applies_from))
    ]


def unknown_selectors(selectors: tuple[str, ...]) -> list[str]:
    """Selectors that match no rule (a typo such as ``PTL9``)."""
    codes = [rule.code for rule in all_rules()]
    return [s for s in selectors if s != "ALL" and not any(code.startswith(s) for code in codes)]
