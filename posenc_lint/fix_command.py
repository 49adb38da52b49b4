"""The `--fix`, `--diff` and `--fix-only` runs of the command line.

Exit status, as Ruff sets it:

- `--fix`: 1 when findings remain, or when `--exit-non-zero-on-fix` is given and
  a file was fixed; else 0.
- `--fix-only`: 0, or 1 when `--exit-non-zero-on-fix` is given and a file was fixed.
- `--diff`: 1 when there is a diff, else 0.

`--exit-zero` turns each 1 into 0. A file that could not be fixed or written,
and an internal error (PEL902), make the status 2 regardless of the other options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO, Dict, List, Optional, Sequence, TextIO, Tuple

from posenc_lint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, UsageError
from posenc_lint.config import Settings
from posenc_lint.diagnostics import Diagnostic
from posenc_lint.engine import INTERNAL_ERROR
from posenc_lint.fixer import FileFix, fix_source, unified_diff
from posenc_lint.report import write_report
from posenc_lint.report.concise import summary_line


def fix_stdin(source: bytes, display: str, settings: Settings, path: Optional[Path], arguments: argparse.Namespace) -> int:
    """Fix standard input: the fixed source (or a diff with `--diff`) goes to standard output.

    The remaining findings go to standard error, so standard output contains
    only the source, as editors that pipe a buffer through expect. When the
    fixes fail, the original source is written unchanged.
    """
    outcome = fix_source(source, display, settings, path=path, unsafe=arguments.unsafe_fixes)
    error = None if outcome.error is None else f"fixes not applied: {outcome.error}"
    fixed = outcome.fixed if outcome.changed else ()
    diff = unified_diff(outcome.original, outcome.source, display) if outcome.changed and arguments.diff else None
    file_fix = FileFix(display, fixed, outcome.result, outcome.changed, diff, error)

    if arguments.diff:
        _write_bytes(diff or b"", arguments)
    else:
        stdout = sys.stdout.buffer
        stdout.write(outcome.source)
        stdout.flush()
    return _finish([file_fix], [], 1, arguments, report_stream=sys.stderr, sources={display: outcome.source})


def fix_groups(
    groups: Sequence[Tuple[Settings, List[Path]]],
    file_diagnostics: List[Diagnostic],
    files_checked: int,
    arguments: argparse.Namespace,
) -> int:
    """Fix the files of each settings group in worker processes and report the run."""
    from posenc_lint.runner import fix_files, show_progress

    progress = not arguments.no_progress and show_progress()
    results: List[FileFix] = []
    for settings, files in groups:
        results.extend(
            fix_files(
                files,
                settings,
                arguments.jobs,
                unsafe=arguments.unsafe_fixes,
                write=not arguments.diff,
                progress=progress,
            )
        )
    results.sort(key=lambda file_fix: file_fix.path)
    if arguments.diff:
        _write_bytes(b"".join(file_fix.diff for file_fix in results if file_fix.diff), arguments)
    return _finish(results, file_diagnostics, files_checked, arguments)


def _write_bytes(data: bytes, arguments: argparse.Namespace) -> None:
    """Write a diff to the output file, or to standard output, as bytes."""
    if arguments.output_file:
        try:
            with open(arguments.output_file, "wb") as stream:
                stream.write(data)
        except OSError as error:
            raise UsageError(f"cannot write the diff to {arguments.output_file}: {error.strerror}")
        return
    stdout: BinaryIO = sys.stdout.buffer
    stdout.write(data)
    stdout.flush()


def _finish(
    results: Sequence[FileFix],
    file_diagnostics: List[Diagnostic],
    files_checked: int,
    arguments: argparse.Namespace,
    report_stream: Optional[TextIO] = None,
    sources: Optional[Dict[str, bytes]] = None,
) -> int:
    remaining = list(file_diagnostics)
    fixed: List[Diagnostic] = []
    for file_fix in results:
        remaining.extend(file_fix.result.diagnostics)
        fixed.extend(file_fix.fixed)
    remaining.sort(key=Diagnostic.sort_key)
    errors = [file_fix for file_fix in results if file_fix.error is not None]
    internal_errors = [diagnostic for diagnostic in remaining if diagnostic.code == INTERNAL_ERROR]

    if arguments.diff:
        _write_diff_summary(results, fixed, remaining, arguments)
    elif arguments.fix_only:
        # Internal errors are no findings, so they are shown even when findings are not.
        for diagnostic in internal_errors:
            sys.stderr.write(f"{diagnostic.path}: {diagnostic.code} {diagnostic.message}\n")
        if not arguments.quiet:
            sys.stderr.write(_fixed_line(fixed, remaining, arguments.unsafe_fixes) + "\n")
    else:
        _write_report(remaining, arguments, report_stream, sources)
        if not arguments.quiet:
            sys.stderr.write(summary_line(remaining, files_checked, arguments.unsafe_fixes, fixed) + "\n")
    for file_fix in errors:
        sys.stderr.write(f"posenc-lint: error: {file_fix.path}: {file_fix.error}; the file was left unchanged\n")
    sys.stderr.flush()

    if errors or internal_errors:
        return EXIT_ERROR
    if arguments.exit_zero:
        return EXIT_CLEAN
    if arguments.diff:
        return EXIT_FINDINGS if any(file_fix.changed for file_fix in results) else EXIT_CLEAN
    if arguments.exit_non_zero_on_fix and fixed:
        return EXIT_FINDINGS
    if remaining and not arguments.fix_only:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _write_report(
    remaining: List[Diagnostic],
    arguments: argparse.Namespace,
    report_stream: Optional[TextIO],
    sources: Optional[Dict[str, bytes]],
) -> None:
    if arguments.output_file:
        try:
            with open(arguments.output_file, "w", encoding="utf-8") as stream:
                write_report(remaining, arguments.output_format, stream, sources, arguments.unsafe_fixes)
        except OSError as error:
            raise UsageError(f"cannot write the report to {arguments.output_file}: {error.strerror}")
        return
    stream = report_stream or sys.stdout
    write_report(remaining, arguments.output_format, stream, sources, arguments.unsafe_fixes)
    stream.flush()


def _write_diff_summary(
    results: Sequence[FileFix], fixed: List[Diagnostic], remaining: List[Diagnostic], arguments: argparse.Namespace
) -> None:
    if arguments.quiet:
        return
    changed = sum(1 for file_fix in results if file_fix.changed)
    if fixed:
        findings = "finding" if len(fixed) == 1 else "findings"
        files = "file" if changed == 1 else "files"
        line = f"Would fix {len(fixed)} {findings} in {changed} {files}."
    else:
        line = "No fixes to apply."
    # The remaining findings of a diff run are those the fixed code would still have.
    sys.stderr.write(line + _unsafe_hint(remaining, arguments.unsafe_fixes) + "\n")


def _fixed_line(fixed: List[Diagnostic], remaining: List[Diagnostic], unsafe_fixes: bool) -> str:
    if fixed:
        findings = "finding" if len(fixed) == 1 else "findings"
        files = len({diagnostic.path for diagnostic in fixed})
        noun = "file" if files == 1 else "files"
        line = f"Fixed {len(fixed)} {findings} in {files} {noun}."
    else:
        line = "No fixes applied."
    return line + _unsafe_hint(remaining, unsafe_fixes)


def _unsafe_hint(remaining: List[Diagnostic], unsafe_fixes: bool) -> str:
    """Return how many of the remaining findings `--unsafe-fixes` would fix too, or ''."""
    hidden = sum(
        1 for diagnostic in remaining if diagnostic.fixable and not diagnostic.fix_applies(unsafe_fixes)
    )
    if not hidden:
        return ""
    return f" {hidden} more fixable with `--unsafe-fixes`."
