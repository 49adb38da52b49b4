"""Small pure helpers over LibCST expression nodes."""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst


def dotted_name(node: cst.CSTNode) -> Optional[str]:
    """Return ``a.b.c`` for a Name or an Attribute chain of Names, else None."""
    parts: List[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def last_name(node: cst.CSTNode) -> Optional[str]:
    """Return the rightmost name of a Name or Attribute, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def int_value(node: Optional[cst.CSTNode]) -> Optional[int]:
    """Return the value of an integer literal (``-3`` included), else None."""
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        value = int_value(node.expression)
        return None if value is None else -value
    return None


def number_value(node: Optional[cst.CSTNode]) -> Optional[float]:
    """Return the value of an integer or float literal, else None."""
    if isinstance(node, cst.Float):
        try:
            return float(node.value.replace("_", ""))
        except ValueError:
            return None
    value = int_value(node)
    return None if value is None else float(value)


def string_value(node: Optional[cst.CSTNode]) -> Optional[str]:
    """Return the value of a plain string literal, else None."""
    if isinstance(node, cst.SimpleString):
        evaluated = node.evaluated_value
        return evaluated if isinstance(evaluated, str) else None
    return None


def positional_args(call: cst.Call) -> List[cst.BaseExpression]:
    """Return the positional arguments of a call, stopping at the first ``*args``."""
    values = []
    for arg in call.args:
        if arg.keyword is not None or arg.star:
            break
        values.append(arg.value)
    return values


def keyword_arg(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def argument(call: cst.Call, index: int, name: str) -> Optional[cst.BaseExpression]:
    """Return the argument bound to parameter ``name`` at position ``index``."""
    positional = positional_args(call)
    if index < len(positional):
        return positional[index]
    return keyword_arg(call, name)


def is_false(node: Optional[cst.CSTNode]) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def strip_data(node: cst.BaseExpression) -> cst.BaseExpression:
    """Strip trailing ``.data`` and ``.weight`` hops that still name the same table."""
    while isinstance(node, cst.Attribute) and node.attr.value in ("data", "weight"):
        node = node.value
    return node


_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Yield the direct children of ``node``.

    LibCST's ``children`` property runs a visitor to collect them, which costs
    ten times more than reading the dataclass fields, and rules walk a lot.
    Whitespace and tokens are skipped, so the order is that of the fields.
    """
    names = _CHILD_FIELDS.get(type(node))
    if names is None:
        names = tuple(
            item.name
            for item in dataclasses.fields(node)
            if not item.name.startswith(("whitespace", "lpar", "rpar", "comma", "semicolon"))
        )
        _CHILD_FIELDS[type(node)] = names
    for name in names:
        value = getattr(node, name)
        kind = FIELD_KINDS.get(type(value)) or classify_field(value)
        if kind is NODE:
            yield value
        elif kind is SEQUENCE:
            for item in value:
                if (FIELD_KINDS.get(type(item)) or classify_field(item)) is NODE:
                    yield item


# The kind of each field value, cached by its type, because `isinstance`
# against LibCST's abstract base classes is slow and walks make millions of
# such checks. Trivia nodes (whitespace, commas, parentheses) count as OTHER.
NODE = "node"
SEQUENCE = "sequence"
OTHER = "other"
FIELD_KINDS: Dict[type, str] = {}


def classify_field(value: object) -> str:
    """Return NODE, SEQUENCE or OTHER for a field value, and cache it for the value's type."""
    if isinstance(value, cst.CSTNode):
        kind = OTHER if isinstance(value, TRIVIA) else NODE
    elif isinstance(value, (list, tuple)):
        kind = SEQUENCE
    else:
        kind = OTHER
    FIELD_KINDS[type(value)] = kind
    return kind


TRIVIA = (
    cst.BaseParenthesizableWhitespace,
    cst.Comma,
    cst.Semicolon,
    cst.LeftParen,
    cst.RightParen,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.Comment,
)


def names_in(node: cst.CSTNode) -> Iterator[cst.Name]:
    """Yield every Name below ``node`` that is a value reference, not an attribute."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current
            continue
        if isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        if isinstance(current, cst.Arg):
            stack.append(current.value)
            continue
        stack.extend(child_nodes(current))


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Yield ``node`` and every node below it, in pre-order."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(child_nodes(current))))


def subscript_elements(node: cst.Subscript) -> List[cst.BaseSlice]:
    return [element.slice for element in node.slice]


def slice_step(element: cst.BaseSlice) -> Optional[int]:
    if isinstance(element, cst.Slice):
        return int_value(element.step)
    return None


def is_repeatable(node: cst.BaseExpression, allow_size_calls: bool = False, depth: int = 0) -> bool:
    """Return whether evaluating ``node`` again gives the same value with no side effect.

    Names, attributes, integers, arithmetic and ``x.shape[k]`` qualify, and with
    ``allow_size_calls`` also ``x.size(k)`` and ``len(x)``.
    """
    if depth > 12:
        return False
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, (cst.Name, cst.Attribute)):
        return dotted_name(node) is not None
    if isinstance(node, cst.BinaryOperation):
        return is_repeatable(node.left, allow_size_calls, depth + 1) and is_repeatable(
            node.right, allow_size_calls, depth + 1
        )
    if isinstance(node, cst.UnaryOperation):
        return is_repeatable(node.expression, allow_size_calls, depth + 1)
    if isinstance(node, cst.Subscript):
        return is_repeatable(node.value, allow_size_calls, depth + 1) and all(
            isinstance(element.slice, cst.Index) and int_value(element.slice.value) is not None
            for element in node.slice
        )
    if isinstance(node, cst.Call) and allow_size_calls:
        if any(arg.keyword is not None or arg.star for arg in node.args):
            return False
        if isinstance(node.func, cst.Name) and node.func.value == "len" and len(node.args) == 1:
            return is_repeatable(node.args[0].value, allow_size_calls, depth + 1)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "size":
            return is_repeatable(node.func.value, allow_size_calls, depth + 1) and all(
                int_value(arg.value) is not None for arg in node.args
            )
    return False
