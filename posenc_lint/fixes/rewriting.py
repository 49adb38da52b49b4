"""Tree helpers shared by the unsafe fixes: blocks, local rewrites, torch names, imports.

A fix replaces nodes by identity, and a replaced node's children can no longer
be edited in the same pass, so a fix that changes several parts of one
statement rebuilds that statement with ``replace_within`` and edits it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Set, Union

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import NodeEdit, parse_statement
from posenc_lint.model import FunctionModel, ModuleModel

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]

_EMPTY_MODULE = cst.Module(body=[])

# Names that `nn.Module` defines, so a new attribute must not take them.
MODULE_MEMBERS = frozenset(
    {
        "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
        "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
        "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
        "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers",
        "named_children", "named_modules", "named_parameters", "parameters",
        "register_backward_hook", "register_buffer", "register_forward_hook",
        "register_forward_pre_hook", "register_full_backward_hook",
        "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook", "register_module", "register_parameter",
        "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
        "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty",
        "train", "training", "type", "xpu", "zero_grad",
    }
)


def source(node: cst.CSTNode) -> str:
    """Return the code of ``node`` alone, without the file's formatting around it."""
    return _EMPTY_MODULE.code_for_node(node)


class _Within(cst.CSTTransformer):
    def __init__(self, replacements: Dict[int, Replacement]):
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self.replacements.get(id(original_node), updated_node)


def replace_within(node: cst.CSTNode, replacements: Dict[int, Replacement]) -> cst.CSTNode:
    """Return ``node`` with the nodes below it (by identity) replaced."""
    if not replacements:
        return node
    if id(node) in replacements:
        replacement = replacements[id(node)]
        assert isinstance(replacement, cst.CSTNode)
        return replacement
    return node.visit(_Within(replacements))


@dataclass(frozen=True)
class BlockPosition:
    """The position of a statement: the body that contains it and its index there."""

    owner: cst.CSTNode  # an IndentedBlock or the Module
    body: Sequence[cst.BaseStatement]
    index: int


def block_position(root: cst.CSTNode, statement: cst.CSTNode) -> Optional[BlockPosition]:
    """Find the indented block (or module body) that lists ``statement`` directly."""
    for node in syntax.walk(root):
        if isinstance(node, (cst.IndentedBlock, cst.Module)):
            for index, item in enumerate(node.body):
                if item is statement:
                    return BlockPosition(node, node.body, index)
    return None


def parent_map(root: cst.CSTNode) -> Dict[int, cst.CSTNode]:
    """Map the id of every node below ``root`` to its parent."""
    parents: Dict[int, cst.CSTNode] = {}
    stack: List[cst.CSTNode] = [root]
    while stack:
        current = stack.pop()
        for child in syntax.child_nodes(current):
            parents[id(child)] = current
            stack.append(child)
    return parents


def enclosing_statement(function: FunctionModel, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """Return the statement of ``function`` (simple line or compound) that contains ``node``."""
    parents = parent_map(function.node)
    current: Optional[cst.CSTNode] = node
    while current is not None:
        if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return current
        current = parents.get(id(current))
    return None


def bound_names(function_node: cst.FunctionDef) -> Set[str]:
    """Return every name that a function binds: parameters, targets, imports, loops."""
    names: Set[str] = set()
    params = function_node.params
    for group in (params.posonly_params, params.params, params.kwonly_params):
        names.update(param.name.value for param in group)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    for node in syntax.walk(function_node.body):
        if isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign)):
            names.update(name.value for name in _target_names(node.target))
        elif isinstance(node, (cst.For, cst.CompFor)):
            names.update(name.value for name in _target_names(node.target))
        elif isinstance(node, cst.NamedExpr):
            names.update(name.value for name in _target_names(node.target))
        elif isinstance(node, cst.AsName):
            names.update(name.value for name in _target_names(node.name))
        elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                if alias.asname is None:
                    dotted = syntax.dotted_name(alias.name) or ""
                    names.add(dotted.split(".")[0])
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            names.add(node.name.value)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            names.update(item.name.value for item in node.names)
    return names


def _target_names(target: cst.CSTNode) -> Iterator[cst.Name]:
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def names_used(root: cst.CSTNode) -> Set[str]:
    """Return every identifier below ``root``, attribute names included."""
    return {node.value for node in syntax.walk(root) if isinstance(node, cst.Name)}


def fresh_name(preferred: Sequence[str], used: Set[str]) -> Optional[str]:
    for name in preferred:
        if name not in used:
            return name
    return None


# -- torch names and imports -------------------------------------------------


