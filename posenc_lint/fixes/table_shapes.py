"""Shape tracking of straight-line tensor code, for the rebuild rewrite: where the input's length goes.

``ShapeReader`` evaluates a method's statements abstractly: each local name is
a tensor of some rank whose length axis (if any) is known, the length of an
input (``x.size(1)``), a device or dtype of an input, or a plain number. Code
it does not model raises ``Decline``, and the rewrite then offers no fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Union

import libcst as cst

from posenc_lint import syntax
from posenc_lint.model import ClassModel, FunctionModel, ModuleModel
from posenc_lint.rules import _lengths


class Decline(Exception):
    """The code is not a shape this rewrite understands."""


@dataclass(frozen=True)
class Dim:
    """The length of input ``receiver`` along ``axis``: ``x.size(1)``, ``x.shape[1]``, ``len(x)``."""

    receiver: str
    axis: int


@dataclass(frozen=True)
class TensorShape:
    """A tensor of ``rank`` dimensions (None: unknown) whose ``axis`` is the input's length."""

    rank: Optional[int]
    axis: Optional[int]


@dataclass(frozen=True)
class Other:
    """A value that is not a tensor: ``scalar``, ``device``, ``dtype``, ``shape`` or ``module``."""

    kind: str
    receiver: str = ""


SCALAR = Other("scalar")
Value = Union[Dim, TensorShape, Other]

# Elementwise functions and methods: the result has the broadcast shape of the operands.
ELEMENTWISE_FUNCTIONS = {
    "torch.sin", "torch.cos", "torch.exp", "torch.log", "torch.sqrt", "torch.rsqrt",
    "torch.pow", "torch.mul", "torch.div", "torch.add", "torch.sub", "torch.neg",
    "torch.reciprocal", "torch.true_divide", "torch.float_power", "torch.sigmoid",
}
ELEMENTWISE_METHODS = {
    "sin", "cos", "exp", "log", "sqrt", "rsqrt", "neg", "reciprocal", "pow", "mul", "div",
    "add", "sub", "float", "double", "half", "bfloat16", "contiguous", "clone", "detach",
    "type", "abs", "sigmoid",
}
SHAPE_FACTORIES = {"torch.zeros", "torch.ones", "torch.empty", "torch.full"}
CONCATENATE = {"torch.cat", "torch.concat", "torch.concatenate"}
OUTER_PRODUCTS = {"torch.outer", "torch.ger"}
# Keyword arguments of factories that do not change values or shapes once the
# device argument is dropped.
NEUTRAL_KEYWORDS = {"dtype", "requires_grad", "layout", "pin_memory"}


@dataclass
class StatementFacts:
    """Facts about one top-level statement of the method: the names it binds, changes and reads."""

    binds: Set[str] = field(default_factory=set)
    mutates: Set[str] = field(default_factory=set)
    reads: Set[str] = field(default_factory=set)
    pure: bool = False
    length_definition: bool = False
    # Nodes the copy in `__init__` replaces: lengths become the maximum length,
    # device arguments go away, `.to(device)` calls become their receiver.
    length_nodes: List[cst.CSTNode] = field(default_factory=list)
    device_arguments: List[cst.Arg] = field(default_factory=list)
    device_moves: List[cst.Call] = field(default_factory=list)
    # The values of the names the statement binds or changes, right after it.
    values: Dict[str, "Value"] = field(default_factory=dict)
    # The values of all local names just before the statement.
    env_before: Dict[str, "Value"] = field(default_factory=dict)


