"""Formatters that turn diagnostics into text for people and machines."""

from __future__ import annotations

import json
from typing import Iterable, List, TextIO

from posenc_lint.diagnostics import Diagnostic

OUTPUT_FORMATS = ("concise", "json", "json-lines")


def write_report(diagnostics: List[Diagnostic], output_format: str, stream: TextIO) -> None:
    if output_format == "concise":
        for diagnostic in diagnostics:
            stream.write(concise_line(diagnostic) + "\n")
    elif output_format == "json":
        json.dump([as_json(diagnostic) for diagnostic in diagnostics], stream, indent=2)
        stream.write("\n")
    elif output_format == "json-lines":
        for diagnostic in diagnostics:
            stream.write(json.dumps(as_json(diagnostic)) + "\n")
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(f"unknown output format {output_format!r}")


def concise_line(diagnostic: Diagnostic) -> str:
    """Return ``path:line:col: CODE [*] message`` with a 1-based column."""
    marker = " [*]" if diagnostic.fixable else ""
    return (
        f"{diagnostic.path}:{diagnostic.start.line}:{diagnostic.start.column + 1}: "
        f"{diagnostic.code}{marker} {diagnostic.message}"
    )


def as_json(diagnostic: Diagnostic) -> dict:
    fix = None
    if diagnostic.fix is not None:
        fix = {
            "message": diagnostic.fix.message,
            "applicability": diagnostic.fix.applicability.value,
            "edits": [
                {
                    "content": edit.content,
                    "location": {"row": edit.start.line, "column": edit.start.column + 1},
                    "end_location": {"row": edit.end.line, "column": edit.end.column + 1},
                }
                for edit in diagnostic.fix.edits
            ],
        }
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "filename": diagnostic.path,
        "location": {"row": diagnostic.start.line, "column": diagnostic.start.column + 1},
        "end_location": {"row": diagnostic.end.line, "column": diagnostic.end.column + 1},
        "fixable": diagnostic.fixable,
        "fix": fix,
    }


def summary_line(diagnostics: Iterable[Diagnostic], files_checked: int) -> str:
    diagnostics = list(diagnostics)
    if not diagnostics:
        noun = "file" if files_checked == 1 else "files"
        return f"All checks passed ({files_checked} {noun} checked)."
    files = len({diagnostic.path for diagnostic in diagnostics})
    findings = "finding" if len(diagnostics) == 1 else "findings"
    noun = "file" if files == 1 else "files"
    line = f"Found {len(diagnostics)} {findings} in {files} {noun} ({files_checked} checked)."
    fixable = sum(1 for diagnostic in diagnostics if diagnostic.fixable)
    if fixable:
        line += f" {fixable} fixable with `--fix`."
    return line
