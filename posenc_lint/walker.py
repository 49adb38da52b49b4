"""Drive a LibCST visitor over a tree without LibCST's own traversal.

``CSTNode.visit`` rebuilds every node it passes through (it is built for
transformers), which costs more than parsing. The model only reads the tree,
so ``drive`` calls the visitor's ``visit_<Node>`` and ``leave_<Node>`` methods
itself, in the order LibCST would, from an explicit stack: deep nesting cannot
exhaust Python's recursion limit. Whitespace, comments and tokens are not
visited.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst

from posenc_lint.syntax import FIELD_KINDS, NODE, SEQUENCE, classify_field

# Node types whose fields LibCST visits in another order than they are
# declared: LibCST follows the source text, so decorators come before the name
# and the body of `a if b else c` before its test. Fields that only hold
# whitespace or tokens are left out. `tests/test_walker.py` rebuilds this table
# from the installed LibCST and compares.
VISIT_ORDER: Dict[str, Tuple[str, ...]] = {
    "Arg": ("keyword", "value"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "IfExp": ("body", "test", "orelse"),
    "MatchCase": ("pattern", "guard", "body"),
    "Parameters": ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "TypeAlias": ("name", "type_parameters", "value"),
}

# Fields that never hold anything but whitespace, punctuation or flags: by prefix,
# and by exact name.
_SKIPPED_PREFIXES = ("whitespace", "lpar", "rpar", "comma", "semicolon")
_SKIPPED_FIELDS = frozenset(
    {
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "indent",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "first_colon",
        "second_colon",
        "dot",
        "equal",
        "colon",
        "star",
        "asynchronous",
        "trailing_whitespace",
        "leading_whitespace",
        "relative",
        "posonly_ind",
        "trailing_comma",
        "encoding",
        "default_indent",
        "default_newline",
        "has_trailing_newline",
    }
)

_FIELDS: Dict[type, Tuple[str, ...]] = {}


def visited_fields(node_type: type) -> Tuple[str, ...]:
    """Return the fields of ``node_type`` that may hold nodes, in LibCST's visit order."""
    names = _FIELDS.get(node_type)
    if names is None:
        names = VISIT_ORDER.get(node_type.__name__)
        if names is None:
            names = tuple(
                item.name
                for item in dataclasses.fields(node_type)
                if not item.name.startswith(_SKIPPED_PREFIXES) and item.name not in _SKIPPED_FIELDS
            )
        _FIELDS[node_type] = names
    return names


Handler = Optional[Callable[[cst.CSTNode], object]]

def drive(visitor: cst.CSTVisitor, root: cst.CSTNode) -> None:
    """Call ``visitor``'s ``visit_``/``leave_`` methods for ``root`` and every node below it.

    A ``visit_`` method that returns False skips the node's children, as in LibCST.
    """
    handlers: Dict[type, Tuple[Handler, Handler]] = {}
    # Each entry is a node to visit, or a node whose leave handler is due.
    stack: List[Tuple[cst.CSTNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        node_type = type(node)
        found = handlers.get(node_type)
        if found is None:
            found = handlers[node_type] = (
                _handler(visitor, "visit_" + node_type.__name__),
                _handler(visitor, "leave_" + node_type.__name__),
            )
        visit, leave = found
        if leaving:
            leave(node)
            continue
        if visit is not None and visit(node) is False:
            continue
        if leave is not None:
            stack.append((node, True))
        children: List[cst.CSTNode] = []
        for name in visited_fields(node_type):
            value = getattr(node, name)
            kind = FIELD_KINDS.get(type(value)) or classify_field(value)
            if kind is NODE:
                children.append(value)
            elif kind is SEQUENCE:
                for item in value:
                    if (FIELD_KINDS.get(type(item)) or classify_field(item)) is NODE:
                        children.append(item)
        for child in reversed(children):
            stack.append((child, False))


def _handler(visitor: cst.CSTVisitor, name: str) -> Handler:
    """Return the visitor's own method ``name``, or None for LibCST's empty default."""
    method = getattr(visitor, name, None)
    if method is None or getattr(method, "__func__", None) is getattr(cst.CSTVisitor, name, None):
        return None
    return method
