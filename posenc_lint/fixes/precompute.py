"""The precompute-and-slice rewrite behind the PEL301, PEL401 and PEL506 fixes.

The target pattern: the table is built once in ``__init__`` for a maximum
length and registered, ``forward`` slices it by the sequence length, and an
input longer than the table raises ``ValueError`` naming both numbers.

Two shapes of code are rewritten:

- growth (PEL301, PEL506): ``__init__`` builds the table and a method that
  ``forward`` reaches grows it under ``if seq_len > <table length>:``. The
  body of that ``if`` becomes the ``raise``; inputs that fit never ran it, so
  their outputs stay the same.
- rebuild (PEL401): a method that ``forward`` always runs computes the table
  from shapes, configuration and literals. The statements that compute it move
  to the end of ``__init__`` with the length replaced by the maximum length,
  the result is registered as a non-persistent buffer, and the method slices it.

Anything else returns no plan, and the finding stays without a fix.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, parse_statement, unsafe_fix
from posenc_lint.fixes.rewriting import (
    MODULE_MEMBERS,
    Replacement,
    bound_names,
    names_used,
    parent_map,
    replace_within,
    source,
)
from posenc_lint.fixes.table_shapes import (
    Decline,
    Dim,
    ShapeReader,
    StatementFacts,
    TensorShape,
    Value,
)
from posenc_lint.model import DEFAULT_MAX_LEN, ClassModel, FunctionModel, ModuleModel
from posenc_lint.rules import _lengths

LOG = logging.getLogger(__name__)

# Calls a growth block may make besides writing the table: logging and warnings.
LOGGING_ROOTS = ("logging.", "warnings.", "logger.", "LOGGER.", "log.", "_logger.", "print")

# Parameter and attribute names that already hold a maximum length.
MAX_LEN_NAME = re.compile(
    r"^(max_len|max_length|max_seq_len|max_seq_length|max_sequence_length|max_positions"
    r"|max_position_embeddings|n_positions|num_positions|context_length|block_size|n_ctx)$"
)

# Characters that cannot appear inside a replacement field of a double-quoted f-string
# on every Python version this project supports.
F_STRING_UNSAFE = re.compile(r"[\"'{}\\\n#]")


def default_max_len(model: ModuleModel) -> int:
    """Return the configured `default-max-len`, the `max_len` default a fix writes."""
    return getattr(model, "default_max_len", DEFAULT_MAX_LEN)


def length_error(model: ModuleModel, length: str, maximum: str) -> Optional[cst.BaseStatement]:
    """Return ``raise ValueError(f"sequence length {length} exceeds the maximum {maximum}")``."""
    if F_STRING_UNSAFE.search(length) or F_STRING_UNSAFE.search(maximum):
        return None
    return parse_statement(
        f'raise ValueError(f"sequence length {{{length}}} exceeds the maximum {{{maximum}}}")\n',
        model.module,
    )


# -- growth ------------------------------------------------------------------


@dataclass(frozen=True)
class GrowthBlock:
    """``if need > have:`` whose body grows the table, in one method."""

    node: cst.If
    function: FunctionModel
    need: cst.BaseExpression
    have: cst.BaseExpression


def growth_fix(
    model: ModuleModel, cls: ClassModel, attr: str, node: cst.CSTNode, function: FunctionModel
) -> Optional[FixPlan]:
    """Replace the code that grows ``self.attr`` on the forward path with a length check.

    ``node`` is the statement or call the finding points at, inside ``function``.
    Every write of the table on the forward path must sit in a growth block, or
    no plan is returned.
    """
    if function.name not in cls.forward_reachable or not _built_in_init(model, cls, attr):
        return None
    if _growth_block(model, cls, attr, function, node) is None:
        return None
    blocks: Dict[int, GrowthBlock] = {}
    for write_node, write_function in _forward_writes(model, cls, attr):
        block = _growth_block(model, cls, attr, write_function, write_node)
        if block is None:
            return None
        blocks[id(block.node)] = block

    edits = []
    for block in blocks.values():
        new_body = _raise_body(model, block)
        if new_body is None:
            return None
        edits.append(NodeEdit(block.node, block.node.with_changes(body=new_body)))
    return unsafe_fix(
        f"Raise `ValueError` instead of growing `{attr}` when an input is longer than the table",
        *edits,
    )


def _raise_body(model: ModuleModel, block: GrowthBlock) -> Optional[cst.BaseSuite]:
    statement = length_error(model, source(block.need).strip(), source(block.have).strip())
    if statement is None:
        return None
    body = block.node.body
    if isinstance(body, cst.IndentedBlock):
        return body.with_changes(body=[statement])
    assert isinstance(statement, cst.SimpleStatementLine)
    return body.with_changes(body=statement.body)


def _built_in_init(model: ModuleModel, cls: ClassModel, attr: str) -> bool:
    """Return whether ``__init__`` (or a method only it calls) creates the table with more than one row."""
    init_methods = {"__init__"} | cls.init_reachable
    for write in _lengths.attribute_writes(cls, attr):
        if write.function.name not in init_methods or write.value is None:
            continue
        if isinstance(write.value, cst.Name) and write.value.value == "None":
            continue
        factory = _lengths.find_factory(model, write.function, write.value)
        if factory is not None:
            shape = _lengths.shape_arguments(model, factory) or []
            axis = _lengths.length_axis(shape)
            if axis is not None and (_lengths.literal_int(shape[axis]) or 2) < 2:
                # A table of zero or one row is a seed for growth, not a maximum length.
                return False
        return True
    return False


def _forward_writes(
    model: ModuleModel, cls: ClassModel, attr: str
) -> List[Tuple[cst.CSTNode, FunctionModel]]:
    """Return the statements and calls on the forward path that replace or resize ``self.attr``."""
    found: List[Tuple[cst.CSTNode, FunctionModel]] = []
    methods = cls.all_methods()
    for name in sorted(cls.forward_reachable):
        function = methods.get(name)
        if function is None or name == "__init__":
            continue
        for assignment in function.assignments:
            if any(_lengths.table_attribute(function, target) == attr for target in assignment.targets):
                found.append((assignment.node, function))
        for call in function.calls:
            if _writes_table(function, call.node, attr):
                found.append((call.node, function))
    return found


def _writes_table(function: FunctionModel, call: cst.Call, attr: str) -> bool:
    func = call.func
    positional = syntax.positional_args(call)
    if isinstance(func, cst.Name) and func.value in ("setattr", "delattr"):
        return (
            len(positional) >= 2
            and isinstance(positional[0], cst.Name)
            and positional[0].value == function.self_name
            and syntax.string_value(positional[1]) in (attr, None)
        )
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value in ("register_buffer", "register_parameter"):
        return (
            isinstance(func.value, cst.Name)
            and func.value.value == function.self_name
            and syntax.string_value(syntax.argument(call, 0, "name")) in (attr, None)
        )
    if func.attr.value in ("resize_", "set_", "resize_as_"):
        return _lengths.table_attribute(function, func.value) == attr
    return False


def _growth_block(
    model: ModuleModel, cls: ClassModel, attr: str, function: FunctionModel, node: cst.CSTNode
) -> Optional[GrowthBlock]:
    """Return the innermost ``if need > have:`` whose body contains ``node`` and only growth code."""
    parents = parent_map(function.node)
    current: Optional[cst.CSTNode] = node
    while current is not None and current is not function.node:
        parent = parents.get(id(current))
        if isinstance(parent, cst.If) and current is parent.body:
            comparison = _need_and_have(function, parent.test, attr)
            if comparison is None:
                return None
            block = GrowthBlock(parent, function, *comparison)
            if not _only_growth(model, function, block, attr):
                return None
            return block
        current = parent
    return None


def _need_and_have(
    function: FunctionModel, test: cst.BaseExpression, attr: str
) -> Optional[Tuple[cst.BaseExpression, cst.BaseExpression]]:
    """Split ``need > have`` (or ``have < need``) where ``have`` reads the table's size."""
    test = _lengths.strip_parentheses(test)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if isinstance(target.operator, cst.GreaterThan):
        need, have = test.left, target.comparator
    elif isinstance(target.operator, cst.LessThan):
        have, need = test.left, target.comparator
    else:
        return None
    if not _reads_table_size(function, have, attr) or _reads_table_size(function, need, attr):
        return None
    for sub in syntax.walk(need):
        if isinstance(sub, (cst.Call, cst.Await, cst.NamedExpr)) and not _is_size_call(sub):
            # The message reads `need` again, so it must give the same value twice.
            return None
    return need, have


