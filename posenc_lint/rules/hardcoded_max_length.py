"""PEL201: a position table whose length is an integer literal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes.max_length import LiteralLength, max_length_fix
from posenc_lint.model import (
    AttributeWrite,
    ClassModel,
    FunctionModel,
    ModuleModel,
    iter_module_classes,
)
from posenc_lint.rules import _lengths
from posenc_lint.rules.base import Finding, Rule

# Parameters of a table builder that take the number of positions, and those that
# take a width even when they match the first pattern (`max_len_dim`).
LENGTH_PARAMETER = re.compile(
    r"len|length|position|n_pos|num_pos|max_pos|seq|ctx|context|tokens|n_steps|num_steps",
    re.IGNORECASE,
)
WIDTH_PARAMETER = re.compile(
    r"dim|d_model|width|hidden|channel|feat|embed|d_hid|size_per|timestep", re.IGNORECASE
)

# Literal lengths below this are not reported: a one-row table is a token, not a table.
MIN_REPORTED_LENGTH = 2


@dataclass(frozen=True)
class HardcodedLength:
    attr: str
    length: int
    node: cst.CSTNode
    source: str  # how the literal reaches the table, for the message
    # The literal expression itself, which the fix replaces; None when it cannot.
    literal: Optional[cst.BaseExpression] = None


class HardcodedMaxLength(Rule):
    """
    ## What it does
    Reports a position table whose length is an integer literal:
    `nn.Parameter(torch.randn(1, 1024, d))`, `nn.Embedding(2048, d)` for
    positions, `torch.zeros(5000, d)` in a sinusoid builder, a call such as
    `sinusoid_table(1024, d)` to a sin/cos builder in the same file, or
    `torch.arange(512)` registered as the position ids.

    The length axis comes from the rank of the creation shape: `(L, d)` has
    its length at axis 0, `(1, L, d)` at axis 1 and `(L, 1, d)` at axis 0.
    Other shapes, 2-d grids included, are skipped. Widths and the sizes of
    other layers (`nn.Linear(1024, 1024)`) are not lengths, and a length taken
    from a constructor argument, even one with a literal default such as
    `max_len=5000`, or from a config field is not hard-coded. Relative position
    tables, which are sized by offsets or buckets, are skipped.

    ## Why is this bad?
    The maximum input length is buried in the layer's code. It
    cannot be changed from the configuration, it does not show up in the
    checkpoint's config, and an input one position longer fails with a shape
    error (or, for `nn.Embedding`, an index error) far from the cause.

    ## Example
    ```python
    import torch
    from torch import nn


    class PatchEmbed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(1, 196, dim) * 0.02)

        def forward(self, x):
            return x + self.pos_embed
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class PatchEmbed(nn.Module):
        def __init__(self, dim, num_patches=196):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(1, num_patches, dim) * 0.02)

        def forward(self, x):
            return x + self.pos_embed
    ```

    ## Fix safety
    The fix is safe. It adds a keyword parameter whose default is the literal
    to `__init__`, as in `def __init__(self, dim, max_len=1024)`. The
    parameter goes after `*` when the signature has one, and is annotated
    `int` when the other parameters are annotated. The parameter's name then
    replaces the literal in every table length of that value in `__init__`,
    and in `self.max_len = 1024`-style attributes that store it. Every
    existing call builds the same table, so outputs, `state_dict` keys and
    shapes stay the same.

    The name is the class's own length attribute when `__init__` stores the
    literal in one (`self.max_seq_len = 512` gives `max_seq_len`), else the
    length parameter name other classes in the file use (`max_len`,
    `max_position_embeddings`, `n_ctx`, ...), else `max_len`, skipping any
    name `__init__` already uses. An existing parameter is never reused: a
    caller passing a different value would get a table of another shape, and
    old checkpoints would stop loading.

    No fix is offered when the literal is outside `__init__` (in a helper
    method), when `__init__` takes `**kwargs` (a caller's `max_len=` keyword
    would change destination) or positional-only parameters, when the class's
    tables in `__init__` have different literal lengths, or when another
    method of the class uses the same number, which the new parameter would
    not reach.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL201"
    name = "hardcoded-max-length"
    summary = "A position table's length is an integer literal"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            if _lengths.RELATIVE_NAME.search(cls.name):
                continue
            tables = _lengths.position_tables(model, cls)
            reported = []
            for write in cls.writes:
                if not write.attr or _lengths.RELATIVE_NAME.search(write.attr):
                    continue
                if write.attr in tables:
                    found = _table_length(model, cls, write)
                elif _lengths.POSITION_IDS_NAME.search(write.attr):
                    found = _position_ids_length(model, write)
                else:
                    found = None
                if found is None:
                    continue
                reported.append((write, found))
            literals = [
                LiteralLength(write, found.literal, found.length)
                for write, found in reported
                if found.literal is not None
            ]
            for write, found in reported:
                fix = None
                if found.literal is not None:
                    fix = max_length_fix(model, cls, LiteralLength(write, found.literal, found.length), literals)
                yield Finding(
                    found.node,
                    f"position table `{found.attr}` has the hard-coded length "
                    f"{found.length} ({found.source}), so a longer input fails far from "
                    "here; take the length from a constructor argument or the config, "
                    "for example `max_len`",
                    fix,
                )


