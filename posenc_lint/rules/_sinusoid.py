"""Shared analysis for PEL501-PEL503: how a sin/cos table gets its frequencies.

The three rules ask the same questions of a function: which sin and cos calls
it makes, whether a tensor's last dimension comes from a frequency vector that
contains one frequency per sin/cos pair (``arange(0, d, 2)`` or ``arange(d // 2)``),
and whether two scalar angle expressions are the same.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import libcst as cst

from posenc_lint import syntax
from posenc_lint.model import FunctionModel, ModuleModel

TRIG_MODULES = ("math", "numpy", "torch")
ARANGE_FUNCTIONS = {"torch.arange", "numpy.arange"}
TABLE_FACTORIES = {
    "torch.zeros",
    "torch.empty",
    "torch.ones",
    "numpy.zeros",
    "numpy.empty",
    "numpy.ones",
}

# Calls that keep the last dimension of every tensor argument they receive.
SHAPE_KEEPING_FUNCTIONS = {
    "torch.exp",
    "torch.pow",
    "torch.float_power",
    "torch.log",
    "torch.sqrt",
    "torch.reciprocal",
    "torch.mul",
    "torch.div",
    "torch.true_divide",
    "torch.neg",
    "torch.outer",
    "torch.ger",
    "torch.matmul",
    "torch.einsum",
    "numpy.exp",
    "numpy.power",
    "numpy.log",
    "numpy.sqrt",
    "numpy.reciprocal",
    "numpy.multiply",
    "numpy.divide",
    "numpy.outer",
    "numpy.matmul",
    "numpy.einsum",
}

# Tensor methods that keep the last dimension of their receiver.
SHAPE_KEEPING_METHODS = {
    "float",
    "double",
    "half",
    "bfloat16",
    "to",
    "type",
    "type_as",
    "astype",
    "unsqueeze",
    "exp",
    "pow",
    "mul",
    "div",
    "reciprocal",
    "neg",
    "contiguous",
    "clone",
    "detach",
    "cpu",
    "cuda",
}

# Functions whose scalar value the angle comparison can compute.
NUMERIC_FUNCTIONS = {
    "math.log": math.log,
    "math.exp": math.exp,
    "math.sqrt": math.sqrt,
    "math.pow": math.pow,
    "numpy.log": math.log,
    "numpy.exp": math.exp,
    "numpy.sqrt": math.sqrt,
    "numpy.power": math.pow,
    "torch.pow": math.pow,
    "torch.exp": math.exp,
    "float": float,
    "pow": pow,
}


@dataclass(frozen=True)
class FrequencyVector:
    """An ``arange`` that yields one frequency per sin/cos pair of a ``width``-wide table.

    ``kind`` is "step" for ``arange(0, width, 2)``, which has ``ceil(width / 2)``
    elements, and "half" for ``arange(width // 2)``, which has ``floor(width / 2)``.
    """

    call: cst.Call
    kind: str
    width: cst.BaseExpression


@dataclass(frozen=True)
class TrigCall:
    """A sin or cos call and the expression it is applied to."""

    kind: str
    operand: cst.BaseExpression
    node: cst.Call


def trig_call(
    model: ModuleModel, node: Optional[cst.CSTNode], allow_methods: bool = True
) -> Optional[TrigCall]:
    """Return the sin or cos that ``node`` calls: ``math``, numpy and torch spellings."""
    if not isinstance(node, cst.Call):
        return None
    qualname = model.qualname(node.func) or ""
    module, _, function = qualname.rpartition(".")
    if module in TRIG_MODULES and function in ("sin", "cos"):
        operand = syntax.argument(node, 0, "input")
        if operand is None:
            operand = syntax.argument(node, 0, "x")
        if operand is None:
            return None
        return TrigCall(function, operand, node)
    if allow_methods and isinstance(node.func, cst.Attribute) and not node.args:
        method = node.func.attr.value
        if method in ("sin", "sin_", "cos", "cos_"):
            return TrigCall(method.rstrip("_"), node.func.value, node)
    return None


# -- frequency vectors -------------------------------------------------------


def arange_bounds(
    model: ModuleModel, call: cst.Call
) -> Optional[Tuple[Optional[cst.BaseExpression], cst.BaseExpression, Optional[cst.BaseExpression]]]:
    """Return ``(start, end, step)`` of a torch or numpy ``arange`` call."""
    if model.qualname(call.func) not in ARANGE_FUNCTIONS:
        return None
    positional = syntax.positional_args(call)
    end_keyword = syntax.keyword_arg(call, "end") or syntax.keyword_arg(call, "stop")
    start = syntax.keyword_arg(call, "start")
    step = syntax.keyword_arg(call, "step")
    if len(positional) == 1 and end_keyword is None and start is None:
        return None, positional[0], step
    if len(positional) >= 2:
        start = positional[0]
        end = positional[1]
        if len(positional) >= 3:
            step = positional[2]
        return start, end, step
    if len(positional) == 1:
        start = positional[0]
    if end_keyword is None:
        return None
    return start, end_keyword, step


def frequency_vector(
    model: ModuleModel, call: cst.Call, function: FunctionModel
) -> Optional[FrequencyVector]:
    """Recognise ``arange(0, d, 2)`` and ``arange(d // 2)`` as one frequency per pair."""
    bounds = arange_bounds(model, call)
    if bounds is None:
        return None
    start, end, step = bounds
    if start is not None and syntax.int_value(start) != 0:
        return None
    step_value = 1 if step is None else syntax.int_value(step)
    if step_value == 2:
        return FrequencyVector(call, "step", end)
    if step_value != 1:
        return None
    halved = model.resolve(end, function)
    if (
        isinstance(halved, cst.BinaryOperation)
        and isinstance(halved.operator, cst.FloorDivide)
        and syntax.int_value(halved.right) == 2
    ):
        return FrequencyVector(call, "half", halved.left)
    return None


def frequency_source(
    model: ModuleModel,
    node: Optional[cst.BaseExpression],
    function: FunctionModel,
    in_exponent: bool = False,
    depth: int = 0,
) -> Optional[FrequencyVector]:
    """Return the frequency vector that sets the last dimension of ``node``, if any.

    Follows local names and operations that keep the last dimension
    (arithmetic, ``exp``, dtype casts, ``unsqueeze(0)``, outer products and
    ``[None, :]`` indexing). Anything else, slices with bounds included, ends
    the search, so a trimmed or repeated vector is not reported. The ``arange``
    counts only when it reaches ``node`` through an exponent (``**``, ``exp``,
    ``pow``), as frequencies do, and not when it is made a column with
    ``unsqueeze(1)`` or ``[:, None]``, as positions are.
    """
    if node is None or depth > 12:
        return None
    if isinstance(node, cst.Name):
        resolved = model.resolve(node, function)
        if resolved is node:
            return None
        return frequency_source(model, resolved, function, in_exponent, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        return _binary_source(model, node, function, in_exponent, depth)
    if isinstance(node, cst.UnaryOperation):
        return frequency_source(model, node.expression, function, in_exponent, depth + 1)
    if isinstance(node, cst.Subscript):
        elements = syntax.subscript_elements(node)
        makes_column = len(elements) > 1 and _is_none(elements[-1])
        if all(_keeps_dimension(element) for element in elements) and not makes_column:
            return frequency_source(model, node.value, function, in_exponent, depth + 1)
        return None
    if not isinstance(node, cst.Call):
        return None

    vector = frequency_vector(model, node, function)
    if vector is not None:
        return vector if in_exponent else None
    qualname = model.qualname(node.func)
    if qualname in SHAPE_KEEPING_FUNCTIONS:
        return _call_source(model, node, qualname or "", function, in_exponent, depth)
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in SHAPE_KEEPING_METHODS:
        method = node.func.attr.value
        if method in ("unsqueeze", "unsqueeze_") and _makes_column(node):
            return None
        if method == "pow":
            return frequency_source(
                model, syntax.argument(node, 0, "exponent"), function, True, depth + 1
            )
        return frequency_source(
            model, node.func.value, function, in_exponent or method == "exp", depth + 1
        )
    return None


def _binary_source(
    model: ModuleModel,
    node: cst.BinaryOperation,
    function: FunctionModel,
    in_exponent: bool,
    depth: int,
) -> Optional[FrequencyVector]:
    if isinstance(node.operator, cst.Power):
        return frequency_source(model, node.right, function, True, depth + 1)
    if isinstance(node.operator, cst.MatrixMultiply):
        return frequency_source(model, node.right, function, in_exponent, depth + 1)
    return frequency_source(model, node.left, function, in_exponent, depth + 1) or frequency_source(
        model, node.right, function, in_exponent, depth + 1
    )


def _call_source(
    model: ModuleModel,
    node: cst.Call,
    qualname: str,
    function: FunctionModel,
    in_exponent: bool,
    depth: int,
) -> Optional[FrequencyVector]:
    """Follow a shape-keeping call to the argument that sets the last dimension."""
    arguments = syntax.positional_args(node)
    name = qualname.rpartition(".")[2]
    if name in ("pow", "float_power", "power"):
        exponent = arguments[1] if len(arguments) > 1 else syntax.keyword_arg(node, "exponent")
        return frequency_source(model, exponent, function, True, depth + 1)
    if name in ("outer", "ger", "matmul"):
        return frequency_source(model, arguments[-1] if arguments else None, function, in_exponent, depth + 1)
    if name == "einsum":
        operand = _einsum_last_operand(arguments)
        return frequency_source(model, operand, function, in_exponent, depth + 1)
    in_exponent = in_exponent or name == "exp"
    for value in arguments:
        found = frequency_source(model, value, function, in_exponent, depth + 1)
        if found is not None:
            return found
    return None


def _einsum_last_operand(arguments: List[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    """Return the operand of ``einsum("i,j->ij", a, b)`` that contains the last index of the output."""
    if not arguments:
        return None
    spec = syntax.string_value(arguments[0])
    if spec is None or "->" not in spec:
        return None
    inputs, _, output = spec.replace(" ", "").partition("->")
    operands = inputs.split(",")
    if not output or len(operands) != len(arguments) - 1:
        return None
    last = output[-1]
    holders = [index for index, letters in enumerate(operands) if last in letters]
    if len(holders) != 1:
        return None
    return arguments[holders[0] + 1]


def _makes_column(call: cst.Call) -> bool:
    """Return whether ``x.unsqueeze(k)`` adds a last dimension, which ``k`` of 1 or -1 does for a vector."""
    dimension = syntax.int_value(syntax.argument(call, 0, "dim"))
    return dimension is None or dimension != 0


def _is_none(element: cst.BaseSlice) -> bool:
    return (
        isinstance(element, cst.Index)
        and isinstance(element.value, cst.Name)
        and element.value.value == "None"
    )


def _keeps_dimension(element: cst.BaseSlice) -> bool:
    """Return whether an index element is ``None``, ``...`` or a bare ``:``."""
    if isinstance(element, cst.Slice):
        return element.lower is None and element.upper is None and element.step is None
    if isinstance(element, cst.Index):
        value = element.value
        return isinstance(value, cst.Ellipsis) or (
            isinstance(value, cst.Name) and value.value == "None"
        )
    return False


# -- slices and tables -------------------------------------------------------


def step_two_start(node: cst.Subscript) -> Optional[int]:
    """Return 0 for ``x[..., 0::2]`` and 1 for ``x[..., 1::2]``: the last index only."""
    elements = syntax.subscript_elements(node)
    if not elements:
        return None
    last = elements[-1]
    if not isinstance(last, cst.Slice) or last.upper is not None:
        return None
    if syntax.slice_step(last) != 2:
        return None
    if last.lower is None:
        return 0
    start = syntax.int_value(last.lower)
    return start if start in (0, 1) else None


def has_ellipsis(node: cst.Subscript) -> bool:
    return any(
        isinstance(element, cst.Index) and isinstance(element.value, cst.Ellipsis)
        for element in syntax.subscript_elements(node)
    )


def table_sizes(
    model: ModuleModel, node: Optional[cst.BaseExpression], function: FunctionModel
) -> Optional[List[cst.BaseExpression]]:
    """Return the size arguments of ``torch.zeros(n, d)`` and friends that ``node`` names."""
    value = model.resolve(node, function)
    for _ in range(6):
        if not isinstance(value, cst.Call):
            return None
        if model.qualname(value.func) in TABLE_FACTORIES:
            break
        if isinstance(value.func, cst.Attribute) and value.func.attr.value in (
            "to",
            "float",
            "double",
            "half",
            "type",
            "cuda",
            "cpu",
            "contiguous",
        ):
            value = model.resolve(value.func.value, function)
            continue
        return None
    else:
        return None
    assert isinstance(value, cst.Call)
    sizes = syntax.positional_args(value)
    if not sizes:
        shape = syntax.keyword_arg(value, "size") or syntax.keyword_arg(value, "shape")
        sizes = [shape] if shape is not None else []
    if len(sizes) == 1 and isinstance(sizes[0], (cst.Tuple, cst.List)):
        sizes = [element.value for element in sizes[0].elements]
    if not sizes or any(isinstance(size, (cst.Tuple, cst.List)) for size in sizes):
        return None
    return list(sizes)


def is_even_size(model: ModuleModel, node: cst.BaseExpression, function: FunctionModel) -> bool:
    """Return whether ``node`` is evidently even: an even literal or a product with one."""
    value = model.resolve(node, function)
    literal = syntax.int_value(value)
    if literal is not None:
        return literal % 2 == 0
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Multiply):
        for factor in (value.left, value.right):
            number = syntax.int_value(factor)
            if number is not None and number % 2 == 0:
                return True
    return False


def parity_checked_names(model: ModuleModel) -> Set[str]:
    """Return the names the file tests for evenness: ``d % 2``, ``d & 1``.

    Collects the last name of every Name and Attribute on the left of such a
    test anywhere in the file, so a check in ``__init__`` covers a helper that
    reads the same width from ``config.d_model``.
    """
    names: Set[str] = set()
    for node in syntax.walk(model.module):
        if not isinstance(node, cst.BinaryOperation):
            continue
        right = syntax.int_value(node.right)
        if isinstance(node.operator, cst.Modulo) and right == 2:
            names |= last_names(node.left)
        elif isinstance(node.operator, cst.BitAnd) and right == 1:
            names |= last_names(node.left)
    return names


def last_names(node: cst.CSTNode) -> Set[str]:
    """Return the names and attribute names that ``node`` reads."""
    found: Set[str] = set()
    for sub in syntax.walk(node):
        if isinstance(sub, cst.Name):
            found.add(sub.value)
    return found


# -- comparing angle expressions ---------------------------------------------

_OPERATORS = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
    cst.MatrixMultiply: "@",
}

_EMPTY_MODULE = cst.Module(body=[])


class AngleReader:
    """Reader that turns angle expressions into canonical text and computes their values.

    Local names are replaced by the arithmetic they were last assigned in the
    function, so ``denom = 10000 ** (i / d)`` followed by ``sin(pos / denom)``
    reads the same as ``sin(pos / 10000 ** (i / d))``.
    """

    def __init__(self, model: ModuleModel, function: FunctionModel):
        self.model = model
        self.function = function

    def text(
        self, node: cst.CSTNode, replace: Optional[Tuple[str, str]] = None, depth: int = 0
    ) -> str:
        """Return ``node`` as fully bracketed text, ignoring layout and redundant brackets.

        ``replace`` maps the canonical text of one subexpression to another,
        which turns the sine's angle into the angle of the cosine's column.
        """
        result = self._text(node, replace, depth)
        if replace is not None and result == replace[0]:
            return replace[1]
        return result

    def _text(self, node: cst.CSTNode, replace: Optional[Tuple[str, str]], depth: int) -> str:
        if depth > 24:
            return "<deep>"
        if isinstance(node, cst.Name):
            inlined = self._inline(node)
            if inlined is not None:
                return self.text(inlined, replace, depth + 1)
            return node.value
        if isinstance(node, (cst.Integer, cst.Float)):
            number = syntax.number_value(node)
            return repr(number) if number is not None else node.value
        if isinstance(node, cst.Attribute):
            dotted = syntax.dotted_name(node)
            if dotted is not None:
                return dotted
        if isinstance(node, cst.BinaryOperation):
            operator = _OPERATORS.get(type(node.operator))
            if operator is not None:
                left = self.text(node.left, replace, depth + 1)
                right = self.text(node.right, replace, depth + 1)
                return f"({left} {operator} {right})"
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return f"(-{self.text(node.expression, replace, depth + 1)})"
        if isinstance(node, cst.Call):
            callee = self.model.qualname(node.func) or self._code(node.func)
            arguments = ", ".join(
                (f"{arg.keyword.value}=" if arg.keyword is not None else "")
                + self.text(arg.value, replace, depth + 1)
                for arg in node.args
            )
            return f"{callee}({arguments})"
        if isinstance(node, cst.Subscript):
            value = self.text(node.value, replace, depth + 1)
            elements = ", ".join(
                self.text(element.value, replace, depth + 1)
                if isinstance(element, cst.Index)
                else self._code(element)
                for element in syntax.subscript_elements(node)
            )
            return f"{value}[{elements}]"
        return self._code(node)

    def _code(self, node: cst.CSTNode) -> str:
        return "".join(_EMPTY_MODULE.code_for_node(node).split())

    def _inline(self, node: cst.Name) -> Optional[cst.BaseExpression]:
        resolved = self.model.resolve(node, self.function)
        if resolved is node or resolved is None:
            return None
        if not self.is_arithmetic(resolved):
            return None
        return resolved

    def is_arithmetic(self, node: cst.CSTNode, depth: int = 0) -> bool:
        """Return whether ``node`` is only numbers, names and operators that ``value`` can compute."""
        if depth > 24:
            return False
        if isinstance(node, (cst.Name, cst.Integer, cst.Float)):
            return True
        if isinstance(node, cst.Attribute):
            return syntax.dotted_name(node) is not None
        if isinstance(node, cst.BinaryOperation):
            return (
                type(node.operator) in _OPERATORS
                and not isinstance(node.operator, cst.MatrixMultiply)
                and self.is_arithmetic(node.left, depth + 1)
                and self.is_arithmetic(node.right, depth + 1)
            )
        if isinstance(node, cst.UnaryOperation):
            return isinstance(node.operator, (cst.Minus, cst.Plus)) and self.is_arithmetic(
                node.expression, depth + 1
            )
        if isinstance(node, cst.Call):
            qualname = self.model.qualname(node.func)
            return (
                qualname in NUMERIC_FUNCTIONS
                and all(arg.keyword is None and not arg.star for arg in node.args)
                and all(self.is_arithmetic(arg.value, depth + 1) for arg in node.args)
            )
        return False

    def reads_inside_lookup(self, node: cst.CSTNode, names: FrozenSet[str], depth: int = 0) -> bool:
        """Return whether one of ``names`` is read inside an index or a call that ``value`` cannot compute.

        In ``pos * freq[i]`` the angle depends on what ``freq`` contains, which
        this reader cannot see: ``freq[i]`` and ``freq[i + 1]`` may be equal.
        """
        if depth > 24:
            return False
        if isinstance(node, cst.Name):
            inlined = self._inline(node)
            if inlined is not None:
                return self.reads_inside_lookup(inlined, names, depth + 1)
            return False
        if isinstance(node, cst.Subscript) or (
            isinstance(node, cst.Call) and self.model.qualname(node.func) not in NUMERIC_FUNCTIONS
        ):
            return bool(self.free_names(node) & names)
        return any(
            self.reads_inside_lookup(child, names, depth + 1)
            for child in syntax.child_nodes(node)
            if isinstance(child, (cst.BaseExpression, cst.Arg))
        )

    def free_names(self, node: cst.CSTNode, depth: int = 0) -> Set[str]:
        """Return the names and dotted attributes that an expression reads."""
        if depth > 24:
            return set()
        if isinstance(node, cst.Name):
            inlined = self._inline(node)
            if inlined is not None:
                return self.free_names(inlined, depth + 1)
            return {node.value}
        if isinstance(node, cst.Attribute):
            return {syntax.dotted_name(node) or ""}
        names: Set[str] = set()
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute):
                names |= self.free_names(node.func.value, depth + 1)
            for arg in node.args:
                names |= self.free_names(arg.value, depth + 1)
            return names
        for child in syntax.child_nodes(node):
            if isinstance(child, cst.Arg):
                child = child.value
            names |= self.free_names(child, depth + 1)
        return names

    def value(self, node: cst.CSTNode, env: Dict[str, float], depth: int = 0) -> float:
        """Compute an arithmetic expression.

        Raises ArithmeticError or ValueError when the expression has no finite real value.
        """
        if depth > 24:
            raise ValueError("expression nests too deeply")
        if isinstance(node, cst.Name):
            inlined = self._inline(node)
            if inlined is not None:
                return self.value(inlined, env, depth + 1)
            return env[node.value]
        if isinstance(node, cst.Attribute):
            return env[syntax.dotted_name(node) or ""]
        if isinstance(node, (cst.Integer, cst.Float)):
            number = syntax.number_value(node)
            if number is None:
                raise ValueError("unreadable number")
            return number
        if isinstance(node, cst.UnaryOperation):
            operand = self.value(node.expression, env, depth + 1)
            return -operand if isinstance(node.operator, cst.Minus) else operand
        if isinstance(node, cst.BinaryOperation):
            left = self.value(node.left, env, depth + 1)
            right = self.value(node.right, env, depth + 1)
            result = _apply(node.operator, left, right)
            if isinstance(result, complex) or not math.isfinite(result):
                raise ValueError("no real value")
            return result
        if isinstance(node, cst.Call):
            function = NUMERIC_FUNCTIONS[self.model.qualname(node.func) or ""]
            result = function(*(self.value(arg.value, env, depth + 1) for arg in node.args))
            if isinstance(result, complex) or not math.isfinite(result):
                raise ValueError("no real value")
            return float(result)
        raise ValueError("not arithmetic")


def _apply(operator: cst.BaseBinaryOp, left: float, right: float) -> float:
    if isinstance(operator, cst.Add):
        return left + right
    if isinstance(operator, cst.Subtract):
        return left - right
    if isinstance(operator, cst.Multiply):
        return left * right
    if isinstance(operator, cst.Divide):
        return left / right
    if isinstance(operator, cst.FloorDivide):
        return left // right
    if isinstance(operator, cst.Modulo):
        return left % right
    if isinstance(operator, cst.Power):
        return left**right
    raise ValueError("unsupported operator")


def sample_environments(names: Set[str], count: int = 4) -> Iterator[Dict[str, float]]:
    """Yield assignments of whole numbers from 2 to 12 to ``names``, the same on every run."""
    generator = random.Random(501)
    ordered = sorted(names)
    for _ in range(count):
        yield {name: float(generator.randint(2, 12)) for name in ordered}


def same_value(first: float, second: float) -> bool:
    return math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-12)
