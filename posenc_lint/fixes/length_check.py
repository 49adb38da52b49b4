"""The PEL202 rewrite: check the sequence length before a position table uses it.

Before ``return x + self.pe[:, : x.size(1)]`` the fix inserts::

    if x.size(1) > self.pe.size(1):
        raise ValueError(
            f"sequence length {x.size(1)} exceeds the maximum "
            f"{self.pe.size(1)} of position table `pe`"
        )

Inputs that fit take the same path as before. A longer input used to get a
shorter table (or an index error from ``nn.Embedding``) and now raises a
``ValueError`` that names both numbers.
"""

from __future__ import annotations

from typing import Dict, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, insert_before, parse_statement, safe_fix
from posenc_lint.fixes.statements import ancestors, block_of, parent_map
from posenc_lint.model import CallSite, FunctionModel, ModuleModel, SubscriptSite

# Expressions between the use and its statement that may skip evaluating the use.
SKIPPING_NODES = (
    cst.IfExp,
    cst.BooleanOperation,
    cst.Lambda,
    cst.FunctionDef,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)

# Methods that keep the values of position indices, so the largest index stays `n - 1`.
INDEX_KEEPING_METHODS = {"unsqueeze", "expand", "expand_as", "to", "long", "view", "reshape", "repeat", "cuda"}

# Statements that leave a block early.
EXITS = (cst.Return, cst.Raise, cst.Break, cst.Continue, cst.Yield)


def slice_check_fix(
    model: ModuleModel,
    function: FunctionModel,
    site: SubscriptSite,
    position: int,
    bound: cst.BaseExpression,
    attr: str,
) -> Optional[FixPlan]:
    """Build the check for ``self.attr[..., :bound]``, whose slice is element ``position``."""
    axis = _table_axis(site.node, position)
    receiver = syntax.dotted_name(site.node.value)
    if axis is None or receiver is None:
        return None
    parents = parent_map(function.node)
    statement = _host_statement(site.node, site.statement, parents)
    if statement is None or not syntax.is_repeatable(bound, allow_size_calls=True):
        return None
    return _check_plan(model, statement, bound, f"{receiver}.size({axis})", f"position table `{attr}`")


def lookup_check_fix(
    model: ModuleModel, function: FunctionModel, call: CallSite, attr: str
) -> Optional[FixPlan]:
    """Build the check for ``self.attr(ids)``, an ``nn.Embedding`` lookup.

    With ids from ``torch.arange(n)``, the check compares ``n`` with
    ``num_embeddings`` before the ``arange`` statement. With ids sliced from a
    buffer, ``self.position_ids[:, start:end]``, it compares ``end`` with the
    buffer's size before the slice, as for a table slice: a longer slice
    would return fewer ids than positions.
    """
    positional = syntax.positional_args(call.node)
    callee = syntax.dotted_name(call.node.func)
    if len(positional) != 1 or call.node.args[0].keyword is not None or callee is None:
        return None
    parents = parent_map(function.node)
    lookup_statement = _host_statement(call.node, call.statement, parents)
    if lookup_statement is None:
        return None

    node: Optional[cst.BaseExpression] = positional[0]
    for _ in range(16):
        if isinstance(node, cst.Name):
            node = _last_plain_value(model, function, node)
        elif isinstance(node, cst.Call) and model.qualname(node.func) == "torch.arange":
            break
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value not in INDEX_KEEPING_METHODS:
                return None
            node = node.func.value
        elif isinstance(node, cst.Subscript):
            return _id_buffer_check(model, function, node, parents)
        else:
            return None
    else:
        return None

    arange = node
    bound = _arange_end(arange)
    if bound is None or not syntax.is_repeatable(bound, allow_size_calls=True):
        return None
    statement = _host_statement(arange, _statement_of(arange, parents), parents)
    if statement is None or not _flows_into(statement, lookup_statement, parents):
        return None
    return _check_plan(model, statement, bound, f"{callee}.num_embeddings", f"position table `{attr}`")


def _last_plain_value(
    model: ModuleModel, function: FunctionModel, read: cst.Name
) -> Optional[cst.BaseExpression]:
    """Return the value of the last ``name = value`` before ``read``, or None when that is not plain.

    An augmented or unpacking assignment in between could change the ids, so
    it ends the search.
    """
    order = model.order_of(read)
    earlier = [item for item in function.local_assignments(read.value) if 0 <= item.order < order]
    if not earlier:
        return None
    last = max(earlier, key=lambda item: item.order)
    if last.augmented or len(last.targets) != 1 or not isinstance(last.targets[0], cst.Name):
        return None
    if not isinstance(last.node, cst.Assign) or len(last.node.targets) != 1:
        return None
    return last.value


def _id_buffer_check(
    model: ModuleModel, function: FunctionModel, node: cst.Subscript, parents: Dict[int, cst.CSTNode]
) -> Optional[FixPlan]:
    """Build the check before ``self.position_ids[:, start:end]``, a slice of a buffer of ids."""
    # Imported here because importing the rules package imports this module.
    from posenc_lint.rules._lengths import POSITION_IDS_NAME

    buffer = function.self_attribute(node.value)
    receiver = syntax.dotted_name(node.value)
    if buffer is None or receiver is None or not POSITION_IDS_NAME.search(buffer):
        return None
    elements = syntax.subscript_elements(node)
    position = next(
        (
            index
            for index, element in enumerate(elements)
            if not _is_full_slice(element) and not _is_none_index(element)
        ),
        None,
    )
    if position is None or not isinstance(elements[position], cst.Slice):
        return None
    bound = elements[position].upper
    axis = _table_axis(node, position)
    if bound is None or axis is None or not syntax.is_repeatable(bound, allow_size_calls=True):
        return None
    statement = _host_statement(node, _statement_of(node, parents), parents)
    if statement is None:
        return None
    return _check_plan(model, statement, bound, f"{receiver}.size({axis})", f"position ids `{buffer}`")


