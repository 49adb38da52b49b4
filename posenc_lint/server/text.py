"""Lines, positions and text edits as the Language Server Protocol counts them.

LSP ends a line at CR LF, LF or CR, as Python's tokenizer does. ``str.splitlines``
also splits at form feeds, U+2028 and other characters, so it would shift the
line numbers of files that contain them. This module never uses it.
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from lsprotocol import types

from posenc_lint.diagnostics import Location

LINE_BREAK = re.compile(r"\r\n|\r|\n")
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value


def split_lines(text: str) -> List[str]:
    """Split ``text`` into lines that keep their line endings."""
    return LINE.findall(text)


@dataclass(frozen=True)
class TextEdit:
    """Replace the code points ``start`` to ``end`` (offsets into the old text) with ``content``."""

    start: int
    end: int
    content: str


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    """Return ``text`` with non-overlapping ``edits`` applied."""
    parts = []
    position = 0
    for edit in sorted(edits, key=lambda edit: edit.start):
        parts.append(text[position:edit.start])
        parts.append(edit.content)
        position = edit.end
    parts.append(text[position:])
    return "".join(parts)


def line_edits(old: str, new: str) -> List[TextEdit]:
    """Return whole-line edits that turn ``old`` into ``new``.

    Lines shared at both ends are skipped before the comparison, so a small
    change in a large file costs little.
    """
    old_lines = split_lines(old)
    new_lines = split_lines(new)
    prefix = 0
    limit = min(len(old_lines), len(new_lines))
    while prefix < limit and old_lines[prefix] == new_lines[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and old_lines[len(old_lines) - 1 - suffix] == new_lines[len(new_lines) - 1 - suffix]
    ):
        suffix += 1

    old_middle = old_lines[prefix:len(old_lines) - suffix]
    new_middle = new_lines[prefix:len(new_lines) - suffix]
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))

    matcher = difflib.SequenceMatcher(None, old_middle, new_middle, autojunk=False)
    edits = []
    for tag, first, last, new_first, new_last in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(
            TextEdit(
                offsets[prefix + first],
                offsets[prefix + last],
                "".join(new_middle[new_first:new_last]),
            )
        )
    return edits


class LineIndex:
    """Converts between offsets in one text and LSP positions in a position encoding."""

    def __init__(self, text: str, encoding: str = UTF16):
        self.text = text
        self.encoding = encoding
        self.starts = [0]
        self.starts.extend(match.end() for match in LINE_BREAK.finditer(text))

    def line_text(self, line: int) -> str:
        """Return the 0-based ``line`` without its line ending."""
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return LINE_BREAK.sub("", self.text[start:end])

    def line_end(self, line: int) -> int:
        """Return the offset just before the line ending of the 0-based ``line``."""
        return self.starts[line] + len(self.line_text(line))

    def offset_of_location(self, location: Location) -> int:
        """Return the offset of an engine location (1-based line, column in code points).

        A location past the end of a line or of the text is moved back to it.
        """
        line = location.line - 1
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        return self.starts[line] + min(max(location.column, 0), len(self.line_text(line)))

    def position(self, offset: int) -> types.Position:
        """Return the LSP position of ``offset``."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self.starts, offset) - 1
        before = self.text[self.starts[line]:offset]
        return types.Position(line=line, character=_units(before, self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))

    def offset(self, position: types.Position) -> int:
        """Return the offset of an LSP position; a position past a line's end means its end."""
        if position.line < 0:
            return 0
        if position.line >= len(self.starts):
            return len(self.text)
        text = self.line_text(position.line)
        units = 0
        for index, character in enumerate(text):
            if units >= position.character:
                return self.starts[position.line] + index
            units += _units(character, self.encoding)
        return self.starts[position.line] + len(text)

    def text_edit(self, edit: TextEdit) -> types.TextEdit:
        return types.TextEdit(range=self.range(edit.start, edit.end), new_text=edit.content)


def _units(text: str, encoding: str) -> int:
    """Return the length of ``text`` in code units of ``encoding``."""
    if encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    # UTF-16: characters beyond the Basic Multilingual Plane take two code units.
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def overlaps(first: Tuple[int, int], second: Tuple[int, int]) -> bool:
    """Return whether two offset spans touch or overlap; an empty span counts at its point."""
    return first[0] <= second[1] and second[0] <= first[1]
