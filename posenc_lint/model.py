"""Facts about one module's ``nn.Module`` classes and their position tables.

The model is built in one walk over the LibCST tree. Rules read it instead of
walking the tree again: which names are imported from torch, which classes are
modules, what each method assigns and calls, which attributes are buffers,
and where in the file a tensor's values are written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, List, Optional, Set, Tuple

import libcst as cst

from posenc_lint import syntax, walker
from posenc_lint.catalogue import DEFAULT_MAX_LEN, DEFAULT_TABLE_PATTERN, TABLE_CLASS_NAME

if TYPE_CHECKING:  # config imports this module, so Settings is for annotations only
    from posenc_lint.config import Settings

# Spellings that refer to the same public torch object.
CANONICAL_NAMES = {
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.nn.parameter.Buffer": "torch.nn.Buffer",
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.nn.modules.Module": "torch.nn.Module",
    "torch.nn.modules.sparse.Embedding": "torch.nn.Embedding",
    "torch.nn.modules.Embedding": "torch.nn.Embedding",
    "torch.Tensor.to": "torch.Tensor.to",
}

# Names that match the pattern above but hold indices, masks or layers, not tables.
NOT_A_TABLE_NAME = re.compile(
    r"(ids|idx|index|indices|mask|drop|dropout|norm|scale|type|bias_index|_proj|_fn|_type|gate|token|tokens)$",
    re.IGNORECASE,
)


ZERO_FACTORIES = {"torch.zeros", "torch.zeros_like"}
ZERO_METHODS = {"new_zeros"}
EMPTY_FACTORIES = {"torch.empty", "torch.empty_like"}
EMPTY_METHODS = {"new_empty"}
UNINITIALISED_CONSTRUCTORS = {"torch.Tensor", "torch.FloatTensor", "torch.HalfTensor"}

# In-place tensor methods that write every value of their receiver.
WRITING_METHODS = {
    "normal_",
    "uniform_",
    "trunc_normal_",
    "copy_",
    "fill_",
    "zero_",
    "random_",
    "bernoulli_",
    "exponential_",
    "cauchy_",
    "log_normal_",
    "geometric_",
    "set_",
    "add_",
    "index_copy_",
}

SHAPE_ATTRIBUTES = {"shape", "device", "dtype", "ndim", "is_cuda"}
SHAPE_METHODS = {"size", "dim", "numel", "get_device"}

SIN_COS = {"sin", "cos"}


def canonical(name: str) -> str:
    return CANONICAL_NAMES.get(name, name)


@dataclass
class Assignment:
    """One ``target = value`` (or annotated or augmented) statement."""

    targets: List[cst.BaseExpression]
    value: Optional[cst.BaseExpression]
    node: cst.CSTNode
    statement: cst.CSTNode
    order: int
    augmented: bool = False
    conditional: bool = False


@dataclass
class CallSite:
    """One call expression and the context it appears in."""

    node: cst.Call
    qualname: Optional[str]
    statement: cst.CSTNode
    order: int
    conditional: bool

    @property
    def method(self) -> Optional[str]:
        if isinstance(self.node.func, cst.Attribute):
            return self.node.func.attr.value
        return None

    @property
    def receiver(self) -> Optional[cst.BaseExpression]:
        if isinstance(self.node.func, cst.Attribute):
            return self.node.func.value
        return None


@dataclass
class SubscriptSite:
    node: cst.Subscript
    statement: cst.CSTNode
    order: int
    is_target: bool


@dataclass
class FunctionModel:
    """A function or method, with what its body assigns, calls and checks."""

    name: str
    node: cst.FunctionDef
    cls: Optional["ClassModel"]
    params: List[str]
    assignments: List[Assignment] = field(default_factory=list)
    calls: List[CallSite] = field(default_factory=list)
    subscripts: List[SubscriptSite] = field(default_factory=list)
    asserts: List[cst.Assert] = field(default_factory=list)
    raising_ifs: List[cst.If] = field(default_factory=list)
    ifs: List[cst.If] = field(default_factory=list)
    returns: List[cst.Return] = field(default_factory=list)
    loops: List[cst.For] = field(default_factory=list)
    # `a @ b` operations, nested functions included.
    matmuls: List[cst.BinaryOperation] = field(default_factory=list)
    has_ten_thousand: bool = False
    _assignments_by_name: Optional[Dict[str, List[Assignment]]] = field(default=None, repr=False)
    _sinusoid_builder: Optional[bool] = field(default=None, repr=False)

    @property
    def self_name(self) -> Optional[str]:
        if self.cls is None or not self.params or self.is_static:
            return None
        return self.params[0]

    @property
    def is_static(self) -> bool:
        return any(
            syntax.last_name(decorator.decorator) == "staticmethod"
            for decorator in self.node.decorators
        )

    def decorator_names(self) -> List[str]:
        names = []
        for decorator in self.node.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            name = syntax.dotted_name(expression)
            if name:
                names.append(name)
        return names

    def local_assignments(self, name: str) -> List[Assignment]:
        """Return the assignments whose target is the plain name ``name``."""
        if self._assignments_by_name is None:
            index: Dict[str, List[Assignment]] = {}
            for assignment in self.assignments:
                for target in assignment.targets:
                    if isinstance(target, cst.Name):
                        index.setdefault(target.value, []).append(assignment)
                    elif isinstance(target, (cst.Tuple, cst.List)):
                        for element in target.elements:
                            if isinstance(element.value, cst.Name):
                                index.setdefault(element.value.value, []).append(assignment)
            self._assignments_by_name = index
        return self._assignments_by_name.get(name, [])

    def self_attribute(self, node: cst.CSTNode) -> Optional[str]:
        """Return ``x`` when ``node`` is ``self.x`` in this method."""
        self_name = self.self_name
        if (
            self_name is not None
            and isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == self_name
        ):
            return node.attr.value
        return None

    def has_sin_and_cos(self, model: "ModuleModel") -> bool:
        kinds = set()
        for call in self.calls:
            callee = syntax.last_name(call.node.func)
            if callee in SIN_COS:
                kinds.add(callee)
        return kinds == SIN_COS

    def is_sinusoid_builder(self, model: "ModuleModel") -> bool:
        """Whether this function builds a sin/cos table from powers of 10000."""
        if self._sinusoid_builder is None:
            self._sinusoid_builder = self.has_ten_thousand and self.has_sin_and_cos(model)
        return self._sinusoid_builder


@dataclass
class AttributeWrite:
    """``self.name = value`` or an equivalent call, inside a method."""

    attr: str
    value: Optional[cst.BaseExpression]
    kind: str  # "assign", "setattr", "register_buffer", "register_parameter"
    statement: cst.CSTNode
    node: cst.CSTNode
    function: FunctionModel
    persistent: bool = True


@dataclass
class ClassModel:
    """A class definition and what its methods do to ``self``."""

    name: str
    node: cst.ClassDef
    base_names: List[Optional[str]]
    methods: Dict[str, FunctionModel] = field(default_factory=dict)
    is_module: bool = False
    in_file_bases: List["ClassModel"] = field(default_factory=list)
    writes: List[AttributeWrite] = field(default_factory=list)
    buffers: Set[str] = field(default_factory=set)
    forward_reachable: Set[str] = field(default_factory=set)
    forward_always_reachable: Set[str] = field(default_factory=set)
    init_reachable: Set[str] = field(default_factory=set)

    def all_methods(self) -> Dict[str, FunctionModel]:
        """Return this class's methods over those inherited from in-file bases."""
        merged: Dict[str, FunctionModel] = {}
        for base in reversed(self.in_file_bases):
            merged.update(base.all_methods())
        merged.update(self.methods)
        return merged

    def all_buffers(self) -> Set[str]:
        names = set(self.buffers)
        for base in self.in_file_bases:
            names |= base.all_buffers()
        return names

    def writes_to(self, attr: str) -> List[AttributeWrite]:
        return [write for write in self.writes if write.attr == attr]

    @property
    def name_says_table(self) -> bool:
        return bool(TABLE_CLASS_NAME.search(self.name))