def _is_none_index(element: cst.BaseSlice) -> bool:
    return (
        isinstance(element, cst.Index)
        and isinstance(element.value, cst.Name)
        and element.value.value == "None"
    )


def _is_full_slice(element: cst.BaseSlice) -> bool:
    return (
        isinstance(element, cst.Slice)
        and element.lower is None
        and element.upper is None
        and element.step is None
    )


def _check_plan(
    model: ModuleModel, statement: cst.CSTNode, bound: cst.BaseExpression, size: str, table: str
) -> Optional[FixPlan]:
    """Build the inserted ``if ... raise ValueError`` before ``statement``; ``table`` names what is too short."""
    text = cst.Module(body=[]).code_for_node(bound)
    if any(character in text for character in "'\"{}\\\n!:#"):
        return None
    check = parse_statement(
        f"if {text} > {size}:\n"
        f"    raise ValueError(\n"
        f'        f"sequence length {{{text}}} exceeds the maximum "\n'
        f'        f"{{{size}}} of {table}"\n'
        f"    )\n",
        model.module,
    )
    return safe_fix(f"Raise `ValueError` when `{text}` exceeds `{size}`", _insert_check(statement, check))


def _insert_check(statement: cst.CSTNode, check: cst.BaseStatement) -> NodeEdit:
    """Insert ``check`` before ``statement``: blank lines above go above the check, comments stay on the statement."""
    leading = list(getattr(statement, "leading_lines", ()))
    blank = 0
    while blank < len(leading) and leading[blank].comment is None:
        blank += 1
    if not blank:
        return insert_before(statement, check)  # type: ignore[arg-type]
    moved = check.with_changes(leading_lines=leading[:blank])
    kept = statement.with_changes(leading_lines=leading[blank:])
    return NodeEdit(statement, cst.FlattenSentinel([moved, kept]))


def _table_axis(node: cst.Subscript, position: int) -> Optional[int]:
    """Return the table axis that element ``position`` of ``node`` slices; ``None`` adds no axis."""
    axis = 0
    for element in syntax.subscript_elements(node)[:position]:
        if isinstance(element, cst.Slice):
            axis += 1
        elif not _is_none_index(element):
            return None
    return axis


def _statement_of(node: cst.CSTNode, parents: Dict[int, cst.CSTNode]) -> Optional[cst.CSTNode]:
    for parent in ancestors(node, parents):
        if isinstance(parent, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return parent
    return None


def _host_statement(
    node: cst.CSTNode, statement: Optional[cst.CSTNode], parents: Dict[int, cst.CSTNode]
) -> Optional[cst.CSTNode]:
    """Return ``statement`` when a check placed right before it runs exactly when ``node`` does.

    The statement must sit directly in a block, outside ``try``. Nothing
    between it and ``node`` may skip or repeat the evaluation of ``node``, as
    a conditional expression, ``and``/``or``, a lambda, a comprehension, a
    ``while`` test or the body of a compound statement can.
    """
    if statement is None or block_of(statement, parents) is None:
        return None
    if isinstance(statement, (cst.While, cst.Try, cst.TryStar, cst.With, cst.FunctionDef, cst.ClassDef)):
        return None
    if any(isinstance(parent, (cst.Try, cst.TryStar)) for parent in ancestors(statement, parents)):
        return None
    if any(isinstance(sub, cst.NamedExpr) for sub in syntax.walk(statement)):
        return None
    for parent in ancestors(node, parents):
        if parent is statement:
            return statement
        if isinstance(parent, SKIPPING_NODES) or isinstance(parent, cst.BaseSuite):
            return None
    return None


def _flows_into(first: cst.CSTNode, last: cst.CSTNode, parents: Dict[int, cst.CSTNode]) -> bool:
    """Return whether ``last`` runs whenever ``first`` has run, on every path without an exception.

    ``last`` must be ``first``, a later statement of its block, or a later
    statement of a block around it, reached by falling out of ``if``, ``else``
    or ``with`` bodies. No statement on the way may return, raise, break,
    continue or yield, and no loop or ``try`` may enclose ``first`` below that block.
    """
    if first is last:
        return True
    target = block_of(last, parents)
    current = first
    for _ in range(64):
        located = block_of(current, parents)
        if located is None or target is None:
            return False
        block, index = located
        if target[0] is block:
            return target[1] > index and not _has_exit(block.body[index + 1 : target[1]])
        if _has_exit(block.body[index + 1 :]):
            return False
        owner = parents.get(id(block))
        if isinstance(owner, cst.Else):
            owner = parents.get(id(owner))
        while isinstance(owner, cst.If) and isinstance(parents.get(id(owner)), cst.If):
            # An `elif` sits in the `orelse` of the `if` before it.
            owner = parents.get(id(owner))
        if not isinstance(owner, (cst.If, cst.With)):
            return False
        current = owner
    return False


def _has_exit(statements) -> bool:
    return any(isinstance(node, EXITS) for statement in statements for node in syntax.walk(statement))


def _arange_end(call: cst.Call) -> Optional[cst.BaseExpression]:
    """Return ``n`` of ``torch.arange(n)`` or ``torch.arange(0, n)``: the ids are then below ``n``."""
    if any(arg.star for arg in call.args) or syntax.keyword_arg(call, "step") is not None:
        return None
    positional = syntax.positional_args(call)
    if len(positional) == 1 and syntax.keyword_arg(call, "start") is None:
        return positional[0]
    if len(positional) == 2 and syntax.int_value(positional[0]) == 0:
        return positional[1]
    return None
