"""Helpers for the language-server tests: a recording client, and LSP edits applied to text."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURES = REPOSITORY / "fixtures"
SERVER_COMMAND = [sys.executable, "-m", "posenc_lint", "server"]
FAILING_RULE_SERVER_COMMAND = [sys.executable, str(Path(__file__).with_name("server_with_failing_rule.py"))]

# Generous, because the suite may share a loaded machine; no test measures speed.
WAIT_SECONDS = 120


def record_diagnostics(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)


def record_registration(client: LanguageClient, params: types.RegistrationParams) -> None:
    client.registrations.extend(params.registrations)


def make_client() -> LanguageClient:
    """Return a pytest-lsp client that also records every diagnostics notification and registration."""
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record_diagnostics
    features[types.CLIENT_REGISTER_CAPABILITY] = record_registration
    register_lsp_features(client, features)
    client.published = []
    client.registrations = []
    return client


def vscode_capabilities() -> types.ClientCapabilities:
    return client_capabilities("visual-studio-code")


def without_resolve(capabilities: types.ClientCapabilities) -> types.ClientCapabilities:
    """Return the capabilities of a client that can neither resolve code actions nor take documentChanges."""
    capabilities.text_document.code_action.resolve_support = None
    capabilities.workspace.workspace_edit.document_changes = False
    return capabilities


async def start(client: LanguageClient, root: Path, capabilities: types.ClientCapabilities) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        )
    )


async def next_diagnostics(
    client: LanguageClient, uri: str, after: int, version: Optional[int] = None
) -> List[types.Diagnostic]:
    """Wait for the first diagnostics of ``uri`` (and ``version``) published after the ``after``-th notification."""

    async def poll() -> List[types.Diagnostic]:
        while True:
            for params in client.published[after:]:
                if params.uri == uri and version in (None, params.version):
                    return list(params.diagnostics)
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), WAIT_SECONDS)


async def open_document(client: LanguageClient, path: Path, text: Optional[str] = None) -> List[types.Diagnostic]:
    """Open ``path`` with ``text`` (default: its contents) as version 1 and return its diagnostics."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    mark = len(client.published)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
        )
    )
    return await next_diagnostics(client, path.as_uri(), mark)


async def change_document(client: LanguageClient, uri: str, text: str, version: int) -> List[types.Diagnostic]:
    mark = len(client.published)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    # Diagnostics of an earlier version may still arrive first.
    return await next_diagnostics(client, uri, mark, version)


async def code_actions(
    client: LanguageClient,
    uri: str,
    span: types.Range,
    only: Optional[Sequence[str]] = None,
) -> List[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=span,
            context=types.CodeActionContext(diagnostics=[], only=list(only) if only else None),
        )
    )
    return list(result or [])


def find_action(actions: Sequence[types.CodeAction], prefix: str) -> types.CodeAction:
    matching = [action for action in actions if action.title.startswith(prefix)]
    assert len(matching) == 1, f"expected one action titled {prefix!r}..., got {[a.title for a in actions]}"
    return matching[0]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _offset(text: str, position: types.Position, encoding: str) -> int:
    starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]
    if position.line >= len(starts):
        return len(text)
    start = starts[position.line]
    end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
    line = _LINE_BREAK.sub("", text[start:end])
    units = 0
    for index, character in enumerate(line):
        if units >= position.character:
            return start + index
        if encoding == "utf-8":
            units += len(character.encode("utf-8"))
        elif encoding == "utf-16":
            units += 2 if ord(character) > 0xFFFF else 1
        else:
            units += 1
    return start + len(line)


def edits_for(edit: types.WorkspaceEdit, uri: str) -> List[types.TextEdit]:
    if edit.document_changes:
        found: List[types.TextEdit] = []
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit)
            assert change.text_document.uri == uri
            found.extend(change.edits)
        return found
    assert edit.changes is not None
    return list(edit.changes[uri])


def apply_workspace_edit(text: str, edit: types.WorkspaceEdit, uri: str, encoding: str = "utf-16") -> str:
    """Apply the edits of ``edit`` for ``uri`` as an LSP client does: all against the original text."""
    spans = []
    for text_edit in edits_for(edit, uri):
        start = _offset(text, text_edit.range.start, encoding)
        end = _offset(text, text_edit.range.end, encoding)
        spans.append((start, end, text_edit.new_text))
    spans.sort()
    for (_, first_end, _), (second_start, _, _) in zip(spans, spans[1:]):
        assert first_end <= second_start, "overlapping edits"
    result = []
    position = 0
    for start, end, content in spans:
        result.append(text[position:start])
        result.append(content)
        position = end
    result.append(text[position:])
    return "".join(result)
