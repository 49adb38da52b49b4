"""The machine-readable reports: a JSON array, or one JSON object a line."""

from __future__ import annotations

import json
from typing import List, TextIO

from posenc_lint.diagnostics import Diagnostic


def write_json(diagnostics: List[Diagnostic], stream: TextIO) -> None:
    json.dump([as_json(diagnostic) for diagnostic in diagnostics], stream, indent=2)
    stream.write("\n")


def write_json_lines(diagnostics: List[Diagnostic], stream: TextIO) -> None:
    for diagnostic in diagnostics:
        stream.write(json.dumps(as_json(diagnostic)) + "\n")


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
