"""The PEL502 rewrite: slice the cos term of a sinusoid table to ``d // 2`` columns.

``pe[:, 1::2] = torch.cos(position * div_term)`` with ``div_term`` from
``arange(0, d, 2)`` becomes ``pe[:, 1::2] = torch.cos(position * div_term)[..., : d // 2]``.
For an even ``d`` the slice keeps every column, so the table is unchanged.
For an odd ``d`` it drops the one column that ``pe[:, 1::2]`` has no room for.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, safe_fix
from posenc_lint.model import Assignment, FunctionModel, ModuleModel

# Operators that bind at least as tightly as `//`, so `width // 2` needs no brackets.
TIGHT_OPERATORS = (cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power, cst.MatrixMultiply)


def cos_slice_fix(
    model: ModuleModel,
    function: FunctionModel,
    assignment: Assignment,
    arange: cst.Call,
    width: cst.BaseExpression,
) -> Optional[FixPlan]:
    """Build the rewrite that slices ``assignment``'s cos term, when ``width`` can be repeated there."""
    value = assignment.value
    if not isinstance(value, cst.Call) or not syntax.is_repeatable(width):
        return None
    if _reassigned_between(model, function, width, arange, assignment.node):
        return None

    half = cst.BinaryOperation(
        left=_bracketed(width.deep_clone()),
        operator=cst.FloorDivide(
            whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")
        ),
        right=cst.Integer("2"),
    )
    columns = cst.Slice(
        lower=None,
        upper=half,
        first_colon=cst.Colon(whitespace_after=cst.SimpleWhitespace(" ")),
    )
    sliced = cst.Subscript(
        value=value,
        slice=[
            cst.SubscriptElement(
                cst.Index(cst.Ellipsis()), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            ),
            cst.SubscriptElement(columns),
        ],
    )
    module = cst.Module(body=[])
    text = module.code_for_node(half)
    return safe_fix(f"Slice the cos term to `{text}` columns", NodeEdit(value, sliced))


def _reassigned_between(
    model: ModuleModel,
    function: FunctionModel,
    width: cst.BaseExpression,
    start: cst.CSTNode,
    end: cst.CSTNode,
) -> bool:
    """Return whether a name that ``width`` reads is assigned between ``start`` and ``end``."""
    names = {node.value for node in syntax.names_in(width)}
    first, last = model.order_of(start), model.order_of(end)
    if first < 0 or last < 0:
        return True
    for other in function.assignments:
        if first < other.order < last:
            for target in other.targets:
                if {node.value for node in syntax.names_in(target)} & names:
                    return True
    return False


def _bracketed(node: cst.BaseExpression) -> cst.BaseExpression:
    if node.lpar:
        return node
    loose = isinstance(node, cst.BinaryOperation) and not isinstance(node.operator, TIGHT_OPERATORS)
    if loose or isinstance(node, cst.UnaryOperation):
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node
