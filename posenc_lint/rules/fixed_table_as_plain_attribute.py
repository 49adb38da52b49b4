"""PEL303: a position table kept as a plain tensor attribute instead of a buffer."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from posenc_lint import syntax
from posenc_lint.fixes import FixPlan, NodeEdit, safe_fix
from posenc_lint.model import (
    AttributeWrite,
    ClassModel,
    FunctionModel,
    ModuleModel,
    iter_module_classes,
)
from posenc_lint.rules.base import Finding, Rule

# Constructors of complex tensors: `Module.to(dtype)` would drop their imaginary part.
COMPLEX_MAKERS = {"torch.polar", "torch.complex", "torch.view_as_complex"}
COMPLEX_DTYPES = {"cfloat", "cdouble", "complex64", "complex128", "chalf", "complex32"}


class FixedTableAsPlainAttribute(Rule):
    """
    ## What it does
    Reports a position table that `__init__` (or a method only `__init__` calls)
    stores as a plain tensor attribute, `self.pe = pe` or `setattr(self, "pe", pe)`,
    instead of registering it as a buffer.

    Attributes registered as buffers anywhere in the class, with
    `register_buffer` or `nn.Buffer`, are not reported: assigning a tensor to a
    registered buffer's name updates the buffer.

    ## Why is this bad?
    `nn.Module` only tracks Parameters, buffers and submodules. A plain tensor
    attribute stays behind when the model moves: `.to("cuda")`, `.cuda()`,
    `.half()` and `.to(torch.bfloat16)` skip it, so `forward` either fails with a
    device mismatch or copies the table to the device on every call. It is also
    missing from `state_dict()`, and DataParallel replicas share the original.

    ## Example
    ```python
    import math

    import torch
    from torch import nn


    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=5000):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)[:, : d_model // 2]
            self.pe = pe

        def forward(self, x):
            return x + self.pe[: x.size(1)].to(x.device)
    ```

    ## Use instead
    ```python
    import math

    import torch
    from torch import nn


    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=5000):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)[:, : d_model // 2]
            self.register_buffer("pe", pe, persistent=False)

        def forward(self, x):
            seq_len = x.size(1)
            if seq_len > self.pe.size(0):
                raise ValueError(f"sequence length {seq_len} exceeds the maximum {self.pe.size(0)}")
            return x + self.pe[:seq_len]
    ```

    ## Fix safety
    The fix, `self.register_buffer(name, table, persistent=False)`, is safe: the
    table's values are unchanged, and a non-persistent buffer adds no `state_dict`
    key, so old checkpoints load with `strict=True`. There is no fix when the
    table is complex-valued, because `Module.to(dtype)` would make it real, when
    the class writes that attribute anywhere else (`register_buffer` raises
    `KeyError` for a name that is already set), or when the assignment runs
    before `super().__init__()`.

    ## Options
    - `position-table-pattern`: the names that mark an attribute as a position table.
    """

    code = "PEL303"
    name = "fixed-table-as-plain-attribute"
    summary = "A position table is a plain tensor attribute, not a buffer"

    def check(self, model: ModuleModel) -> Iterator[Finding]:
        for cls in iter_module_classes(model):
            buffers = cls.all_buffers()
            init_methods = {"__init__"} | cls.init_reachable
            for write in cls.writes:
                if write.kind not in ("assign", "setattr") or not write.attr:
                    continue
                if write.function.name not in init_methods or write.function.name in cls.forward_reachable:
                    continue
                if write.attr in buffers:
                    continue
                if not model.is_tensor(write.value, write.function):
                    continue
                if not model.is_table(cls, write.attr):
                    continue
                yield Finding(
                    write.node,
                    f"position table `{write.attr}` is a plain tensor attribute, so `.to()`, "
                    "`.cuda()`, `.half()` and `state_dict()` skip it; register it as a buffer "
                    f"with `self.register_buffer(\"{write.attr}\", ..., persistent=False)`",
                    _register_fix(model, cls, write),
                )


def _register_fix(model: ModuleModel, cls: ClassModel, write: AttributeWrite) -> Optional[FixPlan]:
    """Build the `register_buffer(..., persistent=False)` rewrite, when it is sound."""
    function = write.function
    if write.value is None or function.self_name is None:
        return None
    if _is_complex(model, write.value, function):
        return None
    # `register_buffer` raises KeyError when the name is already a plain
    # attribute, even one set to None, so any second write rules the fix out.
    if any(other is not write for other in cls.writes_to(write.attr)):
        return None
    if not _after_module_init(model, write):
        return None
    if write.kind == "assign" and (
        not isinstance(write.node, cst.Assign) or len(write.node.targets) != 1
    ):
        return None

    no_space = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    call = cst.Call(
        func=cst.Attribute(cst.Name(function.self_name), cst.Name("register_buffer")),
        args=[
            cst.Arg(cst.SimpleString(f'"{write.attr}"')),
            cst.Arg(write.value),
            cst.Arg(cst.Name("False"), keyword=cst.Name("persistent"), equal=no_space),
        ],
    )
    replacement = cst.Expr(call) if write.kind == "assign" else call
    return safe_fix(
        f"Register `{write.attr}` as a non-persistent buffer",
        NodeEdit(write.node, replacement),
    )


def _is_complex(model: ModuleModel, value: cst.BaseExpression, function: FunctionModel) -> bool:
    resolved = model.resolve(value, function)
    for node in syntax.walk(resolved):
        if isinstance(node, cst.Call) and model.qualname(node.func) in COMPLEX_MAKERS:
            return True
        if isinstance(node, cst.Attribute) and node.attr.value in COMPLEX_DTYPES:
            return True
    return False


def _after_module_init(model: ModuleModel, write: AttributeWrite) -> bool:
    """Return whether ``super().__init__()`` (or ``Base.__init__(self)``) runs before the write."""
    function = write.function
    if function.name != "__init__":
        # A helper called from `__init__` runs after the module is set up in practice.
        return True
    write_order = model.order_of(write.node)
    for call in function.calls:
        if call.method == "__init__" and call.order < write_order:
            return True
    return False
