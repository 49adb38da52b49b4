"""PEL503: the sin and cos of one column pair computed at different frequencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Iterator, List, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import sinusoid_values
from posenc_lint.model import Assignment, FunctionModel, ModuleModel
from posenc_lint.rules._sinusoid import (
    AngleReader,
    TrigCall,
    same_value,
    sample_environments,
    trig_call,
)
from posenc_lint.rules.base import Finding, Rule


@dataclass(frozen=True)
class TrigWrite:
    """``table[..., column] = sin(angle)`` or the same with cos."""

    assignment: Assignment
    target: cst.Subscript
    trig: TrigCall


@dataclass(frozen=True)
class ColumnPair:
    """The canonical texts of the column indices ``c`` and ``c + 1``, and the names in ``c``."""

    even: str
    odd: str
    names: FrozenSet[str]


class MismatchedSinusoidPair(Rule):
    """
    ## What it does
    Reports `pe[pos, i + 1] = cos(angle)` when its partner
    `pe[pos, i] = sin(angle)` in the same function uses a different angle.
    The usual case is the cos exponent written with its own column, `i + 1`,
    where the sin uses `i`:
    `math.cos(pos / (10000 ** ((2 * (i + 1)) / d)))`.

    Columns pair up when every index but one is the same and the other one
    is `c` for one statement and `c + 1` for the other (`i` and `i + 1`, or
    `2 * i` and `2 * i + 1`), where `c` reads a name such as a loop variable.
    The sin and cos may be `math`, numpy or torch functions, and the order
    within the pair does not matter. Angles are compared after replacing local
    names with the arithmetic assigned to them. The rule reports when the
    second angle is the first with `c` replaced by `c + 1`, or when both
    angles are arithmetic over the same names, the column's included, and
    evaluate to different values for sample whole-number inputs. Angles that
    read names the other one lacks are not compared, and neither are angles
    that read the column inside a lookup such as `freq[i]`, because the
    looked-up values may repeat each frequency for both columns.

    ## Why is this bad?
    A sinusoid position table encodes each frequency as a (sin, cos) pair, so
    that moving by a fixed offset rotates every pair by a fixed angle. With a
    different frequency in the cos, the pairs are no longer rotations, relative
    positions are no longer linear functions of the table, and the table no
    longer matches the one pretrained weights expect.

    ## Example
    ```python
    import math

    import torch


    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        for pos in range(max_len):
            for i in range(0, d_model, 2):
                pe[pos, i] = math.sin(pos / (10000 ** ((2 * i) / d_model)))
                pe[pos, i + 1] = math.cos(pos / (10000 ** ((2 * (i + 1)) / d_model)))
        return pe
    ```

    ## Use instead
    ```python
    import math

    import torch


    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        for pos in range(max_len):
            for i in range(0, d_model, 2):
                angle = pos / (10000 ** (i / d_model))
                pe[pos, i] = math.sin(angle)
                pe[pos, i + 1] = math.cos(angle)
        return pe
    ```

    ## Fix safety
    The fix is unsafe: it gives the odd column's sin or cos a copy of the even
    column's angle, which changes the values in every odd column, and deletes
    the assignment of a local angle name that nothing reads any more. There is
    no fix when the two writes are in different blocks, when a name the even
    angle reads is assigned between them, or when the even angle calls
    something other than a `math`, numpy or torch function.

    ## Options
    None.
    """

    code = "PEL503"
    name = "mismatched-sinusoid-pair"
    summary = "The sin and cos of one column pair use different frequencies"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for function in model.all_functions:
            writes = _trig_writes(model, function)
            if len(writes) < 2:
                continue
            reader = AngleReader(model, function)
            reported = set()
            for first in writes:
                for second in writes:
                    if first.trig.kind == second.trig.kind:
                        continue
                    columns = _paired_columns(reader, first.target, second.target)
                    if columns is None:
                        continue
                    if id(second.assignment.node) in reported:
                        continue
                    if _different_angles(reader, first.trig.operand, second.trig.operand, columns):
                        reported.add(id(second.assignment.node))
                        fix = sinusoid_values.pair_fix(
                            model,
                            function,
                            first.assignment,
                            first.trig.operand,
                            second.assignment,
                            second.trig.operand,
                        )
                        yield Finding(second.assignment.node, _message(first, second), fix)


def _trig_writes(model: ModuleModel, function: FunctionModel) -> List[TrigWrite]:
    writes = []
    for assignment in function.assignments:
        if assignment.augmented or len(assignment.targets) != 1:
            continue
        target = assignment.targets[0]
        if not isinstance(target, cst.Subscript):
            continue
        trig = trig_call(model, assignment.value, allow_methods=False)
        if trig is not None:
            writes.append(TrigWrite(assignment, target, trig))
    return writes


def _paired_columns(
    reader: AngleReader, even: cst.Subscript, odd: cst.Subscript
) -> Optional[ColumnPair]:
    """Return the column pair when ``odd`` indexes the column after ``even``.

    The column index must read a name, as a loop variable does, so the literal
    indices of a rotation matrix never pair up.
    """
    if reader.text(even.value) != reader.text(odd.value):
        return None
    even_elements = syntax.subscript_elements(even)
    odd_elements = syntax.subscript_elements(odd)
    if len(even_elements) != len(odd_elements):
        return None
    pair: Optional[ColumnPair] = None
    for even_element, odd_element in zip(even_elements, odd_elements):
        if not isinstance(even_element, cst.Index) or not isinstance(odd_element, cst.Index):
            if _slice_text(reader, even_element) != _slice_text(reader, odd_element):
                return None
            continue
        even_text = reader.text(even_element.value)
        odd_text = reader.text(odd_element.value)
        if even_text == odd_text:
            continue
        if pair is not None or odd_text != f"({even_text} + 1.0)":
            return None
        names = frozenset(reader.free_names(even_element.value))
        if not names:
            return None
        pair = ColumnPair(even_text, odd_text, names)
    return pair


def _slice_text(reader: AngleReader, element: cst.BaseSlice) -> str:
    if isinstance(element, cst.Index):
        return reader.text(element.value)
    return reader.text(element)


def _different_angles(
    reader: AngleReader,
    first: cst.BaseExpression,
    second: cst.BaseExpression,
    columns: ColumnPair,
) -> bool:
    """Return whether the angles of a pair differ.

    They differ when ``second`` is ``first`` at the next column, or when both are
    arithmetic over the same names and evaluate to different values.
    """
    first_text = reader.text(first)
    second_text = reader.text(second)
    if first_text == second_text:
        return False
    if reader.reads_inside_lookup(first, columns.names) or reader.reads_inside_lookup(
        second, columns.names
    ):
        return False
    if reader.text(first, replace=(columns.even, columns.odd)) == second_text:
        return True

    if not (reader.is_arithmetic(first) and reader.is_arithmetic(second)):
        return False
    names = reader.free_names(first)
    if names != reader.free_names(second):
        return False
    # A table's angle depends on its column. Angles that do not are left alone,
    # because the two columns may hold unrelated angles on purpose.
    if not columns.names <= names:
        return False
    try:
        for env in sample_environments(names):
            if not same_value(reader.value(first, env), reader.value(second, env)):
                return True
    except (ArithmeticError, ValueError, KeyError):
        return False
    return False


def _message(first: TrigWrite, second: TrigWrite) -> str:
    module = cst.Module(body=[])
    first_target = module.code_for_node(first.target)
    second_target = module.code_for_node(second.target)
    return (
        f"the {second.trig.kind} in `{second_target}` uses a different angle from the "
        f"{first.trig.kind} in `{first_target}`, so this sin/cos pair mixes two frequencies; "
        f"compute the angle once and pass it to both"
    )
