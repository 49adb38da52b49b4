"""The ``sarif`` report: one SARIF 2.1.0 log, as GitHub code scanning reads it.

File URIs are relative to the current working folder and name it through the
``%SRCROOT%`` base id, so a log written at the repository root points at
repository paths. A file outside that folder gets an absolute ``file:`` URI.
Columns count Unicode code points, as the engine does, so the run declares
``columnKind: unicodeCodePoints``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, TextIO
from urllib.parse import quote

from posenc_lint import __version__
from posenc_lint.config import ALWAYS_ON as FILE_LEVEL_CODES
from posenc_lint.diagnostics import Diagnostic, Fix

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"
INTERNAL_ERROR = "PEL902"


def write_sarif(diagnostics: List[Diagnostic], stream: TextIO, root: Optional[Path] = None) -> None:
    json.dump(sarif_log(diagnostics, root), stream, indent=2)
    stream.write("\n")


def sarif_log(diagnostics: List[Diagnostic], root: Optional[Path] = None) -> dict:
    """Build the SARIF log of one run; ``root`` (default: the working folder) is ``%SRCROOT%``."""
    from posenc_lint.rules import ALL_RULES

    root = Path(os.path.abspath(root or Path.cwd()))
    descriptors = [rule_descriptor(rule) for rule in ALL_RULES]
    rule_index = {rule.code: index for index, rule in enumerate(ALL_RULES)}
    run = {
        "tool": {
            "driver": {
                "name": "posenc-lint",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {
            SOURCE_ROOT: {
                # A base URI must end with a slash, or the relative URIs replace its last segment.
                "uri": root.as_uri().rstrip("/") + "/",
                "description": {"text": "The working folder posenc-lint ran in."},
            }
        },
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": not any(
                    diagnostic.code == INTERNAL_ERROR for diagnostic in diagnostics
                )
            }
        ],
        "results": [result(diagnostic, rule_index, root) for diagnostic in diagnostics],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def rule_descriptor(rule) -> dict:
    documentation = rule.documentation()
    full_description = rule.section("What it does") or rule.summary
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full_description},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {
            "enabled": bool(rule.default_enabled),
            "level": _level(rule.code),
        },
    }


def result(diagnostic: Diagnostic, rule_index: Dict[str, int], root: Path) -> dict:
    location = artifact_location(diagnostic.path, root)
    entry: dict = {
        "ruleId": diagnostic.code,
        "level": _level(diagnostic.code),
        "message": {"text": diagnostic.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": location,
                    "region": {
                        "startLine": diagnostic.start.line,
                        "startColumn": diagnostic.start.column + 1,
                        "endLine": diagnostic.end.line,
                        "endColumn": diagnostic.end.column + 1,
                    },
                }
            }
        ],
    }
    if diagnostic.code in rule_index:
        entry["ruleIndex"] = rule_index[diagnostic.code]
    if diagnostic.fix is not None and diagnostic.fix.edits:
        entry["fixes"] = [_fix(diagnostic.fix, location)]
    return entry


def artifact_location(path: str, root: Path) -> dict:
    """Return a URI relative to ``root`` under ``%SRCROOT%``, or an absolute one outside it."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SOURCE_ROOT}


def _fix(fix: Fix, location: dict) -> dict:
    replacements = [
        {
            "deletedRegion": {
                "startLine": edit.start.line,
                "startColumn": edit.start.column + 1,
                "endLine": edit.end.line,
                "endColumn": edit.end.column + 1,
            },
            "insertedContent": {"text": edit.content},
        }
        for edit in fix.edits
    ]
    return {
        "description": {"text": f"{fix.message} ({fix.applicability.value} fix)"},
        "artifactChanges": [{"artifactLocation": location, "replacements": replacements}],
    }


def _level(code: str) -> str:
    # A file that could not be checked is an error; a finding is a warning.
    return "error" if code in FILE_LEVEL_CODES else "warning"