def _is_size_call(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("size", "dim"):
        return True
    return isinstance(node.func, cst.Name) and node.func.value in ("len", "int", "max")


def _reads_table_size(function: FunctionModel, node: cst.CSTNode, attr: str) -> bool:
    """Return whether ``node`` reads ``self.attr``'s size or an attribute such as ``self.max_len``."""
    for sub in syntax.walk(node):
        if not isinstance(sub, cst.BaseExpression):
            continue
        name = _lengths.table_attribute(function, sub)
        if name is None:
            continue
        if name == attr or _lengths.SIZE_ATTRIBUTE.search(name):
            return True
    return False


def _only_growth(model: ModuleModel, function: FunctionModel, block: GrowthBlock, attr: str) -> bool:
    """Return whether the block's body only builds rows, writes the table and logs.

    Local names it binds must not be read outside it, because the body is
    replaced by the ``raise``.
    """
    size_attributes = {
        name
        for sub in syntax.walk(block.have)
        if isinstance(sub, cst.BaseExpression)
        for name in [_lengths.table_attribute(function, sub)]
        if name is not None and name != attr
    }
    locals_bound: Set[str] = set()
    writes_table = False
    for small in _small_statements(block.node.body):
        if small is None:
            return False
        if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            for target in targets:
                if isinstance(target, cst.Name):
                    locals_bound.add(target.value)
                    continue
                written = _lengths.table_attribute(function, target)
                if written == attr:
                    writes_table = True
                elif written is None or written not in size_attributes:
                    return False
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            if _writes_table(function, call, attr):
                writes_table = True
                continue
            dotted = syntax.dotted_name(call.func) or ""
            if dotted.startswith(LOGGING_ROOTS) or dotted == "print":
                continue
            return False
        if isinstance(small, (cst.Pass, cst.Del)):
            continue
        return False
    if not writes_table:
        return False

    inside = {id(sub) for sub in syntax.walk(block.node.body)}
    for sub in syntax.walk(function.node):
        if isinstance(sub, cst.Name) and sub.value in locals_bound and id(sub) not in inside:
            return False
    return True


def _small_statements(body: cst.BaseSuite) -> List[Optional[cst.BaseSmallStatement]]:
    """Return the small statements of a block, descending into ``with`` blocks.

    A compound statement other than ``with`` appears as None.
    """
    found: List[Optional[cst.BaseSmallStatement]] = []
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    for statement in body.body:  # type: ignore[union-attr]
        if isinstance(statement, cst.SimpleStatementLine):
            found.extend(statement.body)
        elif isinstance(statement, cst.With):
            found.extend(_small_statements(statement.body))
        else:
            found.append(None)
    return found


# -- rebuild: the rewrite ----------------------------------------------------


@dataclass(frozen=True)
class MaxLen:
    """The maximum length as ``__init__`` spells it, and the parameters to write when it has none."""

    text: str
    new_parameter: Optional[cst.Parameters] = None
    default: Optional[int] = None


def rebuild_fix(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, anchor: cst.Call
) -> Optional[FixPlan]:
    """Move the table that ``function`` computes on every call into ``__init__``, when sound."""
    try:
        return _rebuild(model, cls, function, anchor)
    except Decline as reason:
        LOG.debug("no precompute fix for %s.%s: %s", cls.name, function.name, reason)
        return None


def _rebuild(
    model: ModuleModel, cls: ClassModel, function: FunctionModel, anchor: cst.Call
) -> Optional[FixPlan]:
    init = cls.methods.get("__init__")
    if init is None or init is function or init.self_name is None:
        return None
    if function.self_name != init.self_name or not isinstance(function.node.body, cst.IndentedBlock):
        return None
    if not isinstance(init.node.body, cst.IndentedBlock) or _returns_early(init):
        return None

    statements = list(function.node.body.body)
    anchor_index = next(
        (
            index
            for index, statement in enumerate(statements)
            if any(sub is anchor for sub in syntax.walk(statement))
        ),
        None,
    )
    if anchor_index is None:
        return None
    reader = ShapeReader(model, cls, function)
    facts = _statement_facts(reader, statements)
    anchor_facts = facts[anchor_index]
    if anchor_facts.pure and not anchor_facts.length_definition:
        seeds = [anchor_index]
    else:
        # The sin or cos sits in a statement that also reads the input, as in
        # `return x * emb.cos()`: move what computes its operand, or, for a call
        # to a table builder, the call itself.
        seeds = _operand_definitions(facts, anchor, anchor_index)
        if seeds is None:
            return None
        if not seeds:
            return _extract_call(model, cls, init, function, statements, facts, anchor_index, anchor, reader)
    moved = _moved_statements(statements, facts, seeds)
    if moved is None:
        return None
    exported = _exported_name(statements, facts, moved)
    if exported is None:
        return None
    table, shape = exported
    if not isinstance(shape, TensorShape) or (shape.axis is not None and shape.rank is None):
        return None
    attribute = _attribute_name(model, cls, (table,))
    if attribute is None:
        return None

    moved_names: Set[str] = set()
    for index in moved:
        moved_names |= names_used(statements[index])
    maximum: Optional[MaxLen] = None
    if shape.axis is not None:
        maximum = _max_len(model, cls, init, moved_names)
        if maximum is None:
            return None
    copies = [_init_copy(statements[index], facts[index], maximum, function) for index in moved]
    if any(copy is None for copy in copies):
        return None
    self_name = init.self_name
    register = parse_statement(
        f'{self_name}.register_buffer("{attribute}", {table}, persistent=False)\n', model.module
    )
    edits = _init_edits(init, [*copies, register], maximum)  # type: ignore[list-item]

    stored = f"{self_name}.{attribute}"
    length = _length_text(facts, moved) if shape.axis is not None else None
    if shape.axis is not None and length is None:
        return None
    replacement = _sliced_statements(model, table, stored, shape, length)
    if replacement is None:
        return None
    for index in moved:
        if index == moved[-1]:
            edits.append(NodeEdit(statements[index], cst.FlattenSentinel(replacement)))
        else:
            edits.append(NodeEdit(statements[index], cst.RemovalSentinel.REMOVE))
    return unsafe_fix(_rebuild_message(attribute, maximum), *edits)


def _extract_call(
    model: ModuleModel,
    cls: ClassModel,
    init: FunctionModel,
    function: FunctionModel,
    statements: Sequence[cst.BaseStatement],
    facts: Sequence[StatementFacts],
    anchor_index: int,
    anchor: cst.Call,
    reader: ShapeReader,
) -> Optional[FixPlan]:
    """Register the table that a builder call inside a larger statement returns."""
    statement = statements[anchor_index]
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    reader.env = dict(facts[anchor_index].env_before)
    reader.facts = StatementFacts()
    shape = reader.value(anchor)
    call_facts = reader.facts
    if not isinstance(shape, TensorShape) or (shape.axis is not None and shape.rank is None):
        return None
    if call_facts.reads - {
        name for name in call_facts.reads if isinstance(reader.env.get(name), Dim)
    }:
        # Local names other than lengths would have to move too.
        return None
    attribute = _attribute_name(model, cls, ("pe", "position_table", "pos_table"))
    if attribute is None:
        return None
    maximum: Optional[MaxLen] = None
    if shape.axis is not None:
        maximum = _max_len(model, cls, init, names_used(anchor))
        if maximum is None:
            return None
    copy = _init_copy(anchor, call_facts, maximum, function)
    if copy is None:
        return None
    self_name = init.self_name
    stored = f"{self_name}.{attribute}"
    register = parse_statement(
        f'{self_name}.register_buffer("{attribute}", {source(copy)}, persistent=False)\n', model.module
    )
    edits = _init_edits(init, [register], maximum)

    if shape.axis is None:
        sliced = cst.parse_expression(stored)
        edits.append(NodeEdit(anchor, sliced))
        return unsafe_fix(_rebuild_message(attribute, maximum), *edits)
    length = _length_text([call_facts], [0])
    if length is None:
        return None
    check = _length_check(model, length, f"{stored}.size({shape.axis})")
    if check is None:
        return None
    sliced = cst.parse_expression(f"{stored}[{':, ' * shape.axis}:{length}]")
    rewritten = replace_within(statement, {id(anchor): sliced})
    edits.append(NodeEdit(statement, cst.FlattenSentinel([check, rewritten])))  # type: ignore[list-item]
    return unsafe_fix(_rebuild_message(attribute, maximum), *edits)


def _operand_definitions(
    facts: Sequence[StatementFacts], anchor: cst.Call, anchor_index: int
) -> Optional[List[int]]:
    """Return the pure statements that compute the names the anchor call reads.

    Returns None when one of them is impure, and an empty list when the call
    reads no local table.
    """
    seeds: Set[int] = set()
    for name in syntax.names_in(anchor):
        definitions = _definitions(facts, name.value, anchor_index)
        if definitions is None:
            continue
        if all(facts[index].length_definition for index in definitions):
            continue
        if not all(facts[index].pure for index in definitions):
            return None
        seeds.update(definitions)
    return sorted(seeds)


def _init_edits(
    init: FunctionModel, new_statements: List[cst.BaseStatement], maximum: Optional[MaxLen]
) -> List[NodeEdit]:
    """Append statements to ``__init__`` and add the ``max_len`` parameter when planned."""
    body = init.node.body.body  # type: ignore[union-attr]
    edits = [NodeEdit(body[-1], cst.FlattenSentinel([body[-1], *new_statements]))]
    if maximum is not None and maximum.new_parameter is not None:
        edits.append(NodeEdit(init.node.params, maximum.new_parameter))
    return edits


def _rebuild_message(attribute: str, maximum: Optional[MaxLen]) -> str:
    message = f"Build `{attribute}` once in `__init__` as a non-persistent buffer"
    if maximum is None:
        return message
    message += f" of `{maximum.text}` positions, slice it in `forward` and raise `ValueError` past that"
    if maximum.new_parameter is not None:
        message += (
            f"; adds the keyword parameter `max_len={maximum.default}` (the configured "
            "`default-max-len`) because the code names no maximum length"
        )
    return message


def _returns_early(function: FunctionModel) -> bool:
    return any(
        isinstance(node, cst.Return)
        for statement in function.node.body.body  # type: ignore[union-attr]
        for node in syntax.walk(statement)
        if not isinstance(statement, (cst.FunctionDef, cst.ClassDef))
    )


def _statement_facts(reader: ShapeReader, statements: Sequence[cst.BaseStatement]) -> List[StatementFacts]:
    """Evaluate each top-level statement; impure ones bind unknown values."""
    found: List[StatementFacts] = []
    for statement in statements:
        facts = StatementFacts()
        saved = dict(reader.env)
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            try:
                facts = reader.statement(statement.body[0])
                facts.values = {
                    name: reader.env[name] for name in facts.binds | facts.mutates if name in reader.env
                }
            except Decline:
                reader.env = saved
                facts = StatementFacts()
        facts.env_before = saved
        if not facts.pure:
            facts.reads = {name.value for name in syntax.names_in(statement)}
            facts.mutates = _changed_in_place(statement)
            for name in _bound_by(statement):
                reader.env.pop(name, None)
                facts.binds.add(name)
        found.append(facts)
    return found


def _changed_in_place(statement: cst.CSTNode) -> Set[str]:
    """Return the names a statement writes into: ``t[i] = v``, ``t += v``, ``t.add_(v)``."""
    names: Set[str] = set()
    for node in syntax.walk(statement):
        target: Optional[cst.CSTNode] = None
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, (cst.Subscript, cst.Attribute)):
            target = node.target
        elif isinstance(node, cst.AugAssign):
            target = node.target
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value.endswith("_") and not node.func.attr.value.startswith("_"):
                target = node.func.value
        while isinstance(target, (cst.Subscript, cst.Attribute)):
            target = target.value
        if isinstance(target, cst.Name):
            names.add(target.value)
    return names