class ShapeReader:
    """Follow a method's straight-line tensor code and track where the input's length goes.

    Raises ``Decline`` for anything it does not model: data from the inputs,
    dtypes taken from them, reshapes, calls it cannot see into, and arithmetic on
    the length itself (a table whose values depend on the length cannot be sliced).
    """

    def __init__(self, model: ModuleModel, cls: ClassModel, function: FunctionModel, depth: int = 0):
        self.model = model
        self.cls = cls
        self.function = function
        self.inputs = set(function.params[1:]) if function.self_name else set(function.params)
        self.env: Dict[str, Value] = {}
        self.length: Optional[Dim] = None
        self.depth = depth
        self.facts = StatementFacts()

    # -- statements --------------------------------------------------------

    def statement(self, small: cst.BaseSmallStatement) -> StatementFacts:
        """Evaluate one small statement, updating the environment; raise Decline if impure."""
        self.facts = StatementFacts()
        facts = self.facts
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            self._assign(small.targets[0].target, small.value)
        elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
            name = small.target.value
            current = self.env.get(name)
            if not isinstance(current, TensorShape):
                raise Decline("augmented assignment to a non-tensor")
            facts.reads.add(name)
            facts.mutates.add(name)
            self.env[name] = self._broadcast(current, self.value(small.value))
        else:
            raise Decline("statement kind")
        facts.pure = True
        facts.length_definition = bool(facts.binds) and all(
            isinstance(self.env.get(name), Dim) for name in facts.binds
        )
        return facts

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        facts = self.facts
        if isinstance(target, cst.Name):
            result = self.value(value)
            self.env[target.value] = result
            facts.binds.add(target.value)
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            names = [element.value for element in target.elements]
            if not all(isinstance(name, cst.Name) for name in names) or any(
                isinstance(element, cst.StarredElement) for element in target.elements
            ):
                raise Decline("unpacking")
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(names):
                results = [self.value(element.value) for element in value.elements]
            else:
                whole = self.value(value)
                if not (isinstance(whole, Other) and whole.kind == "shape"):
                    raise Decline("unpacking")
                results = [Dim(whole.receiver, axis) for axis in range(len(names))]
            for name, result in zip(names, results):
                assert isinstance(name, cst.Name)
                self.env[name.value] = result
                facts.binds.add(name.value)
            return
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            name = target.value.value
            if not isinstance(self.env.get(name), TensorShape):
                raise Decline("write into a non-tensor")
            facts.reads.add(name)
            facts.mutates.add(name)
            self._subscript_elements(target)
            if not isinstance(self.value(value), (TensorShape, Other)):
                raise Decline("write of a length")
            return
        raise Decline("assignment target")

    # -- expressions -------------------------------------------------------

    def value(self, node: cst.BaseExpression) -> Value:
        if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
            return SCALAR
        if isinstance(node, cst.Name):
            return self._name(node)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.MatrixMultiply):
                raise Decline("matrix product")
            return self._broadcast(self.value(node.left), self.value(node.right))
        if isinstance(node, cst.UnaryOperation):
            operand = self.value(node.expression)
            if isinstance(operand, Dim):
                raise Decline("arithmetic on the length")
            return operand
        raise Decline(f"expression {type(node).__name__}")

    def _name(self, node: cst.Name) -> Value:
        name = node.value
        if name in ("None", "True", "False"):
            return SCALAR
        if name in self.env:
            self.facts.reads.add(name)
            value = self.env[name]
            if isinstance(value, Dim):
                self._use_length(value)
                self.facts.length_nodes.append(node)
            return value
        if name in self.inputs or name == self.function.self_name:
            raise Decline("input used as a value")
        if name in self.model.aliases:
            return Other("module")
        raise Decline(f"unknown name {name}")

    def _attribute(self, node: cst.Attribute) -> Value:
        base = node.value
        attr = node.attr.value
        if isinstance(base, cst.Name) and base.value in self.inputs:
            if attr == "device":
                return Other("device")
            if attr == "dtype":
                return Other("dtype")
            if attr == "shape":
                return Other("shape", base.value)
            raise Decline("input attribute")
        if isinstance(base, cst.Name) and base.value == self.function.self_name:
            return self._configuration(attr)
        if isinstance(base, cst.Name) and base.value in self.model.aliases:
            return SCALAR
        dotted = syntax.dotted_name(node)
        if dotted is not None and dotted.split(".")[0] in self.model.aliases:
            return SCALAR
        raise Decline("attribute")

    def _configuration(self, attr: str) -> Value:
        """Classify ``self.attr``: a fixed buffer, or a setting stored in ``__init__``."""
        writes = list(_lengths.attribute_writes(self.cls, attr))
        if not writes:
            raise Decline("attribute set elsewhere")
        for write in writes:
            if write.function.name != "__init__":
                raise Decline("attribute changed outside __init__")
            if write.kind == "register_buffer":
                continue
            if write.kind != "assign":
                raise Decline("attribute kind")
            value = self.model.resolve(write.value, write.function)
            for sub in syntax.walk(value) if value is not None else ():
                if isinstance(sub, cst.Call):
                    qualname = self.model.qualname(sub.func) or ""
                    callee = syntax.last_name(sub.func) or ""
                    if qualname.startswith("torch.nn.") or callee[:1].isupper():
                        raise Decline("module or parameter attribute")
        if any(write.kind == "register_buffer" for write in writes):
            return TensorShape(None, None)
        return SCALAR

    def _subscript(self, node: cst.Subscript) -> Value:
        base = self.value(node.value)
        if isinstance(base, Other) and base.kind == "shape":
            elements = syntax.subscript_elements(node)
            axis = None
            if len(elements) == 1 and isinstance(elements[0], cst.Index):
                axis = syntax.int_value(elements[0].value)
            if axis is None:
                raise Decline("shape slice")
            dim = Dim(base.receiver, axis)
            self._use_length(dim)
            self.facts.length_nodes.append(node)
            return dim
        if isinstance(base, TensorShape):
            return self._subscript_shape(base, node)
        raise Decline("subscript")

    def _subscript_shape(self, base: TensorShape, node: cst.Subscript) -> TensorShape:
        """``t[:, None]``, ``t[None]`` and slices that leave the length axis whole."""
        if base.rank is None:
            if base.axis is not None:
                raise Decline("unknown rank")
            self._subscript_elements(node)
            return TensorShape(None, None)
        rank = 0
        axis: Optional[int] = None
        position = 0
        for element in syntax.subscript_elements(node):
            if isinstance(element, cst.Index):
                value = element.value
                if isinstance(value, cst.Name) and value.value == "None":
                    rank += 1
                    continue
                if isinstance(value, cst.Ellipsis):
                    raise Decline("ellipsis")
                if position == base.axis:
                    raise Decline("index into the length axis")
                self._bound(value)
                position += 1
                continue
            assert isinstance(element, cst.Slice)
            if position == base.axis:
                if element.lower is not None or element.upper is not None or element.step is not None:
                    raise Decline("slice of the length axis")
                axis = rank
            else:
                for bound in (element.lower, element.upper, element.step):
                    if bound is not None:
                        self._bound(bound)
            rank += 1
            position += 1
        if position > base.rank:
            raise Decline("too many indices")
        remaining = base.rank - position
        if base.axis is not None and base.axis >= position:
            axis = rank + (base.axis - position)
        return TensorShape(rank + remaining, axis)

    def _subscript_elements(self, node: cst.Subscript) -> None:
        for element in syntax.subscript_elements(node):
            if isinstance(element, cst.Index):
                if not isinstance(element.value, cst.Ellipsis):
                    self._bound(element.value)
            elif isinstance(element, cst.Slice):
                for bound in (element.lower, element.upper, element.step):
                    if bound is not None:
                        self._bound(bound)

    def _bound(self, node: cst.BaseExpression) -> None:
        if not isinstance(self.value(node), Other):
            raise Decline("index that is a tensor or the length")

    def _use_length(self, dim: Dim) -> None:
        if self.length is None:
            self.length = dim
        elif self.length != dim:
            raise Decline("two different lengths")

    def _broadcast(self, left: Value, right: Value) -> Value:
        for side in (left, right):
            if isinstance(side, Dim):
                raise Decline("arithmetic on the length")
            if isinstance(side, Other) and side.kind not in ("scalar",):
                raise Decline("arithmetic on a non-number")
        if isinstance(left, Other):
            return right
        if isinstance(right, Other):
            return left
        assert isinstance(left, TensorShape) and isinstance(right, TensorShape)
        if left.axis is None and right.axis is None:
            if left.rank is None or right.rank is None:
                return TensorShape(None, None)
            return TensorShape(max(left.rank, right.rank), None)
        if left.rank is None or right.rank is None:
            raise Decline("broadcast against a tensor of unknown rank")
        rank = max(left.rank, right.rank)
        axes = {
            side.axis + rank - side.rank  # type: ignore[operator]
            for side in (left, right)
            if side.axis is not None
        }
        if len(axes) != 1:
            raise Decline("lengths on two axes")
        return TensorShape(rank, axes.pop())

    # -- calls -------------------------------------------------------------

    def _call(self, node: cst.Call) -> Value:
        if any(arg.star for arg in node.args):
            raise Decline("star arguments")
        func = node.func
        qualname = self.model.qualname(func) or ""

        if isinstance(func, cst.Name) and func.value in ("len", "float", "int"):
            return self._builtin(node, func.value)
        if qualname.startswith("math."):
            if all(self.value(arg.value) == SCALAR for arg in node.args):
                return SCALAR
            raise Decline("math on a non-scalar")
        torch_value = self._torch_function(node, qualname)
        if torch_value is not None:
            return torch_value

        if isinstance(func, cst.Attribute):
            receiver_node = func.value
            if isinstance(receiver_node, cst.Name) and receiver_node.value == self.function.self_name:
                return self._builder(node, self.cls.all_methods().get(func.attr.value))
            if isinstance(receiver_node, cst.Name) and receiver_node.value in self.inputs:
                return self._input_method(node, receiver_node.value)
            if isinstance(receiver_node, cst.Name) and receiver_node.value in self.model.aliases:
                raise Decline(f"call {qualname}")
            return self._method(node, self.value(receiver_node))
        if isinstance(func, cst.Name) and func.value in self.model.functions:
            return self._builder(node, self.model.functions[func.value])
        raise Decline(f"call {qualname}")

    def _builtin(self, node: cst.Call, name: str) -> Value:
        """``len(x)`` is the input's length, ``int`` keeps one, ``float`` and ``int`` keep numbers."""
        positional = syntax.positional_args(node)
        if name == "len":
            argument = positional[0] if len(positional) == 1 else None
            if isinstance(argument, cst.Name) and argument.value in self.inputs:
                dim = Dim(argument.value, 0)
                self._use_length(dim)
                self.facts.length_nodes.append(node)
                return dim
            raise Decline("len of something else")
        if len(node.args) != 1:
            raise Decline("conversion")
        inner = self.value(node.args[0].value)
        if isinstance(inner, Dim) and name == "int":
            return inner
        if inner == SCALAR:
            return SCALAR
        raise Decline("conversion")

    def _torch_function(self, node: cst.Call, qualname: str) -> Optional[Value]:
        """Evaluate the torch functions the reader models; return None for any other call."""
        if qualname == "torch.arange":
            return self._arange(node)
        if qualname in SHAPE_FACTORIES:
            return self._factory(node, qualname)
        if qualname in ELEMENTWISE_FUNCTIONS:
            result: Value = SCALAR
            for arg in node.args:
                if arg.keyword is not None:
                    raise Decline("keyword argument")
                result = self._broadcast(result, self.value(arg.value))
            return result
        if qualname in OUTER_PRODUCTS:
            return self._outer(syntax.positional_args(node))
        if qualname == "torch.einsum":
            return self._einsum(node)
        if qualname in CONCATENATE or qualname == "torch.stack":
            return self._join(node, stack=qualname == "torch.stack")
        return None

    def _input_method(self, node: cst.Call, receiver: str) -> Value:
        method = syntax.last_name(node.func)
        if method == "size":
            if not node.args:
                return Other("shape", receiver)
            axis = syntax.int_value(syntax.argument(node, 0, "dim"))
            if axis is None:
                raise Decline("size of a computed axis")
            dim = Dim(receiver, axis)
            self._use_length(dim)
            self.facts.length_nodes.append(node)
            return dim
        if method == "dim":
            return SCALAR
        raise Decline("method of an input")

    def _device_keywords(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            value = self.value(arg.value)
            if keyword == "device":
                if isinstance(value, Other) and value.kind == "device":
                    self.facts.device_arguments.append(arg)
                elif not (isinstance(value, Other) and value.kind in ("scalar", "module")):
                    raise Decline("device argument")
            elif keyword in NEUTRAL_KEYWORDS:
                if not (isinstance(value, Other) and value.kind in ("scalar", "module")):
                    raise Decline(f"{keyword} from an input")
            else:
                raise Decline(f"keyword {keyword}")

    def _arange(self, node: cst.Call) -> TensorShape:
        self._device_keywords(node)
        positional = syntax.positional_args(node)
        values = [self.value(arg) for arg in positional]
        if any(isinstance(value, TensorShape) for value in values):
            raise Decline("arange of a tensor")
        dims = [index for index, value in enumerate(values) if isinstance(value, Dim)]
        if not dims:
            return TensorShape(1, None)
        end_index = 0 if len(positional) == 1 else 1
        starts_at_zero = len(positional) == 1 or syntax.int_value(positional[0]) == 0
        if dims == [end_index] and starts_at_zero and len(positional) <= 2:
            return TensorShape(1, 0)
        raise Decline("arange whose values depend on the length")

    def _factory(self, node: cst.Call, qualname: str) -> TensorShape:
        self._device_keywords(node)
        positional = syntax.positional_args(node)
        if qualname == "torch.full":
            if len(positional) != 2 or self.value(positional[1]) != SCALAR:
                raise Decline("full")
            positional = positional[:1]
        if len(positional) == 1 and isinstance(positional[0], (cst.Tuple, cst.List)):
            sizes = [element.value for element in positional[0].elements]
        else:
            sizes = list(positional)
        if not sizes:
            raise Decline("factory without a shape")
        axis = None
        for index, size in enumerate(sizes):
            value = self.value(size)
            if isinstance(value, Dim):
                if axis is not None:
                    raise Decline("length on two axes")
                axis = index
            elif value != SCALAR:
                raise Decline("factory size")
        return TensorShape(len(sizes), axis)

    def _outer(self, operands: Sequence[cst.BaseExpression]) -> TensorShape:
        if len(operands) != 2:
            raise Decline("outer")
        first, second = (self.value(operand) for operand in operands)
        for side in (first, second):
            if not isinstance(side, TensorShape) or side.rank not in (1, None):
                raise Decline("outer of a non-vector")
        assert isinstance(first, TensorShape) and isinstance(second, TensorShape)
        if first.axis is not None and second.axis is not None:
            raise Decline("length on two axes")
        axis = 0 if first.axis is not None else (1 if second.axis is not None else None)
        return TensorShape(2, axis)

    def _einsum(self, node: cst.Call) -> TensorShape:
        positional = syntax.positional_args(node)
        spec = syntax.string_value(positional[0]) if positional else None
        if spec is None or spec.replace(" ", "") != "i,j->ij" or len(positional) != 3:
            raise Decline("einsum")
        return self._outer(positional[1:])

    def _join(self, node: cst.Call, stack: bool) -> TensorShape:
        positional = syntax.positional_args(node)
        if not positional or not isinstance(positional[0], (cst.List, cst.Tuple)):
            raise Decline("join of a non-list")
        parts = [self.value(element.value) for element in positional[0].elements]
        dimension = syntax.int_value(syntax.argument(node, 1, "dim"))
        if dimension is None:
            if syntax.argument(node, 1, "dim") is not None:
                raise Decline("computed dim")
            dimension = 0
        shapes = {part for part in parts}
        if len(shapes) != 1:
            raise Decline("parts of different shapes")
        shape = shapes.pop()
        if not isinstance(shape, TensorShape) or shape.rank is None:
            raise Decline("join of unknown tensors")
        rank = shape.rank + (1 if stack else 0)
        if dimension < 0:
            dimension += rank
        if not 0 <= dimension < rank:
            raise Decline("dim out of range")
        if shape.axis is None:
            return TensorShape(rank, None)
        if stack:
            return TensorShape(rank, shape.axis + (1 if dimension <= shape.axis else 0))
        if dimension == shape.axis:
            raise Decline("join along the length axis")
        return TensorShape(rank, shape.axis)

    def _method(self, node: cst.Call, receiver: Value) -> Value:
        assert isinstance(node.func, cst.Attribute)
        method = node.func.attr.value
        if not isinstance(receiver, TensorShape):
            raise Decline(f"method {method} of a non-tensor")
        positional = syntax.positional_args(node)
        if method == "to":
            values = [self.value(arg.value) for arg in node.args]
            only_devices = all(isinstance(value, Other) and value.kind == "device" for value in values)
            keywords = {arg.keyword.value for arg in node.args if arg.keyword is not None}
            if values and only_devices and keywords <= {"device"}:
                self.facts.device_moves.append(node)
                return receiver
            if all(value in (SCALAR, Other("module")) for value in values):
                return receiver
            raise Decline("to() with a dtype or tensor from an input")
        if method == "type_as" and len(positional) == 1:
            other = self.value(positional[0])
            if not isinstance(other, TensorShape) or other.axis is not None:
                raise Decline("type_as of an input")
            return receiver
        if method in ELEMENTWISE_METHODS:
            result: Value = receiver
            for arg in node.args:
                if method == "type" or arg.keyword is not None:
                    if self.value(arg.value) not in (SCALAR, Other("module")):
                        raise Decline("cast from an input")
                    continue
                result = self._broadcast(result, self.value(arg.value))
            return result
        if method == "unsqueeze" and len(positional) == 1 and receiver.rank is not None:
            index = syntax.int_value(positional[0])
            if index is None:
                raise Decline("unsqueeze of a computed axis")
            if index < 0:
                index += receiver.rank + 1
            if not 0 <= index <= receiver.rank:
                raise Decline("unsqueeze out of range")
            axis = receiver.axis
            if axis is not None and index <= axis:
                axis += 1
            return TensorShape(receiver.rank + 1, axis)
        if method == "flatten" and receiver.rank is not None:
            start = syntax.int_value(syntax.argument(node, 0, "start_dim"))
            end = syntax.argument(node, 1, "end_dim")
            if start is None or (end is not None and syntax.int_value(end) != -1):
                raise Decline("flatten")
            if start < 0:
                start += receiver.rank
            if receiver.axis is not None and start <= receiver.axis:
                raise Decline("flatten through the length axis")
            return TensorShape(start + 1, receiver.axis)
        if method in ("transpose", "swapaxes") and len(positional) == 2 and receiver.rank is not None:
            first, second = (syntax.int_value(arg) for arg in positional)
            if first is None or second is None:
                raise Decline("transpose")
            first %= receiver.rank
            second %= receiver.rank
            axis = receiver.axis
            if axis == first:
                axis = second
            elif axis == second:
                axis = first
            return TensorShape(receiver.rank, axis)
        raise Decline(f"method {method}")

    def _builder(self, node: cst.Call, callee: Optional[FunctionModel]) -> Value:
        """Follow a call to a function of this file that builds the table in straight-line code."""
        if callee is None or self.depth > 2 or callee is self.function:
            raise Decline("unknown callee")
        if callee.node.asynchronous is not None or callee.decorator_names():
            raise Decline("decorated callee")
        reader = ShapeReader(self.model, self.cls, callee, self.depth + 1)
        reader.inputs = set()
        params = _parameters_in_order(callee)
        if callee.self_name is not None:
            if callee.cls is not self.cls and callee.cls not in self.cls.in_file_bases:
                raise Decline("method of another class")
            params = params[1:]
        bound: Dict[str, Value] = {}
        for index, arg in enumerate(node.args):
            value = self.value(arg.value)
            if arg.keyword is None:
                if index >= len(params):
                    raise Decline("too many arguments")
                name = params[index].name.value
            else:
                name = arg.keyword.value
                if isinstance(value, Other) and value.kind == "device":
                    parameter = next((param for param in params if param.name.value == name), None)
                    if parameter is None or parameter.default is None:
                        raise Decline("device argument without a default")
                    self.facts.device_arguments.append(arg)
            if isinstance(value, Other) and value.kind in ("dtype", "shape"):
                raise Decline("dtype or shape argument")
            if isinstance(value, Other) and value.kind == "device" and arg.keyword is None:
                raise Decline("positional device argument")
            bound[name] = value
        for param in params:
            name = param.name.value
            if name not in bound:
                if param.default is None:
                    raise Decline("missing argument")
                bound[name] = reader.value(param.default)
        reader.env.update(bound)
        reader.length = self.length
        body = callee.node.body
        if not isinstance(body, cst.IndentedBlock):
            raise Decline("one-line callee")
        result: Optional[Value] = None
        for index, statement in enumerate(body.body):
            if not isinstance(statement, cst.SimpleStatementLine):
                raise Decline("compound statement in the callee")
            for small in statement.body:
                if isinstance(small, cst.Return):
                    if index != len(body.body) - 1 or small.value is None:
                        raise Decline("early return")
                    reader.facts = StatementFacts()
                    result = reader.value(small.value)
                elif isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
                    continue
                else:
                    reader.statement(small)
        if result is None:
            raise Decline("no return")
        if reader.length is not None:
            self._use_length(reader.length)
        return result


def _parameters_in_order(function: FunctionModel) -> List[cst.Param]:
    params = function.node.params
    if params.star_arg is not None and isinstance(params.star_arg, cst.Param):
        raise Decline("*args")
    if params.star_kwarg is not None:
        raise Decline("**kwargs")
    return [*params.posonly_params, *params.params, *params.kwonly_params]
