"""The PEL302 rewrite: a frozen ``nn.Parameter`` position table becomes a persistent buffer.

``self.pe = nn.Parameter(table, requires_grad=False)`` becomes
``self.register_buffer("pe", table)``, and the statements that freeze the
Parameter after its creation are deleted. A persistent buffer keeps the
``state_dict`` key and follows ``.to()`` like the Parameter did, so outputs and
checkpoints stay the same. Only ``parameters()`` stops listing the table.
"""

from __future__ import annotations

from typing import List, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, safe_fix
from posenc_lint.fixes.statements import parent_map, remove_small_statement
from posenc_lint.model import AttributeWrite, ClassModel, FunctionModel, ModuleModel

# Factories whose result never requires grad unless asked to. A buffer made
# from one carries no autograd history, just as the Parameter did not.
FRESH_FACTORIES = {
    "torch.zeros",
    "torch.ones",
    "torch.empty",
    "torch.full",
    "torch.zeros_like",
    "torch.ones_like",
    "torch.empty_like",
    "torch.full_like",
    "torch.arange",
    "torch.linspace",
    "torch.logspace",
    "torch.eye",
    "torch.tensor",
    "torch.as_tensor",
    "torch.from_numpy",
    "torch.FloatTensor",
    "torch.Tensor",
    "torch.rand",
    "torch.randn",
}

# Tensor methods that keep a fresh tensor free of autograd history, whatever their arguments.
HISTORY_FREE_METHODS = {
    "to",
    "float",
    "double",
    "half",
    "bfloat16",
    "type",
    "type_as",
    "cuda",
    "cpu",
    "contiguous",
    "clone",
    "detach",
    "unsqueeze",
    "squeeze",
    "view",
    "reshape",
    "expand",
    "repeat",
    "flatten",
    "permute",
    "transpose",
}

# Uses of `self.x` that need it to be a Parameter: a buffer there would change behaviour.
PARAMETER_ONLY_CALLEES = {
    "Parameter",
    "ParameterList",
    "ParameterDict",
    "register_parameter",
    "setattr",
    "delattr",
    "isinstance",
    "type",
}


def buffer_fix(model: ModuleModel, cls: ClassModel, attr: str) -> Optional[FixPlan]:
    """Build the ``register_buffer`` rewrite of the frozen Parameter ``self.attr``, when it is sound."""
    family = _related_classes(model, cls)
    if not all(_has_plain_module_bases(member) for member in family):
        return None
    writes = [write for member in family for write in member.writes if write.attr in (attr, "")]
    if len(writes) != 1:
        # Another assignment (a learned Parameter on another branch, a resize
        # method, a dynamic `setattr`) would make the type depend on the path taken.
        return None
    write = writes[0]
    creation = _creation_call(model, write)
    if creation is None:
        return None
    parameter_call, data_arg, frozen_at_creation = creation
    if not _is_fresh_table(model, data_arg.value, write.function):
        return None
    if _defined_on_class(family, attr) or _escapes(model, family, attr):
        return None

    freezes = _init_freezes(write.function.cls or cls, attr)
    if freezes is None:
        return None
    if not frozen_at_creation and not freezes:
        return None

    register = _register_edit(write, parameter_call, data_arg)
    if register is None:
        return None
    edits = [register]
    for statement, small in freezes:
        edit = remove_small_statement(statement, small)
        if edit is None:
            return None
        edits.append(edit)
    if freezes:
        message = f"Register `{attr}` as a persistent buffer and delete the `requires_grad` freeze"
    else:
        message = f"Register `{attr}` as a persistent buffer"
    return safe_fix(message, *edits)


def buffer_fix_for_call(
    model: ModuleModel, function: FunctionModel, call: cst.Call
) -> Optional[FixPlan]:
    """Build the rewrite for the ``nn.Parameter(...)`` call ``call``, when ``self.x`` receives it."""
    cls = function.cls
    if cls is None or function.self_name is None:
        return None
    for write in cls.writes:
        if write.function is function and write.value is call and write.attr:
            return buffer_fix(model, cls, write.attr)
    return None


def _related_classes(model: ModuleModel, cls: ClassModel) -> List[ClassModel]:
    """Return ``cls``, its in-file bases and its in-file subclasses, whose instances run its ``__init__``."""
    def ancestors(member: ClassModel, depth: int = 0) -> List[ClassModel]:
        found = [member]
        if depth < 20:
            for base in member.in_file_bases:
                found.extend(ancestors(base, depth + 1))
        return found

    family: List[ClassModel] = []
    seen: Set[int] = set()
    for member in model.classes:
        if member is cls or any(base is cls for base in ancestors(member)):
            for related in ancestors(member):
                if id(related) not in seen:
                    seen.add(id(related))
                    family.append(related)
    return family


