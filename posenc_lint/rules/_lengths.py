"""Shared analysis for the table-length rules: PEL201, PEL202, PEL504 and PEL505.

The rules ask the same questions about a position table. Which attributes of
a class are position tables? How long is a table, and along which axis? Which
expressions are the runtime length of an input: ``x.size(1)``, ``x.shape[1]``,
``len(x)`` or a local name assigned from one? Does a function check such a
length before it uses the table?
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.model import AttributeWrite, ClassModel, FunctionModel, ModuleModel

# Attribute names that hold some other embedding or layer, even inside a class
# named for position embeddings (`TokenAndPositionEmbedding.token_emb`).
OTHER_EMBEDDING_NAME = re.compile(
    r"token|word|vocab|type|segment|patch|cls|class|level|lang|speaker|register|query"
    r"|bias|scale|freq|theta|relative|bucket|proj|linear|conv|norm|mask|ids$|idx$",
    re.IGNORECASE,
)

# Relative position tables are sized by a number of buckets or offsets, not by a
# maximum length.
RELATIVE_NAME = re.compile(r"relative|(^|_)rel(_|$)|rel_?pos|bucket", re.IGNORECASE)

# Attributes that hold the index of each position: `position_ids`, `pos_idx`.
POSITION_IDS_NAME = re.compile(r"(^|_)pos(ition)?s?_?(ids|idx|index|indices)$", re.IGNORECASE)

# Tensor factories whose positional arguments (or first tuple argument) are a shape.
SHAPE_FACTORIES = {
    "torch.zeros",
    "torch.ones",
    "torch.empty",
    "torch.randn",
    "torch.rand",
    "torch.full",
    "torch.Tensor",
    "torch.FloatTensor",
}
SHAPE_METHODS = {"new_zeros", "new_ones", "new_empty", "new_full"}

# Methods that return a tensor of the same shape as their receiver.
SHAPE_KEEPING_METHODS = {
    "float",
    "half",
    "double",
    "bfloat16",
    "to",
    "type",
    "type_as",
    "detach",
    "clone",
    "contiguous",
    "requires_grad_",
    "normal_",
    "uniform_",
    "trunc_normal_",
    "zero_",
    "fill_",
    "mul",
    "mul_",
    "div",
    "div_",
    "add",
    "add_",
}

MATRIX_PRODUCTS = {
    "torch.matmul",
    "torch.mm",
    "torch.bmm",
    "torch.einsum",
    "torch.nn.functional.linear",
}

ASSERT_CALLS = {"torch._assert", "torch._check", "torch._check_with", "torch._assert_async"}
CLAMP_NAMES = {"min", "clamp", "clamp_max", "clip", "minimum"}

# Self attributes that hold a table's size: `self.max_len`, `self.max_seq_len`,
# `self.num_positions`, `self.block_size`, `self.context_length`.
SIZE_ATTRIBUTE = re.compile(
    r"max|len|length|n_ctx|context|positions|block_size|num_patches|seq", re.IGNORECASE
)

COMPARISON_TYPES = (
    cst.LessThan,
    cst.LessThanEqual,
    cst.GreaterThan,
    cst.GreaterThanEqual,
    cst.Equal,
    cst.NotEqual,
)

_EMPTY_MODULE = cst.Module(body=[])


def source_of(node: cst.CSTNode) -> str:
    return _EMPTY_MODULE.code_for_node(node)


def literal_int(node: Optional[cst.CSTNode]) -> Optional[int]:
    """Return the value of an integer literal or of arithmetic on integer literals."""
    if node is None:
        return None
    value = syntax.int_value(node)
    if value is not None:
        return value
    if isinstance(node, cst.BinaryOperation):
        left = literal_int(node.left)
        right = literal_int(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.operator, cst.Add):
            return left + right
        if isinstance(node.operator, cst.Subtract):
            return left - right
        if isinstance(node.operator, cst.Multiply):
            return left * right
        if isinstance(node.operator, cst.FloorDivide) and right != 0:
            return left // right
        if isinstance(node.operator, cst.Power) and 0 <= right <= 64:
            return left**right
    return None


def strip_parentheses(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[], rpar=[]) if getattr(node, "lpar", None) else node


# -- position tables ---------------------------------------------------------


def position_tables(model: ModuleModel, cls: ClassModel) -> Set[str]:
    """Return the attributes of ``cls`` that hold position tables.

    An attribute counts when its name matches the table pattern, when a sin/cos
    table builder computes it, or when the class is named for position
    embeddings and the attribute's name does not name another kind of value.
    Use in ``forward`` alone does not count, because a causal mask is sliced by
    the length too.
    """
    key = ("position_tables", id(cls))
    cached = model.shared.get(key)
    if cached is None:
        cached = model.shared[key] = frozenset(_position_tables(model, cls))
    return set(cached)


def _position_tables(model: ModuleModel, cls: ClassModel) -> Set[str]:
    owners = [cls] + _in_file_ancestors(cls)
    named_for_positions = any(owner.name_says_table for owner in owners)
    projections = _projection_attributes(model, owners)
    tables = set()
    for owner in owners:
        for write in owner.writes:
            attr = write.attr
            if not attr or attr in tables or RELATIVE_NAME.search(attr) or attr in projections:
                continue
            if model.is_table_name(attr):
                tables.add(attr)
            elif named_for_positions and not OTHER_EMBEDDING_NAME.search(attr):
                tables.add(attr)
            elif model.is_sinusoid_value(write.value, write.function):
                tables.add(attr)
    return tables


def _projection_attributes(model: ModuleModel, owners: List[ClassModel]) -> Set[str]:
    """Return attributes used as a matrix operand, such as a random Fourier projection.

    SAM's ``coords @ self.positional_embedding`` maps 2-d coordinates to
    features: a ``(2, d)`` matrix, not a table of positions.
    """
    found: Set[str] = set()
    for owner in owners:
        for function in owner.methods.values():
            operands: List[cst.BaseExpression] = []
            for node in function.matmuls:
                operands.extend([node.left, node.right])
            for call in function.calls:
                if call.qualname in MATRIX_PRODUCTS:
                    operands.extend(arg.value for arg in call.node.args)
            for operand in operands:
                attr = _attribute_through_methods(function, operand)
                if attr is not None:
                    found.add(attr)
    return found


def _attribute_through_methods(
    function: FunctionModel, node: cst.BaseExpression
) -> Optional[str]:
    """Return ``T`` for ``self.T``, ``self.T.t()``, ``self.T.to(x)`` and ``self.T.T``."""
    for _ in range(8):
        attr = table_attribute(function, node)
        if attr is not None:
            return attr
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, cst.Attribute) and node.attr.value in ("T", "mT"):
            node = node.value
        else:
            return None
    return None


def _in_file_ancestors(cls: ClassModel) -> List[ClassModel]:
    found: List[ClassModel] = []
    stack = list(cls.in_file_bases)
    while stack:
        base = stack.pop()
        if base is cls or any(base is seen for seen in found):
            continue
        found.append(base)
        stack.extend(base.in_file_bases)
    return found


def table_attribute(function: FunctionModel, node: cst.CSTNode) -> Optional[str]:
    """Return ``T`` when ``node`` is ``self.T``, ``self.T.weight`` or ``self.T.data``."""
    if not isinstance(node, cst.BaseExpression):
        return None
    return function.self_attribute(syntax.strip_data(node))


def attribute_writes(cls: ClassModel, attr: str) -> Iterator[AttributeWrite]:
    """Yield the writes of ``self.attr`` in ``cls`` and its in-file base classes."""
    for owner in [cls] + _in_file_ancestors(cls):
        yield from owner.writes_to(attr)


# -- shapes ------------------------------------------------------------------


def shape_arguments(model: ModuleModel, call: cst.Call) -> Optional[List[cst.BaseExpression]]:
    """Return the shape a factory call is given, as a list of expressions."""
    if any(arg.star for arg in call.args):
        return None
    positional = syntax.positional_args(call)
    qualname = model.qualname(call.func)
    if qualname == "torch.full" or (
        isinstance(call.func, cst.Attribute) and call.func.attr.value == "new_full"
    ):
        positional = positional[:1]
    if not positional:
        size = syntax.keyword_arg(call, "size")
        positional = [size] if size is not None else []
    if len(positional) == 1 and isinstance(positional[0], (cst.Tuple, cst.List)):
        elements = positional[0].elements
        if any(isinstance(element, cst.StarredElement) for element in elements):
            return None
        return [element.value for element in elements]
    return list(positional)


def is_shape_factory(model: ModuleModel, call: cst.Call) -> bool:
    if model.qualname(call.func) in SHAPE_FACTORIES:
        return True
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in SHAPE_METHODS


def find_factory(
    model: ModuleModel, function: Optional[FunctionModel], node: Optional[cst.BaseExpression]
) -> Optional[cst.Call]:
    """Return the shape factory or ``torch.arange`` call that creates a table value.

    Looks through local names, ``nn.Parameter``, ``nn.init`` helpers, shape-keeping
    methods such as ``.unsqueeze`` and arithmetic such as ``* 0.02``.
    """
    for _ in range(16):
        node = model.resolve(node, function)
        if isinstance(node, cst.BinaryOperation):
            left = find_factory(model, function, node.left)
            return left if left is not None else find_factory(model, function, node.right)
        if not isinstance(node, cst.Call):
            return None
        qualname = model.qualname(node.func) or ""
        if is_shape_factory(model, node) or qualname == "torch.arange":
            return node
        if qualname in ("torch.nn.Parameter", "torch.nn.Buffer"):
            node = syntax.argument(node, 0, "data")
            continue
        if qualname.startswith("torch.nn.init."):
            node = syntax.argument(node, 0, "tensor")
            continue
        if qualname.startswith("torch."):
            return None
        if isinstance(node.func, cst.Attribute):
            node = node.func.value
            continue
        return None
    return None


def length_axis(shape: Sequence[cst.BaseExpression]) -> Optional[int]:
    """Return which axis of a table's creation shape is its length, if that is clear.

    ``(L, d)`` has its length at axis 0, ``(1, L, d)`` at axis 1 and
    ``(L, 1, d)`` at axis 0. Other shapes, grids included, are ambiguous.
    """
    if len(shape) == 2:
        return 0
    if len(shape) == 3:
        first = literal_int(shape[0])
        second = literal_int(shape[1])
        if first == 1 and second != 1:
            return 1
        if second == 1 and first != 1:
            return 0
    return None


def table_layout(model: ModuleModel, cls: ClassModel, attr: str) -> Optional[Tuple[str, ...]]:
    """Return the axis tags of a table's value, from the first write that shows them."""
    for write in attribute_writes(cls, attr):
        value = model.resolve(write.value, write.function)
        if isinstance(value, cst.Call) and model.qualname(value.func) == "torch.nn.Embedding":
            return ("L", "D")
        layout = _layout(model, write.function, write.value, 0)
        if layout is not None:
            return layout
    return None


