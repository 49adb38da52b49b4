"""PEL302: a fixed, computed position table stored as a frozen ``nn.Parameter``."""

from __future__ import annotations

from typing import Iterator, Set

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes.buffers import buffer_fix, buffer_fix_for_call
from posenc_lint.model import ClassModel, FunctionModel, ModuleModel
from posenc_lint.rules.base import Finding, Rule


def _unfrozen_names(model: ModuleModel) -> Set[str]:
    """Return names whose ``requires_grad`` is switched on somewhere in the file."""
    names = set()
    for function in model.all_functions:
        for assignment in function.assignments:
            for target in assignment.targets:
                if (
                    isinstance(target, cst.Attribute)
                    and target.attr.value == "requires_grad"
                    and not syntax.is_false(assignment.value)
                ):
                    name = syntax.last_name(syntax.strip_data(target.value))
                    if name:
                        names.add(name)
        for call in function.calls:
            if call.method == "requires_grad_" and call.receiver is not None:
                argument = syntax.argument(call.node, 0, "requires_grad")
                if not syntax.is_false(argument):
                    name = syntax.last_name(syntax.strip_data(call.receiver))
                    if name:
                        names.add(name)
    return names


class FixedTableAsParameter(Rule):
    """
    ## What it does
    Reports a fixed position table (computed, never trained) stored as
    `nn.Parameter(table, requires_grad=False)`, or made a Parameter and then
    frozen with `.requires_grad = False` or `.requires_grad_(False)` in `__init__`.

    A table that some other method unfreezes, or whose `requires_grad` comes
    from an option, is a learned table and is not reported. Freezing a learned
    table in a fine-tuning method is fine.

    ## Why is this bad?
    A Parameter is meant to be trained. A frozen one still shows up in
    `model.parameters()`, so optimizers, weight decay groups, parameter counts
    and `requires_grad_()` calls on the whole model all treat the fixed table as
    a weight; one `model.requires_grad_(True)` before fine-tuning silently
    starts training it. A buffer says what the table is.

    ## Example
    ```python
    import math

    import torch
    from torch import nn


    def sinusoid_table(n_position, d_model):
        position = torch.arange(n_position).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        table = torch.zeros(n_position, d_model)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term)[:, : d_model // 2]
        return table


    class Encoder(nn.Module):
        def __init__(self, max_len, d_model):
            super().__init__()
            self.pos_embed = nn.Parameter(sinusoid_table(max_len, d_model), requires_grad=False)

        def forward(self, x):
            return x + self.pos_embed[: x.size(1)]
    ```

    ## Use instead
    ```python
    import math

    import torch
    from torch import nn


    def sinusoid_table(n_position, d_model):
        position = torch.arange(n_position).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        table = torch.zeros(n_position, d_model)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term)[:, : d_model // 2]
        return table


    class Encoder(nn.Module):
        def __init__(self, max_len, d_model):
            super().__init__()
            self.register_buffer("pos_embed", sinusoid_table(max_len, d_model))

        def forward(self, x):
            seq_len = x.size(1)
            if seq_len > self.pos_embed.size(0):
                raise ValueError(
                    f"sequence length {seq_len} exceeds the maximum {self.pos_embed.size(0)}"
                )
            return x + self.pos_embed[:seq_len]
    ```

    ## Fix safety
    The fix is safe. It replaces `self.x = nn.Parameter(table, requires_grad=False)`
    (or the same through `setattr(self, "x", ...)`) with
    `self.register_buffer("x", table)`, and deletes the unconditional
    `self.x.requires_grad = False` and `self.x.requires_grad_(False)` statements
    in `__init__` and the helpers it calls. A persistent buffer keeps the
    `state_dict` key `x` and the values, and follows `.to()`, `.half()` and
    `.cuda()` as the Parameter did, so outputs do not change and old
    checkpoints load with `strict=True`. What changes is that `parameters()`,
    parameter counts and optimizers no longer include the table.
    `self.x.data.copy_(...)` and `nn.init` calls on the table keep working.
    A comment line directly above a deleted freeze is deleted with it.

    No fix is offered when:
    - the class, an in-file base or an in-file subclass assigns the attribute
      anywhere else, for example a learned Parameter on another branch of a
      configuration switch or a resize method: the attribute would be a
      Parameter in one case and a buffer in the other;
    - the Parameter is bound to a local name or returned by a helper, as in
      a static `_init_pe` method that returns either a learned or a frozen
      Parameter: every caller would need its own rewrite;
    - a base class comes from another file, or a class body defines the name,
      because `register_buffer` raises `KeyError` for a name that exists;
    - the table is not evidently a new tensor (the result of a sinusoid
      builder or of a torch factory such as `torch.zeros`), because a buffer
      would keep any autograd history that `nn.Parameter` drops;
    - code stores `self.x` in another attribute or in a list, tuple or dict,
      passes it to `nn.Parameter`, `isinstance`, `setattr` or
      `register_parameter`, deletes it, or reads `_parameters`;
    - the Parameter is frozen only through `.data`, which leaves the
      Parameter trainable, or only on some branches;
    - the assignment runs before `super().__init__()`.

    ## Options
    - `position-table-pattern`: the names that mark an attribute or variable as a position table.
    """

    code = "PEL302"
    name = "fixed-table-as-parameter"
    summary = "A fixed position table is stored as a frozen Parameter"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        unfrozen = _unfrozen_names(model)
        for function in model.all_functions:
            for call in function.calls:
                if call.qualname != "torch.nn.Parameter":
                    continue
                if not syntax.is_false(syntax.argument(call.node, 1, "requires_grad")):
                    continue
                names = _names_bound_to(model, function, call.node)
                if names & unfrozen:
                    continue
                if not self._is_table(model, function, call.node, names):
                    continue
                shown = sorted(names)[0] if names else "table"
                anchor = _statement_anchor(function, call.node)
                yield Finding(
                    anchor,
                    f"fixed position table `{shown}` is a Parameter with `requires_grad=False`, "
                    "so optimizers, parameter counts and `requires_grad_()` still treat it as "
                    f"a weight; register it as a buffer with `self.register_buffer(\"{shown}\", ...)`",
                    buffer_fix_for_call(model, function, call.node),
                )
        yield from self._frozen_after_creation(model, unfrozen)

    def _is_table(
        self, model: ModuleModel, function: FunctionModel, call: cst.Call, names: Set[str]
    ) -> bool:
        if any(model.is_table_name(name) for name in names):
            return True
        cls = function.cls
        if cls is not None and any(model.is_table(cls, name) for name in names if name):
            return True
        data = syntax.argument(call, 0, "data")
        return model.is_sinusoid_value(data, function)

    def _frozen_after_creation(self, model: ModuleModel, unfrozen: Set[str]) -> Iterator[Finding]:
        for cls in model.classes:
            if not cls.is_module:
                continue
            init_methods = [cls.methods[name] for name in ("__init__", *sorted(cls.init_reachable)) if name in cls.methods]
            for function in init_methods:
                for node, attr in _freezes(function):
                    if attr in unfrozen or not model.is_table(cls, attr):
                        continue
                    if not _is_parameter(model, cls, attr):
                        continue
                    yield Finding(
                        node,
                        f"position table `{attr}` is made a Parameter and then frozen in "
                        f"`{function.name}`, so it is a fixed table stored as a weight; "
                        f"register it as a buffer with `self.register_buffer(\"{attr}\", ...)`",
                        buffer_fix(model, cls, attr),
                    )


