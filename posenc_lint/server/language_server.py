"""The posenc-lint language server: diagnostics, code actions and hover over stdio.

Each open Python document is analysed on a worker thread when it is opened,
changed or saved, and the analysis is kept for that version. Code actions and
hovers read the kept analysis and never lint again. A code action gets its edit
from ``codeAction/resolve`` when the client supports that, so nothing runs in
the background between changes. For other clients a second thread computes
the edits once the diagnostics are published.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from posenc_lint import __version__
from posenc_lint.discovery import PYTHON_SUFFIXES
from posenc_lint.diagnostics import INTERNAL_ERROR
from posenc_lint.docs import anchor
from posenc_lint.rules import RULES_BY_CODE
from posenc_lint.server import actions
from posenc_lint.server.analysis import SOURCE, DocumentAnalysis
from posenc_lint.server.text import TextEdit
from posenc_lint.server.workspace import SettingsStore, is_excluded_document

LOG = logging.getLogger(__name__)

CONFIG_FILE_NAME = "pyproject.toml"
CONFIG_WATCHER_ID = "posenc-lint-pyproject-watcher"
# The initializationOptions key that sets the base URL of the rule reference.
DOCUMENTATION_URL_OPTION = "documentationUrl"


@dataclass(frozen=True)
class AnalysisOutcome:
    """The result of one analysis job; ``analysis`` is None for an excluded file."""

    analysis: Optional[DocumentAnalysis]
    config_error: Optional[str] = None


class DocumentState:
    """The server's record of one open document.

    ``generation`` numbers the analysis requested last. The numbers come from
    one counter for all documents, so an analysis of a closed document never
    matches a reopened one. They also change when the configuration is
    reloaded, not only with the document's version.
    """

    def __init__(self, uri: str):
        self.uri = uri
        self.generation = 0
        self.version: Optional[int] = None
        self.analysis: Optional[DocumentAnalysis] = None
        self.analysis_generation = -1
        # Resolved once the analysis of the latest generation is stored.
        self.ready: Optional[asyncio.Future] = None
        self.logged_errors: FrozenSet[str] = frozenset()


class PosencLanguageServer(LanguageServer):
    """A pygls server that keeps one analysis per open document."""

    def __init__(self) -> None:
        # Full synchronisation: pygls applies incremental changes with
        # str.splitlines, which splits lines at form feeds and other characters
        # where LSP clients do not.
        super().__init__(SOURCE, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.documents: Dict[str, DocumentState] = {}
        self.settings_store = SettingsStore()
        # One analysis at a time, so a burst of changes analyses only the newest text.
        self.analysis_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posenc-lint-analysis")
        self.edit_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="posenc-lint-edits")
        self.documentation_base = default_documentation_base()
        self.shown_config_errors: set = set()
        self.event_loop: Optional[asyncio.AbstractEventLoop] = None
        self._generations = itertools.count(1)

    # Client capabilities

    def resolve_supported(self) -> bool:
        properties = get_capability(
            self.client_capabilities, "text_document.code_action.resolve_support.properties", []
        )
        return "edit" in properties

    def document_changes_supported(self) -> bool:
        return bool(
            get_capability(self.client_capabilities, "workspace.workspace_edit.document_changes", False)
        )

    def position_encoding(self) -> str:
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return getattr(encoding, "value", encoding)

    def markdown_hover_supported(self) -> bool:
        formats = get_capability(self.client_capabilities, "text_document.hover.content_format", None)
        return formats is None or types.MarkupKind.Markdown in formats

    # Messages to the client, safe to call from any thread

    def send_from_any_thread(self, send, params) -> None:
        loop = self.event_loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            send(params)
        else:
            loop.call_soon_threadsafe(send, params)

    def report_server_error(self, error: Exception, source) -> None:
        LOG.error("internal server error (%s): %r", getattr(source, "__name__", source), error)

    # Documents and analyses

    def documentation_url(self, code: str) -> Optional[str]:
        rule = RULES_BY_CODE.get(code)
        if rule is None or self.documentation_base is None:
            return None
        return f"{self.documentation_base}#{anchor(rule)}"

    def workspace_root(self) -> Optional[Path]:
        root = self.workspace.root_path
        return Path(root) if root else None

    def schedule_analysis(self, uri: str) -> None:
        """Analyse the document's current text on the analysis thread, then publish."""
        document = self.workspace.get_text_document(uri)
        state = self.documents.get(uri)
        if state is None:
            state = self.documents[uri] = DocumentState(uri)
        state.generation = next(self._generations)
        state.version = document.version
        if state.ready is None or state.ready.done():
            state.ready = asyncio.get_running_loop().create_future()

        generation = state.generation
        fs_path = to_fs_path(uri)
        path = Path(fs_path) if fs_path else None
        job = self.analysis_pool.submit(self._analyse, uri, generation, document.source, path)
        loop = asyncio.get_running_loop()
        job.add_done_callback(
            lambda finished: loop.call_soon_threadsafe(self._store_analysis, uri, generation, finished)
        )

    def _is_current(self, uri: str, generation: int) -> bool:
        state = self.documents.get(uri)
        return state is not None and state.generation == generation

    def _analyse(self, uri: str, generation: int, text: str, path: Optional[Path]) -> Optional[AnalysisOutcome]:
        """Run on the analysis thread; returns None when a newer text is waiting."""
        if not self._is_current(uri, generation):
            return None
        folder = path.parent if path is not None else (self.workspace_root() or Path.cwd())
        folder_settings = self.settings_store.settings_for(folder)
        settings = folder_settings.settings
        if path is not None and is_excluded_document(path, settings, self.workspace_root()):
            LOG.debug("%s is excluded by the configuration; not linted", path)
            return AnalysisOutcome(None, folder_settings.error)
        display = str(path) if path is not None else uri
        analysis = DocumentAnalysis(
            text,
            display,
            path,
            settings,
            self.position_encoding(),
            self.documentation_url,
        )
        return AnalysisOutcome(analysis, folder_settings.error)

    def _store_analysis(self, uri: str, generation: int, job: Future) -> None:
        state = self.documents.get(uri)
        if state is None or state.generation != generation:
            return
        try:
            outcome = job.result()
        except Exception:  # noqa: BLE001 - one bad analysis must not stop the server
            LOG.exception("linting %s failed", uri)
            outcome = AnalysisOutcome(None)
        if outcome is None:
            # _analyse returns None only for a superseded generation, which was skipped above.
            return

        state.analysis = outcome.analysis
        state.analysis_generation = generation
        if outcome.config_error and outcome.config_error not in self.shown_config_errors:
            self.shown_config_errors.add(outcome.config_error)
            LOG.warning("%s", outcome.config_error)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=outcome.config_error)
            )
        self._publish(state)
        if state.ready is not None and not state.ready.done():
            state.ready.set_result(None)

        analysis = outcome.analysis
        if analysis is not None and not self.resolve_supported():
            # A background parse holds the GIL for a few hundred milliseconds on a
            # large module and would delay other requests, so it runs only for
            # clients that need the edits in the list of code actions.
            precompute = self.edit_pool.submit(analysis.precompute, lambda: self._is_current(uri, generation))
            precompute.add_done_callback(lambda finished: _log_failure(finished, f"preparing the fixes of {uri}"))

    def _publish(self, state: DocumentState) -> None:
        analysis = state.analysis
        items = analysis.reported if analysis is not None else ()
        # A failing rule is logged once per document until its message changes,
        # and before the diagnostics, so the client has the log when they arrive.
        errors = frozenset(
            item.diagnostic.message for item in items if item.diagnostic.code == INTERNAL_ERROR
        )
        for message in sorted(errors - state.logged_errors):
            LOG.error("%s: %s", analysis.display if analysis else state.uri, message)
        state.logged_errors = errors

        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=state.uri, diagnostics=[item.lsp for item in items], version=state.version
            )
        )

    async def current_analysis(self, uri: str) -> Tuple[Optional[DocumentState], Optional[DocumentAnalysis]]:
        """Return the document's analysis for its current text, waiting for it when needed."""
        state = self.documents.get(uri)
        while state is not None and state.ready is not None and not state.ready.done():
            await asyncio.shield(state.ready)
            state = self.documents.get(uri)
        if state is None:
            return None, None
        return state, state.analysis

    def close_document(self, uri: str) -> None:
        state = self.documents.pop(uri, None)
        if state is not None and state.ready is not None and not state.ready.done():
            state.ready.set_result(None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def reload_configuration(self, reason: str) -> None:
        LOG.info("reloading [tool.posenc-lint] settings: %s", reason)
        self.settings_store.clear()
        self.shown_config_errors.clear()
        for uri in list(self.documents):
            self.schedule_analysis(uri)

    # Code actions

    def workspace_edit(
        self, state: DocumentState, analysis: DocumentAnalysis, edits: Sequence[TextEdit]
    ) -> types.WorkspaceEdit:
        text_edits = [analysis.index.text_edit(edit) for edit in edits]
        if self.document_changes_supported():
            identifier = types.OptionalVersionedTextDocumentIdentifier(uri=state.uri, version=state.version)
            return types.WorkspaceEdit(
                document_changes=[types.TextDocumentEdit(text_document=identifier, edits=text_edits)]
            )
        return types.WorkspaceEdit(changes={state.uri: text_edits})

    def action_edits(self, analysis: DocumentAnalysis, data: Dict[str, Any]) -> Optional[Tuple[TextEdit, ...]]:
        """Compute the edits of one action; None when it has none. Blocks: call it on a worker."""
        try:
            return actions.action_edits(analysis, data)
        except Exception:  # noqa: BLE001 - the action comes back without an edit
            LOG.exception("%s: computing the edit of code action %r failed", analysis.display, data.get("action"))
            return None

    async def fill_edits(
        self, state: DocumentState, analysis: DocumentAnalysis, offered: List[types.CodeAction]
    ) -> List[types.CodeAction]:
        """Give each action its edit now, for clients that cannot resolve code actions.

        The fix of the whole file is offered only once it is ready, because it
        runs the fixer to completion (seconds on a large module).
        """
        loop = asyncio.get_running_loop()
        filled = []
        for action in offered:
            if action.data["action"] == actions.FIX_ALL_ACTION and not analysis.fix_all_ready():
                continue
            edits = await loop.run_in_executor(self.edit_pool, self.action_edits, analysis, action.data)
            if edits:
                action.edit = self.workspace_edit(state, analysis, edits)
                filled.append(action)
        return filled

    async def resolve_action(self, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        state = self.documents.get(data.get("uri", ""))
        if (
            state is None
            or state.analysis is None
            or state.generation != data.get("generation")
            or state.analysis_generation != state.generation
        ):
            LOG.info("code action %r not resolved: the document changed since it was offered", action.title)
            return action
        analysis = state.analysis
        loop = asyncio.get_running_loop()
        edits = await loop.run_in_executor(self.edit_pool, self.action_edits, analysis, data)
        if edits and state.generation == data.get("generation"):
            action.edit = self.workspace_edit(state, analysis, edits)
        return action


def default_documentation_base() -> Optional[str]:
    """Return the file URI of ``docs/rules.md`` when the package runs from a source checkout.

    NOTE: posenc-lint has no published documentation site yet, so an installed
    package links to nothing unless the client sets ``documentationUrl`` in its
    initialization options.
    """
    reference = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    return reference.as_uri() if reference.is_file() else None


def _log_failure(job: Future, doing: str) -> None:
    if job.cancelled():
        return
    error = job.exception()
    if error is not None:
        LOG.error("%s failed: %r", doing, error, exc_info=error)


def _is_python(uri: str, language_id: Optional[str]) -> bool:
    if language_id == "python":
        return True
    path = to_fs_path(uri)
    return path is not None and path.endswith(PYTHON_SUFFIXES)


def _is_config_file(uri: str) -> bool:
    path = to_fs_path(uri)
    return path is not None and Path(path).name == CONFIG_FILE_NAME


def create_server() -> PosencLanguageServer:
    """Build the server with its features registered."""
    server = PosencLanguageServer()

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.event_loop = asyncio.get_running_loop()
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get(DOCUMENTATION_URL_OPTION), str):
            server.documentation_base = options[DOCUMENTATION_URL_OPTION]

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        LOG.info("posenc-lint %s language server started", __version__)
        if not get_capability(
            server.client_capabilities, "workspace.did_change_watched_files.dynamic_registration", False
        ):
            return
        watcher = types.FileSystemWatcher(glob_pattern=f"**/{CONFIG_FILE_NAME}")
        registration = types.Registration(
            id=CONFIG_WATCHER_ID,
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
        )
        try:
            await server.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception as error:  # noqa: BLE001 - the server works without the watcher
            LOG.warning("the client refused to watch %s files (%r); save them to reload the settings", CONFIG_FILE_NAME, error)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        if _is_python(document.uri, document.language_id):
            server.schedule_analysis(document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        if params.text_document.uri in server.documents:
            server.schedule_analysis(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _is_config_file(uri):
            server.reload_configuration(f"{to_fs_path(uri)} was saved")
        elif uri in server.documents:
            server.schedule_analysis(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.close_document(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        changed = [change.uri for change in params.changes if _is_config_file(change.uri)]
        if changed:
            server.reload_configuration(", ".join(to_fs_path(uri) or uri for uri in changed) + " changed")

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL_KIND],
            resolve_provider=True,
        ),
    )
    async def code_action(params: types.CodeActionParams) -> Optional[List[types.CodeAction]]:
        state, analysis = await server.current_analysis(params.text_document.uri)
        if state is None or analysis is None:
            return None
        offered = actions.list_actions(analysis, params, state.uri, state.generation)
        if not server.resolve_supported():
            offered = await server.fill_edits(state, analysis, offered)
        return offered

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(params: types.CodeAction) -> types.CodeAction:
        return await server.resolve_action(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(params: types.HoverParams) -> Optional[types.Hover]:
        _, analysis = await server.current_analysis(params.text_document.uri)
        if analysis is None:
            return None
        return actions.hover(
            analysis, params.position, server.markdown_hover_supported(), server.documentation_url
        )

    @server.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        server.analysis_pool.shutdown(wait=False, cancel_futures=True)
        server.edit_pool.shutdown(wait=False, cancel_futures=True)

    return server


class ClientLogHandler(logging.Handler):
    """Sends log records to the client as ``window/logMessage`` notifications."""

    LEVELS = (
        (logging.ERROR, types.MessageType.Error),
        (logging.WARNING, types.MessageType.Warning),
        (logging.INFO, types.MessageType.Info),
    )

    def __init__(self, server: PosencLanguageServer):
        super().__init__()
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
            return
        kind = next((kind for level, kind in self.LEVELS if record.levelno >= level), types.MessageType.Log)
        try:
            self.server.send_from_any_thread(
                self.server.window_log_message, types.LogMessageParams(type=kind, message=message)
            )
        except Exception:  # noqa: BLE001 - a lost connection must not raise from logging
            self.handleError(record)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posenc-lint server",
        description="Run the posenc-lint language server, speaking LSP on standard input and output.",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="use standard input and output; the default and only transport, accepted because "
        "many clients pass it",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also send debugging details to the client's log"
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the server until the client sends ``exit``; return the exit code."""
    arguments = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    # Standard output carries the protocol, so pygls' own log goes to standard error.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="posenc-lint server: %(levelname)s: %(message)s")

    server = create_server()
    handler = ClientLogHandler(server)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_logger = logging.getLogger("posenc_lint")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG if arguments.verbose else logging.INFO)
    package_logger.propagate = False
    try:
        server.start_io()
    finally:
        package_logger.removeHandler(handler)
    return 0
