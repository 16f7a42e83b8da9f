"""Finding the rules: every ``Rule`` subclass in a module of :mod:`pl_convert.rules.checks`.

Adding a rule is adding a file, then running ``python -m pl_convert.rules.catalog``, which copies
what the engine needs to know before importing a rule (its code, module and text pre-filter)
into :mod:`.catalog_data`. Linting imports only the rules a file needs (:func:`rules_for`);
listing or documenting them imports them all (:func:`all_rules`).
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Iterable

from . import catalog
from .rule import Rule

_CHECKS = f"{__package__}.checks"
_STALE = "rules/catalog_data.py is out of date ({}); run: python -m pl_convert.rules.catalog"


def discover_rules() -> tuple[type[Rule], ...]:
    """Import every module of :mod:`pl_convert.rules.checks`; the rules in them, sorted by code.
    Raises RuntimeError on a duplicate code or name."""
    import pkgutil  # only listing every rule needs it, not linting

    from . import checks

    found: dict[str, type[Rule]] = {}
    names: dict[str, str] = {}
    for info in pkgutil.iter_modules(checks.__path__):
        module = importlib.import_module(f"{_CHECKS}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.code and value.__module__ == module.__name__:
                if value.code in found or value.name in names:
                    raise RuntimeError(f"duplicate rule {value.code} / {value.name} in {module.__name__}")
                found[value.code] = value
                names[value.name] = value.code
    return tuple(found[code] for code in sorted(found))


@lru_cache(maxsize=None)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule, sorted by code. Raises RuntimeError on a duplicate code or name, and when the
    catalog no longer describes the rules."""
    rules = discover_rules()
    stale = catalog.stale_entries(rules, Rule.markers)
    if stale:
        raise RuntimeError(_STALE.format(", ".join(stale)))
    return rules


def rules_for(codes: Iterable[str]) -> list[type[Rule]]:
    """The rule classes of ``codes`` (see :func:`.catalog.candidate_codes`), importing only their
    modules."""
    return [_rule_class(code) for code in codes]


@lru_cache(maxsize=None)
def _rule_class(code: str) -> type[Rule]:
    module = importlib.import_module(f"{_CHECKS}.{catalog.module_of(code)}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Rule) and value.code == code and value.__module__ == module.__name__:
            return value
    raise RuntimeError(_STALE.format(f"{code} is not in {module.__name__}"))


def rule_by_code(code_or_name: str) -> type[Rule] | None:
    """The rule with this code (``PTL101``) or name (``mixed-lightning-imports``)."""
    key = code_or_name.strip()
    for rule in all_rules():
        if rule.code == key.upper() or rule.name == key.lower():
            return rule
    return None