@dataclass
class InitSite:
    """A place in the file that writes the values of a tensor named ``name``."""

    name: str
    node: cst.CSTNode
    function: Optional[FunctionModel]
    order: int
    zero: bool


class ModuleModel:
    """Everything the rules need to know about one parsed file."""

    def __init__(self, module: cst.Module, table_pattern: str = DEFAULT_TABLE_PATTERN):
        self.module = module
        self.table_pattern = re.compile(table_pattern, re.IGNORECASE)
        self.aliases: Dict[str, str] = {}
        self.classes: List[ClassModel] = []
        self.functions: Dict[str, FunctionModel] = {}
        self.all_functions: List[FunctionModel] = []
        self.init_sites: List[InitSite] = []
        self.initialises_all_parameters = False
        self.order: Dict[int, int] = {}
        self._evidence_cache: Dict[Tuple[int, str], Set[str]] = {}
        self._sinusoid_cache: Dict[Tuple[int, int], bool] = {}
        # Results that rule helpers share between rules, by a key of their own.
        self.shared: Dict[Tuple[object, ...], object] = {}
        self._tensor_cache: Dict[Tuple[int, int], bool] = {}
        # The run's settings, set by the engine; None when a test builds the model directly.
        self.settings: Optional["Settings"] = None

    @property
    def default_max_len(self) -> int:
        """The `max_len` default a fix writes when the code names no maximum length."""
        if self.settings is None:
            return DEFAULT_MAX_LEN
        return self.settings.default_max_len

    # -- names -------------------------------------------------------------

    def qualname(self, node: cst.CSTNode) -> Optional[str]:
        """Resolve a Name or Attribute chain through the file's imports."""
        dotted = syntax.dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        resolved = self.aliases.get(head)
        if resolved is None:
            return dotted
        return canonical(resolved + ("." + rest if rest else ""))

    def call_qualname(self, node: cst.CSTNode) -> Optional[str]:
        if isinstance(node, cst.Call):
            return self.qualname(node.func)
        return None

    def is_table_name(self, name: Optional[str]) -> bool:
        if not name:
            return False
        return bool(self.table_pattern.search(name)) and not NOT_A_TABLE_NAME.search(name)

    def order_of(self, node: cst.CSTNode) -> int:
        return self.order.get(id(node), -1)

    # -- values ------------------------------------------------------------

    def resolve(
        self,
        node: Optional[cst.BaseExpression],
        function: Optional[FunctionModel],
        depth: int = 0,
    ) -> Optional[cst.BaseExpression]:
        """Follow a local Name to the value it was last assigned in ``function``."""
        if node is None:
            return None
        if depth > 8 or function is None or not isinstance(node, cst.Name):
            return node
        order = self.order_of(node)
        candidates = [
            assignment
            for assignment in function.local_assignments(node.value)
            if not assignment.augmented
            and len(assignment.targets) == 1
            and isinstance(assignment.targets[0], cst.Name)
            and (order < 0 or assignment.order < order)
        ]
        if not candidates:
            return node
        return self.resolve(candidates[-1].value, function, depth + 1)

    def tensor_creation(
        self, node: Optional[cst.BaseExpression], function: Optional[FunctionModel]
    ) -> Optional[cst.Call]:
        """Return the factory call that creates the tensor ``node`` wraps, if any.

        Looks through ``nn.Parameter(...)``, method chains such as
        ``.unsqueeze(0)`` and local names.
        """
        node = self.resolve(node, function)
        for _ in range(12):
            if not isinstance(node, cst.Call):
                return None
            qualname = self.qualname(node.func)
            if qualname in ("torch.nn.Parameter", "torch.nn.Buffer"):
                inner = syntax.argument(node, 0, "data")
                node = self.resolve(inner, function)
                continue
            if qualname is not None and qualname.startswith("torch."):
                return node
            if isinstance(node.func, cst.Attribute):
                method = node.func.attr.value
                if method in ZERO_METHODS or method in EMPTY_METHODS:
                    return node
                node = self.resolve(node.func.value, function)
                continue
            return None
        return None

    def is_tensor(
        self,
        node: Optional[cst.BaseExpression],
        function: Optional[FunctionModel],
        depth: int = 0,
    ) -> bool:
        """Return whether ``node`` evidently evaluates to a torch tensor."""
        if node is None or depth > 6:
            return False
        key = (id(node), id(function))
        cached = self._tensor_cache.get(key)
        if cached is None:
            self._tensor_cache[key] = False
            cached = self._compute_is_tensor(node, function, depth)
            self._tensor_cache[key] = cached
        return cached

    def _compute_is_tensor(
        self, node: cst.BaseExpression, function: Optional[FunctionModel], depth: int
    ) -> bool:
        node = self.resolve(node, function)
        if isinstance(node, cst.Call):
            qualname = self.qualname(node.func)
            if qualname in ("torch.nn.Parameter", "torch.nn.Buffer"):
                return False
            if qualname is not None and qualname.startswith("torch."):
                head = qualname.split(".")[1] if "." in qualname else ""
                return head not in ("nn", "device", "Size", "no_grad", "jit") or (
                    qualname.startswith("torch.nn.functional.")
                )
            if isinstance(node.func, cst.Attribute):
                return self.is_tensor(node.func.value, function, depth + 1)
            if isinstance(node.func, cst.Name):
                callee = self.functions.get(node.func.value)
                if callee is not None:
                    return any(
                        self.is_tensor(ret.value, callee, depth + 1) for ret in callee.returns
                    )
            return False
        if isinstance(node, cst.BinaryOperation):
            return self.is_tensor(node.left, function, depth + 1) or self.is_tensor(
                node.right, function, depth + 1
            )
        if isinstance(node, cst.Subscript):
            return self.is_tensor(node.value, function, depth + 1)
        return False

    def is_sinusoid_value(
        self, node: Optional[cst.BaseExpression], function: Optional[FunctionModel], depth: int = 0
    ) -> bool:
        """Return whether ``node`` is built by a sin/cos table builder in this file."""
        if node is None or depth > 4:
            return False
        key = (id(node), id(function))
        cached = self._sinusoid_cache.get(key)
        if cached is None:
            # Mark first so that a recursive call through the same node stops.
            self._sinusoid_cache[key] = False
            cached = self._compute_sinusoid_value(node, function, depth)
            self._sinusoid_cache[key] = cached
        return cached

    def _compute_sinusoid_value(
        self, node: cst.BaseExpression, function: Optional[FunctionModel], depth: int
    ) -> bool:
        resolved = self.resolve(node, function)
        if function is not None and function.is_sinusoid_builder(self):
            if resolved is not node or isinstance(node, cst.Name):
                return True
        for sub in syntax.walk(resolved):
            if isinstance(sub, cst.Call):
                callee = self.callee_function(sub, function)
                if callee is not None and callee is not function:
                    if callee.is_sinusoid_builder(self):
                        return True
                    if any(
                        self.is_sinusoid_value(ret.value, callee, depth + 1)
                        for ret in callee.returns
                    ):
                        return True
        return False

    def callee_function(
        self, call: cst.Call, function: Optional[FunctionModel]
    ) -> Optional[FunctionModel]:
        """Return the in-file function or method that ``call`` invokes, if known."""
        func = call.func
        if isinstance(func, cst.Name):
            return self.functions.get(func.value)
        if isinstance(func, cst.Attribute) and function is not None and function.cls is not None:
            receiver = func.value
            if isinstance(receiver, cst.Name) and receiver.value in (
                function.self_name,
                function.cls.name,
            ):
                return function.cls.all_methods().get(func.attr.value)
        return None

    # -- tables ------------------------------------------------------------

    def table_evidence(self, cls: ClassModel, attr: str) -> Set[str]:
        """Return why ``attr`` of ``cls`` looks like a position table."""
        key = (id(cls), attr)
        cached = self._evidence_cache.get(key)
        if cached is None:
            cached = self._compute_table_evidence(cls, attr)
            self._evidence_cache[key] = cached
        return cached

    def _compute_table_evidence(self, cls: ClassModel, attr: str) -> Set[str]:
        evidence = set()
        if self.is_table_name(attr):
            evidence.add("name")
        if cls.name_says_table and not NOT_A_TABLE_NAME.search(attr):
            evidence.add("class")
        for write in cls.writes_to(attr):
            if self.is_sinusoid_value(write.value, write.function):
                evidence.add("sinusoid")
        if self.used_as_table_in_forward(cls, attr):
            evidence.add("use")
        return evidence

    def is_table(self, cls: ClassModel, attr: str) -> bool:
        return bool(self.table_evidence(cls, attr))

    def used_as_table_in_forward(self, cls: ClassModel, attr: str) -> bool:
        """Return whether ``forward`` looks ``self.attr`` up with ``arange`` or position ids.

        Slicing alone is not evidence: weights are sliced by runtime sizes too.
        """
        methods = cls.all_methods()
        for name in cls.forward_reachable:
            function = methods.get(name)
            if function is None:
                continue
            for call in function.calls:
                if function.self_attribute(call.node.func) != attr:
                    continue
                for arg in call.node.args:
                    value = self.resolve(arg.value, function)
                    if isinstance(value, cst.Call) and self.qualname(value.func) == "torch.arange":
                        return True
                    name = syntax.last_name(value) if value is not None else None
                    if name and "position" in name:
                        return True
        return False

    def inits_of(self, name: str) -> List[InitSite]:
        return [site for site in self.init_sites if site.name == name]