def _bound_by(statement: cst.CSTNode) -> Set[str]:
    names: Set[str] = set()
    for node in syntax.walk(statement):
        if isinstance(node, cst.AssignTarget):
            target = node.target
            names |= {name.value for name in syntax.names_in(target) if _is_bound_target(target, name)}
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr)):
            target = node.target
            names |= {name.value for name in syntax.names_in(target) if _is_bound_target(target, name)}
        elif isinstance(node, cst.AsName):
            names |= {name.value for name in syntax.names_in(node.name)}
    return names


def _is_bound_target(target: cst.CSTNode, name: cst.Name) -> bool:
    """Return whether ``target`` binds ``name`` rather than reads it (as ``pe[0] = 1`` reads ``pe``)."""
    if target is name:
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_is_bound_target(element.value, name) for element in target.elements)
    if isinstance(target, cst.StarredElement):
        return _is_bound_target(target.value, name)
    return False


def _definitions(
    facts: Sequence[StatementFacts], name: str, before: int
) -> Optional[List[int]]:
    """Return the statements whose work ``name`` contains just before statement ``before``.

    That is the last statement binding it and every later one that changes it
    in place. Returns None when nothing in the method binds it.
    """
    found: List[int] = []
    for index in range(before - 1, -1, -1):
        if name in facts[index].mutates:
            found.append(index)
        if name in facts[index].binds:
            found.append(index)
            return sorted(found)
    return None