def is_embedding(model: ModuleModel, cls: ClassModel, attr: str) -> bool:
    """Return whether ``self.attr`` is assigned an ``nn.Embedding``."""
    for write in attribute_writes(cls, attr):
        value = model.resolve(write.value, write.function)
        if isinstance(value, cst.Call) and model.qualname(value.func) == "torch.nn.Embedding":
            return True
    return False


def sequence_first_layout(
    model: ModuleModel, function: Optional[FunctionModel], node: Optional[cst.BaseExpression]
) -> bool:
    """Return whether ``node`` evaluates to a ``(max_len, 1, d)`` table."""
    return _layout(model, function, node, 0) == ("L", "1", "D")


def _layout(
    model: ModuleModel,
    function: Optional[FunctionModel],
    node: Optional[cst.BaseExpression],
    depth: int,
) -> Optional[Tuple[str, ...]]:
    """Return one tag per axis: ``L`` (length), ``1`` (singleton), ``D`` (width)."""
    if node is None or depth > 16:
        return None
    node = model.resolve(node, function)

    if isinstance(node, cst.Subscript):
        return _subscript_layout(model, function, node, depth)
    if isinstance(node, cst.BinaryOperation):
        # `torch.randn(max_len, 1, d) * 0.02`: the scalar side has no layout.
        left = _layout(model, function, node.left, depth + 1)
        return left if left is not None else _layout(model, function, node.right, depth + 1)
    if not isinstance(node, cst.Call):
        return None

    qualname = model.qualname(node.func) or ""
    if qualname in ("torch.nn.Parameter", "torch.nn.Buffer"):
        return _layout(model, function, syntax.argument(node, 0, "data"), depth + 1)
    if is_shape_factory(model, node):
        return _factory_layout(model, node)
    if qualname.startswith("torch.") or not isinstance(node.func, cst.Attribute):
        return None

    inner = _layout(model, function, node.func.value, depth + 1)
    if inner is None:
        return None
    return _method_layout(node.func.attr.value, syntax.positional_args(node), inner)