def _has_plain_module_bases(cls: ClassModel) -> bool:
    """Return whether every base is a ``torch.nn`` class or a class of this file.

    A base from elsewhere may already define the attribute (a Parameter, a
    property), and ``register_buffer`` raises ``KeyError`` for a name that exists.
    """
    in_file = {base.name for base in cls.in_file_bases}
    for base in cls.base_names:
        if base is None:
            return False
        if base not in in_file and not base.startswith("torch.nn."):
            return False
    return True


def _creation_call(model: ModuleModel, write: AttributeWrite):
    """Return ``(call, data_arg, frozen)`` for ``self.x = nn.Parameter(data, requires_grad=...)``."""
    function = write.function
    owner = function.cls
    if owner is None or function.self_name is None:
        return None
    if function.name != "__init__" and function.name not in owner.init_reachable:
        return None
    if function.name == "__init__" and not _after_module_init(model, write):
        return None
    if write.kind == "assign":
        if not isinstance(write.node, cst.Assign) or len(write.node.targets) != 1:
            return None
    elif write.kind != "setattr":
        return None

    call = write.value
    if not isinstance(call, cst.Call) or model.qualname(call.func) != "torch.nn.Parameter":
        return None
    if any(arg.star for arg in call.args) or len(call.args) > 2:
        return None
    data = None
    frozen = False
    for index, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword is not None else ("data", "requires_grad")[index]
        if name == "data":
            data = arg
        elif name == "requires_grad":
            if not isinstance(arg.value, cst.Name) or arg.value.value not in ("True", "False"):
                return None
            frozen = arg.value.value == "False"
        else:
            return None
    if data is None:
        return None
    return call, data, frozen


def _after_module_init(model: ModuleModel, write: AttributeWrite) -> bool:
    """Return whether ``super().__init__()`` (or ``Base.__init__(self)``) runs before the write."""
    write_order = model.order_of(write.node)
    return any(
        call.method == "__init__" and call.order < write_order for call in write.function.calls
    )


def _is_fresh_table(model: ModuleModel, data: cst.BaseExpression, function: FunctionModel) -> bool:
    """Return whether ``data`` is a new tensor without autograd history: a sinusoid or a factory's result."""
    if model.is_sinusoid_value(data, function):
        return True
    creation = model.tensor_creation(data, function)
    if creation is None or model.qualname(creation.func) not in FRESH_FACTORIES:
        return False
    resolved = model.resolve(data, function) or data
    for node in syntax.walk(resolved):
        if isinstance(node, cst.Attribute) and node.attr.value == "requires_grad_":
            return False
        if isinstance(node, cst.Arg) and node.keyword is not None and node.keyword.value == "requires_grad":
            return False
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value not in HISTORY_FREE_METHODS
            and any(_reads_self(arg.value) for arg in node.args)
        ):
            # `torch.zeros(n, d).add(self.weight)` would carry the weight's history.
            return False
    return True


def _reads_self(node: cst.CSTNode) -> bool:
    return any(isinstance(sub, cst.Name) and sub.value == "self" for sub in syntax.walk(node))


def _defined_on_class(family: List[ClassModel], attr: str) -> bool:
    """Return whether a class body defines ``attr`` (a method, a property, a class attribute)."""
    for member in family:
        for statement in member.node.body.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.name.value == attr:
                return True
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(target.target, cst.Name) and target.target.value == attr
                    for target in small.targets
                ):
                    return True
                if (
                    isinstance(small, cst.AnnAssign)
                    and small.value is not None
                    and isinstance(small.target, cst.Name)
                    and small.target.value == attr
                ):
                    return True
    return False


def _escapes(model: ModuleModel, family: List[ClassModel], attr: str) -> bool:
    """Return whether code uses ``self.attr`` where a Parameter and a buffer behave differently.

    Storing it on another attribute or in a list, tuple or dict (code that
    loops over such groups often calls ``.parameters()`` on what is not a
    Parameter), passing it to ``nn.Parameter``, ``isinstance`` or
    ``register_parameter``, deleting it, or reading ``_parameters``.
    """
    for member in family:
        for function in member.methods.values():
            if function.self_name is None:
                continue
            parents = None
            for node in syntax.walk(function.node):
                if isinstance(node, cst.Attribute) and node.attr.value == "_parameters":
                    return True
                if function.self_attribute(node) != attr:
                    continue
                if parents is None:
                    parents = parent_map(function.node)
                if _escaping_use(model, node, parents):
                    return True
    return False


