"""Apply the fixes of a file's findings, pass after pass, until nothing changes."""

from __future__ import annotations

import ast
import difflib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import libcst as cst

from posenc_lint import nesting, noqa
from posenc_lint.config import Settings, selected_codes
from posenc_lint.diagnostics import Diagnostic, FileResult
from posenc_lint.engine import analyse, lint_path, lint_source
from posenc_lint.fixes import apply_plans, select_compatible
from posenc_lint.writeback import WriteError, read_snapshot, write_back

LOG = logging.getLogger(__name__)

# Each pass applies every fix that does not overlap another; overlapping ones
# wait for the next pass. Real files settle in two or three passes.
MAX_PASSES = 10


@dataclass(frozen=True)
class FixOutcome:
    """The outcome of fixing one file."""

    original: bytes
    source: bytes
    fixed: Tuple[Diagnostic, ...]
    result: FileResult
    # Why the fixes were abandoned; ``source`` is then ``original``.
    error: Optional[str] = None

    @property
    def changed(self) -> bool:
        return self.source != self.original


def fix_source(
    source: bytes,
    display: str,
    settings: Settings,
    path: Optional[Path] = None,
    unsafe: bool = False,
) -> FixOutcome:
    """Fix ``source`` and return the new bytes with the findings that remain."""
    with nesting.recursion_headroom():
        return _fix_source(source, display, settings, path, unsafe)


def _fix_source(source: bytes, display: str, settings: Settings, path: Optional[Path], unsafe: bool) -> FixOutcome:
    initial = lint_source(source, display, settings, path=path)
    if initial.skipped or not any(diagnostic.fix_applies(unsafe) for diagnostic in initial.diagnostics):
        return FixOutcome(source, source, (), initial)

    codes = selected_codes(settings, path if path is not None else Path(display))
    current = source
    fixed: List[Diagnostic] = []
    # The findings of the last pass, which analysed ``current`` and found nothing
    # more to apply, are the findings that remain, so no final lint is needed.
    result = initial
    for _ in range(MAX_PASSES):
        try:
            module = cst.parse_module(current)
        except cst.ParserSyntaxError as error:
            return _abandon(source, initial, f"the fixes produced code that does not parse ({error.message})")
        except RecursionError:
            return _abandon(source, initial, "the fixed code nests too deeply to parse")
        text = module.code
        if module.bytes != current:
            # LibCST drops some bytes it does not model, such as a form feed
            # that starts the file, so a rewrite would change untouched code.
            return _abandon(source, initial, "LibCST cannot reproduce this file byte for byte, so rewriting it could change code no fix touches")
        if noqa.skips_file(text):
            result = FileResult(display, skipped=True)
            break
        try:
            diagnostics, plans = analyse(module, text, display, settings, codes)
            result = FileResult(display, tuple(diagnostics))
            applicable = [pair for pair in plans if pair[1].is_safe or unsafe]
            chosen = select_compatible([plan for _, plan in applicable])
            if not chosen:
                break
            updated, applied = apply_plans(module, chosen)
            if applied == 0:
                break
            new_source = updated.bytes
        except Exception as error:  # noqa: BLE001 - one bad fix must not stop the run
            LOG.debug("applying fixes to %s failed", display, exc_info=True)
            return _abandon(source, initial, f"internal error while applying the fixes: {nesting.describe_error(error)}")
        if new_source == current:
            break
        chosen_ids = {id(plan) for plan in chosen}
        fixed.extend(diagnostic for diagnostic, plan in applicable if id(plan) in chosen_ids)
        current = new_source
    else:
        return _abandon(
            source, initial, f"the fixes did not settle after {MAX_PASSES} passes, so a second `--fix` would change the file again"
        )

    if current == source:
        return FixOutcome(source, source, (), initial)

    problem = _compile_problem(current)
    if problem is not None and _compile_problem(source) is None:
        return _abandon(source, initial, f"the fixed code is rejected by Python ({problem})")

    return FixOutcome(source, current, tuple(fixed), result)


