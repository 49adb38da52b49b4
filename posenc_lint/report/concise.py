"""The default report: one line a finding, and the summary line."""

from __future__ import annotations

from typing import Iterable, List, Sequence, TextIO

from posenc_lint.diagnostics import Diagnostic


def write_concise(diagnostics: List[Diagnostic], stream: TextIO, unsafe_fixes: bool = False) -> None:
    for diagnostic in diagnostics:
        stream.write(concise_line(diagnostic, unsafe_fixes) + "\n")


def concise_line(diagnostic: Diagnostic, unsafe_fixes: bool = False) -> str:
    """Return ``path:line:col: CODE [*] message`` with a 1-based column.

    ``[*]`` marks a finding that `--fix` would fix: one with a safe fix, or with
    any fix when ``unsafe_fixes`` is set.
    """
    marker = " [*]" if diagnostic.fix_applies(unsafe_fixes) else ""
    return (
        f"{diagnostic.path}:{diagnostic.start.line}:{diagnostic.start.column + 1}: "
        f"{diagnostic.code}{marker} {diagnostic.message}"
    )


def summary_line(
    diagnostics: Iterable[Diagnostic],
    files_checked: int,
    unsafe_fixes: bool = False,
    fixed: Sequence[Diagnostic] = (),
) -> str:
    """Count the findings, and with ``fixed`` (a `--fix` run) how many were fixed and remain.

    ``diagnostics`` are the findings that remain. The line ends with how many of
    them `--fix` would fix, and how many more `--unsafe-fixes` would add.
    """
    diagnostics = list(diagnostics)
    total = len(diagnostics) + len(fixed)
    if not total:
        noun = "file" if files_checked == 1 else "files"
        return f"All checks passed ({files_checked} {noun} checked)."
    files = len({diagnostic.path for diagnostic in [*diagnostics, *fixed]})
    findings = "finding" if total == 1 else "findings"
    noun = "file" if files == 1 else "files"
    line = f"Found {total} {findings} in {files} {noun} ({files_checked} checked)"
    if fixed:
        line += f": {len(fixed)} fixed, {len(diagnostics)} remaining."
    else:
        line += "."
    return line + fix_hint(diagnostics, unsafe_fixes)


def fix_hint(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """Return how many findings `--fix` fixes and how many more need `--unsafe-fixes`, or ''."""
    applicable = sum(1 for diagnostic in diagnostics if diagnostic.fix_applies(unsafe_fixes))
    hidden = sum(1 for diagnostic in diagnostics if diagnostic.fixable) - applicable
    option = "`--fix --unsafe-fixes`" if unsafe_fixes else "`--fix`"
    if applicable and hidden:
        return f" {applicable} fixable with {option}, {hidden} more with `--fix --unsafe-fixes`."
    if applicable:
        return f" {applicable} fixable with {option}."
    if hidden:
        return f" {hidden} fixable with `--fix --unsafe-fixes`."
    return ""
