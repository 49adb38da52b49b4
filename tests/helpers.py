"""Helpers shared by the rule tests."""

from __future__ import annotations

import textwrap
from typing import List, Optional, Sequence, Tuple

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source


def findings(source: str, select: Optional[Sequence[str]] = None) -> List[Tuple[str, int]]:
    """Lint ``source`` (dedented) and return ``(code, line)`` pairs."""
    settings = Settings(select=validate_selectors(select) if select else None)
    result = lint_source(textwrap.dedent(source), "example.py", settings)
    return [(diagnostic.code, diagnostic.start.line) for diagnostic in result.diagnostics]


def codes(source: str, select: Optional[Sequence[str]] = None) -> List[str]:
    return [code for code, _ in findings(source, select)]


def line_of(source: str, text: str, occurrence: int = 1) -> int:
    """Return the 1-based line of the ``occurrence``-th line containing ``text``."""
    seen = 0
    for number, line in enumerate(textwrap.dedent(source).splitlines(), start=1):
        if text in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{text!r} not found in the source")
