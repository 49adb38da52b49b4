"""PEL501: sin and cos applied to alternate columns of a half-width angle grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import sinusoid_values
from posenc_lint.model import Assignment, FunctionModel, ModuleModel
from posenc_lint.rules._sinusoid import (
    FrequencyVector,
    frequency_source,
    has_ellipsis,
    step_two_start,
    trig_call,
)
from posenc_lint.rules.base import Finding, Rule

OUTER_PRODUCTS = {
    "torch.outer",
    "torch.ger",
    "torch.einsum",
    "torch.matmul",
    "numpy.outer",
    "numpy.einsum",
    "numpy.matmul",
}


@dataclass(frozen=True)
class AngleGrid:
    """``name = position * frequencies`` where the frequencies come one per sin/cos pair."""

    name: str
    value: cst.BaseExpression
    frequencies: FrequencyVector


class HalfWidthSinusoid(Rule):
    """
    ## What it does
    Reports a sinusoid table built from the angle grid `position * div_term`
    when `div_term` contains one frequency per sin/cos pair (`torch.arange(0, d, 2)`
    or `torch.arange(d // 2)`) and sin and cos are then applied to alternate
    columns of that same grid: `angles[:, 0::2]` and `angles[:, 1::2]`.

    The grid may come from `*`, `@`, `torch.outer` or `torch.einsum`. The
    `arange` must reach the grid's last dimension through an exponent (`**`,
    `exp` or `pow`), as frequencies do, and may pass through local names,
    arithmetic and dtype casts on the way. An `arange` made into a column with
    `unsqueeze(1)` or `[:, None]` contains positions and does not count. Any
    function counts, not only `nn.Module` methods, but code at module level
    is not checked.

    A grid whose columns already repeat each frequency twice, such as the
    list comprehension `p / 10000 ** (2 * (i // 2) / d) for i in range(d)`,
    is the correct form of this pattern and is not reported.

    ## Why is this bad?
    The grid has only `d // 2` columns, one per frequency. Slicing it by two
    keeps the even frequencies for sin and the odd ones for cos, so the table
    ends up `d // 2` wide instead of `d`, and each sin/cos pair mixes two
    frequencies. Adding it to a `d`-wide input fails, or broadcasts into a
    table that does not encode position as intended.

    ## Example
    ```python
    import math

    import torch


    def sinusoidal_init(num, d):
        position = torch.arange(num).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
        angles = position * div_term
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    ```

    ## Use instead
    ```python
    import math

    import torch


    def sinusoidal_init(num, d):
        if d % 2 != 0:
            raise ValueError(f"d must be even for sin/cos pairs, got {d}")
        position = torch.arange(num).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
        angles = position * div_term
        table = torch.zeros(num, d)
        table[:, 0::2] = torch.sin(angles)
        table[:, 1::2] = torch.cos(angles)
        return table
    ```

    ## Fix safety
    The fix is unsafe: the table becomes `d` wide instead of `d // 2`, and every
    value changes. When sin and cos are written back into the grid itself, the
    fix creates `table = angles.new_zeros(n, d)` just before the first write.
    It writes `sin(angles)` into the even columns of `table` and `cos(angles)`
    into its odd ones, and reads `table` wherever the code read `angles` after
    the writes.
    When they are written into a separate table whose width is the `d` of the
    frequencies, it only drops the `0::2` and `1::2` slices of `angles`.

    There is no fix when sin and cos are not each written by a statement of
    its own (`torch.cat` of the two, for example), when the grid's rows do not
    come from `torch.arange(n)` made a column or passed to `torch.outer`, when
    the grid is read or assigned again between the writes, or when the grid
    and the writes are not in the function's top-level block.

    ## Options
    None.
    """

    code = "PEL501"
    name = "half-width-sinusoid"
    summary = "sin and cos are applied to alternate columns of a grid with one frequency per pair"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for function in model.all_functions:
            yield from self._check_function(model, function)

    def _check_function(self, model: ModuleModel, function: FunctionModel) -> Iterator[Finding]:
        grids: Dict[int, AngleGrid] = {}
        for assignment in function.assignments:
            grid = _angle_grid(model, function, assignment)
            if grid is not None:
                grids[id(grid.value)] = grid
        if not grids:
            return

        # For each grid, the sin of its even columns and the cos of its odd columns.
        uses: Dict[int, Dict[str, List[cst.Call]]] = {}
        for call in function.calls:
            found = _trig_of_alternate_columns(model, function, call.node, grids)
            if found is not None:
                grid, kind = found
                uses.setdefault(id(grid.value), {}).setdefault(kind, []).append(call.node)

        for key, kinds in uses.items():
            if "sin" not in kinds or "cos" not in kinds:
                continue
            grid = grids[key]
            first = min(kinds["sin"] + kinds["cos"], key=model.order_of)
            fix = sinusoid_values.full_width_fix(
                model,
                function,
                grid.name,
                grid.value,
                grid.frequencies,
                kinds["sin"],
                kinds["cos"],
            )
            yield Finding(_anchor(function, first), _message(grid), fix)


def _angle_grid(
    model: ModuleModel, function: FunctionModel, assignment: Assignment
) -> Optional[AngleGrid]:
    if assignment.augmented or len(assignment.targets) != 1:
        return None
    target = assignment.targets[0]
    value = assignment.value
    if not isinstance(target, cst.Name) or value is None:
        return None
    if isinstance(value, cst.BinaryOperation):
        if not isinstance(value.operator, (cst.Multiply, cst.MatrixMultiply)):
            return None
    elif model.call_qualname(value) not in OUTER_PRODUCTS:
        return None
    frequencies = frequency_source(model, value, function)
    if frequencies is None:
        return None
    return AngleGrid(target.value, value, frequencies)


def _trig_of_alternate_columns(
    model: ModuleModel, function: FunctionModel, call: cst.Call, grids: Dict[int, AngleGrid]
) -> Optional[Tuple[AngleGrid, str]]:
    """Return the grid and "sin" for ``sin(grid[:, 0::2])``, or "cos" for ``cos(grid[:, 1::2])``."""
    trig = trig_call(model, call)
    if trig is None or not isinstance(trig.operand, cst.Subscript):
        return None
    sliced = trig.operand.value
    if not isinstance(sliced, cst.Name):
        return None
    if len(syntax.subscript_elements(trig.operand)) < 2 and not has_ellipsis(trig.operand):
        return None
    expected_start = {"sin": 0, "cos": 1}[trig.kind]
    if step_two_start(trig.operand) != expected_start:
        return None
    grid = grids.get(id(model.resolve(sliced, function)))
    if grid is None:
        return None
    return grid, trig.kind


def _anchor(function: FunctionModel, call: cst.Call) -> cst.CSTNode:
    """Return the small statement that contains ``call``, so the span starts on its line."""
    for site in function.calls:
        if site.node is call and isinstance(site.statement, cst.SimpleStatementLine):
            return site.statement
    return call


def _message(grid: AngleGrid) -> str:
    source = cst.Module(body=[]).code_for_node(grid.frequencies.call)
    return (
        f"`{grid.name}` has one angle per sin/cos pair because its frequencies come from "
        f"`{source}`, so sin of `{grid.name}[:, 0::2]` and cos of `{grid.name}[:, 1::2]` "
        "give a table half as wide as intended, with mismatched pairs; apply sin and cos "
        f"to all of `{grid.name}` and write them into the even and odd columns of a full-width table"
    )