def module_level_imports(module: cst.Module) -> Dict[str, str]:
    """Map the names that top-level imports bind to the dotted names they import."""
    bound: Dict[str, str] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    dotted = syntax.dotted_name(alias.name)
                    if dotted is None:
                        continue
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        bound[alias.asname.name.value] = dotted
                    else:
                        head = dotted.split(".")[0]
                        bound[head] = head
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                if small.relative or small.module is None:
                    continue
                prefix = syntax.dotted_name(small.module)
                if prefix is None:
                    continue
                for alias in small.names:
                    name = syntax.dotted_name(alias.name)
                    if name is None:
                        continue
                    local = name
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        local = alias.asname.name.value
                    bound[local] = f"{prefix}.{name}"
    return bound


def _rebound_at_module_level(module: cst.Module, name: str) -> bool:
    """Return whether a top-level statement other than an import binds ``name``."""
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            if statement.name.value == name:
                return True
            continue
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                    targets = (
                        [target.target for target in small.targets]
                        if isinstance(small, cst.Assign)
                        else [small.target]
                    )
                    for target in targets:
                        if any(found.value == name for found in _target_names(target)):
                            return True
            continue
        # Compound statements at top level (if/try/for/with) may bind anything.
        if name in names_used(statement):
            return True
    return False


# Preferred spellings, most specific module first.
_SPELLING_ORDER = ("torch.nn.init", "torch.nn", "torch")


def torch_spelling(
    model: ModuleModel, qualname: str, function: Optional[FunctionModel]
) -> Optional[str]:
    """Return how this file spells ``qualname`` with its own top-level imports.

    ``torch.nn.init.trunc_normal_`` becomes ``nn.init.trunc_normal_`` after
    ``from torch import nn``. Names that ``function`` binds itself, or that the
    module rebinds, are not used. Returns None when no import reaches it.
    """
    imports = module_level_imports(model.module)
    shadowed = bound_names(function.node) if function is not None else set()
    candidates = []
    for local, dotted in imports.items():
        if local in shadowed or _rebound_at_module_level(model.module, local):
            continue
        if qualname == dotted:
            candidates.append((-1, local))
        elif qualname.startswith(dotted + ".") and dotted in _SPELLING_ORDER:
            rank = _SPELLING_ORDER.index(dotted)
            candidates.append((rank, local + qualname[len(dotted):]))
    if not candidates:
        return None
    # Prefer `nn.init.x` over `init.x` over `torch.nn.init.x`: the file's alias for
    # `torch.nn` is what readers expect, then a module alias, then the full path.
    preference = {1: 0, 0: 1, 2: 2, -1: 3}
    candidates.sort(key=lambda pair: (preference[pair[0]], pair[1]))
    return candidates[0][1]


@dataclass(frozen=True)
class SpelledName:
    """A torch name as a fix writes it, with the import edit it needs, if any."""

    text: str
    import_edit: Optional[NodeEdit] = None


def spell_or_import(
    model: ModuleModel, qualname: str, function: Optional[FunctionModel]
) -> Optional[SpelledName]:
    """Spell ``qualname`` through the file's imports, adding ``from torch import nn`` if needed.

    ``qualname`` must start with ``torch.nn.``. The import is added only when
    the name it binds appears nowhere in the file, and right after the last
    top-level import, so it runs before any class body that uses it.
    """
    spelled = torch_spelling(model, qualname, function)
    if spelled is not None:
        return SpelledName(spelled)
    if not qualname.startswith("torch.nn."):
        return None
    used = _names_bound_or_read(model.module)
    last_import = _last_top_level_import(model.module)
    if last_import is None:
        return None
    if "nn" not in used:
        new = parse_statement("from torch import nn\n", model.module)
        text = "nn." + qualname[len("torch.nn."):]
    elif "torch" not in used:
        new = parse_statement("import torch\n", model.module)
        text = qualname
    else:
        return None
    return SpelledName(text, NodeEdit(last_import, cst.FlattenSentinel([last_import, new])))


def _names_bound_or_read(root: cst.CSTNode) -> Set[str]:
    """Return the names ``root`` binds or reads anywhere, leaving out attribute names
    (``x.nn``) and the module paths of ``from torch.nn import ...``."""
    found: Set[str] = set()
    stack: List[cst.CSTNode] = [root]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
            continue
        if isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        if isinstance(current, cst.ImportFrom):
            if not isinstance(current.names, cst.ImportStar):
                stack.extend(current.names)
            continue
        if isinstance(current, cst.ImportAlias) and current.asname is not None:
            stack.append(current.asname)
            continue
        stack.extend(syntax.child_nodes(current))
    return found


def _last_top_level_import(module: cst.Module) -> Optional[cst.SimpleStatementLine]:
    found = None
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            found = statement
    return found