def _moved_statements(
    statements: Sequence[cst.BaseStatement], facts: Sequence[StatementFacts], seeds: List[int]
) -> Optional[List[int]]:
    """Return the indices of the statements that compute the table, or None when unsound."""
    if not all(
        isinstance(statements[index], cst.SimpleStatementLine) and facts[index].pure for index in seeds
    ):
        return None
    moved = set(seeds)
    changed = True
    while changed:
        changed = False
        for index in sorted(moved):
            for name in facts[index].reads:
                definitions = _definitions(facts, name, index)
                if definitions is None:
                    continue
                for definition in definitions:
                    if definition in moved or facts[definition].length_definition:
                        continue
                    if not facts[definition].pure:
                        return None
                    moved.add(definition)
                    changed = True
        for index in range(min(moved) + 1, len(statements)):
            if index in moved or not facts[index].pure or facts[index].length_definition:
                continue
            for name in facts[index].reads:
                definitions = _definitions(facts, name, index) or []
                if any(definition in moved for definition in definitions):
                    moved.add(index)
                    changed = True
                    break
    return sorted(moved)


def _exported_name(
    statements: Sequence[cst.BaseStatement], facts: Sequence[StatementFacts], moved: List[int]
) -> Optional[Tuple[str, Value]]:
    """Return the one name the rest of the method reads from the moved statements, and its value.

    Statements that stay may read it only after the last moved statement.
    """
    exported: Set[str] = set()
    last = moved[-1]
    for index, statement_facts in enumerate(facts):
        if index in moved:
            continue
        for name in statement_facts.reads:
            definitions = _definitions(facts, name, index) or []
            if not any(definition in moved for definition in definitions):
                continue
            if index < last:
                return None
            exported.add(name)
    if len(exported) != 1:
        return None
    name = exported.pop()
    if any(name in facts[index].mutates for index in range(len(facts)) if index not in moved):
        # The slice is a view of the buffer, so writing into it would change the buffer.
        return None
    values = _values_after(statements, facts, moved, name)
    return (name, values) if values is not None else None