def _table_length(
    model: ModuleModel, cls: ClassModel, write: AttributeWrite
) -> Optional[HardcodedLength]:
    function = write.function
    value = model.resolve(write.value, function)

    if isinstance(value, cst.Call) and model.qualname(value.func) == "torch.nn.Embedding":
        rows = syntax.argument(value, 0, "num_embeddings")
        length = _lengths.literal_int(rows)
        if length is not None and length >= MIN_REPORTED_LENGTH:
            return HardcodedLength(write.attr, length, write.node, "`nn.Embedding` rows", rows)
        return None

    factory = _lengths.find_factory(model, function, write.value)
    if factory is not None:
        found = _factory_length(model, function, write, factory)
        if found is not None:
            return found

    return _builder_length(model, function, write)


def _factory_length(
    model: ModuleModel, function: FunctionModel, write: AttributeWrite, factory: cst.Call
) -> Optional[HardcodedLength]:
    literal: Optional[cst.BaseExpression] = None
    if model.qualname(factory.func) == "torch.arange":
        length = _arange_length(factory)
        literal = _arange_end(factory)
        source = "`torch.arange` end"
    else:
        shape = _lengths.shape_arguments(model, factory)
        if shape is None:
            return None
        axis = _lengths.length_axis(shape)
        if axis is None or _length_named_elsewhere(shape, axis):
            return None
        length = _lengths.literal_int(shape[axis])
        literal = shape[axis]
        source = f"axis {axis} of the creation shape"
    if length is None or length < MIN_REPORTED_LENGTH:
        return None
    anchor = _anchor_of(function, factory, write)
    return HardcodedLength(write.attr, length, anchor, source, literal)


def _length_named_elsewhere(shape: List[cst.BaseExpression], axis: int) -> bool:
    """Return whether another axis is sized by a length-like name, as in ``(512, max_len)``.

    Then the table is laid out differently from what the rank suggests, and the
    literal is its width.
    """
    for index, size in enumerate(shape):
        if index == axis:
            continue
        for name in syntax.names_in(size):
            if LENGTH_PARAMETER.search(name.value) and not WIDTH_PARAMETER.search(name.value):
                return True
        if isinstance(size, cst.Attribute) and LENGTH_PARAMETER.search(size.attr.value):
            return True
    return False


def _arange_length(call: cst.Call) -> Optional[int]:
    """Return the number of values ``torch.arange(end)`` or ``torch.arange(0, end)`` makes."""
    positional = syntax.positional_args(call)
    if syntax.keyword_arg(call, "step") is not None or len(positional) > 2:
        return None
    if len(positional) == 2:
        start = _lengths.literal_int(positional[0])
        end = _lengths.literal_int(positional[1])
        if start is None or end is None:
            return None
        return end - start
    end = positional[0] if positional else syntax.keyword_arg(call, "end")
    return _lengths.literal_int(end)


def _arange_end(call: cst.Call) -> Optional[cst.BaseExpression]:
    """Return the end of ``torch.arange(end)`` or ``torch.arange(0, end)``, the literal a fix replaces."""
    positional = syntax.positional_args(call)
    if syntax.keyword_arg(call, "step") is not None or syntax.keyword_arg(call, "start") is not None:
        return None
    if len(positional) == 2 and _lengths.literal_int(positional[0]) == 0:
        return positional[1]
    if len(positional) == 1:
        return positional[0]
    if not positional:
        return syntax.keyword_arg(call, "end")
    return None


def _position_ids_length(model: ModuleModel, write: AttributeWrite) -> Optional[HardcodedLength]:
    factory = _lengths.find_factory(model, write.function, write.value)
    if factory is None or model.qualname(factory.func) != "torch.arange":
        return None
    length = _arange_length(factory)
    if length is None or length < MIN_REPORTED_LENGTH:
        return None
    anchor = _anchor_of(write.function, factory, write)
    source = "`torch.arange` end of the position ids"
    return HardcodedLength(write.attr, length, anchor, source, _arange_end(factory))


def _builder_length(
    model: ModuleModel, function: FunctionModel, write: AttributeWrite
) -> Optional[HardcodedLength]:
    """Find a call to an in-file sin/cos builder that passes a literal length."""
    for call in _calls_in_value(model, function, write.value):
        callee = model.callee_function(call, function)
        if callee is None or callee is function or not callee.is_sinusoid_builder(model):
            continue
        params = list(callee.params)
        if callee.self_name is not None and params:
            params = params[1:]
        for index, param in enumerate(params):
            if not LENGTH_PARAMETER.search(param) or WIDTH_PARAMETER.search(param):
                continue
            argument = syntax.argument(call, index, param)
            length = _lengths.literal_int(argument)
            if length is not None and length >= MIN_REPORTED_LENGTH:
                anchor = _anchor_of(function, call, write)
                source = f"argument `{param}` of `{callee.name}`"
                return HardcodedLength(write.attr, length, anchor, source, argument)
    return None


def _calls_in_value(
    model: ModuleModel, function: FunctionModel, value: Optional[cst.BaseExpression]
) -> List[cst.Call]:
    """Return the calls ``value`` is computed from, following local names."""
    calls: List[cst.Call] = []
    pending = [value] if value is not None else []
    seen = set()
    while pending and len(seen) < 64:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for sub in syntax.walk(node):
            if isinstance(sub, cst.Call):
                calls.append(sub)
            elif isinstance(sub, cst.Name):
                resolved = model.resolve(sub, function)
                if resolved is not sub and resolved is not None:
                    pending.append(resolved)
    return calls


def _anchor_of(function: FunctionModel, node: cst.CSTNode, write: AttributeWrite) -> cst.CSTNode:
    """Return the statement that contains the literal, else the attribute write."""
    for call in function.calls:
        if call.node is node:
            return _lengths.statement_anchor(call.statement, write.node)
    return write.node