class _Builder(cst.CSTVisitor):
    """Walk a module once and fill a ModuleModel."""

    def __init__(self, model: ModuleModel):
        super().__init__()
        self.model = model
        self.counter = 0
        self.class_stack: List[ClassModel] = []
        self.function_stack: List[FunctionModel] = []
        self.statement_stack: List[cst.CSTNode] = []
        self.conditional_depth = 0
        self.target_depth = 0
        self.parameter_loop_names: Set[str] = set()

    # -- bookkeeping -------------------------------------------------------

    def _mark(self, node: cst.CSTNode) -> int:
        self.counter += 1
        self.model.order[id(node)] = self.counter
        return self.counter

    @property
    def function(self) -> Optional[FunctionModel]:
        return self.function_stack[0] if self.function_stack else None

    @property
    def statement(self) -> cst.CSTNode:
        return self.statement_stack[-1] if self.statement_stack else self.model.module

    # -- imports -----------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = syntax.dotted_name(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.model.aliases[alias.asname.name.value] = dotted
            else:
                head = dotted.split(".")[0]
                self.model.aliases[head] = head

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = syntax.dotted_name(node.module) if node.module is not None else ""
        prefix = "." * len(node.relative) + (module or "")
        for alias in node.names:
            name = syntax.dotted_name(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            full = f"{prefix}.{name}" if prefix and not prefix.endswith(".") else prefix + name
            self.model.aliases[local] = canonical(full)

    # -- scopes ------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._mark(node)
        bases = [self.model.qualname(arg.value) for arg in node.bases if arg.keyword is None]
        cls = ClassModel(name=node.name.value, node=node, base_names=bases)
        self.model.classes.append(cls)
        self.class_stack.append(cls)
        self.statement_stack.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()
        self.statement_stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._mark(node)
        self.statement_stack.append(node)
        if self.function_stack:
            # Nested functions count as part of the enclosing method, but their
            # bodies run only when called, so their contents are conditional.
            self.function_stack.append(self.function_stack[0])
            self.conditional_depth += 1
            return
        params = [
            param.name.value
            for param in (*node.params.posonly_params, *node.params.params)
        ]
        star_arg = node.params.star_arg
        if isinstance(star_arg, cst.Param):
            params.append(star_arg.name.value)
        params.extend(param.name.value for param in node.params.kwonly_params)
        if node.params.star_kwarg is not None:
            params.append(node.params.star_kwarg.name.value)
        cls = self.class_stack[-1] if self._directly_in_class(node) else None
        function = FunctionModel(name=node.name.value, node=node, cls=cls, params=params)
        self.model.all_functions.append(function)
        if cls is not None:
            cls.methods[function.name] = function
        elif not self.class_stack:
            self.model.functions[function.name] = function
        self.function_stack.append(function)

    def _directly_in_class(self, node: cst.FunctionDef) -> bool:
        if not self.class_stack:
            return False
        return any(statement is node for statement in self.class_stack[-1].node.body.body)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.function_stack.pop()
        self.statement_stack.pop()
        if self.function_stack:
            self.conditional_depth -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._mark(node)
        self.conditional_depth += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.conditional_depth -= 1

    # -- statements --------------------------------------------------------

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statement_stack.append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.statement_stack.pop()

    def _enter_conditional(self, node: cst.CSTNode) -> None:
        self.conditional_depth += 1

    def _leave_conditional(self, node: cst.CSTNode) -> None:
        self.conditional_depth -= 1

    def _enter_compound(self, node: cst.CSTNode) -> None:
        self.statement_stack.append(node)

    def _leave_compound(self) -> None:
        self.statement_stack.pop()

    def visit_With(self, node: cst.With) -> None:
        self._enter_compound(node)

    def leave_With(self, original_node: cst.With) -> None:
        self._leave_compound()

    def visit_If(self, node: cst.If) -> None:
        self._mark(node)
        self._enter_compound(node)
        if self.function is not None:
            self.function.ifs.append(node)
            if any(isinstance(sub, cst.Raise) for sub in _direct_statements(node.body)):
                self.function.raising_ifs.append(node)
        self._enter_conditional(node)

    def leave_If(self, original_node: cst.If) -> None:
        self._leave_conditional(original_node)
        self._leave_compound()

    def visit_While(self, node: cst.While) -> None:
        self._enter_conditional(node)
        self._enter_compound(node)

    def leave_While(self, original_node: cst.While) -> None:
        self._leave_conditional(original_node)
        self._leave_compound()

    def visit_Try(self, node: cst.Try) -> None:
        self._enter_conditional(node)

    def leave_Try(self, original_node: cst.Try) -> None:
        self._leave_conditional(original_node)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._enter_conditional(node)

    def leave_IfExp(self, original_node: cst.IfExp) -> None:
        self._leave_conditional(original_node)

    def leave_For(self, original_node: cst.For) -> None:
        self._leave_compound()

    def visit_For(self, node: cst.For) -> None:
        self._mark(node)
        self._enter_compound(node)
        if self.function is not None:
            self.function.loops.append(node)
        iterator = node.iter
        if isinstance(iterator, cst.Call) and syntax.last_name(iterator.func) in (
            "parameters",
            "named_parameters",
        ):
            for name in syntax.names_in(node.target):
                self.parameter_loop_names.add(name.value)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._mark(node)
        if self.function is not None:
            self.function.asserts.append(node)

    def visit_Return(self, node: cst.Return) -> None:
        self._mark(node)
        if self.function is not None:
            self.function.returns.append(node)

    # Assignments are recorded when left, after their value, so a name on the
    # right of `x = x + 1` resolves to an earlier assignment, not to this one.
    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._record_assignment(
            [target.target for target in original_node.targets], original_node.value, original_node
        )

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._record_assignment([original_node.target], original_node.value, original_node)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        self._record_assignment(
            [original_node.target], original_node.value, original_node, augmented=True
        )

    def _record_assignment(
        self,
        targets: List[cst.BaseExpression],
        value: Optional[cst.BaseExpression],
        node: cst.CSTNode,
        augmented: bool = False,
    ) -> None:
        order = self._mark(node)
        function = self.function
        if function is None:
            return
        assignment = Assignment(
            targets, value, node, self.statement, order, augmented, self.conditional_depth > 0
        )
        function.assignments.append(assignment)
        for target in targets:
            self._record_value_write(target, value, node, order)

    def _record_value_write(
        self,
        target: cst.BaseExpression,
        value: Optional[cst.BaseExpression],
        node: cst.CSTNode,
        order: int,
    ) -> None:
        """Record ``x.data = v`` and ``x[...] = v`` as writes of the values of ``x``."""
        written: Optional[cst.BaseExpression] = None
        if isinstance(target, cst.Attribute) and target.attr.value == "data":
            written = target.value
        elif isinstance(target, cst.Subscript):
            written = target.value
        if written is None:
            return
        name = syntax.last_name(syntax.strip_data(written))
        if name is None:
            return
        zero = syntax.number_value(value) == 0
        self.model.init_sites.append(InitSite(name, node, self.function, order, zero))

    # -- expressions -------------------------------------------------------

    def visit_Integer(self, node: cst.Integer) -> None:
        if syntax.int_value(node) == 10000 and self.function is not None:
            self.function.has_ten_thousand = True

    def visit_Float(self, node: cst.Float) -> None:
        if syntax.number_value(node) == 10000.0 and self.function is not None:
            self.function.has_ten_thousand = True

    def visit_Subscript(self, node: cst.Subscript) -> None:
        order = self._mark(node)
        if self.function is not None:
            self.function.subscripts.append(
                SubscriptSite(node, self.statement, order, is_target=False)
            )

    def visit_Name(self, node: cst.Name) -> None:
        self._mark(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.MatrixMultiply) and self.function is not None:
            self.function.matmuls.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        order = self._mark(node)
        qualname = self.model.qualname(node.func)
        site = CallSite(node, qualname, self.statement, order, self.conditional_depth > 0)
        if self.function is not None:
            self.function.calls.append(site)
        self._record_init_call(site)

    def _record_init_call(self, site: CallSite) -> None:
        node = site.node
        method = site.method
        receiver = site.receiver
        function = self.function

        # Tensor methods such as `self.pos.data.normal_(std=0.02)`.
        if method in WRITING_METHODS and receiver is not None:
            zero = method == "zero_" or (
                method == "fill_" and syntax.number_value(syntax.argument(node, 0, "value")) == 0
            )
            name = syntax.last_name(syntax.strip_data(receiver))
            qualname = site.qualname or ""
            is_function = qualname.startswith("torch.nn.init") or self._is_init_module(receiver)
            if name is not None and not is_function:
                self._add_init(name, node, site.order, zero)
                return

        # Init helpers that receive the tensor: `nn.init.trunc_normal_(self.pos, std=.02)`.
        callee = syntax.last_name(node.func)
        if callee is None:
            return
        if not (callee.endswith("_") or "init" in callee.lower()):
            return
        positional = syntax.positional_args(node)
        if not positional:
            return
        target = syntax.strip_data(positional[0])
        name = syntax.last_name(target)
        if name is None:
            return
        zero = callee in ("zeros_", "zero_") or (
            callee == "constant_"
            and syntax.number_value(syntax.argument(node, 1, "val")) == 0
        )
        self._add_init(name, node, site.order, zero)
        if name in self.parameter_loop_names and not zero:
            self.model.initialises_all_parameters = True
        del function

    def _is_init_module(self, receiver: cst.BaseExpression) -> bool:
        qualname = self.model.qualname(receiver) or ""
        return qualname.endswith("init") or qualname.endswith("initialization")

    def _add_init(self, name: str, node: cst.CSTNode, order: int, zero: bool) -> None:
        self.model.init_sites.append(InitSite(name, node, self.function, order, zero))


def _direct_statements(block: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    if isinstance(block, cst.IndentedBlock):
        for statement in block.body:
            if isinstance(statement, cst.SimpleStatementLine):
                yield from statement.body
            else:
                yield statement
    elif isinstance(block, cst.SimpleStatementSuite):
        yield from block.body


def build_model(module: cst.Module, table_pattern: str = DEFAULT_TABLE_PATTERN) -> ModuleModel:
    """Walk ``module`` once and derive the class-level facts."""
    model = ModuleModel(module, table_pattern)
    walker.drive(_Builder(model), module)
    _link_classes(model)
    for cls in model.classes:
        _collect_writes(model, cls)
    for cls in model.classes:
        _compute_reachability(cls)
    return model


def _link_classes(model: ModuleModel) -> None:
    by_name = {cls.name: cls for cls in model.classes}
    for cls in model.classes:
        for base in cls.base_names:
            if base in by_name and by_name[base] is not cls:
                cls.in_file_bases.append(by_name[base])

    def is_module(cls: ClassModel, seen: Set[int]) -> bool:
        if id(cls) in seen:
            return False
        seen.add(id(cls))
        for base in cls.base_names:
            if base is not None and base.startswith("torch.nn."):
                return True
        if any(is_module(base, seen) for base in cls.in_file_bases):
            return True
        # A base imported from elsewhere (`PreTrainedModel`, `BaseModule`) is a
        # module when its name says so or the class behaves like one.
        external = _external_bases(cls, by_name)
        if any(MODULE_BASE_NAME.search(base.rsplit(".", 1)[-1]) for base in external):
            return True
        if external and (_defines_forward(cls) or _registers_state(cls)):
            return True
        return False

    for cls in model.classes:
        cls.is_module = is_module(cls, set())


MODULE_BASE_NAME = re.compile(
    r"(Module|Model|Layer|Block|Embedding|Embeddings|Encoder|Decoder|Net|Network|Transformer|Attention|Head)$"
)


def _external_bases(cls: ClassModel, by_name: Dict[str, ClassModel], depth: int = 0) -> List[str]:
    """Return the bases of ``cls`` and its in-file ancestors that come from other files."""
    found = [base for base in cls.base_names if base is not None and base not in by_name]
    if depth < 20:
        for base in cls.in_file_bases:
            found.extend(_external_bases(base, by_name, depth + 1))
    return found


def _defines_forward(cls: ClassModel, depth: int = 0) -> bool:
    if "forward" in cls.methods:
        return True
    return depth < 20 and any(_defines_forward(base, depth + 1) for base in cls.in_file_bases)


def _registers_state(cls: ClassModel) -> bool:
    init = cls.methods.get("__init__")
    if init is None:
        return False
    return any(call.method in ("register_buffer", "register_parameter") for call in init.calls)


def _collect_writes(model: ModuleModel, cls: ClassModel) -> None:
    for function in cls.methods.values():
        self_name = function.self_name
        if self_name is None:
            continue
        for assignment in function.assignments:
            for target in assignment.targets:
                attr = function.self_attribute(target)
                if attr is not None and assignment.value is not None:
                    cls.writes.append(
                        AttributeWrite(
                            attr,
                            assignment.value,
                            "assign",
                            assignment.statement,
                            assignment.node,
                            function,
                        )
                    )
                    if model.call_qualname(assignment.value) == "torch.nn.Buffer":
                        cls.buffers.add(attr)
        for call in function.calls:
            write = _call_write(model, function, call)
            if write is not None:
                cls.writes.append(write)
                if write.kind == "register_buffer":
                    cls.buffers.add(write.attr)


def _call_write(
    model: ModuleModel, function: FunctionModel, call: CallSite
) -> Optional[AttributeWrite]:
    node = call.node
    if call.method in ("register_buffer", "register_parameter"):
        receiver = call.receiver
        if not (isinstance(receiver, cst.Name) and receiver.value == function.self_name):
            return None
        attr = syntax.string_value(syntax.argument(node, 0, "name"))
        if attr is None:
            return None
        value = syntax.argument(node, 1, "tensor" if call.method == "register_buffer" else "param")
        persistent = not syntax.is_false(syntax.argument(node, 2, "persistent"))
        return AttributeWrite(
            attr, value, call.method, call.statement, node, function, persistent=persistent
        )
    if isinstance(node.func, cst.Name) and node.func.value == "setattr":
        positional = syntax.positional_args(node)
        if len(positional) != 3:
            return None
        receiver = positional[0]
        if not (isinstance(receiver, cst.Name) and receiver.value == function.self_name):
            return None
        attr = syntax.string_value(positional[1])
        if attr is None:
            # A dynamic name: keep the write so rules can see it, under no name.
            attr = ""
        return AttributeWrite(attr, positional[2], "setattr", call.statement, node, function)
    return None


def _compute_reachability(cls: ClassModel) -> None:
    methods = cls.all_methods()

    def reach(start: str, always_only: bool) -> Set[str]:
        seen: Set[str] = set()
        stack = [start]
        while stack:
            name = stack.pop()
            if name in seen or name not in methods:
                continue
            seen.add(name)
            function = methods[name]
            for call in function.calls:
                if always_only and call.conditional:
                    continue
                receiver = call.receiver
                if (
                    isinstance(receiver, cst.Name)
                    and receiver.value == function.self_name
                    and call.method in methods
                ):
                    stack.append(call.method)
        return seen

    cls.forward_reachable = reach("forward", False)
    cls.forward_always_reachable = reach("forward", True)
    cls.init_reachable = reach("__init__", False) - cls.forward_reachable


def iter_module_classes(model: ModuleModel) -> Iterable[ClassModel]:
    return (cls for cls in model.classes if cls.is_module)
