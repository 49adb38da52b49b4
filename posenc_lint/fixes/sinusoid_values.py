"""Unsafe fixes that correct a sinusoid table's values: PEL501 and PEL503.

PEL501: sin and cos of alternate columns of a half-width angle grid become sin
and cos of the whole grid, written into the even and odd columns of a new
full-width table. PEL503: the odd column's sin or cos gets the angle of its
even partner.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, parse_statement, unsafe_fix
from posenc_lint.fixes.rewriting import (
    Replacement,
    block_position,
    enclosing_statement,
    fresh_name,
    names_used,
    replace_within,
    source,
)
from posenc_lint.model import Assignment, FunctionModel, ModuleModel
from posenc_lint.rules._sinusoid import FrequencyVector, step_two_start, table_sizes

# Calls an angle may make and still be evaluated twice with the same result.
PURE_CALL_ROOTS = ("math.", "numpy.", "torch.")
PURE_BUILTINS = {"float", "int", "pow", "abs", "round"}

# Methods on a position vector that keep its values and its length.
POSITION_CASTS = {"float", "double", "half", "bfloat16", "to", "type", "type_as"}

OUTER_PRODUCTS = {"torch.outer", "torch.ger"}


# -- PEL503 ------------------------------------------------------------------


def pair_fix(
    model: ModuleModel,
    function: FunctionModel,
    even: Assignment,
    even_angle: cst.BaseExpression,
    odd: Assignment,
    odd_angle: cst.BaseExpression,
) -> Optional[FixPlan]:
    """Give the odd column's sin or cos the angle of the even column, when that is sound.

    Both writes must sit in the same block, the even angle must make no call
    that could return something else the second time, and no name it reads
    may change between the two statements.
    """
    even_position = block_position(function.node, even.statement)
    odd_position = block_position(function.node, odd.statement)
    if even_position is None or odd_position is None or even_position.owner is not odd_position.owner:
        return None
    if not _is_pure(model, even_angle):
        return None
    first, last = sorted((even.order, odd.order))
    read = {name.value for name in syntax.names_in(even_angle)}
    for assignment in function.assignments:
        if not first < assignment.order < last:
            continue
        for target in assignment.targets:
            if {name.value for name in syntax.names_in(target)} & read:
                return None
    edits = [NodeEdit(odd_angle, even_angle.deep_clone())]
    unused = _unused_after_fix(model, function, odd_angle)
    if unused is not None:
        edits.append(NodeEdit(unused, cst.RemovalSentinel.REMOVE))
    return unsafe_fix(f"Use the angle `{source(even_angle)}` for both columns of the pair", *edits)


def _unused_after_fix(
    model: ModuleModel, function: FunctionModel, odd_angle: cst.BaseExpression
) -> Optional[cst.CSTNode]:
    """Return the statement that binds the odd angle's name when nothing else reads it.

    ``cos_angle = ...`` would be dead once the cos reads the sin's angle.
    """
    if not isinstance(odd_angle, cst.Name):
        return None
    assignments = function.local_assignments(odd_angle.value)
    if len(assignments) != 1 or assignments[0].augmented or assignments[0].value is None:
        return None
    statement = assignments[0].statement
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    if not _is_pure(model, assignments[0].value) or block_position(function.node, statement) is None:
        return None
    reads = [
        node
        for node in syntax.walk(function.node)
        if isinstance(node, cst.Name) and node.value == odd_angle.value and node is not odd_angle
    ]
    target = assignments[0].targets[0] if len(assignments[0].targets) == 1 else None
    if not isinstance(target, cst.Name) or any(read is not target for read in reads):
        return None
    return statement


def _is_pure(model: ModuleModel, node: cst.CSTNode) -> bool:
    for sub in syntax.walk(node):
        if isinstance(sub, cst.Call):
            qualname = model.qualname(sub.func) or ""
            if not (qualname.startswith(PURE_CALL_ROOTS) or qualname in PURE_BUILTINS):
                return False
        if isinstance(sub, (cst.NamedExpr, cst.Yield, cst.Await, cst.Lambda)):
            return False
    return True


# -- PEL501 ------------------------------------------------------------------


def full_width_fix(
    model: ModuleModel,
    function: FunctionModel,
    grid_name: str,
    grid_value: cst.BaseExpression,
    frequencies: FrequencyVector,
    sin_calls: Sequence[cst.Call],
    cos_calls: Sequence[cst.Call],
) -> Optional[FixPlan]:
    """Write sin and cos of the whole grid into the even and odd columns of a full-width table."""
    if len(sin_calls) != 1 or len(cos_calls) != 1:
        return None
    sin_write = _trig_write(function, sin_calls[0], 0)
    cos_write = _trig_write(function, cos_calls[0], 1)
    if sin_write is None or cos_write is None:
        return None
    sin_target = sin_write.targets[0]
    cos_target = cos_write.targets[0]
    assert isinstance(sin_target, cst.Subscript) and isinstance(cos_target, cst.Subscript)
    if not (isinstance(sin_target.value, cst.Name) and isinstance(cos_target.value, cst.Name)):
        return None
    if sin_target.value.value != cos_target.value.value:
        return None

    sliced = [_operand(sin_calls[0]), _operand(cos_calls[0])]
    if not all(isinstance(operand, cst.Subscript) for operand in sliced):
        return None
    operands: Dict[int, Replacement] = {id(operand): cst.Name(grid_name) for operand in sliced}
    if sin_target.value.value != grid_name:
        return _widen_operands(model, function, sin_target.value, frequencies, sin_write, cos_write, operands)
    return _new_table(model, function, grid_name, grid_value, frequencies, sin_write, cos_write, operands)


def _trig_write(function: FunctionModel, call: cst.Call, start: int) -> Optional[Assignment]:
    """Return ``T[..., start::2] = call`` when ``call`` is the whole assigned value."""
    for assignment in function.assignments:
        if assignment.value is not call:
            continue
        if assignment.augmented or len(assignment.targets) != 1:
            return None
        target = assignment.targets[0]
        if not isinstance(target, cst.Subscript) or step_two_start(target) != start:
            return None
        elements = syntax.subscript_elements(target)
        if not all(_is_everything(element) for element in elements[:-1]):
            return None
        if not isinstance(assignment.statement, cst.SimpleStatementLine):
            return None
        if len(assignment.statement.body) != 1:
            return None
        return assignment
    return None


def _is_everything(element: cst.BaseSlice) -> bool:
    if isinstance(element, cst.Slice):
        return element.lower is None and element.upper is None and element.step is None
    return isinstance(element, cst.Index) and isinstance(element.value, cst.Ellipsis)


def _operand(call: cst.Call) -> cst.BaseExpression:
    if call.args:
        return call.args[0].value
    assert isinstance(call.func, cst.Attribute)
    return call.func.value


def _widen_operands(
    model: ModuleModel,
    function: FunctionModel,
    table: cst.Name,
    frequencies: FrequencyVector,
    sin_write: Assignment,
    cos_write: Assignment,
    operands: Dict[int, Replacement],
) -> Optional[FixPlan]:
    """Drop the operands' column slices when the written table already has the full width."""
    sizes = table_sizes(model, table, function)
    if not sizes or _text(sizes[-1]) != _text(frequencies.width):
        return None
    edits = [
        NodeEdit(write.statement, replace_within(write.statement, operands))
        for write in (sin_write, cos_write)
    ]
    return unsafe_fix(
        "Apply sin and cos to every column of the angle grid, not to alternate ones",
        *edits,
    )


