"""PEL301: an ``nn.Parameter`` created, swapped or resized in ``forward``."""

from __future__ import annotations

from typing import Iterator, Optional, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, precompute
from posenc_lint.model import ClassModel, FunctionModel, ModuleModel, iter_module_classes
from posenc_lint.rules.base import Finding, Rule

FIX_ADVICE = (
    "build the table for the maximum length in `__init__`, slice it by the sequence "
    "length in `forward` and raise `ValueError` past the maximum"
)


def parameter_attributes(model: ModuleModel, cls: ClassModel) -> Set[str]:
    """Return the attributes of ``cls`` that hold a Parameter or an ``nn.Embedding``."""
    names = set()
    classes = [cls, *cls.in_file_bases]
    for owner in classes:
        for write in owner.writes:
            if write.kind == "register_parameter":
                names.add(write.attr)
                continue
            value = model.resolve(write.value, write.function)
            if model.call_qualname(value) in ("torch.nn.Parameter", "torch.nn.Embedding"):
                names.add(write.attr)
    return names


class ParameterAssignedInForward(Rule):
    """
    ## What it does
    Reports an `nn.Parameter` created, assigned or resized inside `forward` or a
    method that `forward` calls through `self.method(...)`: `self.x = nn.Parameter(...)`,
    `setattr(self, name, nn.Parameter(...))`, `self.register_parameter(...)`,
    `self.x.data = ...` and `self.x.resize_(...)` on a Parameter.

    Explicit resize methods that `forward` never calls, such as timm's
    `set_input_size`, are fine, and so is re-registering a buffer.

    ## Why is this bad?
    A Parameter created during a call is a new tensor: an optimizer built before
    that call still updates the old one, a checkpoint saved before it no longer
    matches, DDP and FSDP see parameters change under them, and `torch.compile`
    breaks the graph. The usual cause is a position table grown when a longer
    batch arrives.

    ## Example
    ```python
    import torch
    from torch import nn


    class Positions(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim
            self.pos_embed = nn.Parameter(torch.randn(16, dim) * 0.02)

        def forward(self, x):
            if x.size(1) > self.pos_embed.size(0):
                self.pos_embed = nn.Parameter(torch.randn(x.size(1), self.dim) * 0.02)
            return x + self.pos_embed[: x.size(1)]
    ```

    ## Use instead
    ```python
    import torch
    from torch import nn


    class Positions(nn.Module):
        def __init__(self, dim, max_len=512):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(max_len, dim) * 0.02)

        def forward(self, x):
            seq_len = x.size(1)
            if seq_len > self.pos_embed.size(0):
                raise ValueError(
                    f"sequence length {seq_len} exceeds the maximum {self.pos_embed.size(0)}"
                )
            return x + self.pos_embed[:seq_len]
    ```

    ## Fix safety
    The fix is unsafe: it replaces the body of the `if need > have:` block that
    grows the table on the forward path, where `have` is the table's length or
    an attribute such as `self.max_len`, with
    `raise ValueError(f"sequence length {need} exceeds the maximum {have}")`.
    Inputs that fit the table built in `__init__` give the same outputs,
    `state_dict` keys stay the same, and a longer input raises instead of
    replacing the Parameter.

    There is no fix when `__init__` does not create the table with more than
    one row, when another statement on the forward path writes the table
    outside such a block, when the test is not a single `>` or `<` comparison
    with the table's length, or when the block does more than build rows, write
    the table or its length attribute, and log. Creating a Parameter on every
    call, not only for longer inputs, gets no fix either.

    ## Options
    None.
    """

    code = "PEL301"
    name = "parameter-assigned-in-forward"
    summary = "A Parameter is created, swapped or resized during forward"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        seen: Set[int] = set()
        for cls in iter_module_classes(model):
            methods = cls.all_methods()
            parameters = parameter_attributes(model, cls)
            for name in sorted(cls.forward_reachable):
                function = methods.get(name)
                if function is None or name == "__init__" or id(function.node) in seen:
                    continue
                seen.add(id(function.node))
                yield from self._check_method(model, cls, function, parameters)

    def _check_method(
        self, model: ModuleModel, cls: ClassModel, function: FunctionModel, parameters: Set[str]
    ) -> Iterator[Finding]:
        where = "`forward`" if function.name == "forward" else f"`{function.name}`, which `forward` calls,"
        for assignment in function.assignments:
            for target in assignment.targets:
                attr = function.self_attribute(target)
                value = model.resolve(assignment.value, function)
                if attr is not None and model.call_qualname(value) == "torch.nn.Parameter":
                    yield Finding(
                        assignment.node,
                        f"{where} assigns a new Parameter to `{attr}`, so optimizers and "
                        f"checkpoints keep the old tensor and `torch.compile` breaks; {FIX_ADVICE}",
                        _fix(model, cls, attr, assignment.node, function),
                    )
                    continue
                swapped = _data_swap_target(function, target)
                if swapped is not None and swapped in parameters:
                    yield Finding(
                        assignment.node,
                        f"{where} replaces the data of Parameter `{swapped}`, which changes "
                        f"its shape or values behind the optimizer's back; {FIX_ADVICE}",
                        _fix(model, cls, swapped, assignment.node, function),
                    )

        for call in function.calls:
            finding = self._check_call(model, cls, function, call.node, parameters, where)
            if finding is not None:
                yield finding

    def _check_call(
        self,
        model: ModuleModel,
        cls: ClassModel,
        function: FunctionModel,
        node: cst.Call,
        parameters: Set[str],
        where: str,
    ) -> Optional[Finding]:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "setattr":
            positional = syntax.positional_args(node)
            if len(positional) == 3 and isinstance(positional[0], cst.Name) and positional[0].value == function.self_name:
                value = model.resolve(positional[2], function)
                if model.call_qualname(value) == "torch.nn.Parameter":
                    name = syntax.string_value(positional[1])
                    shown = f"`{name}`" if name else "an attribute"
                    return Finding(
                        node,
                        f"{where} sets a new Parameter on {shown} with `setattr`, so optimizers "
                        f"and checkpoints keep the old tensor; {FIX_ADVICE}",
                        _fix(model, cls, name, node, function),
                    )
        if not isinstance(func, cst.Attribute):
            return None
        if func.attr.value == "register_parameter":
            if isinstance(func.value, cst.Name) and func.value.value == function.self_name:
                name = syntax.string_value(syntax.argument(node, 0, "name")) or "a Parameter"
                return Finding(
                    node,
                    f"{where} registers Parameter `{name}` during the call, so optimizers and "
                    f"checkpoints built earlier do not know it; {FIX_ADVICE}",
                    _fix(model, cls, syntax.string_value(syntax.argument(node, 0, "name")), node, function),
                )
        if func.attr.value == "resize_":
            attr = function.self_attribute(syntax.strip_data(func.value))
            if attr is not None and attr in parameters:
                return Finding(
                    node,
                    f"{where} resizes Parameter `{attr}` in place, which invalidates optimizer "
                    f"state and breaks `torch.compile`; {FIX_ADVICE}",
                    _fix(model, cls, attr, node, function),
                )
        return None


def _fix(
    model: ModuleModel,
    cls: ClassModel,
    attr: Optional[str],
    node: cst.CSTNode,
    function: FunctionModel,
) -> Optional[FixPlan]:
    """Build the precompute-and-slice rewrite for a table grown on the forward path."""
    if not attr:
        return None
    return precompute.growth_fix(model, cls, attr, node, function)


def _data_swap_target(function: FunctionModel, target: cst.BaseExpression) -> Optional[str]:
    """Return ``x`` for ``self.x.data = ...`` or ``self.x.weight.data = ...``."""
    if not (isinstance(target, cst.Attribute) and target.attr.value == "data"):
        return None
    return function.self_attribute(syntax.strip_data(target.value))
