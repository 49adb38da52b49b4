"""Helpers for the tests of unsafe fixes: run one rule's fix on a snippet and read the result."""

from __future__ import annotations

import textwrap
from typing import List, Optional

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.diagnostics import Applicability, Diagnostic
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source


def settings(code: str, default_max_len: Optional[int] = None) -> Settings:
    if default_max_len is None:
        return Settings(select=validate_selectors([code]))
    return Settings(select=validate_selectors([code]), default_max_len=default_max_len)


def fix(source: str, code: str, default_max_len: Optional[int] = None) -> str:
    """Return ``source`` (dedented) after `--fix --unsafe-fixes` with only ``code`` selected.

    Fails when the fixer abandons the file or when a second run changes the result.
    """
    text = textwrap.dedent(source)
    chosen = settings(code, default_max_len)
    outcome = fix_source(text.encode(), "example.py", chosen, unsafe=True)
    assert outcome.error is None, outcome.error
    fixed = outcome.source.decode()
    again = fix_source(outcome.source, "example.py", chosen, unsafe=True)
    assert again.source == outcome.source, "a second --fix changed the file again"
    return fixed


def safe_fix(source: str, code: str) -> str:
    """Return ``source`` (dedented) after `--fix` without `--unsafe-fixes`."""
    text = textwrap.dedent(source)
    outcome = fix_source(text.encode(), "example.py", settings(code), unsafe=False)
    assert outcome.error is None, outcome.error
    return outcome.source.decode()


def diagnostics(source: str, code: str) -> List[Diagnostic]:
    result = lint_source(textwrap.dedent(source), "example.py", settings(code))
    return [diagnostic for diagnostic in result.diagnostics if diagnostic.code == code]


def assert_declined(source: str, code: str) -> None:
    """Assert that ``code`` reports ``source`` but offers no fix, and the file stays as it is."""
    found = diagnostics(source, code)
    assert found, f"{code} does not report the snippet"
    assert all(diagnostic.fix is None for diagnostic in found), "a fix is offered"
    assert fix(source, code) == textwrap.dedent(source)


def assert_unsafe(source: str, code: str) -> None:
    found = diagnostics(source, code)
    assert found and all(diagnostic.fix is not None for diagnostic in found)
    assert all(diagnostic.fix.applicability is Applicability.UNSAFE for diagnostic in found)


def dedent(text: str) -> str:
    return textwrap.dedent(text)
