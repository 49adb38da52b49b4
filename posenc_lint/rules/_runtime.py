"""Shared analysis for the rules about tables built or moved at run time.

PEL401 needs to know what a value computed in ``forward`` depends on. A value
computed only from shapes, devices, dtypes, configuration and literals is the
same on every call with the same shapes. A value that also reads the input,
position ids, masks, learned parameters, random numbers or anything this
analysis cannot follow may change between calls. PEL402 and PEL506 use the
statement helpers, local-name resolution and the device test of ``.to()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.model import (
    SHAPE_ATTRIBUTES,
    SHAPE_METHODS,
    Assignment,
    ClassModel,
    FunctionModel,
    ModuleModel,
)

POSITION_FACTORIES = {"torch.arange", "torch.linspace", "torch.range", "torch.logspace"}

RANDOM_FACTORIES = {
    "torch.rand",
    "torch.randn",
    "torch.randint",
    "torch.rand_like",
    "torch.randn_like",
    "torch.randint_like",
    "torch.randperm",
    "torch.normal",
    "torch.bernoulli",
    "torch.multinomial",
    "torch.poisson",
}
RANDOM_METHODS = {"normal_", "uniform_", "bernoulli_", "random_", "exponential_", "cauchy_"}

# Methods whose arguments only pass a dtype or a device, even when the
# argument is a data tensor (`t.to(x)`, `t.type_as(x)`).
DTYPE_DEVICE_METHODS = {"to", "type_as", "type", "cuda", "cpu", "float", "double", "half", "long", "int"}

# Builtins and modules whose functions compute a result from their arguments only.
PURE_BUILTINS = {"int", "float", "min", "max", "round", "abs", "pow", "divmod", "bool", "tuple", "list"}
PURE_MODULES = {"math", "numpy", "einops"}

CONSTANT_NAMES = {"None", "True", "False", "Ellipsis"}

DEVICE_STRING = re.compile(r"^(cuda|mps|xpu|npu|hpu|xla|meta)(:\d+)?$")


@dataclass(frozen=True)
class Dependencies:
    """What a value depends on.

    ``data`` is set when the value can change between calls with the same
    shapes; ``positions`` when an ``arange`` or ``linspace`` contributes to it.
    """

    data: bool = False
    positions: bool = False

    def __or__(self, other: "Dependencies") -> "Dependencies":
        return Dependencies(self.data or other.data, self.positions or other.positions)


CONSTANT = Dependencies()
DATA = Dependencies(data=True)
POSITIONS = Dependencies(positions=True)


def small_statement(statement: cst.CSTNode, node: cst.CSTNode) -> cst.CSTNode:
    """Return the small statement inside ``statement`` that contains ``node``.

    ``CallSite.statement`` is the whole line (``SimpleStatementLine``) for a
    call in a simple statement. For a call in an ``if`` test or a ``for``
    header it is the enclosing ``def``, so the call itself is returned.
    """
    if not isinstance(statement, cst.SimpleStatementLine):
        return node
    if len(statement.body) == 1:
        return statement.body[0]
    for small in statement.body:
        if any(sub is node for sub in syntax.walk(small)):
            return small
    return node


def nested_scope_nodes(function: FunctionModel) -> Set[int]:
    """Return the ids of the nodes inside nested functions and lambdas of ``function``.

    The model folds nested functions into their outermost function, so a call
    inside one looks unconditional even when the nested function runs only
    sometimes.
    """
    inside: Set[int] = set()
    for statement in function.node.body.body:
        for node in syntax.walk(statement):
            if isinstance(node, (cst.FunctionDef, cst.Lambda)) and id(node) not in inside:
                inside.update(id(sub) for sub in syntax.walk(node))
    return inside


def resolve_local(
    model: ModuleModel, function: FunctionModel, node: Optional[cst.BaseExpression]
) -> Optional[cst.BaseExpression]:
    """Follow a local Name to the value it was last assigned before its use.

    Unlike ``ModuleModel.resolve``, the ``x`` on the right of ``x = x.unsqueeze(0)``
    resolves to the earlier value of ``x``, not to that same statement.
    """
    for _ in range(8):
        if not isinstance(node, cst.Name):
            return node
        name = node
        order = model.order_of(name)
        candidates = [
            assignment
            for assignment in function.local_assignments(name.value)
            if not assignment.augmented
            and len(assignment.targets) == 1
            and isinstance(assignment.targets[0], cst.Name)
            and assignment.value is not None
            and (order < 0 or assignment.order < order)
            and not any(sub is name for sub in syntax.walk(assignment.value))
        ]
        if not candidates:
            return node
        node = candidates[-1].value
    return node


def is_device_expression(model: ModuleModel, node: Optional[cst.BaseExpression]) -> bool:
    """Whether ``node`` evidently names an accelerator device, not a dtype or a tensor.

    Accepts ``x.device``, names containing "device", ``torch.device(...)`` and
    strings such as ``"cuda"`` or ``"cuda:0"``. ``"cpu"`` is left out because
    moving a CPU tensor to the CPU copies nothing.
    """
    if node is None:
        return False
    if isinstance(node, cst.Attribute):
        return node.attr.value == "device" or "device" in node.attr.value.lower()
    if isinstance(node, cst.Name):
        return "device" in node.value.lower()
    if isinstance(node, cst.Call):
        return model.qualname(node.func) == "torch.device" and not _is_cpu_device(node)
    text = syntax.string_value(node)
    return text is not None and bool(DEVICE_STRING.match(text))


def _is_cpu_device(call: cst.Call) -> bool:
    first = syntax.argument(call, 0, "type")
    return syntax.string_value(first) == "cpu"


def is_cached_method(function: FunctionModel) -> bool:
    """Whether a decorator caches the method's result (``lru_cache``, ``cache``, ...)."""
    return any("cache" in name.lower() for name in function.decorator_names())


