"""The PEL201 rewrite: lift a literal table length into an ``__init__`` keyword parameter.

``nn.Embedding(2048, d)`` in ``__init__(self, d)`` becomes
``nn.Embedding(max_len, d)`` in ``__init__(self, d, max_len=2048)``. The default
is the literal, so every existing call builds the same table: outputs and
``state_dict`` shapes stay the same, and new callers can choose the length.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, safe_fix
from posenc_lint.model import AttributeWrite, ClassModel, FunctionModel, ModuleModel

DEFAULT_NAME = "max_len"

# Parameter names that mean a table's maximum length, in the order the fix
# tries them after the class's own length name.
LENGTH_NAMES = ("max_len", "max_length", "max_seq_len", "max_positions", "num_positions")

# Names other code in the file may already use for the maximum length.
LENGTH_NAME = re.compile(
    r"^(max_len|max_length|max_seq_len|max_seq_length|max_sequence_length|max_position_embeddings"
    r"|max_positions|n_positions|num_positions|n_ctx|context_length|block_size|num_patches)$"
)

# Self attributes that store the table length: `self.max_len = 1024`.
SIZE_ATTRIBUTE = re.compile(r"max|len|length|n_ctx|context|positions|block_size|num_patches|seq", re.I)
WIDTH_ATTRIBUTE = re.compile(r"dim|d_model|width|hidden|channel|feat|embed|d_hid", re.I)


@dataclass(frozen=True)
class LiteralLength:
    """An integer literal that sets the length of the position table ``write`` stores."""

    write: AttributeWrite
    literal: cst.BaseExpression
    length: int


def max_length_fix(
    model: ModuleModel, cls: ClassModel, found: LiteralLength, siblings: Sequence[LiteralLength]
) -> Optional[FixPlan]:
    """Build the rewrite for ``found``, taking along ``siblings`` (all findings of ``cls``).

    Every literal of the same value that sets a table length in ``__init__``
    gets the same parameter, so a second table of that length needs no second
    parameter. Returns None when the rewrite would not be sound.
    """
    init = found.write.function
    if init.name != "__init__" or init.cls is not cls or init.self_name is None:
        return None
    parameters = init.node.params
    if parameters.star_kwarg is not None or parameters.posonly_params:
        # `**kwargs` may already carry a key of the new name to somewhere else.
        return None
    inside = {id(node) for node in syntax.walk(init.node)}
    group = [item for item in siblings if item.write.function is init]
    if any(item.length != found.length for item in group):
        # Two different literal lengths: which one is "the" maximum length is a choice.
        return None
    if any(id(item.literal) not in inside for item in group):
        return None
    if _literal_in_other_methods(cls, init, found.length):
        return None

    size_writes = _size_attribute_writes(init, found.length)
    used = _names_read(init.node)
    name = _choose_name(model, cls, size_writes, used)
    if name is None:
        return None

    default = found.literal.deep_clone()
    edits = [NodeEdit(parameters, _with_parameter(init.node, name, default))]
    replaced: Set[int] = set()
    for item in group:
        if id(item.literal) not in replaced:
            replaced.add(id(item.literal))
            edits.append(NodeEdit(item.literal, cst.Name(name)))
    for value in size_writes:
        if id(value) not in replaced:
            replaced.add(id(value))
            edits.append(NodeEdit(value, cst.Name(name)))

    attrs = ", ".join(f"`{attr}`" for attr in sorted({item.write.attr for item in group}))
    default_text = cst.Module(body=[]).code_for_node(default)
    return safe_fix(
        f"Add the keyword parameter `{name}={default_text}` to `__init__` and use it as the length of {attrs}",
        *edits,
    )


def _literal_in_other_methods(cls: ClassModel, init: FunctionModel, length: int) -> bool:
    """Return whether another method writes the same number, which the new parameter would not reach."""
    literal_int = _literal_evaluator()
    for function in cls.methods.values():
        if function is init:
            continue
        for node in syntax.walk(function.node):
            if isinstance(node, (cst.Integer, cst.BinaryOperation)) and literal_int(node) == length:
                return True
    return False


def _size_attribute_writes(init: FunctionModel, length: int) -> List[cst.BaseExpression]:
    """Return the values of ``self.max_len = <length>`` statements in ``__init__``."""
    literal_int = _literal_evaluator()
    found = []
    for assignment in init.assignments:
        if assignment.conditional or len(assignment.targets) != 1 or assignment.augmented:
            continue
        attr = init.self_attribute(assignment.targets[0])
        if attr is None:
            continue
        if not LENGTH_NAME.match(attr) and (not SIZE_ATTRIBUTE.search(attr) or WIDTH_ATTRIBUTE.search(attr)):
            continue
        value = assignment.value
        if value is not None and literal_int(value) == length:
            found.append(value)
    return found


def _names_read(function: cst.FunctionDef) -> Set[str]:
    """Return every plain name in ``function``: parameters, locals and the globals it reads."""
    excluded = set()
    for node in syntax.walk(function):
        if isinstance(node, cst.Attribute):
            excluded.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            excluded.add(id(node.keyword))
    return {
        node.value
        for node in syntax.walk(function)
        if isinstance(node, cst.Name) and id(node) not in excluded
    }


def _choose_name(
    model: ModuleModel, cls: ClassModel, size_writes: List[cst.BaseExpression], used: Set[str]
) -> Optional[str]:
    """Pick the parameter name: the class's own length attribute, the file's length name, or ``max_len``."""
    candidates: List[str] = []
    init = cls.methods["__init__"]
    for assignment in init.assignments:
        if assignment.value is not None and any(value is assignment.value for value in size_writes):
            attr = init.self_attribute(assignment.targets[0])
            if attr is not None:
                candidates.append(attr.lstrip("_"))
    counts: Counter = Counter()
    for other in model.classes:
        method = other.methods.get("__init__")
        if other is cls or method is None:
            continue
        for param in method.params:
            if LENGTH_NAME.match(param):
                counts[param] += 1
    candidates.extend(name for name, _ in counts.most_common())
    candidates.extend(LENGTH_NAMES)
    for name in candidates:
        if name.isidentifier() and not keyword.iskeyword(name) and name not in used:
            return name
    return None


def _with_parameter(
    function: cst.FunctionDef, name: str, default: cst.BaseExpression
) -> cst.Parameters:
    """Return the parameters of ``function`` with ``name=default`` appended as a keyword parameter.

    The parameter goes after the last positional-or-keyword parameter, or
    among the keyword-only ones when the signature has ``*`` or ``*args``. A
    signature that annotates its parameters gets ``name: int = default``.
    """
    parameters = function.params
    annotated = any(
        param.annotation is not None
        for param in (*parameters.params, *parameters.kwonly_params)
        if param.name.value != "self"
    )
    if annotated:
        equal = cst.AssignEqual()
        annotation = cst.Annotation(cst.Name("int"))
    else:
        equal = cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
        annotation = None
    new = cst.Param(name=cst.Name(name), annotation=annotation, equal=equal, default=default)

    keyword_only = not isinstance(parameters.star_arg, cst.MaybeSentinel)
    group = list(parameters.kwonly_params if keyword_only else parameters.params)
    if not group:
        # `def __init__(self, *, ...)` with no keyword-only parameter yet is not valid Python.
        group = [new]
    else:
        last = group[-1]
        if isinstance(last.comma, cst.Comma):
            if len(group) >= 2 and isinstance(group[-2].comma, cst.Comma):
                separator = group[-2].comma
            else:
                separator = cst.Comma(whitespace_after=function.whitespace_before_params)
            group[-1] = last.with_changes(comma=separator)
            group.append(new.with_changes(comma=last.comma, whitespace_after_param=last.whitespace_after_param))
        else:
            group[-1] = last.with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                whitespace_after_param=cst.SimpleWhitespace(""),
            )
            group.append(new.with_changes(whitespace_after_param=last.whitespace_after_param))
    if keyword_only:
        return parameters.with_changes(kwonly_params=group)
    return parameters.with_changes(params=group)


def _literal_evaluator():
    """Return ``_lengths.literal_int``, imported late because importing the rules package imports this module."""
    from posenc_lint.rules._lengths import literal_int

    return literal_int
