"""The findings of one version of a document, and the edits of its code actions.

``lint_source`` lints each version once, for the diagnostics. The edits behind
the code actions need the parsed module and the rules' fix plans, which cost a
second analysis and a rewrite of the module per fix. So each edit is computed
on first request and kept with the analysis, or by ``precompute`` for clients
that need the edits in the list of code actions.
"""

from __future__ import annotations

import io
import logging
import threading
import tokenize
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Hashable, Optional, Tuple, TypeVar

import libcst as cst
from lsprotocol import types

from posenc_lint.config import ALWAYS_ON, Settings, selected_codes
from posenc_lint.diagnostics import UNREADABLE_FILE, Applicability, Diagnostic, file_diagnostic
from posenc_lint.engine import analyse, lint_source
from posenc_lint.fixer import fix_source
from posenc_lint.fixes import FixPlan, apply_plans
from posenc_lint.server.noqa_edit import TokenGroups, disable_edit
from posenc_lint.server.text import LineIndex, TextEdit, line_edits

LOG = logging.getLogger(__name__)

SOURCE = "posenc-lint"

T = TypeVar("T")


@dataclass(frozen=True)
class Reported:
    """One engine diagnostic with its span in the text and its LSP form."""

    diagnostic: Diagnostic
    start: int
    end: int
    lsp: types.Diagnostic

    @property
    def safe_fix(self) -> bool:
        fix = self.diagnostic.fix
        return fix is not None and fix.applicability is Applicability.SAFE


@dataclass(frozen=True)
class FixAll:
    """The edits that apply every safe fix of a document, or why there are none."""

    edits: Tuple[TextEdit, ...]
    error: Optional[str] = None


class _Memo:
    """Values computed at most once, by the first thread that requests each; other threads wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: Dict[Hashable, Future] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = self._futures[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as error:
                future.set_exception(error)
        return future.result()

    def done(self, key: Hashable) -> bool:
        with self._lock:
            future = self._futures.get(key)
        return future is not None and future.done()


class DocumentAnalysis:
    """The engine's findings for one version of one document."""

    def __init__(
        self,
        text: str,
        display: str,
        path: Optional[Path],
        settings: Settings,
        encoding: str,
        documentation_url: Callable[[str], Optional[str]],
    ):
        self.text = text
        self.display = display
        self.path = path
        self.settings = settings
        self.index = LineIndex(text, encoding)
        self._memo = _Memo()

        reported = []
        for diagnostic in _lint(text, display, settings, path):
            start = self.index.offset_of_location(diagnostic.start)
            end = max(self.index.offset_of_location(diagnostic.end), start)
            lsp = _lsp_diagnostic(diagnostic, self.index.range(start, end), documentation_url)
            reported.append(Reported(diagnostic, start, end, lsp))
        self.reported: Tuple[Reported, ...] = tuple(reported)

    @property
    def has_safe_fixes(self) -> bool:
        return any(item.safe_fix for item in self.reported)

    def quick_fix(self, number: int) -> Tuple[TextEdit, ...]:
        """Return the edits of the fix of the ``number``-th finding; empty when it has none."""
        return self._memo.get(("fix", number), lambda: self._quick_fix(number))

    def fix_known_empty(self, number: int) -> bool:
        """Return whether the fix of the ``number``-th finding was computed and changes nothing."""
        if not self._memo.done(("fix", number)):
            return False
        try:
            return not self.quick_fix(number)
        except Exception:  # noqa: BLE001 - logged where it was computed; a failed fix is not offered
            return True

    def fix_all(self) -> FixAll:
        """Return the edits that ``posenc-lint --fix`` would make to this text."""
        return self._memo.get("fix-all", self._fix_all)

    def fix_all_ready(self) -> bool:
        return self._memo.done("fix-all")

    def disable(self, number: int) -> Optional[TextEdit]:
        """Return the ``# noqa`` edit that silences the ``number``-th finding on its line."""
        return self._memo.get(("noqa", number), lambda: self._disable(number))

    def precompute(self, is_current: Callable[[], bool]) -> None:
        """Compute the quick fixes, then the fix of the whole file, while ``is_current()`` holds."""
        for number, item in enumerate(self.reported):
            if item.diagnostic.fix is None:
                continue
            if not is_current():
                return
            try:
                self.quick_fix(number)
            except Exception:  # noqa: BLE001 - the other fixes are still offered
                LOG.exception("%s: rendering the fix of %s failed", self.display, item.diagnostic.code)
        if self.has_safe_fixes and is_current():
            self.fix_all()

    def _fix_plans(self) -> Tuple[Optional[cst.Module], Dict[int, FixPlan]]:
        """Parse and analyse the text again, keeping the module and each finding's fix plan.

        ``lint_source`` keeps neither, and it may skip the full analysis of a
        file without findings, so the second analysis runs only for the code
        actions of a file with fixable findings.
        """
        try:
            module = cst.parse_module(self.text)
        except (cst.ParserSyntaxError, RecursionError):
            return None, {}
        codes = selected_codes(self.settings, self.path if self.path is not None else Path(self.display))
        diagnostics, pairs = analyse(module, self.text, self.display, self.settings, codes)
        by_key = {_key(diagnostic): plan for diagnostic, plan in pairs}
        plans = {}
        for number, item in enumerate(self.reported):
            plan = by_key.get(_key(item.diagnostic))
            if plan is not None:
                plans[number] = plan
        return module, plans

    def _quick_fix(self, number: int) -> Tuple[TextEdit, ...]:
        module, plans = self._memo.get("plans", self._fix_plans)
        plan = plans.get(number)
        if plan is None or module is None:
            return ()
        updated, applied = apply_plans(module, [plan])
        if not applied:
            return ()
        return tuple(line_edits(self.text, updated.code))

    def _fix_all(self) -> FixAll:
        if not self.has_safe_fixes:
            return FixAll(())
        encoding = _declared_encoding(self.text)
        try:
            source = self.text.encode(encoding)
        except UnicodeEncodeError as error:
            reason = (
                f"the buffer contains {error.object[error.start:error.end]!r}, which its "
                f"declared encoding {encoding} cannot store"
            )
        else:
            outcome = fix_source(source, self.display, self.settings, path=self.path, unsafe=False)
            if outcome.error is None:
                return FixAll(tuple(line_edits(self.text, outcome.source.decode(encoding))))
            reason = outcome.error
        # Computed once per version, so the warning is not repeated on every request.
        LOG.warning("%s: fixes not applied: %s", self.display, reason)
        return FixAll((), reason)

    def _disable(self, number: int) -> Optional[TextEdit]:
        diagnostic = self.reported[number].diagnostic
        if diagnostic.code in ALWAYS_ON:
            return None
        groups = self._memo.get("token-groups", lambda: TokenGroups(self.text))
        return disable_edit(groups, diagnostic.start.line, diagnostic.code)