def writes_self_state(function: FunctionModel) -> bool:
    """Whether the method stores anything on ``self``, as a length cache does."""
    for assignment in function.assignments:
        for target in assignment.targets:
            if function.self_attribute(syntax.strip_data(target)) is not None:
                return True
    return any(
        call.method in ("register_buffer", "register_parameter", "copy_") for call in function.calls
    )


class DependencyAnalysis:
    """Compute the ``Dependencies`` of expressions in one method.

    Local names are followed through every earlier assignment to them, so a
    name bound to ``position_ids`` on one branch and to ``arange`` on the other
    counts as data. A value the analysis cannot follow counts as data, which
    keeps the rules that use it from reporting.
    """

    def __init__(self, model: ModuleModel, cls: Optional[ClassModel], function: FunctionModel):
        self.model = model
        self.cls = cls
        self.function = function
        self.self_name = function.self_name
        self.parameter_names = _parameter_names(function.node)
        self._assignment_memo: Dict[int, Dependencies] = {}
        self._in_progress: Set[int] = set()
        self._attribute_memo: Dict[str, Dependencies] = {}

    # -- expressions -------------------------------------------------------

    def of(self, node: Optional[cst.CSTNode], depth: int = 0) -> Dependencies:
        """Return what ``node`` depends on; a node kind not handled here counts as data."""
        if node is None:
            return CONSTANT
        if depth > 40:
            return DATA
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)):
            return CONSTANT

        if isinstance(node, cst.Name):
            return self._name(node, depth)
        if isinstance(node, cst.Attribute):
            return self._attribute(node, depth)
        if isinstance(node, cst.Subscript):
            result = self.of(node.value, depth + 1)
            for element in node.slice:
                result = result | self._slice(element.slice, depth + 1)
            return result
        if isinstance(node, cst.Call):
            return self._call(node, depth)

        if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
            return self.of(node.left, depth + 1) | self.of(node.right, depth + 1)
        if isinstance(node, cst.UnaryOperation):
            return self.of(node.expression, depth + 1)
        if isinstance(node, cst.Comparison):
            result = self.of(node.left, depth + 1)
            for target in node.comparisons:
                result = result | self.of(target.comparator, depth + 1)
            return result
        if isinstance(node, cst.IfExp):
            return (
                self.of(node.test, depth + 1)
                | self.of(node.body, depth + 1)
                | self.of(node.orelse, depth + 1)
            )

        if isinstance(node, (cst.Tuple, cst.List)):
            result = CONSTANT
            for element in node.elements:
                result = result | self.of(element.value, depth + 1)
            return result
        if isinstance(node, cst.FormattedString):
            return CONSTANT
        return DATA

    def _slice(self, element: cst.BaseSlice, depth: int) -> Dependencies:
        if isinstance(element, cst.Index):
            return self.of(element.value, depth)
        if isinstance(element, cst.Slice):
            return self.of(element.lower, depth) | self.of(element.upper, depth) | self.of(element.step, depth)
        return DATA

    def _name(self, node: cst.Name, depth: int) -> Dependencies:
        name = node.value
        if name in CONSTANT_NAMES:
            return CONSTANT
        if name == self.self_name:
            # `self` used as a value (passed to a helper) is not a table input.
            return DATA
        if name in self.parameter_names:
            # A parameter used as a value: position ids, a mask, the input, a length
            # the caller chose. Its shape is handled by `_attribute` and `_call`.
            return DATA
        order = self.model.order_of(node)
        earlier = [
            assignment
            for assignment in self.function.local_assignments(name)
            if order < 0 or assignment.order < order
        ]
        if not earlier:
            imported = self.model.aliases.get(name, "")
            if imported.split(".")[0] in PURE_MODULES | {"torch"}:
                # `from math import pi`, `from torch import float32`.
                return CONSTANT
            return DATA
        result = CONSTANT
        for assignment in earlier:
            result = result | self._assignment(assignment, name, depth)
        return result

    def _assignment(self, assignment: Assignment, name: str, depth: int) -> Dependencies:
        key = id(assignment)
        if key in self._assignment_memo:
            return self._assignment_memo[key]
        if key in self._in_progress:
            # `t = t * scale` refers to the earlier value of `t`, which the
            # other assignments already cover.
            return CONSTANT
        self._in_progress.add(key)
        value = _bound_value(assignment, name)
        result = DATA if value is None else self.of(value, depth + 1)
        if assignment.augmented:
            result = result | self._earlier_value_of(assignment, name, depth)
        self._in_progress.discard(key)
        self._assignment_memo[key] = result
        return result

    def _earlier_value_of(self, assignment: Assignment, name: str, depth: int) -> Dependencies:
        result = CONSTANT
        for other in self.function.local_assignments(name):
            if other.order < assignment.order:
                result = result | self._assignment(other, name, depth + 1)
        if name in self.parameter_names:
            result = DATA
        return result

    def _attribute(self, node: cst.Attribute, depth: int) -> Dependencies:
        if node.attr.value in SHAPE_ATTRIBUTES:
            return CONSTANT
        root = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name):
            if root.value in self.model.aliases:
                # `torch.float32`, `math.pi`.
                return CONSTANT
            if root.value == self.self_name:
                first = node
                while isinstance(first.value, cst.Attribute):
                    first = first.value
                return self.self_attribute(first.attr.value)
        return self.of(node.value, depth + 1)

    def self_attribute(self, attr: str) -> Dependencies:
        """Classify ``self.attr``: configuration or a fixed buffer, or a learned or unknown value."""
        if attr in self._attribute_memo:
            return self._attribute_memo[attr]
        result = self._classify_self_attribute(attr)
        self._attribute_memo[attr] = result
        return result

    def _classify_self_attribute(self, attr: str) -> Dependencies:
        if self.cls is None:
            return DATA
        if attr == "training":
            return CONSTANT
        writes = [write for cls in _class_and_bases(self.cls) for write in cls.writes_to(attr)]
        if not writes:
            # Set by a base class this file does not show, or never set here.
            return DATA
        for write in writes:
            if write.kind == "register_parameter":
                return DATA
            if write.kind == "register_buffer":
                continue
            if not self._is_fixed_attribute_value(self.model.resolve(write.value, write.function)):
                return DATA
        return CONSTANT

    def _is_fixed_attribute_value(self, value: Optional[cst.BaseExpression]) -> bool:
        """Whether ``self.x = value`` stores configuration or a fixed tensor, not a module or parameter."""
        if value is None:
            return False
        for node in syntax.walk(value):
            if not isinstance(node, cst.Call):
                continue
            qualname = self.model.qualname(node.func) or ""
            if qualname == "torch.nn.Buffer":
                continue
            if qualname.startswith("torch.nn.") and not qualname.startswith("torch.nn.functional."):
                return False
            callee = syntax.last_name(node.func) or ""
            if callee[:1].isupper():
                # A class instance, most likely a submodule.
                return False
            if callee in RANDOM_METHODS or qualname in RANDOM_FACTORIES:
                return False
        return True

    def _call(self, node: cst.Call, depth: int) -> Dependencies:
        qualname = self.model.qualname(node.func) or ""
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else None

        if qualname in RANDOM_FACTORIES or method in RANDOM_METHODS:
            return DATA
        if qualname == "len" or method in SHAPE_METHODS:
            return CONSTANT
        if qualname in POSITION_FACTORIES:
            return POSITIONS | self._arguments(node, depth)

        dotted = syntax.dotted_name(node.func) or ""
        imported = dotted.split(".")[0] in self.model.aliases
        root = qualname.split(".")[0]
        if imported and root == "torch":
            if qualname.startswith("torch.nn.") and not qualname.startswith("torch.nn.functional."):
                # A module constructor or `nn.Parameter`: not a table computation.
                return DATA
            return self._arguments(node, depth)
        if imported and root in PURE_MODULES:
            return self._arguments(node, depth)
        if qualname in PURE_BUILTINS:
            return self._arguments(node, depth)

        if method is not None:
            receiver = node.func.value  # type: ignore[union-attr]
            if isinstance(receiver, cst.Name) and receiver.value == self.self_name:
                # `self.rotary(x)` or a helper method: not followed.
                return DATA
            result = self.of(receiver, depth + 1)
            if method in DTYPE_DEVICE_METHODS:
                return result
            return result | self._arguments(node, depth)
        return DATA

    def _arguments(self, node: cst.Call, depth: int) -> Dependencies:
        result = CONSTANT
        for arg in node.args:
            result = result | self.of(arg.value, depth + 1)
        return result


