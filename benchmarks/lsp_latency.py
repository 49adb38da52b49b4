"""Time the language server's responses to code-action requests on a large module.

Starts ``posenc-lint server`` over stdio with pygls' client, opens the module
and waits for its diagnostics. Then it sends code-action requests for the range
of the first finding, a first round at once and a second round after every
offered action has been resolved. Each request is timed from sending it to the
response, and so is each ``codeAction/resolve``. The last line of output sums
up the run for benchmarks/RESULTS.md.

    python benchmarks/lsp_latency.py [--file PATH] [--requests N] [--no-resolve]

Without ``--file`` it takes the largest transformers ``models/*/modeling_*.py``
under ``.corpus-cache/src/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import List, Optional

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPOSITORY = Path(__file__).resolve().parent.parent
CORPUS = REPOSITORY / ".corpus-cache" / "src"
LIMIT_SECONDS = 0.5


def largest_modeling_file() -> Path:
    candidates = list(CORPUS.glob("transformers-*/transformers/models/*/modeling_*.py"))
    if not candidates:
        sys.exit(f"no transformers modeling files under {CORPUS}; run corpus/check_corpus.py or pass --file")
    return max(candidates, key=lambda path: path.stat().st_size)


def client_capabilities(resolve: bool) -> types.ClientCapabilities:
    """Return the capabilities that matter here, as VS Code 1.65 declares them."""
    code_action = types.CodeActionClientCapabilities(
        code_action_literal_support=types.ClientCodeActionLiteralOptions(
            code_action_kind=types.ClientCodeActionKindOptions(
                value_set=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll]
            )
        ),
        is_preferred_support=True,
        data_support=True,
        resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None,
    )
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(code_action=code_action),
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)
        ),
    )


async def timed(coroutine) -> tuple:
    start = time.perf_counter()
    result = await coroutine
    return time.perf_counter() - start, result


async def run(path: Path, requests: int, resolve: bool) -> int:
    client = LanguageClient("posenc-lint-benchmark", "1")
    published = asyncio.Event()
    diagnostics: List[types.Diagnostic] = []

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        diagnostics[:] = params.diagnostics
        published.set()

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        print(f"server log: {params.message}", file=sys.stderr)

    await client.start_io(sys.executable, "-m", "posenc_lint", "server")
    await client.initialize_async(
        types.InitializeParams(
            capabilities=client_capabilities(resolve),
            root_uri=REPOSITORY.as_uri(),
            process_id=os.getpid(),
        )
    )
    client.initialized(types.InitializedParams())

    uri = path.as_uri()
    text = path.read_text(encoding="utf-8")
    opened = time.perf_counter()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    await published.wait()
    to_diagnostics = time.perf_counter() - opened

    target: Optional[types.Diagnostic] = diagnostics[0] if diagnostics else None
    span = target.range if target else types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=span,
        context=types.CodeActionContext(diagnostics=[target] if target else []),
    )

    first_round = []
    actions = []
    for _ in range(requests):
        seconds, actions = await timed(client.text_document_code_action_async(params))
        first_round.append(seconds)

    resolve_seconds = []
    for action in actions or []:
        if resolve and isinstance(action, types.CodeAction):
            seconds, resolved = await timed(client.code_action_resolve_async(action))
            resolve_seconds.append((action.title, seconds, resolved.edit is not None))

    second_round = []
    for _ in range(requests):
        seconds, _ = await timed(client.text_document_code_action_async(params))
        second_round.append(seconds)

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()

    for title, seconds, has_edit in resolve_seconds:
        print(f"resolve {title!r}: {seconds:.3f} s, edit {'present' if has_edit else 'missing'}")
    print(f"first round (after diagnostics): median {statistics.median(first_round):.3f} s, max {max(first_round):.3f} s")
    print(f"second round: median {statistics.median(second_round):.3f} s, max {max(second_round):.3f} s")

    every = first_round + second_round
    worst = max(every)
    resolved = ""
    if resolve_seconds:
        # The fix of the whole file is offered twice (quick fix and source.fixAll); the first resolve computes it.
        first_resolves = {}
        for title, seconds, _ in resolve_seconds:
            first_resolves.setdefault(title, seconds)
        low, high = min(first_resolves.values()), max(first_resolves.values())
        resolved = f"; codeAction/resolve {low:.2f}-{high:.2f} s"
    print(
        f"lsp_latency: {path.name} ({path.stat().st_size} bytes, {len(diagnostics)} findings, "
        f"{len(actions or [])} actions), {os.cpu_count()} CPUs, resolve {'on' if resolve else 'off'}: "
        f"diagnostics {to_diagnostics:.2f} s after didOpen; codeAction median "
        f"{statistics.median(every) * 1000:.1f} ms, max {worst * 1000:.1f} ms over {len(every)} requests"
        f"{resolved}"
    )
    return 0 if worst <= LIMIT_SECONDS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="Time code-action requests to posenc-lint server.")
    parser.add_argument("--file", type=Path, help="the module to open (default: the largest transformers modeling file)")
    parser.add_argument("--requests", type=int, default=10, help="code-action requests per round (default: 10)")
    parser.add_argument(
        "--no-resolve",
        action="store_true",
        help="declare no codeAction/resolve support, so the responses carry their edits",
    )
    arguments = parser.parse_args()
    path = (arguments.file or largest_modeling_file()).resolve()
    return asyncio.run(run(path, arguments.requests, not arguments.no_resolve))


if __name__ == "__main__":
    sys.exit(main())