def _values_after(
    statements: Sequence[cst.BaseStatement],
    facts: Sequence[StatementFacts],
    moved: List[int],
    name: str,
) -> Optional[Value]:
    """Return the value of ``name`` after the last moved statement that binds or changes it."""
    for index in reversed(moved):
        if name in facts[index].values:
            return facts[index].values[name]
    return None


def _attribute_name(model: ModuleModel, cls: ClassModel, preferred: Sequence[str]) -> Optional[str]:
    """Return a name for the new buffer that no attribute, method or string in the class uses."""
    used = set(MODULE_MEMBERS)
    for owner in [cls, *cls.in_file_bases]:
        for node in syntax.walk(owner.node):
            if isinstance(node, cst.Attribute):
                used.add(node.attr.value)
            elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                used.add(node.name.value)
            elif isinstance(node, cst.SimpleString):
                value = syntax.string_value(node)
                if value is not None:
                    used.add(value)
        for statement in owner.node.body.body:  # type: ignore[union-attr]
            if not isinstance(statement, cst.FunctionDef):
                used |= _bound_by(statement)
    candidates = [*preferred, *(f"{name}_table" for name in preferred), "position_table"]
    for candidate in candidates:
        if candidate.isidentifier() and candidate not in used and not candidate.startswith("__"):
            return candidate
    return None


