"""Finding the conversion idioms: every :class:`~.idiom.Idiom` subclass in a module of
:mod:`pl_convert.converter.idioms`, the way the rules are found in :mod:`pl_convert.rules.checks`.

Adding a conversion is adding a file there (and its fixture pair); then
``python -m pl_convert.converter.docs`` rewrites docs/conversions.md (a test checks it is current).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from . import idioms as idioms_package
from .idiom import Idiom


@lru_cache(maxsize=None)
def all_idioms() -> tuple[type[Idiom], ...]:
    """Every idiom class, in stage order (``order``, then name). Raises RuntimeError on a
    duplicate name."""
    found: dict[str, type[Idiom]] = {}
    for info in pkgutil.iter_modules(idioms_package.__path__):
        module = importlib.import_module(f"{idioms_package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Idiom) and value.name and value.__module__ == module.__name__:
                if value.name in found:
                    raise RuntimeError(f"duplicate idiom {value.name} in {module.__name__}")
                found[value.name] = value
    return tuple(sorted(found.values(), key=lambda idiom: (idiom.order, idiom.name)))


def idiom_by_name(name: str) -> type[Idiom] | None:
    """The idiom called ``name`` (``gradient-clipping``; ``gradient_clipping`` works too)."""
    key = name.strip().lower().replace("_", "-")
    return next((idiom for idiom in all_idioms() if idiom.name == key), None)


def new_idioms() -> list[Idiom]:
    """One instance of every idiom, for one conversion (an idiom may keep state while it runs)."""
    return [idiom() for idiom in all_idioms()]
