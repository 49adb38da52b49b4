"""The PEL402 rewrite: build position indices on their device instead of copying them there.

``torch.arange(0, n).expand(N, n).to(x.device)`` becomes
``torch.arange(0, n, device=x.device).expand(N, n)``. The indices get the same
values, dtype and device, so outputs do not change; only the host-to-device
copy goes away.

Between the ``arange`` and the move, the rewrite follows only shape methods
and plain indexing, whose result lives on the device of their input, and
local names whose value nothing else reads. Anything else could combine the
indices with a tensor on another device, and the fix is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, safe_fix
from posenc_lint.fixes.statements import (
    append_keyword,
    only_reaching_assignment,
    parent_map,
    remove_small_statement,
    small_statement_of,
    with_parentheses_of,
)
from posenc_lint.model import Assignment, CallSite, FunctionModel, ModuleModel

# Methods whose result is on the device of their receiver, whatever the
# arguments, as long as those are sizes or dimensions.
SHAPE_METHODS = {
    "unsqueeze",
    "squeeze",
    "expand",
    "view",
    "reshape",
    "repeat",
    "flip",
    "flatten",
    "permute",
    "transpose",
    "t",
    "contiguous",
    "clone",
    "detach",
    "float",
    "double",
    "half",
    "bfloat16",
    "long",
    "int",
    "short",
    "bool",
}

# Arguments of `Tensor.to` that only matter for the copy, which the rewrite removes.
COPY_ONLY_KEYWORDS = {"non_blocking", "copy"}


@dataclass
class _Hop:
    """A local name between the ``arange`` and the move, whose ``read`` gets its value only from ``assignment``."""

    read: cst.Name
    assignment: Assignment


def device_fix(
    model: ModuleModel, function: FunctionModel, arange: CallSite, move: CallSite
) -> Optional[FixPlan]:
    """Build the rewrite that passes the device of ``move`` to ``arange``, when it is sound."""
    if any(arg.star for arg in arange.node.args) or syntax.keyword_arg(arange.node, "out") is not None:
        return None
    parents = parent_map(function.node)
    hops = _path_to_arange(model, function, move.node, arange.node, parents)
    if hops is None:
        return None
    moved = _split_move(move.node)
    if moved is None:
        return None
    device, remaining = moved
    if hops and not _device_unchanged_between(model, function, device, arange.node, move.node):
        return None

    new_arange = append_keyword(arange.node, "device", device)
    receiver = move.node.func.value  # type: ignore[attr-defined]
    if not hops:
        receiver = receiver.deep_replace(arange.node, new_arange)
    if remaining is None:
        replacement = with_parentheses_of(move.node, receiver)
    else:
        replacement = move.node.with_changes(
            func=move.node.func.with_changes(value=receiver),  # type: ignore[attr-defined]
            args=remaining,
        )

    edits = []
    if hops:
        edits.append(NodeEdit(arange.node, new_arange))
        removal = _self_assignment_removal(move.node, replacement, hops[0], parents)
        edits.append(removal if removal is not None else NodeEdit(move.node, replacement))
    else:
        edits.append(NodeEdit(move.node, replacement))
    method = "`.cuda()`" if move.method == "cuda" else "`.to()`"
    return safe_fix(f"Pass `device=` to `torch.arange` and drop the {method} copy", *edits)


def _path_to_arange(
    model: ModuleModel,
    function: FunctionModel,
    move: cst.Call,
    arange: cst.Call,
    parents: Dict[int, cst.CSTNode],
) -> Optional[List[_Hop]]:
    """Return the local names between ``move`` and ``arange``, nearest to the move first.

    Returns None when some step could change the device of the result or
    when another statement reads a value on the way.
    """
    hops: List[_Hop] = []
    node: Optional[cst.BaseExpression] = move.func.value  # type: ignore[attr-defined]
    for _ in range(24):
        if node is arange:
            return hops
        if isinstance(node, cst.Name):
            assignment = only_reaching_assignment(model, function, node, parents)
            if assignment is None:
                return None
            hops.append(_Hop(node, assignment))
            node = assignment.value
        elif isinstance(node, cst.Call):
            if not isinstance(node.func, cst.Attribute) or node.func.attr.value not in SHAPE_METHODS:
                return None
            if not all(_is_size_argument(arg) for arg in node.args):
                return None
            node = node.func.value
        elif isinstance(node, cst.Subscript):
            if not all(_is_plain_index(element.slice) for element in node.slice):
                return None
            node = node.value
        else:
            return None
    return None


def _is_size_argument(arg: cst.Arg) -> bool:
    """Return whether ``arg`` passes only sizes or dimensions, so no tensor can hide in it."""
    if arg.keyword is not None and arg.keyword.value not in ("dim", "dim0", "dim1", "size", "memory_format"):
        return False
    for node in syntax.walk(arg.value):
        if isinstance(node, cst.Call):
            method = syntax.last_name(node.func)
            if method not in ("size", "len", "int", "numel", "dim"):
                return False
    return True


def _is_plain_index(element: cst.BaseSlice) -> bool:
    """Return whether an index element is ``:``, a slice of integers, ``None``, ``...`` or an integer."""
    if isinstance(element, cst.Slice):
        return all(
            part is None or syntax.int_value(part) is not None
            for part in (element.lower, element.upper, element.step)
        )
    if isinstance(element, cst.Index):
        value = element.value
        if isinstance(value, cst.Ellipsis):
            return True
        if isinstance(value, cst.Name) and value.value == "None":
            return True
        return syntax.int_value(value) is not None
    return False


def _split_move(move: cst.Call):
    """Return ``(device, remaining args or None)`` for ``.to(...)`` or ``.cuda(...)``.

    ``remaining`` keeps the dtype and memory format of ``.to(device, dtype)``;
    it is None when nothing but the move is left. Returns None for a call
    whose device cannot be passed to ``torch.arange`` exactly.
    """
    if any(arg.star for arg in move.args):
        return None
    method = move.func.attr.value  # type: ignore[attr-defined]
    if method == "cuda":
        return _cuda_device(move)
    device: Optional[cst.BaseExpression] = None
    kept: List[cst.Arg] = []
    positional_names = ("device", "dtype", "non_blocking", "copy")
    positional_index = 0
    for arg in move.args:
        if arg.keyword is None:
            if positional_index >= len(positional_names):
                return None
            name = positional_names[positional_index]
            positional_index += 1
        else:
            name = arg.keyword.value
        if name == "device":
            device = arg.value
        elif name in COPY_ONLY_KEYWORDS:
            continue
        elif name in ("dtype", "memory_format"):
            kept.append(arg)
        else:
            return None
    if device is None:
        return None
    if not kept:
        return device, None
    cleaned = []
    for position, arg in enumerate(kept):
        if position == len(kept) - 1:
            arg = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        cleaned.append(arg)
    return device, cleaned


def _cuda_device(move: cst.Call):
    """Return the device string equal to ``.cuda()`` or ``.cuda(k)`` for a literal ``k``.

    ``.cuda()`` and ``device="cuda"`` both mean the current CUDA device. A
    device given as a variable may be an ``int``, a string or a
    ``torch.device``, which ``torch.arange`` does not all read the same way.
    """
    index: Optional[int] = None
    for position, arg in enumerate(move.args):
        name = arg.keyword.value if arg.keyword is not None else ("device", "non_blocking")[min(position, 1)]
        if name == "device":
            index = syntax.int_value(arg.value)
            if index is None:
                return None
        elif name != "non_blocking":
            return None
    text = '"cuda"' if index is None else f'"cuda:{index}"'
    return cst.SimpleString(text), None


def _device_unchanged_between(
    model: ModuleModel,
    function: FunctionModel,
    device: cst.BaseExpression,
    start: cst.CSTNode,
    end: cst.CSTNode,
) -> bool:
    """Return whether ``device`` has the same value at ``start`` as at ``end``.

    Only names and attribute chains qualify, and no statement between the two
    may assign a name they read.
    """
    if isinstance(device, cst.SimpleString):
        return True
    if syntax.dotted_name(device) is None:
        return False
    roots = {node.value for node in syntax.names_in(device)}
    first, last = model.order_of(start), model.order_of(end)
    for assignment in function.assignments:
        if not first < assignment.order < last:
            continue
        for target in assignment.targets:
            if {node.value for node in syntax.names_in(target)} & roots:
                return False
    return True


def _self_assignment_removal(
    move: cst.Call,
    replacement: cst.BaseExpression,
    hop: _Hop,
    parents: Dict[int, cst.CSTNode],
) -> Optional[NodeEdit]:
    """Delete ``x = x.to(device)`` outright, which would become ``x = x``."""
    if replacement is not hop.read:
        return None
    small = small_statement_of(move, parents)
    if not isinstance(small, cst.Assign) or small.value is not move or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if not isinstance(target, cst.Name) or target.value != hop.read.value:
        return None
    return remove_small_statement(parents[id(small)], small)