def _new_table(
    model: ModuleModel,
    function: FunctionModel,
    grid_name: str,
    grid_value: cst.BaseExpression,
    frequencies: FrequencyVector,
    sin_write: Assignment,
    cos_write: Assignment,
    operands: Dict[int, Replacement],
) -> Optional[FixPlan]:
    """Build a new full-width table for a grid written in place, and read it from then on."""
    grid_assignment = next(
        (item for item in function.assignments if item.value is grid_value), None
    )
    if grid_assignment is None:
        return None
    positions = [
        block_position(function.node, statement)
        for statement in (grid_assignment.statement, sin_write.statement, cos_write.statement)
    ]
    if any(position is None for position in positions):
        return None
    owners = {id(position.owner) for position in positions if position is not None}
    if len(owners) != 1 or positions[0] is None or positions[0].owner is not function.node.body:
        return None

    rows = _position_count(model, function, grid_value)
    if rows is None:
        return None
    width = frequencies.width
    first_write = min(sin_write, cos_write, key=lambda item: item.order)
    last_write = max(sin_write, cos_write, key=lambda item: item.order)
    for expression in (rows, width):
        if not _stable_until(model, function, expression, first_write.order, grid_name):
            return None

    used = names_used(function.node)
    table = fresh_name(("table", "encoding", "sinusoid_table"), used)
    if table is None:
        return None

    # The grid may be read only by the two trig calls until both writes are done,
    # and must not be bound again afterwards.
    later_reads: List[cst.Name] = []
    allowed = {
        id(node.value)
        for node in syntax.walk(function.node)
        if id(node) in operands and isinstance(node, cst.Subscript)
    }
    allowed |= {id(sin_write.targets[0].value), id(cos_write.targets[0].value)}  # type: ignore[union-attr]
    for node in syntax.walk(function.node):
        if not isinstance(node, cst.Name) or node.value != grid_name:
            continue
        order = model.order_of(node)
        if order <= grid_assignment.order or id(node) in allowed:
            continue
        if order < last_write.order:
            return None
        later_reads.append(node)
    for assignment in function.local_assignments(grid_name):
        if assignment is not grid_assignment:
            return None

    replacements: Dict[int, Replacement] = dict(operands)
    for write in (sin_write, cos_write):
        target = write.targets[0]
        assert isinstance(target, cst.Subscript)
        replacements[id(target.value)] = cst.Name(table)
    creation = parse_statement(
        f"{table} = {grid_name}.new_zeros({source(rows)}, {source(width)})\n", model.module
    )

    edits: List[NodeEdit] = []
    for write in (sin_write, cos_write):
        rewritten = replace_within(write.statement, replacements)
        if write is first_write:
            rewritten = cst.FlattenSentinel([creation, rewritten])  # type: ignore[assignment]
        edits.append(NodeEdit(write.statement, rewritten))

    by_statement: Dict[int, Tuple[cst.CSTNode, Dict[int, Replacement]]] = {}
    for read in later_reads:
        statement = enclosing_statement(function, read)
        if statement is None or statement in (sin_write.statement, cos_write.statement):
            return None
        entry = by_statement.setdefault(id(statement), (statement, {}))
        entry[1][id(read)] = cst.Name(table)
    for statement, inner in by_statement.values():
        edits.append(NodeEdit(statement, replace_within(statement, inner)))
    return unsafe_fix(
        f"Build the full-width table `{table}` with sin of `{grid_name}` in its even columns "
        f"and cos in its odd ones",
        *edits,
    )


