"""Value types shared by the engine, the rules and the reporters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple

from posenc_lint.catalogue import INTERNAL_ERROR, SYNTAX_ERROR, UNREADABLE_FILE

FILE_LEVEL_NAMES = {
    SYNTAX_ERROR: "syntax-error",
    UNREADABLE_FILE: "unreadable-file",
    INTERNAL_ERROR: "internal-error",
}


class Applicability(enum.Enum):
    """The applicability of a fix, in Ruff's sense: safe or unsafe."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Location:
    """A point in a source file: 1-based line, 0-based column in code points."""

    line: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the source between ``start`` and ``end`` with ``content``."""

    start: Location
    end: Location
    content: str


@dataclass(frozen=True)
class Fix:
    """A rewrite that resolves one diagnostic."""

    message: str
    applicability: Applicability
    edits: Tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    """One finding of one rule in one file."""

    code: str
    name: str
    message: str
    path: str
    start: Location
    end: Location
    fix: Optional[Fix] = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def fix_applies(self, unsafe_fixes: bool = False) -> bool:
        """Return whether `--fix` applies this finding's fix (unsafe ones need `--unsafe-fixes`)."""
        if self.fix is None:
            return False
        return unsafe_fixes or self.fix.applicability is Applicability.SAFE

    def sort_key(self) -> Tuple[str, int, int, str]:
        return (self.path, self.start.line, self.start.column, self.code)


@dataclass(frozen=True)
class FileResult:
    """Everything the engine learnt about one file."""

    path: str
    diagnostics: Tuple[Diagnostic, ...] = ()
    # Set when the whole file was skipped by a `# posenc-lint: noqa` line.
    skipped: bool = False
    errors: Tuple[str, ...] = field(default=())


def file_diagnostic(code: str, path: str, message: str, line: int = 1, column: int = 0) -> Diagnostic:
    """Return a finding about the file as a whole (PEL900-PEL902)."""
    location = Location(line, column)
    return Diagnostic(code, FILE_LEVEL_NAMES[code], message, path, location, location)
