"""PEL303: a position table kept as a plain tensor attribute instead of a buffer."""

from __future__ import annotations

from typing import Iterator

from posenc_lint.model import ModuleModel, iter_module_classes
from posenc_lint.rules.base import Finding, Rule


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
    No fix yet. The planned fix, `self.register_buffer(name, table, persistent=False)`,
    is safe: a non-persistent buffer adds no `state_dict` key. Complex-valued
    tables get no fix, because `Module.to(dtype)` would make them real.

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
                )