def _position_count(
    model: ModuleModel, function: FunctionModel, grid: cst.BaseExpression
) -> Optional[cst.BaseExpression]:
    """Return ``N`` when the grid is ``arange(N)`` as a column times a frequency row.

    The grid then has shape ``(N, len(frequencies))``. Other shapes are declined.
    """
    if isinstance(grid, cst.BinaryOperation) and isinstance(grid.operator, cst.Multiply):
        for side in (grid.left, grid.right):
            found = _arange_count(model, function, side, want_column=True)
            if found is not None:
                return found
        return None
    if isinstance(grid, cst.Call) and model.qualname(grid.func) in OUTER_PRODUCTS:
        positional = syntax.positional_args(grid)
        if len(positional) == 2:
            return _arange_count(model, function, positional[0], want_column=False)
    return None


def _arange_count(
    model: ModuleModel, function: FunctionModel, node: cst.BaseExpression, want_column: bool
) -> Optional[cst.BaseExpression]:
    """Follow casts and one column-making step back to ``torch.arange(N)`` and return ``N``."""
    column = False
    current: Optional[cst.BaseExpression] = node
    for _ in range(10):
        current = model.resolve(current, function)
        if isinstance(current, cst.Subscript):
            elements = syntax.subscript_elements(current)
            if (
                len(elements) == 2
                and _is_everything(elements[0])
                and isinstance(elements[1], cst.Index)
                and isinstance(elements[1].value, cst.Name)
                and elements[1].value.value == "None"
                and not column
            ):
                column = True
                current = current.value
                continue
            return None
        if not isinstance(current, cst.Call):
            return None
        if model.qualname(current.func) == "torch.arange":
            return _arange_end(current) if column == want_column else None
        if not isinstance(current.func, cst.Attribute):
            return None
        method = current.func.attr.value
        if method in POSITION_CASTS:
            current = current.func.value
            continue
        if method == "unsqueeze" and not column:
            axis = syntax.int_value(syntax.argument(current, 0, "dim"))
            if axis not in (1, -1):
                return None
            column = True
            current = current.func.value
            continue
        return None
    return None


def _arange_end(call: cst.Call) -> Optional[cst.BaseExpression]:
    positional = syntax.positional_args(call)
    if syntax.keyword_arg(call, "step") is not None or syntax.keyword_arg(call, "start") is not None:
        return None
    if len(positional) == 1:
        return positional[0]
    if len(positional) == 2 and syntax.int_value(positional[0]) == 0:
        return positional[1]
    return None


def _stable_until(
    model: ModuleModel, function: FunctionModel, expression: cst.BaseExpression, order: int, grid: str
) -> bool:
    """Return whether ``expression`` reads only names with one value up to ``order``."""
    for name in syntax.names_in(expression):
        if name.value == grid:
            return False
        assignments = function.local_assignments(name.value)
        if name.value in function.params:
            if assignments:
                return False
            continue
        if name.value in model.aliases:
            continue
        if len(assignments) != 1 or assignments[0].augmented or assignments[0].order > order:
            return False
    return True


def _text(node: cst.CSTNode) -> str:
    return "".join(source(node).split())
