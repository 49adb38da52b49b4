"""Formatters that turn diagnostics into text for people, CI systems and other tools.

Each output format lives in its own module; ``write_report`` picks one by name.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, TextIO, Union

from posenc_lint.diagnostics import Diagnostic
from posenc_lint.report.concise import concise_line, summary_line, write_concise
from posenc_lint.report.full import write_full
from posenc_lint.report.github import write_github
from posenc_lint.report.json_output import as_json, write_json, write_json_lines
from posenc_lint.report.sarif import write_sarif
from posenc_lint.report.sources import SourceCache

OUTPUT_FORMATS = ("concise", "full", "json", "json-lines", "github", "sarif")


def write_report(
    diagnostics: List[Diagnostic],
    output_format: str,
    stream: TextIO,
    sources: Optional[Mapping[str, Union[str, bytes]]] = None,
    unsafe_fixes: bool = False,
) -> None:
    """Write ``diagnostics`` to ``stream`` in one of ``OUTPUT_FORMATS``.

    ``sources`` maps a diagnostic path to the contents that were linted when
    they are not on disk (standard input). The ``full`` format quotes code from
    them, and reads any other file from disk. ``unsafe_fixes`` makes the text
    formats mark findings with unsafe fixes as fixable (`[*]`) too.
    """
    if output_format == "concise":
        write_concise(diagnostics, stream, unsafe_fixes)
    elif output_format == "full":
        write_full(diagnostics, stream, SourceCache(sources), unsafe_fixes)
    elif output_format == "json":
        write_json(diagnostics, stream)
    elif output_format == "json-lines":
        write_json_lines(diagnostics, stream)
    elif output_format == "github":
        write_github(diagnostics, stream)
    elif output_format == "sarif":
        write_sarif(diagnostics, stream)
    else:
        raise ValueError(
            f"unknown output format {output_format!r}; choose one of {', '.join(OUTPUT_FORMATS)}"
        )


__all__ = [
    "OUTPUT_FORMATS",
    "as_json",
    "concise_line",
    "summary_line",
    "write_report",
]
