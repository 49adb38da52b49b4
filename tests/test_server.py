"""End-to-end tests of `posenc-lint server`: one server over stdio, driven as VS Code drives it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from posenc_lint.config import Settings
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source
from server_helpers import (
    FIXTURES,
    SERVER_COMMAND,
    apply_workspace_edit,
    change_document,
    code_actions,
    find_action,
    make_client,
    next_diagnostics,
    open_document,
    start,
    vscode_capabilities,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

FIX_ALL_KIND = "source.fixAll.posenc-lint"
FIX_ALL_TITLE = "Fix all safe findings in this file"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workspace")


def copy_fixture(workspace: Path, relative: str, name: str) -> Path:
    """Copy a fixture under a name of its own, so that no two tests open the same document."""
    path = workspace / f"{name}.py"
    shutil.copy(FIXTURES / relative, path)
    return path


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    scope="module",
)
async def client(lsp_client: LanguageClient, workspace: Path):
    await start(lsp_client, workspace, vscode_capabilities())
    yield
    await lsp_client.shutdown_session()


def whole(text: str) -> types.Range:
    lines = text.split("\n")
    return types.Range(start=types.Position(line=0, character=0), end=types.Position(line=len(lines), character=0))


def fixed_text(path: Path, text: str, unsafe: bool = False) -> str:
    outcome = fix_source(text.encode("utf-8"), str(path), Settings(), path=path, unsafe=unsafe)
    assert outcome.error is None
    return outcome.source.decode("utf-8")


async def test_diagnostics_carry_code_link_and_severity(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "diagnostics")
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)

    expected = lint_source(text, str(path), Settings(), path=path).diagnostics
    assert [diagnostic.code for diagnostic in diagnostics] == ["PEL303"]
    diagnostic = diagnostics[0]
    assert diagnostic.source == "posenc-lint"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.message == expected[0].message
    assert diagnostic.range.start == types.Position(line=expected[0].start.line - 1, character=expected[0].start.column)
    assert diagnostic.range.end == types.Position(line=expected[0].end.line - 1, character=expected[0].end.column)
    assert diagnostic.code_description is not None
    assert diagnostic.code_description.href.endswith("/docs/rules.md#pel303-fixed-table-as-plain-attribute")


async def test_quick_fix_gives_fixed_module(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "quick_fix")
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)

    actions = await code_actions(client, path.as_uri(), diagnostics[0].range)
    fix = find_action(actions, "PEL303: ")
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.is_preferred
    assert "(unsafe)" not in fix.title
    assert fix.diagnostics and fix.diagnostics[0].code == "PEL303"
    assert fix.edit is None, "the edit should come from codeAction/resolve"

    resolved = await client.code_action_resolve_async(fix)
    assert resolved.edit is not None
    fixed = apply_workspace_edit(text, resolved.edit, path.as_uri())
    assert fixed == fixed_text(path, text)
    assert fixed == (FIXTURES / "PEL303" / "plain.fixed.py").read_text(encoding="utf-8")

    remaining = await change_document(client, path.as_uri(), fixed, version=2)
    assert remaining == []


async def test_unsafe_quick_fix_is_labelled(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL101/vit_zeros.py", "unsafe_fix")
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)
    assert [diagnostic.code for diagnostic in diagnostics] == ["PEL101"]

    actions = await code_actions(client, path.as_uri(), diagnostics[0].range)
    fix = find_action(actions, "PEL101: ")
    assert fix.title.endswith("(unsafe)")
    assert not fix.is_preferred
    assert not any(action.title.startswith(FIX_ALL_TITLE) for action in actions), "no safe fix to apply"

    resolved = await client.code_action_resolve_async(fix)
    fixed = apply_workspace_edit(text, resolved.edit, path.as_uri())
    assert fixed == fixed_text(path, text, unsafe=True)
    assert fixed == (FIXTURES / "PEL101" / "vit_zeros.fixed.py").read_text(encoding="utf-8")


async def test_fix_all_matches_fix_source(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "design/positional_embedding.py", "fix_all")
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)
    assert len(diagnostics) >= 5

    source_actions = await code_actions(client, path.as_uri(), diagnostics[0].range, only=["source.fixAll"])
    assert [action.kind for action in source_actions] == [FIX_ALL_KIND]
    resolved = await client.code_action_resolve_async(source_actions[0])
    fixed = apply_workspace_edit(text, resolved.edit, path.as_uri())
    assert fixed != text
    assert fixed == fixed_text(path, text)


async def test_fix_all_offered_as_quick_fix(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "design/positional_embedding.py", "fix_all_quick_fix")
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)
    fixable = next(d for d in diagnostics if d.code == "PEL402")

    actions = await code_actions(client, path.as_uri(), fixable.range, only=[types.CodeActionKind.QuickFix])
    fix_all = find_action(actions, FIX_ALL_TITLE)
    assert fix_all.kind == types.CodeActionKind.QuickFix
    assert all(action.kind == types.CodeActionKind.QuickFix for action in actions)
    resolved = await client.code_action_resolve_async(fix_all)
    assert apply_workspace_edit(text, resolved.edit, path.as_uri()) == fixed_text(path, text)


async def test_actions_only_for_requested_range(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "design/positional_embedding.py", "range")
    await open_document(client, path)
    first_line = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=3))

    actions = await code_actions(client, path.as_uri(), first_line)

    assert [action.kind for action in actions] == [FIX_ALL_KIND]


async def test_disable_appends_noqa_after_comment(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "disable_appends_noqa_after_comment")
    text = path.read_text(encoding="utf-8")
    diagnostics = await open_document(client, path)

    actions = await code_actions(client, path.as_uri(), diagnostics[0].range)
    disable = find_action(actions, "Disable PEL303 for this line")
    resolved = await client.code_action_resolve_async(disable)
    silenced = apply_workspace_edit(text, resolved.edit, path.as_uri())

    line = diagnostics[0].range.start.line
    assert silenced.splitlines()[line] == "        self.pe = pe  # (max_len, d_model)  # noqa: PEL303"
    assert silenced.splitlines()[:line] == text.splitlines()[:line]
    assert await change_document(client, path.as_uri(), silenced, version=2) == []


async def test_disable_extends_existing_noqa(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "disable_extends_existing_noqa")
    original = path.read_text(encoding="utf-8")
    text = original.replace("self.pe = pe  # (max_len, d_model)", "self.pe = pe  # noqa:PEL201 - shape (max_len, d_model)")
    diagnostics = await open_document(client, path, text)
    assert [diagnostic.code for diagnostic in diagnostics] == ["PEL303"]

    actions = await code_actions(client, path.as_uri(), diagnostics[0].range)
    resolved = await client.code_action_resolve_async(find_action(actions, "Disable PEL303"))
    silenced = apply_workspace_edit(text, resolved.edit, path.as_uri())

    line = diagnostics[0].range.start.line
    assert silenced.splitlines()[line] == "        self.pe = pe  # noqa:PEL201, PEL303 - shape (max_len, d_model)"
    assert await change_document(client, path.as_uri(), silenced, version=2) == []


async def test_hover_shows_rule_documentation(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "hover_shows_rule_documentation")
    diagnostics = await open_document(client, path)
    inside = diagnostics[0].range.start

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()), position=inside)
    )

    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith("**PEL303 fixed-table-as-plain-attribute**")
    assert "## What it does" in hover.contents.value
    assert "## Fix safety" in hover.contents.value
    assert hover.range == diagnostics[0].range


async def test_hover_outside_findings_is_empty(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "hover_outside_findings_is_empty")
    await open_document(client, path)

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            position=types.Position(line=0, character=2),
        )
    )

    assert hover is None


async def test_syntax_error_while_typing(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "syntax_error_while_typing")
    text = path.read_text(encoding="utf-8")
    await open_document(client, path, text)
    broken = text.replace("def forward(self, x):", "def forward(self, x)")

    diagnostics = await change_document(client, path.as_uri(), broken, version=2)

    assert [diagnostic.code for diagnostic in diagnostics] == ["PEL900"]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error
    assert diagnostics[0].range.start.line == broken.splitlines().index("    def forward(self, x)")
    actions = await code_actions(client, path.as_uri(), whole(broken))
    assert actions == [], "a syntax error has no fix and cannot be silenced"

    repaired = await change_document(client, path.as_uri(), text, version=3)
    assert [diagnostic.code for diagnostic in repaired] == ["PEL303"]


async def test_rapid_changes_end_on_newest_text(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "rapid_changes_end_on_newest_text")
    text = path.read_text(encoding="utf-8")
    await open_document(client, path, text)
    for version in range(2, 7):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text + "#" * version)],
            )
        )
    silenced = text.replace("# (max_len, d_model)", "# noqa: PEL303")

    diagnostics = await change_document(client, path.as_uri(), silenced, version=7)
    actions = await code_actions(client, path.as_uri(), whole(silenced))

    assert diagnostics == []
    assert client.published[-1].version == 7
    assert actions == []


async def test_positions_count_utf16_units(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "positions_count_utf16_units")
    text = path.read_text(encoding="utf-8")
    wide = text.replace("        self.pe = pe  #", '        mark = "\U0001F600"; self.pe = pe  #')

    diagnostics = await open_document(client, path, wide)

    assert [diagnostic.code for diagnostic in diagnostics] == ["PEL303"]
    # `mark = "😀"; ` is 12 code points, and the emoji takes two UTF-16 code units.
    assert diagnostics[0].range.start.character == 8 + 12 + 1


async def test_close_clears_diagnostics(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "close_clears_diagnostics")
    await open_document(client, path)
    mark = len(client.published)

    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )

    assert await next_diagnostics(client, path.as_uri(), mark) == []


async def test_save_publishes_diagnostics_again(client: LanguageClient, workspace: Path):
    path = copy_fixture(workspace, "PEL303/plain.py", "save")
    diagnostics = await open_document(client, path)
    mark = len(client.published)

    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )

    assert await next_diagnostics(client, path.as_uri(), mark) == diagnostics
