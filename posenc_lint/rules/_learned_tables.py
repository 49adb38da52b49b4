"""Shared analysis for PEL101 and PEL102: learned tables whose values are never set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.model import (
    EMPTY_FACTORIES,
    EMPTY_METHODS,
    UNINITIALISED_CONSTRUCTORS,
    ZERO_FACTORIES,
    ZERO_METHODS,
    AttributeWrite,
    ClassModel,
    ModuleModel,
    iter_module_classes,
)


@dataclass(frozen=True)
class UnsetTable:
    cls: ClassModel
    attr: str
    node: cst.CSTNode
    how: str  # "zeros" or "empty"


def creation_kind(model: ModuleModel, call: Optional[cst.Call]) -> Optional[str]:
    """Return "zeros" or "empty" when ``call`` creates a tensor with no chosen values."""
    if call is None:
        return None
    qualname = model.qualname(call.func)
    method = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
    if qualname in ZERO_FACTORIES or method in ZERO_METHODS:
        return "zeros"
    if qualname in EMPTY_FACTORIES or method in EMPTY_METHODS:
        return "empty"
    if qualname in UNINITIALISED_CONSTRUCTORS:
        positional = syntax.positional_args(call)
        # `torch.Tensor(n, d)` allocates; `torch.Tensor(data)` copies data.
        if len(positional) >= 2 and all(
            not isinstance(arg, (cst.List, cst.Tuple, cst.ListComp)) for arg in positional
        ):
            return "empty"
    return None


# Starting an additive attention bias at zero is a deliberate, common choice
# (BEiT's and SAM's relative tables), so relative tables are left out.
RELATIVE_TABLE_NAME = re.compile(r"(^|_)rel(ative)?(_|$)|bias", re.IGNORECASE)


def shape_rank(model: ModuleModel, call: cst.Call) -> Optional[int]:
    """Return the number of dimensions a factory call creates, when it is evident."""
    positional = syntax.positional_args(call)
    if not positional:
        return None
    method = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
    qualname = model.qualname(call.func) or ""
    if qualname.endswith("_like"):
        return None
    if method in ZERO_METHODS or method in EMPTY_METHODS or qualname.startswith("torch."):
        if len(positional) == 1:
            only = positional[0]
            if isinstance(only, (cst.Tuple, cst.List)):
                return len(only.elements)
            if syntax.int_value(only) is not None:
                return 1
            return None
        return len(positional)
    return None


def _single_position(call: cst.Call) -> bool:
    """Return whether every axis but the last is the literal 1, as in a `(1, 1, d)` token."""
    shape = syntax.positional_args(call)
    if len(shape) == 1 and isinstance(shape[0], (cst.Tuple, cst.List)):
        shape = [element.value for element in shape[0].elements]
    return len(shape) >= 2 and all(syntax.int_value(axis) == 1 for axis in shape[:-1])


def unset_learned_tables(model: ModuleModel) -> Iterator[UnsetTable]:
    if model.initialises_all_parameters:
        return
    for cls in iter_module_classes(model):
        if _calls_inherited_init(cls):
            continue
        for write in cls.writes:
            found = _unset_parameter(model, cls, write)
            if found is not None:
                yield found
        yield from _zeroed_by_init(model, cls)


def _calls_inherited_init(cls: ClassModel) -> bool:
    """Whether the class calls an init method defined in another file.

    timm's `DistilledVisionTransformer` creates `pos_embed` with `torch.empty`
    and relies on `super().init_weights()` from `vision_transformer.py`, and a
    transformers model's `self.post_init()` runs the library's weight init.
    """
    own_methods = cls.all_methods()
    for function in cls.methods.values():
        for call in function.calls:
            name = call.method
            if name is None or name == "__init__" or "init" not in name.lower():
                continue
            receiver = call.receiver
            through_super = (
                isinstance(receiver, cst.Call)
                and isinstance(receiver.func, cst.Name)
                and receiver.func.value == "super"
            )
            through_self = (
                isinstance(receiver, cst.Name)
                and receiver.value == function.self_name
                and name not in own_methods
            )
            if through_super or through_self:
                return True
    return False


def _unset_parameter(model: ModuleModel, cls: ClassModel, write: AttributeWrite) -> Optional[UnsetTable]:
    if write.kind not in ("assign", "setattr", "register_parameter") or not write.attr:
        return None
    function = write.function
    value = model.resolve(write.value, function)
    if model.call_qualname(value) != "torch.nn.Parameter":
        return None
    assert isinstance(value, cst.Call)
    if syntax.is_false(syntax.argument(value, 1, "requires_grad")):
        return None
    creation = model.tensor_creation(value, function)
    how = creation_kind(model, creation)
    if how is None or creation is None or RELATIVE_TABLE_NAME.search(write.attr):
        return None
    rank = shape_rank(model, creation)
    # A table has a row per position; a zero scalar or vector is a gate or a token.
    if rank is not None and rank < 2:
        return None
    if _single_position(creation):
        return None
    if not model.is_table(cls, write.attr):
        return None

    creation_order = model.order_of(creation)
    names = {write.attr}
    data = syntax.argument(value, 0, "data")
    if isinstance(write.value, cst.Name):
        names.add(write.value.value)
    if isinstance(data, cst.Name):
        names.add(data.value)
    for site in model.init_sites:
        # Zeros written into an empty table initialise it; PEL101 judges those.
        if site.name not in names or (site.zero and how == "zeros"):
            continue
        if site.function is function and site.order < creation_order:
            continue
        return None
    return UnsetTable(cls, write.attr, write.node, how)


def _zeroed_by_init(model: ModuleModel, cls: ClassModel) -> Iterator[UnsetTable]:
    """Find ``nn.init.zeros_(self.table)`` on a learned table with no later init."""
    for function in cls.methods.values():
        for site in model.init_sites:
            if not site.zero or site.function is not function:
                continue
            if not isinstance(site.node, cst.Call):
                continue
            target = syntax.positional_args(site.node)
            if not target:
                continue
            attr = function.self_attribute(syntax.strip_data(target[0]))
            if attr is None or RELATIVE_TABLE_NAME.search(attr) or not model.is_table(cls, attr):
                continue
            if not any(
                model.call_qualname(model.resolve(write.value, write.function)) == "torch.nn.Parameter"
                for write in cls.writes_to(attr)
            ):
                continue
            later = [
                other
                for other in model.inits_of(attr)
                if not other.zero and (other.function is not function or other.order > site.order)
            ]
            if not later:
                yield UnsetTable(cls, attr, site.node, "zeros")
