"""PEL505: a position table indexed by a length where a slice was meant."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import length_slice
from posenc_lint.model import ClassModel, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules import _lengths
from posenc_lint.rules.base import Finding, Rule

# Tensors whose length is the position of the next token, so indexing by it is right:
# `self.pe[past_key_values.size(2)]` during step-by-step decoding.
CACHE_NAME = re.compile(
    r"past|cache|cached|memory|mems|prev|previous|history|prefix|state|offset|start|step",
    re.IGNORECASE,
)

INCREMENTAL_NAME = re.compile(r"incremental|decod", re.IGNORECASE)


class PositionIndexedNotSliced(Rule):
    """
    ## What it does
    Reports a position table indexed by a length, `pe[:, n]` or `pe[n]` where
    `n` is `x.size(k)`, `x.shape[k]`, `len(x)` or a name assigned from them
    (`b, n, _ = x.shape` included), when the result is added to `x` or to a
    value computed from `x`.

    A timestep lookup such as `self.pe[t]` in diffusion code is not a length
    and is not reported. Neither are literal indices (`pos_embed[:, 0]`, the
    class token's row) or the length of a cache or past state
    (`pe[past.size(2)]`), which is the position of the next token during
    step-by-step decoding. Methods that take a cache, state, step or
    incremental-decoding argument are skipped for the same reason.

    ## Why is this bad?
    `pe[:, n]` is the single row at position `n`, one past the last position
    of the input, not the `n` rows of `pe[:, :n]`. Broadcasting adds that one
    vector to every token, so the model gets no position information, and an
    input as long as the table fails with an index error.

    ## Example
    ```python
    import torch
    from torch import nn


    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def forward(self, x):
            b, n, _ = x.shape
            if n > self.pos_embedding.size(1):
                raise ValueError(f"input has {n} positions, more than the table holds")
            return x + self.pos_embedding[:, n]
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def forward(self, x):
            b, n, _ = x.shape
            if n > self.pos_embedding.size(1):
                raise ValueError(f"input has {n} positions, more than the table holds")
            return x + self.pos_embedding[:, :n]
    ```

    ## Fix safety
    The fix is unsafe because it changes the outputs: it turns the index into a
    slice that ends at the same length (`pe[:, n]` to `pe[:, :n]`), so each token
    gets the row of its own position. The fix is offered only when the sliced
    axis meets the input's length axis under broadcasting, which counts axes
    from the right. For a length read as `x.size(k)` with `k >= 0`, the input
    is taken to be 3-D. The row must also be an operand of arithmetic, directly,
    after `.to()` or a similar cast, or through one local name used only that
    way. Otherwise there is no fix.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL505"
    name = "position-indexed-not-sliced"
    summary = "A position table is indexed by a length where a slice was meant"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            tables = _lengths.position_tables(model, cls)
            if not tables:
                continue
            for function in cls.all_methods().values():
                if function.self_name is None or _decodes_step_by_step(function):
                    continue
                yield from _indexed_by_length(model, cls, function, tables)


def _indexed_by_length(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, tables: Set[str]
) -> Iterator[Finding]:
    written = _lengths.target_subscripts(function)
    additions = _additions(function)
    for site in function.subscripts:
        attr = _lengths.table_attribute(function, site.node.value)
        if attr not in tables or id(site.node) in written:
            continue
        for position, element in _lengths.leading_positions(site.node):
            if not isinstance(element, cst.Index):
                continue
            length = _lengths.runtime_length(model, function, element.value)
            if length is None or not re.fullmatch(r"\w+", length.receiver):
                continue
            if CACHE_NAME.search(length.receiver):
                continue
            layout = _lengths.table_layout(model, cls, attr)
            if layout is not None and (position >= len(layout) or layout[position] != "L"):
                continue
            if not _added_to_receiver(model, function, site.node, length.receiver, additions):
                continue
            index = _lengths.source_of(element.value)
            prefix = ":, " * position
            yield Finding(
                _lengths.statement_anchor(site.statement, site.node),
                f"position table `{attr}` is indexed by the length `{index}`, which selects "
                f"the single position after the last one and adds it to every token; slice "
                f"it instead: `{attr}[{prefix}:{index}]`",
                length_slice.slice_fix(model, function, site.node, element, layout, length),
            )


def _decodes_step_by_step(function: FunctionModel) -> bool:
    """Return whether the method takes a cache or step argument, as incremental decoders do.

    There the length of the tokens seen so far is the position of the next one,
    so ``pe[len(tokens)]`` can be right.
    """
    return any(
        CACHE_NAME.search(param) or INCREMENTAL_NAME.search(param) for param in function.params[1:]
    )


def _additions(function: FunctionModel) -> List[cst.CSTNode]:
    found: List[cst.CSTNode] = []
    for node in syntax.walk(function.node):
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            found.append(node)
        elif isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign):
            found.append(node)
    return found


def _added_to_receiver(
    model: ModuleModel,
    function: FunctionModel,
    subscript: cst.Subscript,
    receiver: str,
    additions: List[cst.CSTNode],
) -> bool:
    """Return whether the indexed row is added to ``receiver`` or to a value computed from it."""
    holders = _names_holding(function, subscript)
    for addition in additions:
        if isinstance(addition, cst.AugAssign):
            pairs = [(addition.value, addition.target)]
        else:
            assert isinstance(addition, cst.BinaryOperation)
            pairs = [(addition.left, addition.right), (addition.right, addition.left)]
        for operand, other in pairs:
            if not _holds(operand, subscript, holders):
                continue
            if _derives_from(model, function, other, receiver):
                return True
    return False


def _names_holding(function: FunctionModel, subscript: cst.Subscript) -> Set[str]:
    """Return local names assigned a value that contains ``subscript``."""
    names: Set[str] = set()
    for assignment in function.assignments:
        if assignment.value is None or not any(
            sub is subscript for sub in syntax.walk(assignment.value)
        ):
            continue
        for target in assignment.targets:
            if isinstance(target, cst.Name):
                names.add(target.value)
    return names


def _holds(operand: cst.CSTNode, subscript: cst.Subscript, holders: Set[str]) -> bool:
    for sub in syntax.walk(operand):
        if sub is subscript:
            return True
        if isinstance(sub, cst.Name) and sub.value in holders:
            return True
    return False


def _derives_from(
    model: ModuleModel, function: FunctionModel, node: cst.CSTNode, receiver: str
) -> bool:
    """Return whether ``node`` names ``receiver`` directly or through one local assignment."""
    for name in syntax.names_in(node):
        if name.value == receiver:
            return True
        value: Optional[cst.BaseExpression] = model.resolve(name, function)
        if value is not None and value is not name:
            if any(inner.value == receiver for inner in syntax.names_in(value)):
                return True
    return False
