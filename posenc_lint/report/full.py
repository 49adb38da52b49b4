"""The ``full`` report: each finding with the code it points at and its fix as a diff."""

from __future__ import annotations

import difflib
from typing import List, Optional, TextIO, Tuple

from posenc_lint.diagnostics import Diagnostic, Fix
from posenc_lint.report.concise import concise_line
from posenc_lint.report.sources import LINE_BREAK, SourceCache, SourceText, display_width, expand_tabs

# A span longer than this many lines shows its first and last lines only.
MAX_SPAN_LINES = 6
SPAN_HEAD_LINES = 3
SPAN_TAIL_LINES = 2


def write_full(
    diagnostics: List[Diagnostic], stream: TextIO, sources: SourceCache, unsafe_fixes: bool = False
) -> None:
    for index, diagnostic in enumerate(diagnostics):
        if index:
            stream.write("\n")
        stream.write(concise_line(diagnostic, unsafe_fixes) + "\n")
        source = sources.get(diagnostic.path)
        for line in render_excerpt(diagnostic, source):
            stream.write(line.rstrip() + "\n")


def render_excerpt(diagnostic: Diagnostic, source: Optional[SourceText]) -> List[str]:
    """Return the lines under a finding's header: the code with markers, then the fix."""
    first, last = _span_lines(diagnostic)
    if source is None or source.line(first) is None:
        return _fix_lines(diagnostic.fix, source, "  ")

    shown = _shown_line_numbers(first, last, source)
    width = len(str(max(number for number in shown if number is not None)))
    gutter = " " * width
    rows = [f"{gutter} |"]
    for number in shown:
        if number is None:
            rows.append(f"{'.' * width} |")
            continue
        text = source.line(number) or ""
        rows.append(f"{number:>{width}} | {expand_tabs(text)}")
        marker = _marker(diagnostic, number, first, last, text)
        if marker is not None:
            rows.append(f"{gutter} | {marker}")
    rows.append(f"{gutter} |")
    rows.extend(_fix_lines(diagnostic.fix, source, f"{gutter} "))
    return rows


def _span_lines(diagnostic: Diagnostic) -> Tuple[int, int]:
    first = diagnostic.start.line
    last = max(diagnostic.end.line, first)
    # A span that ends at column 0 stops at the line break before it.
    if last > first and diagnostic.end.column == 0:
        last -= 1
    return first, last


def _shown_line_numbers(first: int, last: int, source: SourceText) -> List[Optional[int]]:
    """Return the line numbers to print, with None where long spans are cut."""
    span = list(range(first, last + 1))
    if len(span) > MAX_SPAN_LINES:
        span = span[:SPAN_HEAD_LINES] + [None] + span[-SPAN_TAIL_LINES:]
    before = [first - 1] if first > 1 else []
    after = [last + 1] if last + 1 <= source.line_count else []
    return before + span + after


def _marker(
    diagnostic: Diagnostic, number: int, first: int, last: int, text: str
) -> Optional[str]:
    """Return the `^` row under line ``number``, or None when the span does not mark it.

    One line gets carets under the span. A span over several lines marks its
    first line from the start column and its last line up to the end column.
    """
    if number not in (first, last):
        return None
    if number == first:
        start = display_width(text[: diagnostic.start.column])
    else:
        start = display_width(text[: len(text) - len(text.lstrip())])
    if number == last and diagnostic.end.line == number:
        end = display_width(text[: diagnostic.end.column])
    else:
        end = display_width(text.rstrip())
    carets = "^" * max(1, end - start)
    label = f" {diagnostic.code}" if number == last else ""
    return " " * start + carets + label


def _fix_lines(fix: Optional[Fix], source: Optional[SourceText], indent: str) -> List[str]:
    if fix is None:
        return []
    rows = [f"{indent}= fix ({fix.applicability.value}): {fix.message}"]
    # NOTE: the engine does not yet turn a rule's fix plan into text edits, so
    # findings from a real run show the fix message without a diff.
    if source is None or not fix.edits:
        return rows
    for line in fix_diff(fix, source):
        rows.append(f"{indent}  {expand_tabs(line)}")
    return rows


def fix_diff(fix: Fix, source: SourceText) -> List[str]:
    """Return the hunks of a unified diff between the source and the fixed source."""
    fixed = source.text
    edits = sorted(
        fix.edits,
        key=lambda edit: source.offset(edit.start.line, edit.start.column),
        reverse=True,
    )
    for edit in edits:
        start = source.offset(edit.start.line, edit.start.column)
        end = source.offset(edit.end.line, edit.end.column)
        fixed = fixed[:start] + edit.content + fixed[end:]
    diff = difflib.unified_diff(_lines(source.text), _lines(fixed), n=1, lineterm="")
    return [line for line in diff if not line.startswith(("---", "+++"))]


def _lines(text: str) -> List[str]:
    """Split ``text`` at line breaks, without the empty text after a final one."""
    lines = LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