def _factory_layout(model: ModuleModel, call: cst.Call) -> Optional[Tuple[str, ...]]:
    shape = shape_arguments(model, call)
    if shape is None:
        return None
    axis = length_axis(shape)
    if axis is None:
        return None
    tags = ["1" if literal_int(size) == 1 else "D" for size in shape]
    tags[axis] = "L"
    return tuple(tags)


def _method_layout(
    method: str, positional: List[cst.BaseExpression], inner: Tuple[str, ...]
) -> Optional[Tuple[str, ...]]:
    """Apply ``unsqueeze``, ``transpose``, ``permute`` or a shape-keeping method to a layout."""
    if method in SHAPE_KEEPING_METHODS:
        return inner

    if method == "unsqueeze" and len(positional) == 1:
        axis = literal_int(positional[0])
        if axis is None:
            return None
        if axis < 0:
            axis += len(inner) + 1
        if not 0 <= axis <= len(inner):
            return None
        return inner[:axis] + ("1",) + inner[axis:]

    if method in ("transpose", "swapaxes") and len(positional) == 2:
        first, second = literal_int(positional[0]), literal_int(positional[1])
        if first is None or second is None:
            return None
        tags = list(inner)
        try:
            tags[first], tags[second] = tags[second], tags[first]
        except IndexError:
            return None
        return tuple(tags)

    if method == "permute":
        order = [literal_int(arg) for arg in positional]
        if len(order) != len(inner) or any(axis is None for axis in order):
            return None
        try:
            return tuple(inner[axis] for axis in order)  # type: ignore[index]
        except IndexError:
            return None
    return None