def _lint(text: str, display: str, settings: Settings, path: Optional[Path]) -> Tuple[Diagnostic, ...]:
    """Lint an editor buffer, applying ``max-file-size`` as ``posenc-lint`` does to a file."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > settings.max_file_size:
        if "torch" not in text:
            return ()
        message = (
            f"buffer not linted: it is {size} bytes, over the {settings.max_file_size}-byte "
            "limit set by `max-file-size`"
        )
        return (file_diagnostic(UNREADABLE_FILE, display, message),)
    return lint_source(text, display, settings, path=path).diagnostics


def _key(diagnostic: Diagnostic) -> Tuple[str, int, int, int, int, str]:
    return (
        diagnostic.code,
        diagnostic.start.line,
        diagnostic.start.column,
        diagnostic.end.line,
        diagnostic.end.column,
        diagnostic.message,
    )


def _lsp_diagnostic(
    diagnostic: Diagnostic,
    span: types.Range,
    documentation_url: Callable[[str], Optional[str]],
) -> types.Diagnostic:
    href = documentation_url(diagnostic.code)
    file_level = diagnostic.code in ALWAYS_ON
    return types.Diagnostic(
        range=span,
        message=diagnostic.message,
        severity=types.DiagnosticSeverity.Error if file_level else types.DiagnosticSeverity.Warning,
        code=diagnostic.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SOURCE,
    )


def _declared_encoding(text: str) -> str:
    """Return the encoding that the text's coding line declares, UTF-8 when there is none.

    A byte order mark stays in the text as U+FEFF, so UTF-8 encodes it back.
    """
    first_lines = io.BytesIO(text.encode("utf-8", "surrogatepass"))
    try:
        encoding, _ = tokenize.detect_encoding(first_lines.readline)
    except SyntaxError:
        return "utf-8"
    return "utf-8" if encoding == "utf-8-sig" else encoding
