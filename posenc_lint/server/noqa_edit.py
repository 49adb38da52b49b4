"""The edit behind "disable PELxxx for this line": add or extend a ``# noqa`` comment."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from posenc_lint import noqa
from posenc_lint.server.text import TextEdit, apply_edits

NEWLINE = re.compile(r"\n")


@dataclass(frozen=True)
class Comment:
    line: int
    offset: int
    text: str


class TokenGroups:
    """The lines that each line's tokens span, and the comments on them.

    ``posenc_lint.noqa`` searches the joined text of such a group for a
    ``# noqa``, so a comment for a line inside a triple-quoted string belongs on
    the group's last line. Lines are numbered as the tokenizer numbers them, by
    LF alone, which is how ``posenc_lint.noqa`` numbers them too.
    """

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        self.starts.extend(match.end() for match in NEWLINE.finditer(text))
        self.spans: Dict[int, Tuple[int, int]] = {}
        self.comments: Dict[int, List[Comment]] = {}
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError):
            # Without tokens every line is its own group, as in posenc_lint.noqa.
            return
        first: Optional[int] = None
        last = -1
        for token in tokens:
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            if token.type == tokenize.COMMENT:
                row, column = token.start
                offset = self.starts[row - 1] + column
                self.comments.setdefault(row, []).append(Comment(row, offset, token.string))
            first = token.start[0] if first is None else min(first, token.start[0])
            last = max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                for number in range(first, last + 1):
                    self.spans[number] = (first, last)
                first = None
                last = -1

    def span(self, line: int) -> Tuple[int, int]:
        return self.spans.get(line, (line, line))

    def content_end(self, line: int) -> int:
        """Return the offset after the last character of ``line`` that is not a line ending."""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return start + len(self.text[start:end].rstrip("\r\n"))


def disable_edit(groups: TokenGroups, line: int, code: str) -> Optional[TextEdit]:
    """Return the edit that makes ``# noqa`` silence ``code`` on ``line``, or None.

    An existing ``# noqa: CODES`` comment on the line's token group gets
    ``code`` added to its list. Without one, ``  # noqa: CODE`` is appended to
    the group's last line, after any comment already there. None means that no
    comment edit can silence the code, because a bare ``# noqa`` already
    silences everything or the first ``# noqa`` of the line is inside a string.
    """
    text = groups.text
    if not 0 < line <= len(groups.starts):
        return None
    first, last = groups.span(line)
    edit = None
    for number in range(first, last + 1):
        for comment in groups.comments.get(number, ()):
            match = noqa.NOQA_COMMENT.search(comment.text)
            if match is None:
                continue
            listed = match.group("codes")
            if listed is None:
                return None
            end = comment.offset + match.start("codes") + len(re.sub(r"[,\s]+$", "", listed))
            edit = TextEdit(end, end, f", {code}")
            break
        if edit is not None:
            break
    if edit is None:
        end = groups.content_end(last)
        start = groups.starts[last - 1]
        content = text[start:end].rstrip(" \t\f")
        edit = TextEdit(start + len(content), end, f"  # noqa: {code}")

    # The engine decides what a comment silences, so ask it instead of trusting the edit.
    if not noqa.NoqaMap(apply_edits(text, [edit])).is_suppressed(line, code):
        return None
    return edit
