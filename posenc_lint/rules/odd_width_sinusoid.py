"""PEL502: a sin or cos half of a sinusoid table that cannot be built for an odd width."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes.odd_width import cos_slice_fix
from posenc_lint.model import Assignment, FunctionModel, ModuleModel
from posenc_lint.rules._sinusoid import (
    AngleReader,
    FrequencyVector,
    frequency_source,
    has_ellipsis,
    is_even_size,
    last_names,
    parity_checked_names,
    step_two_start,
    table_sizes,
    trig_call,
)
from posenc_lint.rules.base import Finding, Rule

# For each first column of a `0::2` or `1::2` slice, the frequency vector that
# misses its column count by one when the width is odd.
MISFIT_KIND = {0: "half", 1: "step"}


class OddWidthSinusoid(Rule):
    """
    ## What it does
    Reports `pe[:, 1::2] = torch.cos(position * div_term)` when `pe` is created
    in the same function with width `d` and `div_term` comes from
    `torch.arange(0, d, 2)`, with nothing that makes the odd case work. The
    mirror case, `pe[:, 0::2] = torch.sin(position * div_term)` with `div_term`
    from `torch.arange(d // 2)`, is reported too. The `arange` must reach the
    sin or cos through an exponent, as in
    `torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))`.

    It stays quiet when the file tests the width for evenness anywhere: `d % 2`
    or `d & 1` on a name that the width also uses, in an `assert`, an `if` or a
    conditional expression. It also stays quiet when the width is an even
    literal or a multiple of two, when the frequencies are sliced before the
    sin or cos, and when it cannot see where `pe` is created or with what
    width. Numpy spellings count as well.

    The rule is off by default because most models only ever use even widths;
    enable it for code that takes the width from users.

    ## Why is this bad?
    `torch.arange(0, d, 2)` has `ceil(d / 2)` elements, but `pe[:, 1::2]` has
    only `floor(d / 2)` columns; `torch.arange(d // 2)` has `floor(d / 2)`
    elements, but `pe[:, 0::2]` has `ceil(d / 2)` columns. For an odd `d` the
    assignment raises a shape mismatch error, at model construction or, for
    tables built lazily, at the first long input.

    ## Example
    ```python
    import math

    import torch


    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    ```

    ## Use instead
    ```python
    import math

    import torch


    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        return pe
    ```

    ## Fix safety
    The fix is safe. In the first case it slices the cos term to `d // 2`
    columns: `pe[:, 1::2] = torch.cos(position * div_term)[..., : d // 2]`.
    For an even `d` the slice keeps every column, so the table and the outputs
    do not change. For an odd `d` the construction stops failing, and each
    cos column uses the frequency of the sin column before it, as for even
    widths.

    No fix is offered for the mirror case, `arange(d // 2)` on the sin
    columns, which has one frequency too few rather than one too many. Nor is
    one offered when `d` is not a name, an attribute, an integer or arithmetic
    on those, or when a name it reads is assigned between the `arange` and the
    table assignment.

    ## Options
    None.
    """

    code = "PEL502"
    name = "odd-width-sinusoid"
    summary = "One half of a sinusoid table does not fit its columns when the width is odd"
    default_enabled = False

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        checked: Optional[Set[str]] = None
        for function in model.all_functions:
            for assignment in function.assignments:
                mismatch = _odd_width_mismatch(model, function, assignment)
                if mismatch is None:
                    continue
                if checked is None:
                    checked = parity_checked_names(model)
                if last_names(mismatch.width) & checked:
                    continue
                fix = None
                if mismatch.kind == "step":
                    fix = cos_slice_fix(model, function, assignment, mismatch.call, mismatch.width)
                yield Finding(assignment.node, _message(assignment, mismatch), fix)


def _odd_width_mismatch(
    model: ModuleModel, function: FunctionModel, assignment: Assignment
) -> Optional[FrequencyVector]:
    """Return the frequencies when ``assignment`` cannot fit a table of odd width.

    ``pe[:, 1::2]`` has ``d // 2`` columns, which ``arange(0, d, 2)`` overfills
    by one; ``pe[:, 0::2]`` has ``(d + 1) // 2``, which ``arange(d // 2)``
    leaves one short.
    """
    if assignment.augmented or len(assignment.targets) != 1:
        return None
    target = assignment.targets[0]
    if not isinstance(target, cst.Subscript):
        return None
    start = step_two_start(target)
    if start is None:
        return None
    trig = trig_call(model, assignment.value)
    if trig is None:
        return None
    frequencies = frequency_source(model, trig.operand, function)
    if frequencies is None or frequencies.kind != MISFIT_KIND[start]:
        return None

    sizes = table_sizes(model, target.value, function)
    if sizes is None:
        return None
    if len(sizes) != len(syntax.subscript_elements(target)) and not has_ellipsis(target):
        return None
    if not _same_width(model, function, sizes[-1], frequencies.width):
        return None
    if is_even_size(model, frequencies.width, function):
        return None
    return frequencies


def _same_width(
    model: ModuleModel,
    function: FunctionModel,
    table_width: cst.BaseExpression,
    frequency_width: cst.BaseExpression,
) -> bool:
    reader = AngleReader(model, function)
    if reader.text(table_width) == reader.text(frequency_width):
        return True
    return reader.text(model.resolve(table_width, function) or table_width) == reader.text(
        model.resolve(frequency_width, function) or frequency_width
    )


def _message(assignment: Assignment, frequencies: FrequencyVector) -> str:
    module = cst.Module(body=[])
    target = module.code_for_node(assignment.targets[0])
    width = module.code_for_node(frequencies.width)
    source = module.code_for_node(frequencies.call)
    if frequencies.kind == "step":
        return (
            f"`{target}` has `{width} // 2` columns but `{source}` gives one frequency more "
            f"when `{width}` is odd, so this assignment fails for odd widths; slice the "
            f"cos term to `[..., : {width} // 2]` here, or check that `{width}` is even"
        )
    return (
        f"`{target}` has `({width} + 1) // 2` columns but `{source}` gives one frequency "
        f"fewer when `{width}` is odd, so this assignment fails for odd widths; take the "
        f"frequencies from `arange(0, {width}, 2)`, or check that `{width}` is even"
    )
