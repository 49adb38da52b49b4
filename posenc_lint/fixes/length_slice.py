"""The PEL505 fix: turn a table indexed by a length into a slice, `pe[:, n]` to `pe[:, :n]`."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, unsafe_fix
from posenc_lint.fixes.rewriting import parent_map, source
from posenc_lint.model import FunctionModel, ModuleModel
from posenc_lint.rules._lengths import Length

# Methods that keep the shape of the row they are called on.
SHAPE_KEEPING_METHODS = {
    "to", "type_as", "float", "half", "double", "bfloat16", "detach", "contiguous", "clone",
}


def slice_fix(
    model: ModuleModel,
    function: FunctionModel,
    subscript: cst.Subscript,
    index: cst.Index,
    layout: Optional[Sequence[str]],
    length: Length,
) -> Optional[FixPlan]:
    """Build the slice fix, or None when the slice would not line up with the input.

    The slice keeps an axis of `n` positions where the row had none, so the fix
    is offered only when that axis broadcasts against the input's length axis
    and the row is used directly as an operand of arithmetic.
    """
    position = None
    for number, item in enumerate(subscript.slice):
        if item.slice is index:
            position = number
    if position is None or not _lines_up(position, layout, length):
        return None
    element = subscript.slice[position]
    parents = parent_map(function.node)
    outer = _through_shape_keeping_calls(subscript, parents)
    if not _is_operand(model, function, outer, parents):
        return None
    new_element = element.with_changes(slice=cst.Slice(lower=None, upper=index.value))
    shown = source(index.value)
    return unsafe_fix(
        f"Slice the first `{shown}` positions instead of indexing position `{shown}`",
        NodeEdit(element, new_element),
    )


def _lines_up(position: int, layout: Optional[Sequence[str]], length: Length) -> bool:
    """Return whether the table's length axis broadcasts against the input's axis ``length.axis``.

    Broadcasting aligns axes from the right, so axis ``position`` of a table of
    rank ``r`` meets axis ``position - r`` of the input counted from its end.
    """
    if layout is None or position >= len(layout) or layout[position] != "L":
        return False
    from_end = position - len(layout)
    axis = 0 if length.axis is None else length.axis
    if axis < 0:
        return from_end == axis
    # NOTE: a non-negative axis is taken to be of a 3-D (batch, seq, d) or
    # (seq, batch, d) input; other ranks are declined by this test or misjudged.
    return from_end == axis - 3


def _through_shape_keeping_calls(node: cst.CSTNode, parents: Dict[int, cst.CSTNode]) -> cst.CSTNode:
    """Climb from ``node`` through `.to(...)` and similar calls on it."""
    current = node
    while True:
        attribute = parents.get(id(current))
        if not (isinstance(attribute, cst.Attribute) and attribute.value is current):
            return current
        call = parents.get(id(attribute))
        if not (
            isinstance(call, cst.Call)
            and call.func is attribute
            and attribute.attr.value in SHAPE_KEEPING_METHODS
        ):
            return current
        current = call


def _is_operand(
    model: ModuleModel, function: FunctionModel, node: cst.CSTNode, parents: Dict[int, cst.CSTNode]
) -> bool:
    """Return whether ``node`` is an operand of arithmetic, directly or through one local name."""
    parent = parents.get(id(node))
    if isinstance(parent, cst.BinaryOperation):
        return True
    if isinstance(parent, cst.AugAssign) and parent.value is node:
        return True
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
        target = parent.targets[0].target
        if not isinstance(target, cst.Name):
            return False
        return _every_use_is_operand(model, function, target.value, parent, parents)
    return False


def _every_use_is_operand(
    model: ModuleModel,
    function: FunctionModel,
    name: str,
    assignment: cst.Assign,
    parents: Dict[int, cst.CSTNode],
) -> bool:
    after = model.order_of(assignment)
    uses = [
        node
        for node in syntax.walk(function.node)
        if isinstance(node, cst.Name) and node.value == name and model.order_of(node) > after
    ]
    if len(function.local_assignments(name)) != 1:
        return False
    for use in uses:
        parent = parents.get(id(use))
        if isinstance(parent, cst.AssignTarget):
            continue
        if isinstance(parent, cst.BinaryOperation):
            continue
        if isinstance(parent, cst.AugAssign) and parent.value is use:
            continue
        return False
    return bool(uses)
