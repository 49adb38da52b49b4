"""End-to-end tests of `posenc-lint server` that need a server of their own.

Configuration reloads, excluded files, a failing rule, and clients without
codeAction/resolve or with UTF-8 positions.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from posenc_lint.config import Settings
from posenc_lint.fixer import fix_source
from server_helpers import (
    FAILING_RULE_SERVER_COMMAND,
    FIXTURES,
    SERVER_COMMAND,
    WAIT_SECONDS,
    apply_workspace_edit,
    change_document,
    code_actions,
    find_action,
    make_client,
    next_diagnostics,
    open_document,
    start,
    vscode_capabilities,
    without_resolve,
)
from server_with_failing_rule import FAILURE_MESSAGE

pytestmark = pytest.mark.asyncio

IGNORE_PEL303 = '[tool.posenc-lint]\nignore = ["PEL303"]\n'
SELECT_DEFAULTS = "[tool.posenc-lint]\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(FIXTURES / "PEL303" / "plain.py", root / "plain.py")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client))
async def client(lsp_client: LanguageClient, workspace: Path):
    await start(lsp_client, workspace, vscode_capabilities())
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client))
async def plain_client(lsp_client: LanguageClient, workspace: Path):
    await start(lsp_client, workspace, without_resolve(vscode_capabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client))
async def neovim_client(lsp_client: LanguageClient, workspace: Path):
    await start(lsp_client, workspace, client_capabilities("neovim"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=FAILING_RULE_SERVER_COMMAND, client_factory=make_client))
async def failing_rule_client(lsp_client: LanguageClient, workspace: Path):
    await start(lsp_client, workspace, vscode_capabilities())
    yield
    await lsp_client.shutdown_session()


def codes(diagnostics) -> list:
    return [diagnostic.code for diagnostic in diagnostics]


def watched_change(uri: str) -> types.DidChangeWatchedFilesParams:
    return types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=uri, type=types.FileChangeType.Changed)]
    )


async def test_watcher_registered_for_pyproject(client: LanguageClient, workspace: Path):
    await open_document(client, workspace / "plain.py")
    deadline = time.monotonic() + WAIT_SECONDS
    while not client.registrations and time.monotonic() < deadline:
        await asyncio.sleep(0.02)

    methods = [registration.method for registration in client.registrations]
    assert methods == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
    watchers = client.registrations[0].register_options["watchers"]
    assert [watcher["globPattern"] for watcher in watchers] == ["**/pyproject.toml"]


async def test_config_reloaded_on_watched_change(client: LanguageClient, workspace: Path):
    config = workspace / "pyproject.toml"
    config.write_text(IGNORE_PEL303, encoding="utf-8")
    path = workspace / "plain.py"
    assert await open_document(client, path) == []

    config.write_text(SELECT_DEFAULTS, encoding="utf-8")
    mark = len(client.published)
    client.workspace_did_change_watched_files(watched_change(config.as_uri()))

    assert codes(await next_diagnostics(client, path.as_uri(), mark)) == ["PEL303"]


async def test_config_reloaded_on_save(client: LanguageClient, workspace: Path):
    config = workspace / "pyproject.toml"
    config.write_text(SELECT_DEFAULTS, encoding="utf-8")
    path = workspace / "plain.py"
    assert codes(await open_document(client, path)) == ["PEL303"]

    config.write_text(IGNORE_PEL303, encoding="utf-8")
    mark = len(client.published)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=config.as_uri()))
    )

    assert await next_diagnostics(client, path.as_uri(), mark) == []


async def test_other_watched_files_change_nothing(client: LanguageClient, workspace: Path):
    path = workspace / "plain.py"
    await open_document(client, path)
    mark = len(client.published)

    client.workspace_did_change_watched_files(watched_change((workspace / "setup.cfg").as_uri()))
    actions = await code_actions(client, path.as_uri(), types.Range(start=types.Position(0, 0), end=types.Position(40, 0)))

    assert actions, "the server still answers"
    assert client.published[mark:] == []


async def test_per_file_ignores_use_document_path(client: LanguageClient, workspace: Path):
    (workspace / "pyproject.toml").write_text(
        '[tool.posenc-lint]\nper-file-ignores = { "legacy/*" = ["PEL303"] }\n', encoding="utf-8"
    )
    legacy = workspace / "legacy"
    legacy.mkdir()
    shutil.copy(workspace / "plain.py", legacy / "plain.py")

    assert await open_document(client, legacy / "plain.py") == []
    assert codes(await open_document(client, workspace / "plain.py")) == ["PEL303"]


async def test_invalid_config_warns_and_uses_defaults(client: LanguageClient, workspace: Path):
    (workspace / "pyproject.toml").write_text('[tool.posenc-lint]\nselect = "PEL3"\n', encoding="utf-8")

    diagnostics = await open_document(client, workspace / "plain.py")

    assert codes(diagnostics) == ["PEL303"]
    warnings = [message for message in client.messages if message.type == types.MessageType.Warning]
    assert len(warnings) == 1
    assert "`select` in [tool.posenc-lint] must be a list of strings" in warnings[0].message
    assert "pyproject.toml" in warnings[0].message


async def test_excluded_document_not_linted(client: LanguageClient, workspace: Path):
    (workspace / "pyproject.toml").write_text('[tool.posenc-lint]\nextend-exclude = ["generated"]\n', encoding="utf-8")
    generated = workspace / "generated"
    generated.mkdir()
    shutil.copy(workspace / "plain.py", generated / "plain.py")
    path = generated / "plain.py"

    diagnostics = await open_document(client, path)
    actions = await code_actions(client, path.as_uri(), types.Range(start=types.Position(0, 0), end=types.Position(40, 0)))

    assert diagnostics == []
    assert actions == []


async def test_failing_rule_logged_and_server_stays_up(failing_rule_client: LanguageClient, workspace: Path):
    client = failing_rule_client
    path = workspace / "positional_embedding.py"
    shutil.copy(FIXTURES / "design" / "positional_embedding.py", path)
    text = path.read_text(encoding="utf-8")

    diagnostics = await open_document(client, path, text)

    assert "PEL902" in codes(diagnostics)
    assert "PEL402" in codes(diagnostics), "the other rules still ran"
    failure = next(diagnostic for diagnostic in diagnostics if diagnostic.code == "PEL902")
    assert failure.severity == types.DiagnosticSeverity.Error
    assert FAILURE_MESSAGE in failure.message
    errors = [entry for entry in client.log_messages if entry.type == types.MessageType.Error]
    assert len(errors) == 1
    assert "PEL303" in errors[0].message
    assert FAILURE_MESSAGE in errors[0].message

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()), position=failure.range.start)
    )
    assert hover is not None and "PEL902" in hover.contents.value
    again = await change_document(client, path.as_uri(), text + "\n", version=2)
    assert "PEL902" in codes(again)
    assert len([entry for entry in client.log_messages if entry.type == types.MessageType.Error]) == 1, (
        "the same failure is logged once per document"
    )


async def test_client_without_resolve_gets_edits(plain_client: LanguageClient, workspace: Path):
    client = plain_client
    path = workspace / "positional_embedding.py"
    shutil.copy(FIXTURES / "design" / "positional_embedding.py", path)
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)
    fixable = next(diagnostic for diagnostic in diagnostics if diagnostic.code == "PEL402")

    actions = await code_actions(client, path.as_uri(), fixable.range)

    fix = find_action(actions, "PEL402: ")
    assert fix.edit is not None and fix.edit.changes is not None
    settings = Settings()
    once = apply_workspace_edit(text, fix.edit, path.as_uri())
    assert "device=" in once.splitlines()[fixable.range.start.line]
    disable = find_action(actions, "Disable PEL402")
    assert disable.edit is not None
    expected = fix_source(text.encode("utf-8"), str(path), settings, path=path).source.decode("utf-8")
    deadline = time.monotonic() + WAIT_SECONDS
    source_actions = []
    while not source_actions and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        source_actions = await code_actions(client, path.as_uri(), fixable.range, only=["source.fixAll"])
    assert len(source_actions) == 1, "the fix of the whole file is offered once it is ready"
    assert apply_workspace_edit(text, source_actions[0].edit, path.as_uri()) == expected


async def test_utf8_positions_for_neovim(neovim_client: LanguageClient, workspace: Path):
    path = workspace / "plain.py"
    text = path.read_text(encoding="utf-8").replace("        self.pe = pe  #", '        mark = "é\U0001F600"; self.pe = pe  #')

    diagnostics = await open_document(neovim_client, path, text)

    assert codes(diagnostics) == ["PEL303"]
    # `mark = "é😀"; ` is 13 code points; é takes 2 UTF-8 bytes and the emoji 4.
    assert diagnostics[0].range.start.character == 8 + 13 + 1 + 3
    actions = await code_actions(neovim_client, path.as_uri(), diagnostics[0].range)
    resolved = await neovim_client.code_action_resolve_async(find_action(actions, "Disable PEL303"))
    silenced = apply_workspace_edit(text, resolved.edit, path.as_uri(), encoding="utf-8")
    assert silenced.splitlines()[diagnostics[0].range.start.line].endswith("# noqa: PEL303")

