"""PEL301 parameter-assigned-in-forward."""

from helpers import codes, findings, line_of

HEADER = """
import torch
from torch import nn
"""


def test_new_parameter_in_forward_is_reported():
    source = HEADER + """
class Grow(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.pe = nn.Parameter(torch.randn(8, d))

    def forward(self, x):
        if x.size(1) > self.pe.size(0):
            self.pe = nn.Parameter(torch.randn(x.size(1), x.size(2)))
        return x + self.pe[: x.size(1)]
"""
    assert findings(source, ["PEL301"]) == [("PEL301", line_of(source, "self.pe = nn.Parameter(torch.randn(x.size(1)"))]


def test_parameter_created_in_helper_called_from_forward():
    source = HEADER + """
class Grow(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self._extend(16)

    def _extend(self, n):
        table = nn.Parameter(torch.randn(n, self.d))
        setattr(self, "pos_table", table)

    def forward(self, x):
        self._extend(x.size(1))
        return x + self.pos_table
"""
    assert findings(source, ["PEL301"]) == [("PEL301", line_of(source, "setattr(self"))]


def test_register_parameter_and_data_swap_in_forward():
    source = HEADER + """
class Grow(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(8, d))
        self.emb = nn.Embedding(8, d)

    def forward(self, x):
        self.register_parameter("extra", nn.Parameter(torch.zeros(1)))
        self.pos.data = torch.randn(x.size(1), x.size(2))
        self.emb.weight.data = torch.randn(x.size(1), x.size(2))
        self.pos.data.resize_(x.size(1), x.size(2))
        return x
"""
    assert findings(source, ["PEL301"]) == [
        ("PEL301", line_of(source, "register_parameter")),
        ("PEL301", line_of(source, "self.pos.data =")),
        ("PEL301", line_of(source, "self.emb.weight.data =")),
        ("PEL301", line_of(source, "resize_")),
    ]


def test_explicit_resize_method_not_called_from_forward_is_clean():
    source = HEADER + """
class VisionTransformer(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, n, d) * .02)

    def set_input_size(self, n):
        self.pos_embed = nn.Parameter(self.pos_embed[:, :n].detach())

    def forward(self, x):
        return x + self.pos_embed
"""
    assert codes(source) == []


def test_buffer_re_registered_in_forward_is_clean():
    source = HEADER + """
class AlibiPositionalBias(nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.register_buffer("bias", None, persistent=False)

    def forward(self, i, j):
        if self.bias is not None and self.bias.shape[-1] >= j:
            return self.bias[..., -i:, -j:]
        bias = torch.arange(j).view(1, 1, j).float()
        self.register_buffer("bias", bias, persistent=False)
        return self.bias
"""
    assert codes(source) == []


def test_data_assignment_on_plain_attribute_is_clean():
    source = HEADER + """
class Cache(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("cache", torch.zeros(1))

    def forward(self, x):
        self.cache.data = x.detach()
        return x
"""
    assert codes(source) == []


def test_reported_once_for_method_inherited_by_subclass():
    source = HEADER + """
class Base(nn.Module):
    def forward(self, x):
        self.w = nn.Parameter(x.detach())
        return x

class Child(Base):
    pass
"""
    assert findings(source) == [("PEL301", line_of(source, "self.w = "))]