def _bound_value(assignment: Assignment, name: str) -> Optional[cst.BaseExpression]:
    """Return the part of the assigned value bound to ``name``.

    ``a, b = x.shape[0], position_ids`` binds ``a`` to ``x.shape[0]`` only; a
    value that cannot be split (``b, n = x.shape``) is returned whole.
    """
    value = assignment.value
    for target in assignment.targets:
        if isinstance(target, cst.Name) and target.value == name:
            return value
        if isinstance(target, (cst.Tuple, cst.List)):
            names = [element.value for element in target.elements]
            index = next(
                (
                    i
                    for i, element in enumerate(names)
                    if isinstance(element, cst.Name) and element.value == name
                ),
                None,
            )
            if index is None:
                continue
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(names):
                if any(isinstance(element, cst.StarredElement) for element in value.elements):
                    return value
                return value.elements[index].value
            return value
    return value


def _class_and_bases(cls: ClassModel) -> List[ClassModel]:
    found: List[ClassModel] = []
    stack = [cls]
    while stack:
        current = stack.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        stack.extend(current.in_file_bases)
    return found


def _parameter_names(node: cst.FunctionDef) -> Set[str]:
    parameters = node.params
    names = {
        param.name.value
        for group in (parameters.posonly_params, parameters.params, parameters.kwonly_params)
        for param in group
    }
    for star in (parameters.star_arg, parameters.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names
