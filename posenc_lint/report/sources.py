"""Source text for the reports that quote code: the lines a diagnostic points at."""

from __future__ import annotations

import io
import re
import tokenize
import unicodedata
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

# Python ends a line at `\r\n`, `\r` or `\n`, and LibCST numbers lines the same
# way. `str.splitlines` also splits at form feeds and Unicode separators, which
# would shift every later line number.
LINE_BREAK = re.compile(r"\r\n|\r|\n")

TAB_SIZE = 4


class SourceText:
    """One file's text, split into lines the way the engine numbers them."""

    def __init__(self, text: str):
        self.text = text
        self.lines: List[str] = LINE_BREAK.split(text)
        self.line_starts: List[int] = [0]
        for match in LINE_BREAK.finditer(text):
            self.line_starts.append(match.end())

    @property
    def line_count(self) -> int:
        """The number of lines, not counting the empty text after a final line break."""
        if self.lines and self.lines[-1] == "":
            return len(self.lines) - 1
        return len(self.lines)

    def line(self, number: int) -> Optional[str]:
        """Return the 1-based line ``number`` without its line break, or None past the end."""
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return None

    def offset(self, line: int, column: int) -> int:
        """Return the string index of a 1-based line and 0-based code-point column."""
        index = min(max(line, 1), len(self.line_starts)) - 1
        return min(self.line_starts[index] + column, len(self.text))


def decode(source: Union[str, bytes]) -> str:
    """Decode file bytes as Python does: a coding line or BOM, else UTF-8.

    Bytes the encoding rejects become U+FFFD, because a report quoting the
    code should still show the lines around a finding.
    """
    if isinstance(source, str):
        return source
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        return source.decode(encoding, errors="replace")
    except LookupError:
        return source.decode("utf-8", errors="replace")


class SourceCache:
    """Read each reported file once; contents passed in win over the disk.

    ``contents`` maps a diagnostic's path to text that is not on disk, such as
    standard input.
    """

    def __init__(self, contents: Optional[Mapping[str, Union[str, bytes]]] = None):
        self._contents = dict(contents or {})
        self._read: Dict[str, Optional[SourceText]] = {}

    def get(self, path: str) -> Optional[SourceText]:
        if path not in self._read:
            self._read[path] = self._load(path)
        return self._read[path]

    def _load(self, path: str) -> Optional[SourceText]:
        if path in self._contents:
            return SourceText(decode(self._contents[path]))
        if path == "-":
            return None
        try:
            return SourceText(decode(Path(path).read_bytes()))
        except OSError:
            return None


def display_width(text: str) -> int:
    """Return the number of terminal cells ``text`` takes once tabs are expanded."""
    width = 0
    for character in text:
        if character == "\t":
            width += TAB_SIZE - width % TAB_SIZE
        elif unicodedata.combining(character):
            continue
        elif unicodedata.east_asian_width(character) in ("W", "F"):
            width += 2
        else:
            width += 1
    return width


def expand_tabs(text: str) -> str:
    """Replace tabs with spaces to the next multiple of ``TAB_SIZE`` cells."""
    if "\t" not in text:
        return text
    parts = []
    width = 0
    for character in text:
        if character == "\t":
            step = TAB_SIZE - width % TAB_SIZE
            parts.append(" " * step)
            width += step
        else:
            parts.append(character)
            width += display_width(character)
    return "".join(parts)
