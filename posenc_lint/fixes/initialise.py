"""The PEL101 and PEL102 fix: initialise a learned table right after it is created."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, parse_expression, parse_statement, unsafe_fix
from posenc_lint.fixes.rewriting import block_position, source, spell_or_import
from posenc_lint.model import FunctionModel, ModuleModel

if TYPE_CHECKING:  # the rules import this module, so their types are for annotations only
    from posenc_lint.rules._learned_tables import UnsetTable

INIT_FUNCTION = "torch.nn.init.trunc_normal_"
STD = "0.02"

# `trunc_normal_` fills floating-point tensors only.
FLOAT_DTYPES = {
    "float", "float32", "float16", "half", "bfloat16", "double", "float64",
}

# Calls that zero a table, which the fix turns into `trunc_normal_`.
ZEROING_INITS = {"torch.nn.init.zeros_", "torch.nn.init.constant_"}


def initialise_fix(model: ModuleModel, table: UnsetTable) -> Optional[FixPlan]:
    """Build the `trunc_normal_(self.x, std=0.02)` fix for an unset learned table, when sound."""
    write = next((write for write in table.cls.writes if write.node is table.node), None)
    if write is not None:
        return _insert_after_creation(model, table, write.function, write.statement, write.value)
    site = next((site for site in model.init_sites if site.node is table.node), None)
    if site is not None and site.function is not None and isinstance(site.node, cst.Call):
        return _replace_zeroing(model, table, site.function, site.node)
    return None


def _insert_after_creation(
    model: ModuleModel,
    table: UnsetTable,
    function: FunctionModel,
    statement: cst.CSTNode,
    value: Optional[cst.BaseExpression],
) -> Optional[FixPlan]:
    self_name = function.self_name
    if self_name is None or not table.attr.isidentifier():
        return None
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    if block_position(function.node, statement) is None:
        # A one-line suite such as `if flag: self.pe = ...` has no block to insert into.
        return None
    if not _is_float_table(model, value, function):
        return None
    spelled = spell_or_import(model, INIT_FUNCTION, function)
    if spelled is None:
        return None
    call = parse_statement(f"{spelled.text}({self_name}.{table.attr}, std={STD})\n", model.module)
    edits = [NodeEdit(statement, cst.FlattenSentinel([statement, call]))]
    if spelled.import_edit is not None:
        edits.append(spelled.import_edit)
    return unsafe_fix(
        f"Initialise `{table.attr}` with `{spelled.text}(..., std={STD})` right after it is created",
        *edits,
    )


def _replace_zeroing(
    model: ModuleModel, table: UnsetTable, function: FunctionModel, call: cst.Call
) -> Optional[FixPlan]:
    """Turn `nn.init.zeros_(self.x)` (or `constant_(self.x, 0)`) into `trunc_normal_`."""
    if model.qualname(call.func) not in ZEROING_INITS:
        return None
    positional = syntax.positional_args(call)
    if not positional:
        return None
    spelled = spell_or_import(model, INIT_FUNCTION, function)
    if spelled is None or spelled.import_edit is not None:
        # The zeroing call already reaches `torch.nn.init`, so a spelling exists
        # unless the function shadows it; then leave the file alone.
        return None
    replacement = parse_expression(f"{spelled.text}({source(positional[0])}, std={STD})", model.module)
    return unsafe_fix(
        f"Initialise `{table.attr}` with `{spelled.text}(..., std={STD})` instead of zeros",
        NodeEdit(call, replacement),
    )


def _is_float_table(
    model: ModuleModel, value: Optional[cst.BaseExpression], function: FunctionModel
) -> bool:
    """Return whether the factory that creates the table leaves it floating point."""
    creation = model.tensor_creation(value, function)
    if creation is None:
        return False
    dtype = syntax.keyword_arg(creation, "dtype")
    if dtype is None:
        return True
    name = syntax.last_name(dtype)
    return name in FLOAT_DTYPES
