"""``# noqa`` comments, matched the way flake8 7 matches them.

flake8 searches for the comment in the text of the reported line; when a token
spans several lines (a triple-quoted string, a backslash continuation), it
searches all the lines of that token group. ``# noqa`` alone silences every
code; ``# noqa: A1,B2`` silences the listed codes and any code they prefix.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, Optional

NOQA_COMMENT = re.compile(
    r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?",
    re.IGNORECASE,
)
# The trailing `\r?` lets the comment end a CRLF line, where `$` matches only before the `\n`.
FILE_SKIP = re.compile(
    r"^[ \t\f]*#[ \t]*posenc-lint[ \t]*:[ \t]*noqa[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)


def skips_file(source: str) -> bool:
    """Return whether a ``# posenc-lint: noqa`` line skips the whole file."""
    return FILE_SKIP.search(source) is not None


class NoqaMap:
    """The text searched for ``# noqa`` for each line of one file."""

    def __init__(self, source: str):
        self.lines = source.splitlines(keepends=True)
        self.text_for_line = _noqa_line_mapping(source, self.lines)

    def is_suppressed(self, line: int, code: str) -> bool:
        text = self.text_for_line.get(line)
        if text is None:
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        match = NOQA_COMMENT.search(text)
        if match is None:
            return False
        listed = match.group("codes")
        if listed is None:
            return True
        codes = {code for code in re.split(r"[,\s]", listed) if code}
        return code in codes or code.startswith(tuple(codes))


def _noqa_line_mapping(source: str, lines: list) -> Dict[int, str]:
    """Map each line to the joined text of the lines its tokens span."""
    mapping: Dict[int, str] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return mapping
    first: Optional[int] = None
    last = -1
    for token in tokens:
        if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
            continue
        first = token.start[0] if first is None else min(first, token.start[0])
        last = max(last, token.end[0])
        if token.type in (tokenize.NL, tokenize.NEWLINE):
            joined = "".join(lines[first - 1: last])
            for number in range(first, last + 1):
                mapping[number] = joined
            first = None
            last = -1
    return mapping