def _max_len(
    model: ModuleModel, cls: ClassModel, init: FunctionModel, moved_names: Set[str]
) -> Optional[MaxLen]:
    """Find how ``__init__`` names the maximum length, or plan a new ``max_len`` parameter."""
    init_bound = bound_names(init.node)

    optional = {
        param.name.value
        for param in _parameters(init.node)
        if isinstance(param.default, cst.Name) and param.default.value == "None"
    }
    for param in _parameters(init.node):
        name = param.name.value
        if MAX_LEN_NAME.match(name) and name not in moved_names and not init.local_assignments(name):
            # `max_len=None` usually means "no limit", which has no table length.
            return MaxLen(name) if name not in optional else None
    self_name = init.self_name
    for write in init.cls.writes if init.cls is not None else []:
        if write.function is init and write.kind == "assign" and MAX_LEN_NAME.match(write.attr):
            if len(cls.writes_to(write.attr)) != 1:
                return None
            if any(name.value in optional for name in syntax.names_in(write.value)):
                return None
            return MaxLen(f"{self_name}.{write.attr}")

    if "max_len" in init_bound or "max_len" in moved_names:
        return None
    params = init.node.params
    if params.star_kwarg is not None:
        # `**kwargs` may already carry a `max_len` for another class.
        return None
    default = default_max_len(model)
    new_param = cst.Param(
        cst.Name("max_len"),
        default=cst.Integer(str(default)),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    return MaxLen("max_len", _with_parameter(params, new_param), default)


def _with_parameter(params: cst.Parameters, new_param: cst.Param) -> cst.Parameters:
    """Append ``new_param``: after ``*args`` as keyword-only, else after the last parameter.

    With one parameter per line and a trailing comma, the new parameter takes
    the last one's comma (and the line break to the closing bracket), and the
    last one takes the comma of the parameter before it.
    """
    keyword_only = isinstance(params.star_arg, (cst.Param, cst.ParamStar))
    previous: List[cst.Param] = list(params.kwonly_params if keyword_only else params.params)
    star = params.star_arg if keyword_only and not previous else None
    last = previous[-1] if previous else star
    if last is not None and isinstance(last.comma, cst.Comma):
        new_param = new_param.with_changes(comma=last.comma)
        before: Optional[cst.Param] = None
        if len(previous) >= 2:
            before = previous[-2]
        elif keyword_only and params.params:
            before = params.params[-1]
        if before is not None and isinstance(before.comma, cst.Comma):
            if previous:
                previous[-1] = previous[-1].with_changes(comma=before.comma)
            elif isinstance(star, cst.Param):
                star = star.with_changes(comma=before.comma)
    if keyword_only:
        changes = {"kwonly_params": [*previous, new_param]}
        if star is not None:
            changes["star_arg"] = star
        return params.with_changes(**changes)
    return params.with_changes(params=[*previous, new_param])


def _parameters(node: cst.FunctionDef) -> List[cst.Param]:
    params = node.params
    return [*params.posonly_params, *params.params, *params.kwonly_params]


def _init_copy(
    statement: cst.CSTNode,
    facts: StatementFacts,
    maximum: Optional[MaxLen],
    function: FunctionModel,
) -> Optional[cst.BaseStatement]:
    """Return a statement or expression as ``__init__`` runs it: the maximum length, no input devices."""
    replacements: Dict[int, Replacement] = {}
    if facts.length_nodes:
        if maximum is None:
            return None
        for node in facts.length_nodes:
            replacements[id(node)] = cst.parse_expression(maximum.text)
    moves = {id(call) for call in facts.device_moves}
    removed = {id(arg) for arg in facts.device_arguments}
    copy = statement.visit(_InitCopier(replacements, moves, removed))
    inputs = set(function.params[1:])
    if any(name.value in inputs for name in syntax.names_in(copy)):
        return None
    return copy


class _InitCopier(cst.CSTTransformer):
    """Replace nodes by identity, turn ``t.to(device)`` into ``t`` and drop arguments,
    without leaving ``f(a, )`` behind."""

    def __init__(self, replacements: Dict[int, Replacement], moves: Set[int], removed_arguments: Set[int]):
        super().__init__()
        self.replacements = replacements
        self.moves = moves
        self.removed_arguments = removed_arguments

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        if isinstance(original_node, cst.Call) and isinstance(updated_node, cst.Call):
            updated_node = self._drop_arguments(original_node, updated_node)
            if id(original_node) in self.moves:
                assert isinstance(updated_node.func, cst.Attribute)
                return updated_node.func.value
        return self.replacements.get(id(original_node), updated_node)

    def _drop_arguments(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if not any(id(arg) in self.removed_arguments for arg in original.args):
            return updated
        remaining = [
            new for old, new in zip(original.args, updated.args) if id(old) not in self.removed_arguments
        ]
        last_removed = id(original.args[-1]) in self.removed_arguments
        if remaining and last_removed and isinstance(remaining[-1].comma, cst.Comma):
            remaining[-1] = remaining[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=remaining)


def _sliced_statements(
    model: ModuleModel, table: str, stored: str, shape: TensorShape, length: Optional[str]
) -> Optional[List[cst.BaseStatement]]:
    """Return the statements that take the moved ones' place: the check and the slice."""
    if shape.axis is None or length is None:
        return [parse_statement(f"{table} = {stored}\n", model.module)]
    check = _length_check(model, length, f"{stored}.size({shape.axis})")
    if check is None:
        return None
    prefix = ":, " * shape.axis
    return [check, parse_statement(f"{table} = {stored}[{prefix}:{length}]\n", model.module)]


def _length_check(model: ModuleModel, length: str, maximum: str) -> Optional[cst.BaseStatement]:
    error = length_error(model, length, maximum)
    if error is None:
        return None
    check = parse_statement(f"if {length} > {maximum}:\n    pass\n", model.module)
    assert isinstance(check, cst.If) and isinstance(check.body, cst.IndentedBlock)
    return check.with_changes(body=check.body.with_changes(body=[error]))


def _length_text(facts: Sequence[StatementFacts], moved: List[int]) -> Optional[str]:
    """Return how the method spells the input's length where the check goes."""
    last = moved[-1]
    for index in moved:
        for node in facts[index].length_nodes:
            if isinstance(node, cst.Name):
                # The name must still hold the length at the last moved statement.
                definitions = _definitions(facts, node.value, last + 1) or []
                if all(facts[definition].length_definition for definition in definitions):
                    return node.value
                return None
            text = source(node).strip()
            receivers = {name.value for name in syntax.names_in(node)}
            for between in range(index + 1, last + 1):
                if receivers & facts[between].binds:
                    return None
            return text
    return None
