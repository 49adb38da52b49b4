"""Statement-level helpers for fix builders: parents, removal and name reads.

The model records statements and orders but not parents. Fixes that delete a
statement or move a value to an earlier statement need to know which block a
statement sits in and which reads of a local name see one assignment.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import NodeEdit
from posenc_lint.model import Assignment, FunctionModel, ModuleModel

BLOCK_TYPES = (cst.IndentedBlock, cst.SimpleStatementSuite)


def parent_map(root: cst.CSTNode) -> Dict[int, cst.CSTNode]:
    """Map the id of every node below ``root`` to its parent node."""
    parents: Dict[int, cst.CSTNode] = {}
    for node in syntax.walk(root):
        for child in syntax.child_nodes(node):
            parents[id(child)] = node
    return parents


def ancestors(node: cst.CSTNode, parents: Dict[int, cst.CSTNode]) -> List[cst.CSTNode]:
    """Return the parents of ``node``, nearest first."""
    found = []
    current = parents.get(id(node))
    while current is not None:
        found.append(current)
        current = parents.get(id(current))
    return found


def block_of(
    statement: cst.CSTNode, parents: Dict[int, cst.CSTNode]
) -> Optional[Tuple[cst.BaseSuite, int]]:
    """Return the block that holds ``statement`` directly, and its index there."""
    block = parents.get(id(statement))
    if not isinstance(block, BLOCK_TYPES):
        return None
    for index, sibling in enumerate(block.body):
        if sibling is statement:
            return block, index
    return None


def sibling_containing(
    block: cst.BaseSuite, node: cst.CSTNode, parents: Dict[int, cst.CSTNode]
) -> Optional[int]:
    """Return the index of the statement of ``block`` that contains ``node``, if any."""
    for parent in [node, *ancestors(node, parents)]:
        if parents.get(id(parent)) is block:
            for index, sibling in enumerate(block.body):
                if sibling is parent:
                    return index
    return None


def remove_small_statement(
    statement: cst.CSTNode, small: cst.BaseSmallStatement
) -> Optional[NodeEdit]:
    """Delete ``small`` from its line, or the whole line when it is alone there.

    The comment lines directly above a deleted line go with it, because they
    describe it. LibCST writes ``pass`` into a block left empty.
    """
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    if not any(part is small for part in statement.body):
        return None
    if len(statement.body) == 1:
        return NodeEdit(statement, cst.RemovalSentinel.REMOVE)
    return NodeEdit(small, cst.RemovalSentinel.REMOVE)


def small_statement_of(
    node: cst.CSTNode, parents: Dict[int, cst.CSTNode]
) -> Optional[cst.BaseSmallStatement]:
    """Return the small statement (``x = ...``, an expression statement) that contains ``node``."""
    for parent in [node, *ancestors(node, parents)]:
        if isinstance(parent, cst.BaseSmallStatement):
            return parent
        if isinstance(parent, (cst.BaseCompoundStatement, cst.FunctionDef)):
            return None
    return None


def name_reads(root: cst.CSTNode, name: str) -> List[cst.Name]:
    """Return the ``Name`` nodes of ``name`` below ``root`` that are not plain binding targets.

    Attribute names (``x.name``), keyword names (``f(name=...)``) and the
    targets of ``=`` and annotated assignments are left out. Every other
    occurrence counts as a read, including loop and ``with`` targets and
    augmented assignments, which keeps callers on the conservative side.
    """
    excluded = set()
    for node in syntax.walk(root):
        if isinstance(node, cst.Attribute):
            excluded.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            excluded.add(id(node.keyword))
        elif isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name):
            excluded.add(id(node.target))
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name):
            excluded.add(id(node.target))
        elif isinstance(node, cst.FunctionDef):
            excluded.add(id(node.name))
    return [
        node
        for node in syntax.walk(root)
        if isinstance(node, cst.Name) and node.value == name and id(node) not in excluded
    ]


def with_parentheses_of(outer: cst.BaseExpression, inner: cst.BaseExpression) -> cst.BaseExpression:
    """Return ``inner`` wearing the parentheses of ``outer``, which it replaces."""
    lpar: Sequence[cst.LeftParen] = getattr(outer, "lpar", ())
    rpar: Sequence[cst.RightParen] = getattr(outer, "rpar", ())
    if not lpar and not rpar:
        return inner
    return inner.with_changes(
        lpar=[*lpar, *getattr(inner, "lpar", ())], rpar=[*getattr(inner, "rpar", ()), *rpar]
    )


def append_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """Return ``call`` with ``keyword=value`` added after its last argument.

    A call laid out one argument per line with a trailing comma keeps that
    layout: the new argument goes on its own line and takes the trailing comma.
    """
    new_arg = cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # A trailing comma: reuse the separator the call already uses between arguments.
        if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
            separator = args[-2].comma
        else:
            separator = cst.Comma(whitespace_after=call.whitespace_before_args)
        args[-1] = last.with_changes(comma=separator)
        args.append(new_arg.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg))
    else:
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        args.append(new_arg.with_changes(whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


def only_reaching_assignment(
    model: ModuleModel, function: FunctionModel, read: cst.Name, parents: Dict[int, cst.CSTNode]
) -> Optional[Assignment]:
    """Return the assignment that gives ``read`` its value, when ``read`` is its only reader.

    The assignment must be a whole statement of some block, ``read`` must sit
    in a later statement of that block, and the next assignment of the name
    (if any) must be a later statement of that block too, with no ``break`` or
    ``continue`` between: then the assignment reaches ``read`` on every path,
    and no read past the next assignment gets its value.
    """
    name = read.value
    order = model.order_of(read)
    earlier = [
        assignment
        for assignment in function.local_assignments(name)
        if 0 <= assignment.order < order
    ]
    if not earlier:
        return None
    assignment = max(earlier, key=lambda item: item.order)
    if (
        assignment.augmented
        or not isinstance(assignment.statement, cst.SimpleStatementLine)
        or not any(part is assignment.node for part in assignment.statement.body)
        or len(assignment.targets) != 1
        or not isinstance(assignment.targets[0], cst.Name)
        or not isinstance(assignment.node, cst.Assign)
        or assignment.value is None
    ):
        return None
    located = block_of(assignment.statement, parents)
    if located is None:
        return None
    block, index = located
    if any(isinstance(node, (cst.Try, cst.TryStar)) for node in ancestors(block, parents)):
        return None
    read_index = sibling_containing(block, read, parents)
    if read_index is None or read_index < index:
        return None

    later = [item for item in function.local_assignments(name) if item.order > assignment.order]
    window_end: Optional[int] = None
    end_index = len(block.body)
    if later:
        following = min(later, key=lambda item: item.order)
        found = block_of(following.statement, parents)
        if found is None or found[0] is not block:
            return None
        window_end = following.order
        end_index = found[1]
    elif any(isinstance(node, (cst.For, cst.While)) for node in ancestors(block, parents)):
        # A read above the assignment in the loop body gets its value on the next iteration.
        return None
    for statement in block.body[index + 1 : end_index]:
        if any(isinstance(node, (cst.Break, cst.Continue)) for node in syntax.walk(statement)):
            return None

    readers = [
        node
        for node in name_reads(function.node, name)
        if model.order_of(node) > assignment.order
        and (window_end is None or model.order_of(node) < window_end)
    ]
    if len(readers) != 1 or readers[0] is not read:
        return None
    return assignment
