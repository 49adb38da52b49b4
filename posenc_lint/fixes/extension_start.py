"""The PEL506 fix outside the forward path: appended positions start at the table's length.

``torch.arange(need - have)`` becomes ``torch.arange(have, need)``: the same
number of positions, now the ones after the table's last row.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, unsafe_fix
from posenc_lint.fixes.rewriting import source
from posenc_lint.model import ModuleModel

# Calls a bound may make and still give the same value when read again.
SIZE_CALLS = {"size", "len", "int", "dim"}


def start_fix(
    model: ModuleModel, restarts: Sequence[Tuple[cst.Call, cst.BinaryOperation]]
) -> Optional[FixPlan]:
    """Rewrite each ``arange(need - have)`` in ``restarts`` (pairs of call and subtraction).

    Returns None when one of them is not an ``arange`` whose count is written
    inline, or when ``need`` or ``have`` could change value when read twice.
    """
    edits: List[NodeEdit] = []
    for call, subtraction in restarts:
        replacement = _from_table_length(model, call, subtraction)
        if replacement is None:
            return None
        edits.append(NodeEdit(call, replacement))
    if not edits:
        return None
    have = source(restarts[0][1].right).strip()
    return unsafe_fix(f"Build the appended positions from `{have}` on, not from 0", *edits)


def _from_table_length(
    model: ModuleModel, call: cst.Call, subtraction: cst.BinaryOperation
) -> Optional[cst.Call]:
    if model.qualname(call.func) != "torch.arange":
        return None
    positional = [arg for arg in call.args if arg.keyword is None]
    keywords = [arg for arg in call.args if arg.keyword is not None]
    if any(arg.star for arg in call.args):
        return None
    if len(positional) == 1 and positional[0].value is subtraction:
        pass
    elif (
        len(positional) == 2
        and syntax.int_value(positional[0].value) == 0
        and positional[1].value is subtraction
    ):
        pass
    else:
        return None
    if not (_is_plain(subtraction.left) and _is_plain(subtraction.right)):
        return None
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    start = cst.Arg(subtraction.right.deep_clone(), comma=comma)
    end = cst.Arg(subtraction.left.deep_clone(), comma=comma if keywords else cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=[start, end, *keywords])


def _is_plain(node: cst.BaseExpression) -> bool:
    """Return whether reading ``node`` twice gives the same value: names, attributes, sizes."""
    for sub in syntax.walk(node):
        if isinstance(sub, cst.Call) and syntax.last_name(sub.func) not in SIZE_CALLS:
            return False
        if isinstance(sub, (cst.NamedExpr, cst.Await, cst.Yield, cst.Lambda)):
            return False
    return True
