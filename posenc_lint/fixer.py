"""Apply the fixes of a file's findings, pass after pass, until nothing changes."""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import libcst as cst

from posenc_lint import noqa
from posenc_lint.config import Settings, selected_codes
from posenc_lint.diagnostics import Diagnostic, FileResult
from posenc_lint.engine import analyse, lint_source
from posenc_lint.fixes import apply_plans, select_compatible

LOG = logging.getLogger(__name__)

# Each pass applies every fix that does not overlap another; overlapping ones
# wait for the next pass. Real files settle in two or three passes.
MAX_PASSES = 10


@dataclass(frozen=True)
class FixOutcome:
    """What fixing one file produced."""

    original: bytes
    source: bytes
    fixed: Tuple[Diagnostic, ...]
    result: FileResult
    # Why the fixes were abandoned; ``source`` is then ``original``.
    error: Optional[str] = None

    @property
    def changed(self) -> bool:
        return self.source != self.original


def fix_source(
    source: bytes,
    display: str,
    settings: Settings,
    path: Optional[Path] = None,
    unsafe: bool = False,
) -> FixOutcome:
    """Fix ``source`` and return the new bytes with the findings that remain."""
    initial = lint_source(source, display, settings, path=path)
    if initial.skipped or not any(diagnostic.fixable for diagnostic in initial.diagnostics):
        return FixOutcome(source, source, (), initial)

    codes = selected_codes(settings, path if path is not None else Path(display))
    current = source
    fixed: List[Diagnostic] = []
    for _ in range(MAX_PASSES):
        try:
            module = cst.parse_module(current)
        except cst.ParserSyntaxError as error:
            return _abandon(source, initial, f"the fixes produced code that does not parse ({error.message})")
        text = module.code
        if noqa.skips_file(text):
            break
        _, plans = analyse(module, text, display, settings, codes)
        applicable = [pair for pair in plans if pair[1].is_safe or unsafe]
        chosen = select_compatible([plan for _, plan in applicable])
        if not chosen:
            break
        updated, applied = apply_plans(module, chosen)
        if applied == 0:
            break
        new_source = updated.bytes
        if new_source == current:
            break
        chosen_ids = {id(plan) for plan in chosen}
        fixed.extend(diagnostic for diagnostic, plan in applicable if id(plan) in chosen_ids)
        current = new_source
    else:
        return _abandon(
            source, initial, f"the fixes did not settle after {MAX_PASSES} passes, so a second `--fix` would change the file again"
        )

    if current == source:
        return FixOutcome(source, source, (), initial)

    problem = _compile_problem(current)
    if problem is not None and _compile_problem(source) is None:
        return _abandon(source, initial, f"the fixed code is rejected by Python ({problem})")

    result = lint_source(current, display, settings, path=path)
    return FixOutcome(source, current, tuple(fixed), result)


def _abandon(source: bytes, initial: FileResult, reason: str) -> FixOutcome:
    LOG.debug("fix abandoned for %s: %s", initial.path, reason)
    return FixOutcome(source, source, (), initial, error=reason)


def _compile_problem(source: bytes) -> Optional[str]:
    try:
        compile(source, "<posenc-lint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} on line {error.lineno}"
    except (ValueError, RecursionError, MemoryError) as error:
        return str(error) or type(error).__name__
    return None