def _subscript_layout(
    model: ModuleModel, function: Optional[FunctionModel], node: cst.Subscript, depth: int
) -> Optional[Tuple[str, ...]]:
    """Handle ``pe[None]`` and ``pe[:, None]``, which insert singleton axes."""
    inner = _layout(model, function, node.value, depth + 1)
    if inner is None:
        return None
    tags: List[str] = []
    position = 0
    for element in syntax.subscript_elements(node):
        if isinstance(element, cst.Index) and isinstance(element.value, cst.Name) and (
            element.value.value == "None"
        ):
            tags.append("1")
        elif _is_full_slice(element) and position < len(inner):
            tags.append(inner[position])
            position += 1
        else:
            return None
    return tuple(tags) + inner[position:]


def _is_full_slice(element: cst.BaseSlice) -> bool:
    return (
        isinstance(element, cst.Slice)
        and element.lower is None
        and element.upper is None
        and element.step is None
    )


def leading_positions(node: cst.Subscript) -> Iterator[Tuple[int, cst.BaseSlice]]:
    """Yield the elements a length can index: the first element after full slices.

    In ``pe[:n]``, ``pe[:, :n]``, ``pe[None, :n]`` and ``pe[..., n]`` the element
    holding ``n`` is yielded with its position; later elements are not.
    """
    for position, element in enumerate(syntax.subscript_elements(node)):
        if position > 1:
            return
        if _is_full_slice(element):
            continue
        if isinstance(element, cst.Index) and isinstance(element.value, (cst.Name, cst.Ellipsis)):
            value = element.value
            if isinstance(value, cst.Ellipsis) or value.value == "None":
                continue
        yield position, element
        return


