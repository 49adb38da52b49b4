"""The ``github`` report: GitHub Actions workflow commands that annotate the code.

GitHub shows only the first few annotations of each kind per step and lists
the rest in the log without their file, so each message also starts with
``path:line:col:``, as Ruff's GitHub output does.
"""

from __future__ import annotations

from typing import List, TextIO

from posenc_lint.config import ALWAYS_ON as FILE_LEVEL_CODES
from posenc_lint.diagnostics import Diagnostic


def write_github(diagnostics: List[Diagnostic], stream: TextIO) -> None:
    for diagnostic in diagnostics:
        stream.write(workflow_command(diagnostic) + "\n")


def workflow_command(diagnostic: Diagnostic) -> str:
    """Return the ``::warning`` (``::error`` for an unchecked file) line for a finding."""
    command = "error" if diagnostic.code in FILE_LEVEL_CODES else "warning"
    line = diagnostic.start.line
    column = diagnostic.start.column + 1
    properties = (
        ("file", diagnostic.path),
        ("line", str(line)),
        ("col", str(column)),
        ("endLine", str(diagnostic.end.line)),
        ("endColumn", str(diagnostic.end.column + 1)),
        ("title", diagnostic.code),
    )
    joined = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
    message = f"{diagnostic.path}:{line}:{column}: {diagnostic.code} {diagnostic.message}"
    return f"::{command} {joined}::{escape_data(message)}"


def escape_data(value: str) -> str:
    """Escape a command's message the way the Actions toolkit's ``escapeData`` does."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value the way the Actions toolkit's ``escapeProperty`` does."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")
