"""PEL302 fixed-table-as-parameter."""

from helpers import codes, findings, line_of

HEADER = """
import math
import torch
from torch import nn

def sinusoidal_init(n, d):
    position = torch.arange(n).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    table = torch.zeros(n, d)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term)[:, : d // 2]
    return table
"""


def test_frozen_parameter_of_sinusoid_is_reported():
    source = HEADER + """
class Tokenizer(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.weights = nn.Parameter(sinusoidal_init(n, d), requires_grad=False)
"""
    assert findings(source) == [("PEL302", line_of(source, "self.weights ="))]


def test_frozen_zero_table_filled_by_copy_is_reported():
    source = HEADER + """
class Vision(nn.Module):
    def __init__(self, n, width):
        super().__init__()
        self.positional_embedding = nn.Parameter(
            torch.zeros(n, width), requires_grad=False)
        self.positional_embedding.data.copy_(sinusoidal_init(n, width))
"""
    assert findings(source) == [("PEL302", line_of(source, "self.positional_embedding = nn.Parameter("))]


def test_frozen_local_in_static_builder_is_reported():
    source = HEADER + """
class Encoding(nn.Module):
    @staticmethod
    def _init_pe(n, d):
        position_enc = sinusoidal_init(n, d)
        position_enc = nn.Parameter(position_enc, requires_grad=False)
        return position_enc
"""
    assert findings(source) == [("PEL302", line_of(source, "position_enc = nn.Parameter"))]


def test_freeze_after_creation_in_init_is_reported():
    source = HEADER + """
class Encoder(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(sinusoidal_init(n, d))
        self.pos_embed.requires_grad = False
"""
    assert findings(source) == [("PEL302", line_of(source, "requires_grad = False"))]


def test_learned_table_frozen_for_fine_tuning_is_clean():
    source = HEADER + """
class Vision(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, n, d) * 0.02)

    def lock(self):
        self.pos_embed.requires_grad = False
"""
    assert codes(source) == []


def test_requires_grad_from_an_option_is_clean():
    source = HEADER + """
class Vision(nn.Module):
    def __init__(self, n, d, learnable):
        super().__init__()
        self.pos_embed = nn.Parameter(sinusoidal_init(n, d), requires_grad=learnable)
"""
    assert codes(source) == []


def test_table_unfrozen_elsewhere_is_clean():
    source = HEADER + """
class Vision(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(sinusoidal_init(n, d), requires_grad=False)

    def unfreeze(self):
        self.pos_embed.requires_grad_(True)
"""
    assert codes(source) == []


def test_frozen_quantised_weight_is_not_a_table():
    source = HEADER + """
class GgufLinear(nn.Module):
    def __init__(self, rows, cols):
        super().__init__()
        self.weight = nn.Parameter(torch.empty((rows, cols), dtype=torch.uint8), requires_grad=False)

    def forward(self, x, start, n):
        return x @ self.weight[start : start + n].float()
"""
    assert codes(source) == []