# -- runtime lengths ---------------------------------------------------------


@dataclass(frozen=True)
class Length:
    """The length of ``receiver`` (its source code) along ``axis``, which is None for ``len()``."""

    receiver: str
    axis: Optional[int]

    def describe(self) -> str:
        if self.axis is None:
            return f"len({self.receiver})"
        return f"{self.receiver}.size({self.axis})"


def length_of(node: Optional[cst.CSTNode]) -> Optional[Length]:
    """Return the length that ``x.size(k)``, ``x.shape[k]``, ``x.size()[k]`` or ``len(x)`` reads."""
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Name) and node.func.value == "len":
            positional = syntax.positional_args(node)
            if len(positional) == 1:
                return Length(source_of(strip_parentheses(positional[0])), None)
            return None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "size":
            axis = literal_int(syntax.argument(node, 0, "dim"))
            if axis is not None:
                return Length(source_of(strip_parentheses(node.func.value)), axis)
        return None
    if isinstance(node, cst.Subscript):
        shape_of = _shape_receiver(node.value)
        elements = syntax.subscript_elements(node)
        if shape_of is None or len(elements) != 1 or not isinstance(elements[0], cst.Index):
            return None
        axis = literal_int(elements[0].value)
        if axis is None:
            return None
        return Length(source_of(strip_parentheses(shape_of)), axis)
    return None


def _shape_receiver(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """Return ``x`` for ``x.shape`` and ``x.size()``."""
    if isinstance(node, cst.Attribute) and node.attr.value == "shape":
        return node.value
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "size"
        and not node.args
    ):
        return node.func.value
    return None


def unpacked_lengths(
    target: cst.BaseExpression, value: Optional[cst.BaseExpression]
) -> Dict[str, Optional[Length]]:
    """Map the names ``b, n, d = x.shape`` binds to the lengths they read."""
    found: Dict[str, Optional[Length]] = {}
    if not isinstance(target, (cst.Tuple, cst.List)):
        return found
    elements = list(target.elements)
    starred = [
        index for index, element in enumerate(elements) if isinstance(element, cst.StarredElement)
    ]
    star = starred[0] if starred else None
    receiver, first_axis = _unpacked_shape(value)
    if first_axis is not None and first_axis < 0 and star is not None:
        receiver = None

    for index, element in enumerate(elements):
        if not isinstance(element.value, cst.Name):
            continue
        name = element.value.value
        if receiver is not None and first_axis is not None and index != star:
            if star is None or index < star:
                axis = first_axis + index
            else:
                axis = index - len(elements)
            found[name] = Length(source_of(strip_parentheses(receiver)), axis)
        elif (
            isinstance(value, (cst.Tuple, cst.List))
            and star is None
            and len(value.elements) == len(elements)
        ):
            found[name] = length_of(value.elements[index].value)
        else:
            found[name] = None
    return found


def _unpacked_shape(
    value: Optional[cst.BaseExpression],
) -> Tuple[Optional[cst.BaseExpression], Optional[int]]:
    """Return the tensor and first axis that unpacking ``value`` reads.

    ``x.shape`` and ``x.size()`` start at axis 0, ``x.shape[:2]`` too, and
    ``x.shape[-2:]`` starts at axis -2.
    """
    if value is None:
        return None, None
    receiver = _shape_receiver(value)
    if receiver is not None:
        return receiver, 0
    if not isinstance(value, cst.Subscript):
        return None, None
    receiver = _shape_receiver(value.value)
    parts = syntax.subscript_elements(value)
    if receiver is None or len(parts) != 1 or not isinstance(parts[0], cst.Slice):
        return None, None
    part = parts[0]
    if part.step is not None:
        return None, None
    if part.lower is None:
        return receiver, 0
    lower = literal_int(part.lower)
    if lower is not None and lower < 0 and part.upper is None:
        return receiver, lower
    return None, None


