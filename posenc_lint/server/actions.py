"""The code actions and hovers of an analysed document, independent of the server plumbing."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from lsprotocol import types

from posenc_lint.config import ALWAYS_ON
from posenc_lint.diagnostics import Applicability
from posenc_lint.rules import RULES_BY_CODE
from posenc_lint.server.analysis import SOURCE, DocumentAnalysis
from posenc_lint.server.text import TextEdit, overlaps

FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
FIX_ALL_TITLE = "Fix all safe findings in this file (posenc-lint)"

# The `action` values in a code action's data, which codeAction/resolve reads back.
FIX_ACTION = "fix"
NOQA_ACTION = "noqa"
FIX_ALL_ACTION = "fix-all"

QUICK_FIX = types.CodeActionKind.QuickFix.value


def list_actions(
    analysis: DocumentAnalysis,
    params: types.CodeActionParams,
    uri: str,
    generation: int,
) -> List[types.CodeAction]:
    """List the actions for the requested range and kinds, without their edits.

    Each action's data names the document, the analysis generation and the
    finding, so that ``action_edits`` can compute the edit later.
    """
    index = analysis.index
    requested = (index.offset(params.range.start), index.offset(params.range.end))
    only = params.context.only

    def data(action: str, finding: int = -1) -> Dict[str, Any]:
        return {"uri": uri, "generation": generation, "action": action, "finding": finding}

    offered = []
    in_range = False
    for number, item in enumerate(analysis.reported):
        if not overlaps((item.start, item.end), requested):
            continue
        in_range = True
        if not kind_requested(QUICK_FIX, only):
            continue

        diagnostic = item.diagnostic
        fix = diagnostic.fix
        if fix is not None and not analysis.fix_known_empty(number):
            unsafe = fix.applicability is Applicability.UNSAFE
            title = f"{diagnostic.code}: {fix.message}" + (" (unsafe)" if unsafe else "")
            offered.append(
                types.CodeAction(
                    title=title,
                    kind=QUICK_FIX,
                    diagnostics=[item.lsp],
                    is_preferred=not unsafe,
                    data=data(FIX_ACTION, number),
                )
            )
        # A syntax error or an unreadable file cannot be silenced with `# noqa`.
        if diagnostic.code not in ALWAYS_ON:
            offered.append(
                types.CodeAction(
                    title=f"Disable {diagnostic.code} for this line",
                    kind=QUICK_FIX,
                    diagnostics=[item.lsp],
                    data=data(NOQA_ACTION, number),
                )
            )

    if analysis.has_safe_fixes:
        # As a quick fix only beside a finding, so the light bulb does not show on every line.
        if in_range and kind_requested(QUICK_FIX, only):
            offered.append(types.CodeAction(title=FIX_ALL_TITLE, kind=QUICK_FIX, data=data(FIX_ALL_ACTION)))
        if kind_requested(FIX_ALL_KIND, only):
            offered.append(types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND, data=data(FIX_ALL_ACTION)))
    return offered


def action_edits(analysis: DocumentAnalysis, data: Dict[str, Any]) -> Optional[Tuple[TextEdit, ...]]:
    """Compute the edits of the action that ``data`` describes; None when it has none.

    This can take seconds on a large module, so servers call it off their event loop.
    """
    action = data.get("action")
    finding = data.get("finding", -1)
    if action == FIX_ACTION:
        return analysis.quick_fix(finding) or None
    if action == NOQA_ACTION:
        edit = analysis.disable(finding)
        return (edit,) if edit is not None else None
    if action == FIX_ALL_ACTION:
        return analysis.fix_all().edits or None
    return None


def kind_requested(kind: str, only: Optional[Sequence[str]]) -> bool:
    """Return whether ``kind`` falls under one of the kinds in ``only`` (all when None)."""
    if not only:
        return True
    return any(not wanted or kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def hover(
    analysis: DocumentAnalysis,
    position: types.Position,
    markdown: bool,
    documentation_url: Callable[[str], Optional[str]],
) -> Optional[types.Hover]:
    """Return the documentation of the rules whose findings cover ``position``, or None."""
    offset = analysis.index.offset(position)
    hits = [item for item in analysis.reported if item.start <= offset <= item.end]
    if not hits:
        return None

    codes = list(dict.fromkeys(item.diagnostic.code for item in hits))
    pages = [rule_page(code, documentation_url(code)) for code in codes]
    kind = types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText
    return types.Hover(
        contents=types.MarkupContent(kind=kind, value="\n\n---\n\n".join(pages)),
        range=analysis.index.range(hits[0].start, hits[0].end),
    )


def rule_page(code: str, url: Optional[str]) -> str:
    """Return a rule's documentation as Markdown: code, name, summary and its docstring sections."""
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        return code
    page = f"**{rule.code} {rule.name}**: {rule.summary}\n\n{rule.documentation()}"
    if url is not None:
        page += f"\n\n[{rule.code} in the rule reference]({url})"
    return page
