"""PEL303 fixed-table-as-plain-attribute."""

import textwrap

from helpers import codes, findings, line_of
from posenc_lint.config import Settings
from posenc_lint.engine import lint_source

HEADER = """
import numpy as np
import torch
from torch import nn

def get_sinusoid_encoding_table(n_position, d_hid):
    def angle_vec(position):
        return [position / np.power(10000, 2 * (j // 2) / d_hid) for j in range(d_hid)]
    table = np.array([angle_vec(pos) for pos in range(n_position)])
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.FloatTensor(table).unsqueeze(0)
"""


def test_sinusoid_table_as_plain_attribute_is_reported():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.position_embeddings = get_sinusoid_encoding_table(n, d)

    def forward(self, x):
        return x + self.position_embeddings.to(x.device)
"""
    assert findings(source) == [("PEL303", line_of(source, "self.position_embeddings ="))]


def test_setattr_of_a_computed_table_is_reported():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        setattr(self, "pe", torch.zeros(n, d))
"""
    assert findings(source) == [("PEL303", line_of(source, "setattr(self"))]


def test_registered_buffer_assigned_later_is_clean():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.register_buffer("pe", torch.zeros(n, d), persistent=False)
        self.pe = get_sinusoid_encoding_table(n, d)
"""
    assert codes(source) == []


def test_nn_buffer_is_clean():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.position_ids = nn.Buffer(torch.arange(config.max_len).expand((1, -1)), persistent=False)
        self.pos_table = nn.Buffer(get_sinusoid_encoding_table(config.max_len, config.d))
"""
    assert codes(source) == []


def test_cache_rebuilt_in_forward_is_not_pel303():
    source = HEADER + """
class Rotary(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))
        self.pos_cached = None

    def forward(self, x):
        t = torch.arange(x.shape[1], device=x.device)
        self.pos_cached = torch.outer(t, self.inv_freq)
        return self.pos_cached
"""
    assert "PEL303" not in codes(source)


def test_non_table_tensor_attribute_is_clean():
    source = HEADER + """
class Model(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.mean = torch.zeros(n)
"""
    assert codes(source) == []


def test_plain_python_class_is_clean():
    source = HEADER + """
class Holder:
    def __init__(self, n, d):
        self.pe = torch.zeros(n, d)
"""
    assert codes(source) == []


def test_fix_offered_for_single_assignment():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pe = get_sinusoid_encoding_table(n, d)
"""
    result = lint_source(textwrap.dedent(source), "example.py", Settings())
    assert [diagnostic.fixable for diagnostic in result.diagnostics] == [True]


def test_no_fix_when_attribute_is_first_set_to_none():
    source = HEADER + """
class Embeddings(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pe = None
        self.pe = get_sinusoid_encoding_table(n, d)
"""
    result = lint_source(textwrap.dedent(source), "example.py", Settings())
    assert [diagnostic.code for diagnostic in result.diagnostics] == ["PEL303"]
    assert [diagnostic.fixable for diagnostic in result.diagnostics] == [False]