def assigned_length(
    model: ModuleModel, function: FunctionModel, name: cst.Name
) -> Optional[Length]:
    """Return the length stored in a local name where it is read, if it is one."""
    last = _last_assignment(model, function, name)
    if last is None:
        return None
    for target in last.targets:
        if isinstance(target, cst.Name) and target.value == name.value:
            return length_of(last.value)
        lengths = unpacked_lengths(target, last.value)
        if name.value in lengths:
            return lengths[name.value]
    return None


def _last_assignment(model: ModuleModel, function: FunctionModel, name: cst.Name):
    order = model.order_of(name)
    earlier = [
        assignment
        for assignment in function.local_assignments(name.value)
        if order < 0 or assignment.order < order
    ]
    if not earlier or earlier[-1].augmented:
        return None
    return earlier[-1]


def runtime_length(
    model: ModuleModel, function: FunctionModel, node: Optional[cst.CSTNode]
) -> Optional[Length]:
    """Return the length that ``node`` reads directly or through a local name."""
    if node is None:
        return None
    node = strip_parentheses(node) if isinstance(node, cst.BaseExpression) else node
    direct = length_of(node)
    if direct is not None:
        return direct
    if isinstance(node, cst.Name):
        return assigned_length(model, function, node)
    return None


# -- checks ------------------------------------------------------------------


@dataclass
class LengthTerms:
    """The local names and length expressions an upper bound is computed from."""

    names: Set[str]
    lengths: Set[Length]
    clamped: bool


def length_terms(
    model: ModuleModel, function: FunctionModel, bound: cst.BaseExpression
) -> LengthTerms:
    """Collect what ``bound`` depends on, following local assignments of its names."""
    terms = LengthTerms(set(), set(), False)
    pending: List[cst.CSTNode] = [bound]
    seen_names: Set[str] = set()
    while pending:
        node = pending.pop()
        for sub in syntax.walk(node):
            length = length_of(sub)
            if length is not None:
                terms.lengths.add(length)
            if isinstance(sub, cst.Call) and syntax.last_name(sub.func) in CLAMP_NAMES:
                terms.clamped = True
        receivers = _length_receiver_names(node)
        for name in syntax.names_in(node):
            if name.value in seen_names or name.value == function.self_name:
                continue
            if name.value in receivers:
                continue
            seen_names.add(name.value)
            terms.names.add(name.value)
            for assignment in function.local_assignments(name.value):
                if assignment.value is not None:
                    pending.append(assignment.value)
                for target in assignment.targets:
                    length = unpacked_lengths(target, assignment.value).get(name.value)
                    if length is not None:
                        terms.lengths.add(length)
    return terms


def _length_receiver_names(node: cst.CSTNode) -> Set[str]:
    """Return the plain names that lengths in ``node`` are read from (``x`` in ``x.size(1)``)."""
    receivers: Set[str] = set()
    for sub in syntax.walk(node):
        length = length_of(sub)
        if length is not None and re.fullmatch(r"\w+", length.receiver):
            receivers.add(length.receiver)
    return receivers


def check_tests(model: ModuleModel, function: FunctionModel) -> Iterator[cst.BaseExpression]:
    """Yield the conditions a function checks: asserts, ``if`` tests and ``torch._assert``."""
    for statement in function.asserts:
        yield statement.test
    for statement in function.ifs:
        yield statement.test
    for node in syntax.walk(function.node):
        if isinstance(node, (cst.While, cst.IfExp)):
            yield node.test
    for call in function.calls:
        if call.qualname in ASSERT_CALLS:
            positional = syntax.positional_args(call.node)
            if positional:
                yield positional[0]


def mentions_terms(test: cst.BaseExpression, terms: LengthTerms) -> bool:
    if any(name.value in terms.names for name in syntax.names_in(test)):
        return True
    return any(length_of(sub) in terms.lengths for sub in syntax.walk(test))


