"""Diagnostics the engine reports about a whole file rather than a construct in it."""

from __future__ import annotations

from typing import Iterator

from posenc_lint.model import ModuleModel
from posenc_lint.rules.base import Finding, Rule


class FileLevelRule(Rule):
    """Base of the file-level diagnostics; the engine emits them, not ``check``."""

    file_level = True

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        return iter(())


class SyntaxErrorInFile(FileLevelRule):
    """
    ## What it does
    Reports a file that LibCST cannot parse, at the line and column the parser gives.

    Only files that some rule could report on are parsed: files that name
    `torch` and a position-related name (a name the table pattern matches,
    `arange`, `sin` or `cos`, `Parameter`, `Embedding`), or NumPy and `math`
    files that name `sin` or `cos`. A syntax error in any other file is left
    to Python and to general linters.

    ## Why is this bad?
    A file that does not parse cannot be checked, so none of the other rules ran on it.

    ## Example
    ```python
    def forward(self, x)
        return x
    ```

    ## Use instead
    ```python
    def forward(self, x):
        return x
    ```

    ## Fix safety
    No fix is offered.

    ## Options
    None. This diagnostic is always reported.
    """

    code = "PEL900"
    name = "syntax-error"
    summary = "The file cannot be parsed"


class UnreadableFile(FileLevelRule):
    """
    ## What it does
    Reports a path that cannot be read or decoded: a missing file, a permission
    error, bytes that are invalid in the file's declared encoding, or a file over
    the `max-file-size` limit.

    ## Why is this bad?
    The file was not checked.

    ## Example
    A file saved as Latin-1 without a `# -*- coding: latin-1 -*-` line.

    ## Use instead
    Save the file as UTF-8, or declare its encoding on the first or second line.

    ## Fix safety
    No fix is offered.

    ## Options
    - `max-file-size`: the largest file, in bytes, that is parsed (default 2 MiB; the largest real file seen, in torch, is 1.4 MB, while a generated 9 MB file took minutes and gigabytes of memory).
    """

    code = "PEL901"
    name = "unreadable-file"
    summary = "The file cannot be read or decoded"


class InternalError(FileLevelRule):
    """
    ## What it does
    Reports that a rule raised an exception on this file. The other rules'
    findings for the file are still shown.

    ## Why is this bad?
    It is a bug in posenc-lint: the rule named in the message did not check the file.

    ## Example
    Any file that triggers the bug.

    ## Use instead
    Report the message and, if you can, the file to the posenc-lint developers.

    ## Fix safety
    No fix is offered.

    ## Options
    None. This diagnostic is always reported.
    """

    code = "PEL902"
    name = "internal-error"
    summary = "A rule failed on this file"