def _escaping_use(model: ModuleModel, node: cst.CSTNode, parents) -> bool:
    parent = parents.get(id(node))
    if isinstance(parent, (cst.Element, cst.DictElement, cst.StarredElement, cst.Del)):
        return True
    if isinstance(parent, cst.Assign) and parent.value is node:
        return any(not isinstance(target.target, cst.Name) for target in parent.targets)
    if isinstance(parent, cst.AnnAssign) and parent.value is node:
        return not isinstance(parent.target, cst.Name)
    if isinstance(parent, cst.Arg):
        call = parents.get(id(parent))
        if isinstance(call, cst.Call):
            callee = syntax.last_name(call.func)
            return callee in PARAMETER_ONLY_CALLEES
    return False


def _init_freezes(cls: ClassModel, attr: str):
    """Return the ``(line, small statement)`` pairs that freeze ``self.attr`` on the ``__init__`` path.

    Only unconditional freezes of the attribute itself are returned. A freeze
    through ``.data`` changes nothing on the Parameter, and one inside a
    branch depends on configuration. Returns None when a freeze is part of a
    larger expression and cannot be deleted on its own.
    """
    found = []
    methods = cls.all_methods()
    for name in ("__init__", *sorted(cls.init_reachable)):
        function = methods.get(name)
        if function is None:
            continue
        for assignment in function.assignments:
            if assignment.conditional or len(assignment.targets) != 1:
                continue
            target = assignment.targets[0]
            if (
                isinstance(target, cst.Attribute)
                and target.attr.value == "requires_grad"
                and syntax.is_false(assignment.value)
                and function.self_attribute(target.value) == attr
            ):
                found.append((assignment.statement, assignment.node))
        for call in function.calls:
            if call.method != "requires_grad_" or call.conditional or call.receiver is None:
                continue
            if function.self_attribute(call.receiver) != attr:
                continue
            if not syntax.is_false(syntax.argument(call.node, 0, "requires_grad")):
                continue
            statement = call.statement
            if not isinstance(statement, cst.SimpleStatementLine):
                return None
            small = next(
                (part for part in statement.body if isinstance(part, cst.Expr) and part.value is call.node),
                None,
            )
            if small is None:
                return None
            found.append((statement, small))
    return found


def _register_edit(write: AttributeWrite, call: cst.Call, data_arg: cst.Arg) -> Optional[NodeEdit]:
    """Replace the Parameter creation with ``self.register_buffer("attr", data)``.

    The data argument node is kept, so comments inside it survive, and the
    call keeps the line layout of the ``nn.Parameter(...)`` call it replaces.
    Returns None when a comment after the data has no line to stay on.
    """
    self_name = write.function.self_name or "self"
    last = call.args[-1]
    table_comma = last.comma
    table_after = last.whitespace_after_arg
    name_comma: cst.Comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if isinstance(data_arg.comma, cst.Comma) and data_arg is not last:
        # The name takes the separator after the data, with its line break. A
        # comment at the end of the data's line stays on the data's line.
        separator = data_arg.comma.whitespace_after
        comment_line = None
        if isinstance(separator, cst.ParenthesizedWhitespace):
            comment_line = separator.first_line
            separator = separator.with_changes(first_line=cst.TrailingWhitespace())
        name_comma = data_arg.comma.with_changes(whitespace_after=separator)
        if comment_line is not None and comment_line.comment is not None:
            if isinstance(table_comma, cst.Comma) and isinstance(
                table_comma.whitespace_after, cst.ParenthesizedWhitespace
            ):
                table_comma = table_comma.with_changes(
                    whitespace_after=table_comma.whitespace_after.with_changes(first_line=comment_line)
                )
            elif isinstance(table_after, cst.ParenthesizedWhitespace):
                table_after = table_after.with_changes(first_line=comment_line)
            else:
                return None
    name_arg = cst.Arg(cst.SimpleString(f'"{write.attr}"'), comma=name_comma)
    table_arg = data_arg.with_changes(
        keyword=None,
        equal=cst.MaybeSentinel.DEFAULT,
        comma=table_comma,
        whitespace_after_arg=table_after,
    )
    register = cst.Call(
        func=cst.Attribute(cst.Name(self_name), cst.Name("register_buffer")),
        args=[name_arg, table_arg],
        whitespace_before_args=call.whitespace_before_args,
    )
    if write.kind == "assign":
        assert isinstance(write.node, cst.Assign)
        return NodeEdit(write.node, cst.Expr(register, semicolon=write.node.semicolon))
    return NodeEdit(write.node, register)
