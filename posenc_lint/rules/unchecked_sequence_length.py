"""PEL202: a position table used at a runtime length that nothing checks against it."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes.length_check import lookup_check_fix, slice_check_fix
from posenc_lint.model import ClassModel, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules import _lengths
from posenc_lint.rules.base import Finding, Rule

# Names that may appear in a bound without making it a runtime length.
CONSTANT_HELPERS = {"len", "min", "max", "int"}

# Methods that keep the values of a position-index tensor: `arange(n).unsqueeze(0)`.
INDEX_KEEPING_METHODS = {
    "unsqueeze",
    "expand",
    "expand_as",
    "to",
    "long",
    "view",
    "reshape",
    "repeat",
}


class UncheckedSequenceLength(Rule):
    """
    ## What it does
    Reports, in code that `forward` reaches, a position table used at a
    runtime length with no check of that length against the table's length:

    - a slice `self.pe[:, :n]` whose upper bound comes from the input,
    - an `nn.Embedding` table looked up with `torch.arange(n)` or with
      position ids sliced from a buffer by `n`,
    - a whole table added to an input whose length the method treats as
      variable, when the only length handling runs without the table.

    The length counts as checked when the method asserts it (`assert`,
    `torch._assert`), raises on it (`if ...: raise`), clamps it (`min`,
    `clamp`), or compares it in an `if` or `while`, which covers growth logic
    that rebuilds a longer table. A comparison on the forward path that
    involves the table or an attribute holding its size (`self.max_len`,
    `self.max_seq_len`) counts too. Off by default, because most models rely
    on the caller to keep inputs short enough.

    ## Why is this bad?
    Slicing past the end of a tensor does not fail: `pe[:, :n]` silently
    returns fewer than `n` rows, and the error appears later as a shape
    mismatch in an addition or a `view`. An `nn.Embedding` lookup past the end
    fails with an index error on the CPU and a device-side assert on CUDA.
    Neither message names the maximum length.

    ## Example
    ```python
    import torch
    from torch import nn


    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

        def forward(self, x):
            return x + self.pe[:, : x.size(1)]
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.max_len = max_len
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

        def forward(self, x):
            if x.size(1) > self.max_len:
                raise ValueError(
                    f"input has {x.size(1)} positions, more than max_len={self.max_len}"
                )
            return x + self.pe[:, : x.size(1)]
    ```

    ## Fix safety
    The fix is safe. Right before the statement that computes the length, it
    inserts `if x.size(1) > self.pe.size(1): raise ValueError(...)` with a
    message that names both numbers and the table. A slice is compared with
    the table's size along the sliced axis, an `nn.Embedding` lookup of
    `torch.arange(n)` ids with `num_embeddings`. When the ids are sliced from
    a buffer, `self.position_ids[:, start:end]`, the check goes before that
    slice and compares `end` with the buffer's size, because a longer slice
    returns fewer ids than positions. Inputs that fit run as before. A longer input,
    which used to get a shorter table and fail later with a shape error (or an
    index error), now raises the `ValueError` first.

    No fix is offered for the whole-table addition, which needs a slice as
    well as a check. The length must be an expression that can be evaluated
    twice with the same result: names, attributes, integers, arithmetic,
    `x.size(k)`, `x.shape[k]` or `len(x)`. There is no fix when the use sits
    in a conditional expression, `and`/`or`, a lambda, a comprehension, a
    `while` test or a `try` block. Nor is there one when the position ids
    reach the lookup through arithmetic, indexing, or a name that another
    statement also reads. Only one check is inserted per table and length in
    a method.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL202"
    name = "unchecked-sequence-length"
    summary = "A position table is sliced or looked up by a runtime length with no length check"
    default_enabled = False

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            tables = _lengths.position_tables(model, cls)
            if not tables:
                continue
            methods = cls.all_methods()
            for name in sorted(cls.forward_reachable):
                function = methods.get(name)
                if function is None or function.self_name is None:
                    continue
                yield from _unchecked_slices(model, cls, function, tables)
                yield from _unchecked_lookups(model, cls, function, tables)
                yield from _whole_table_additions(model, cls, function, tables)


def _unchecked_slices(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, tables: Set[str]
) -> Iterator[Finding]:
    written = _lengths.target_subscripts(function)
    # One inserted check covers every later use of the same length in the method.
    offered: Set[str] = set()
    for site in function.subscripts:
        attr = _lengths.table_attribute(function, site.node.value)
        if attr not in tables or id(site.node) in written:
            continue
        for position, element in _lengths.leading_positions(site.node):
            if not isinstance(element, cst.Slice) or element.upper is None:
                continue
            bound = element.upper
            if not _is_runtime(function, bound):
                continue
            if _lengths.is_checked(model, cls, function, attr, bound):
                continue
            fix = slice_check_fix(model, function, site, position, bound, attr)
            key = f"{attr} {_lengths.source_of(bound)}"
            if key in offered:
                fix = None
            elif fix is not None:
                offered.add(key)
            yield Finding(
                _lengths.statement_anchor(site.statement, site.node),
                f"position table `{attr}` is sliced by the runtime length "
                f"`{_lengths.source_of(bound)}` with no check against its length, so a "
                "longer input gets a shorter table and fails later with a shape error; "
                "raise a `ValueError` when the length exceeds the table's length",
                fix,
            )