def _abandon(source: bytes, initial: FileResult, reason: str) -> FixOutcome:
    LOG.debug("fix abandoned for %s: %s", initial.path, reason)
    return FixOutcome(source, source, (), initial, error=reason)


def _compile_problem(source: bytes) -> Optional[str]:
    try:
        compile(source, "<posenc-lint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} on line {error.lineno}"
    except (ValueError, RecursionError, MemoryError) as error:
        return str(error) or type(error).__name__
    return None


@dataclass(frozen=True)
class FileFix:
    """What fixing one file did, in the form the command line reports it.

    ``fixed`` counts the findings resolved: written to disk, or that would be
    written when only a diff was requested. ``result`` holds the findings that
    remain, which are all of them when ``error`` says why the file was left as
    it was.
    """

    path: str
    fixed: Tuple[Diagnostic, ...]
    result: FileResult
    changed: bool = False
    # A unified diff from the original bytes to the fixed ones, when requested.
    diff: Optional[bytes] = None
    error: Optional[str] = None


def fix_path(path: Path, settings: Settings, unsafe: bool = False, write: bool = True) -> FileFix:
    """Fix one file; write the result back when ``write``, else return a diff of it.

    Problems with the fixes or with writing never raise: the file is left as it
    was and ``FileFix.error`` says why.
    """
    try:
        return _fix_path(path, settings, unsafe, write)
    except Exception as error:  # noqa: BLE001 - one file must not stop a run over many
        LOG.debug("fixing %s failed", path, exc_info=True)
        return FileFix(
            str(path),
            (),
            lint_path(path, settings),
            error=f"internal error while fixing the file: {nesting.describe_error(error)}; please report this with the file",
        )


def _fix_path(path: Path, settings: Settings, unsafe: bool, write: bool) -> FileFix:
    display = str(path)
    try:
        too_large = path.stat().st_size > settings.max_file_size
        snapshot = None if too_large else read_snapshot(path)
    except OSError:
        snapshot = None
    if snapshot is None:
        # lint_path reports the unreadable or oversized file as a finding.
        result = lint_path(path, settings)
        return FileFix(display, (), result)

    outcome = fix_source(snapshot.data, display, settings, path=path, unsafe=unsafe)
    if outcome.error is not None:
        return FileFix(display, (), outcome.result, error=f"fixes not applied: {outcome.error}")
    if not outcome.changed:
        return FileFix(display, (), outcome.result)
    if not write:
        diff = unified_diff(outcome.original, outcome.source, display)
        return FileFix(display, outcome.fixed, outcome.result, changed=True, diff=diff)

    try:
        write_back(snapshot, outcome.source)
    except WriteError as error:
        # The file keeps its findings, so report those of the original bytes.
        original = lint_source(outcome.original, display, settings, path=path)
        return FileFix(display, (), original, error=f"fixed source not written: {error}")
    return FileFix(display, outcome.fixed, outcome.result, changed=True)


# Python ends a source line at CR LF, LF or CR; no other character ends one.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(source: bytes) -> List[bytes]:
    """Split ``source`` into lines that keep their line endings."""
    return _LINE.findall(source)


def unified_diff(original: bytes, fixed: bytes, display: str) -> bytes:
    """Return a unified diff in the file's own bytes, so `patch` applies it to any encoding.

    A last line without a line ending is marked as git and GNU diff mark it.
    """
    name = display.encode("utf-8", "surrogateescape")
    chunks = difflib.diff_bytes(
        difflib.unified_diff,
        source_lines(original),
        source_lines(fixed),
        fromfile=name,
        tofile=name,
        lineterm=b"",
    )
    output = io.BytesIO()
    for index, chunk in enumerate(chunks):
        # The `---` and `+++` file headers come first; hunk headers start with `@@`.
        # Content lines start with a space, `-` or `+` and keep their own line ending.
        if index < 2 or chunk.startswith(b"@@"):
            output.write(chunk + b"\n")
        elif chunk.endswith((b"\n", b"\r")):
            output.write(chunk)
        else:
            output.write(chunk + b"\n\\ No newline at end of file\n")
    return output.getvalue()
