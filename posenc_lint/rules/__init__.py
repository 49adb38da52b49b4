"""The rule catalogue: every module in this package defines rule classes.

Importing the package imports each module and collects its ``Rule`` subclasses,
so a new rule needs only a new module.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Dict, List, Tuple, Type

from posenc_lint.rules.base import Rule


def _collect() -> List[Type[Rule]]:
    found: Dict[str, Type[Rule]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and "code" in vars(value)
            ):
                if value.code in found and found[value.code] is not value:
                    raise RuntimeError(f"two rules share the code {value.code}")
                found[value.code] = value
    return [found[code] for code in sorted(found)]


ALL_RULES: List[Type[Rule]] = _collect()
RULES_BY_CODE: Dict[str, Type[Rule]] = {rule.code: rule for rule in ALL_RULES}
ALL_CODES: Tuple[str, ...] = tuple(RULES_BY_CODE)

__all__ = ["ALL_RULES", "ALL_CODES", "RULES_BY_CODE", "Rule"]