def _unchecked_lookups(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, tables: Set[str]
) -> Iterator[Finding]:
    offered: Set[str] = set()
    for call in function.calls:
        attr = function.self_attribute(call.node.func)
        if attr not in tables or not _lengths.is_embedding(model, cls, attr):
            continue
        positional = syntax.positional_args(call.node)
        if not positional:
            continue
        bound = _position_bound(model, function, positional[0])
        if bound is None or not _is_runtime(function, bound):
            continue
        if _lengths.is_checked(model, cls, function, attr, bound):
            continue
        fix = lookup_check_fix(model, function, call, attr)
        key = f"{attr} {_lengths.source_of(bound)}"
        if key in offered:
            fix = None
        elif fix is not None:
            offered.add(key)
        yield Finding(
            _lengths.statement_anchor(call.statement, call.node),
            f"position table `{attr}` is looked up with positions up to the runtime length "
            f"`{_lengths.source_of(bound)}` with no check against its number of rows, so a "
            "longer input fails with an index error (a device-side assert on CUDA); "
            "raise a `ValueError` when the length exceeds the table's length",
            fix,
        )


def _position_bound(
    model: ModuleModel, function: FunctionModel, node: cst.BaseExpression
) -> Optional[cst.BaseExpression]:
    """Return the length that bounds the position ids ``node`` holds, if it shows.

    ``torch.arange(n) + offset`` is bounded by ``n``, and
    ``self.position_ids[:, start:start + n]`` by ``start + n``.
    """
    current: Optional[cst.BaseExpression] = node
    for _ in range(12):
        current = model.resolve(current, function)
        if isinstance(current, cst.BinaryOperation):
            left = _position_bound(model, function, current.left)
            return left if left is not None else _position_bound(model, function, current.right)
        if isinstance(current, cst.Subscript):
            attr = _lengths.table_attribute(function, current.value)
            if attr is not None and _lengths.POSITION_IDS_NAME.search(attr):
                for _, element in _lengths.leading_positions(current):
                    if isinstance(element, cst.Slice) and element.upper is not None:
                        return element.upper
                return None
            current = current.value
            continue
        if not isinstance(current, cst.Call):
            return None
        if model.qualname(current.func) == "torch.arange":
            positional = syntax.positional_args(current)
            if len(positional) == 1:
                return positional[0]
            if len(positional) >= 2:
                return positional[1]
            return syntax.keyword_arg(current, "end")
        if isinstance(current.func, cst.Attribute) and (
            current.func.attr.value in INDEX_KEEPING_METHODS
        ):
            current = current.func.value
            continue
        return None
    return None


def _whole_table_additions(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, tables: Set[str]
) -> Iterator[Finding]:
    """Find ``x += self.pos`` where the method handles a varying length only without the table."""
    for assignment in function.assignments:
        node = assignment.node
        found = None
        if isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign):
            found = (node.target, node.value)
        elif isinstance(node, cst.Assign) and isinstance(node.value, cst.BinaryOperation):
            operation = node.value
            if isinstance(operation.operator, cst.Add):
                if _lengths.table_attribute(function, operation.right) in tables:
                    found = (operation.left, operation.right)
                else:
                    found = (operation.right, operation.left)
        if found is None:
            continue
        target, table = found
        attr = _lengths.table_attribute(function, table)
        if attr not in tables or not isinstance(target, cst.Name):
            continue
        if not _length_varies_without_table(model, function, target.value, attr):
            continue
        if _checked_on_forward_path(model, cls, function, attr):
            continue
        yield Finding(
            _lengths.statement_anchor(assignment.statement, node),
            f"the whole position table `{attr}` is added to `{target.value}`, whose length "
            "this method treats as variable, and no check compares that length with the "
            "table's; slice the table to the input's length after checking it",
        )


def _length_varies_without_table(
    model: ModuleModel, function: FunctionModel, receiver: str, attr: str
) -> bool:
    """Return whether the method compares the length of ``receiver`` only without the table."""
    comparisons = [
        test
        for test in _lengths.check_tests(model, function)
        if _lengths.has_comparison(test)
        and any(
            length is not None and length.receiver == receiver
            for length in map(_lengths.length_of, syntax.walk(test))
        )
    ]
    if not comparisons:
        return False
    return all(_lengths.requires_table_absent(function, test, attr) for test in comparisons)


def _checked_on_forward_path(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, attr: str
) -> bool:
    if _lengths.rebuilt_on_forward_path(cls, attr):
        return True
    methods = cls.all_methods()
    for name in cls.forward_reachable | {function.name}:
        other = methods.get(name)
        if other is None:
            continue
        for test in _lengths.check_tests(model, other):
            if _lengths.requires_table_absent(other, test, attr):
                continue
            if not _lengths.has_comparison(test):
                continue
            if any(other.self_attribute(sub) == attr for sub in syntax.walk(test)):
                return True
    return False


def _is_runtime(function: FunctionModel, bound: cst.BaseExpression) -> bool:
    """Return whether ``bound`` depends on something other than literals and ``self``."""
    if _lengths.literal_int(bound) is not None:
        return False
    for name in syntax.names_in(bound):
        if name.value == function.self_name or name.value in CONSTANT_HELPERS:
            continue
        if name.value in ("None", "True", "False"):
            continue
        return True
    return False