def has_comparison(test: cst.CSTNode) -> bool:
    for sub in syntax.walk(test):
        if isinstance(sub, cst.Comparison) and any(
            isinstance(target.operator, COMPARISON_TYPES) for target in sub.comparisons
        ):
            return True
    return False


def requires_table_absent(function: FunctionModel, test: cst.BaseExpression, attr: str) -> bool:
    """Return whether ``test`` can be true only when ``self.attr`` is None or missing.

    ``if not exists(self.pos) and n < self.max_len:`` pads the input only on the
    path without a table, so it checks nothing about the table.
    """
    parts: List[cst.BaseExpression] = [test]
    while parts:
        part = strip_parentheses(parts.pop())
        if isinstance(part, cst.BooleanOperation) and isinstance(part.operator, cst.And):
            parts.extend([part.left, part.right])
            continue
        if isinstance(part, cst.UnaryOperation) and isinstance(part.operator, cst.Not):
            operand = strip_parentheses(part.expression)
            if isinstance(operand, cst.Call) and operand.args:
                operand = operand.args[0].value
            if table_attribute(function, operand) == attr:
                return True
        if isinstance(part, cst.Comparison) and len(part.comparisons) == 1:
            comparison = part.comparisons[0]
            if (
                isinstance(comparison.operator, cst.Is)
                and isinstance(comparison.comparator, cst.Name)
                and comparison.comparator.value == "None"
                and table_attribute(function, part.left) == attr
            ):
                return True
    return False


def is_checked(
    model: ModuleModel,
    cls: ClassModel,
    function: FunctionModel,
    attr: str,
    bound: cst.BaseExpression,
) -> bool:
    """Return whether the length ``bound`` is checked against the table ``attr``.

    A check is an assert, a ``torch._assert``, an ``if`` or ``while`` that
    compares the length, or a ``min`` or ``clamp`` on the length. Growth logic
    and a raising ``if`` are such comparisons. A comparison anywhere on the
    forward path that involves the table or an attribute that stores its size,
    such as ``self.max_len``, counts too. So does assigning the table on the
    forward path (``self.pe = self.extend_pe(x, self.pe)``), which rebuilds it
    for the input at hand.
    """
    terms = length_terms(model, function, bound)
    if terms.clamped:
        return True
    if rebuilt_on_forward_path(cls, attr):
        return True
    for test in check_tests(model, function):
        if requires_table_absent(function, test, attr):
            continue
        if mentions_terms(test, terms) and (has_comparison(test) or _is_assert(function, test)):
            return True
    methods = cls.all_methods()
    for name in cls.forward_reachable | {function.name}:
        other = methods.get(name)
        if other is None:
            continue
        for test in check_tests(model, other):
            if requires_table_absent(other, test, attr):
                continue
            if has_comparison(test) and _mentions_table_size(other, test, attr):
                return True
    return False


def rebuilt_on_forward_path(cls: ClassModel, attr: str) -> bool:
    """Return whether a method that ``forward`` reaches assigns ``self.attr``."""
    return any(
        write.function.name in cls.forward_reachable for write in attribute_writes(cls, attr)
    )


def _is_assert(function: FunctionModel, test: cst.BaseExpression) -> bool:
    return any(statement.test is test for statement in function.asserts)


def _mentions_table_size(function: FunctionModel, test: cst.BaseExpression, attr: str) -> bool:
    for sub in syntax.walk(test):
        name = function.self_attribute(sub)
        if name is None:
            continue
        if name == attr or SIZE_ATTRIBUTE.search(name):
            return True
    return False


def statement_anchor(statement: cst.CSTNode, node: cst.CSTNode) -> cst.CSTNode:
    """Return the node a finding points at: its statement, else ``node`` itself."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return node
    if isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return statement
    return node


def target_subscripts(function: FunctionModel) -> Set[int]:
    """Return the ids of subscripts that are written to (``pe[:, 0::2] = ...``)."""
    found: Set[int] = set()
    for assignment in function.assignments:
        for target in assignment.targets:
            for sub in syntax.walk(target):
                if isinstance(sub, cst.Subscript):
                    found.add(id(sub))
    return found