def _freezes(function: FunctionModel) -> Iterator[tuple]:
    for assignment in function.assignments:
        if assignment.conditional:
            continue
        for target in assignment.targets:
            if (
                isinstance(target, cst.Attribute)
                and target.attr.value == "requires_grad"
                and syntax.is_false(assignment.value)
            ):
                attr = function.self_attribute(syntax.strip_data(target.value))
                if attr is not None:
                    yield assignment.node, attr
    for call in function.calls:
        if call.method == "requires_grad_" and not call.conditional and call.receiver is not None:
            if syntax.is_false(syntax.argument(call.node, 0, "requires_grad")):
                attr = function.self_attribute(syntax.strip_data(call.receiver))
                if attr is not None:
                    yield call.node, attr


def _is_parameter(model: ModuleModel, cls: ClassModel, attr: str) -> bool:
    for write in cls.writes_to(attr):
        value = model.resolve(write.value, write.function)
        if model.call_qualname(value) == "torch.nn.Parameter" or write.kind == "register_parameter":
            return True
    return False


def _names_bound_to(model: ModuleModel, function: FunctionModel, call: cst.Call) -> Set[str]:
    """Return the attribute or variable names that receive the Parameter ``call``."""
    names: Set[str] = set()
    for assignment in function.assignments:
        if assignment.value is not call:
            continue
        for target in assignment.targets:
            name = syntax.last_name(target)
            if name:
                names.add(name)
    cls = function.cls
    if cls is not None:
        for write in cls.writes:
            if write.function is function and write.value is call and write.attr:
                names.add(write.attr)
    return names


def _statement_anchor(function: FunctionModel, call: cst.Call) -> cst.CSTNode:
    for assignment in function.assignments:
        if assignment.value is call:
            return assignment.node
    return call
