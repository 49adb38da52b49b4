"""PEL401: a fixed sin/cos table rebuilt on every forward call from shapes only."""

from helpers import findings

HEADER = """
import math
from functools import lru_cache

import torch
from torch import nn
"""


def pel401(source):
    return findings(HEADER + source, select=["PEL401"])


def test_sinusoid_from_input_length_fires():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model

    def forward(self, x):
        seq_len = x.size(1)
        position = torch.arange(seq_len, device=x.device).unsqueeze(1).float()
        div_term = torch.exp(torch.arange(0, self.d_model, 2, device=x.device) * (-math.log(10000.0) / self.d_model))
        angles = position * div_term
        return x + torch.cat([angles.sin(), angles.cos()], dim=-1)
"""
    assert pel401(source) == [("PEL401", 18)]


def test_one_finding_per_method():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model

    def forward(self, x):
        position = torch.arange(x.shape[1]).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, self.d_model, 2) * (-math.log(10000.0) / self.d_model))
        pe = torch.zeros(x.shape[1], self.d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return x + pe
"""
    assert pel401(source) == [("PEL401", 17)]


def test_rotary_from_fixed_buffer_and_shape_fires():
    # The shape of a 2-d rotary embedding that reads only the patch count and
    # its inverse-frequency buffer, as in vit-pytorch's vit_5.
    source = """
class Rotary(nn.Module):
    def __init__(self, dim):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, x):
        device, dtype = x.device, x.dtype
        seq = torch.arange(x.shape[-2], device=device, dtype=dtype)
        freqs = torch.einsum("i, j -> i j", seq, self.inv_freq.to(dtype))
        return freqs.sin(), freqs.cos()
"""
    assert pel401(source) == [("PEL401", 18)]


def test_method_called_from_forward_fires():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def table(self, x):
        t = torch.arange(x.shape[1], device=x.device).float()
        freqs = torch.outer(t, torch.arange(self.dim, device=x.device).float())
        return torch.cos(freqs)

    def forward(self, x):
        return x + self.table(x)
"""
    assert pel401(source) == [("PEL401", 16)]


def test_in_file_builder_called_with_shapes_fires():
    # zoedepth's patch transformer calls its own sinusoid builder with the
    # input's shape on every call.
    source = """
class PatchTransformer(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def positional_encoding_1d(self, batch_size, sequence_length, embedding_dim, device="cpu"):
        position = torch.arange(0, sequence_length, device=device).unsqueeze(1)
        index = torch.arange(0, embedding_dim, 2, device=device).unsqueeze(0)
        div_term = torch.exp(index * (-math.log(10000.0) / embedding_dim))
        angles = position * div_term
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).repeat(batch_size, 1, 1)

    def forward(self, x):
        embeddings = self.proj(x)
        batch_size, sequence_length, embedding_dim = embeddings.shape
        embeddings = embeddings + self.positional_encoding_1d(
            batch_size, sequence_length, embedding_dim, device=embeddings.device
        )
        return embeddings
"""
    assert pel401(source) == [("PEL401", 23)]


def test_rotary_from_position_ids_is_clean():
    # transformers' LlamaRotaryEmbedding: the angles come from position_ids.
    source = """
class RotaryEmbedding(nn.Module):
    def __init__(self, dim, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.inv_freq = nn.Buffer(inv_freq, persistent=False)

    def forward(self, x, position_ids):
        freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype=x.dtype), emb.sin().to(dtype=x.dtype)
"""
    assert pel401(source) == []


def test_default_positions_replaced_by_argument_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.inv_freq = nn.Buffer(1.0 / (10000 ** (torch.arange(0, dim, 2) / dim)))

    def forward(self, x, *, offsets=None):
        if offsets is not None:
            positions = offsets
        else:
            positions = torch.arange(x.shape[1], device=x.device)
        return torch.sin(positions[:, None] * self.inv_freq)
"""
    assert pel401(source) == []


def test_default_positions_in_keyword_parameter_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.inv_freq = nn.Buffer(1.0 / (10000 ** (torch.arange(0, dim, 2) / dim)))

    def forward(self, x, *, position_ids=None):
        if position_ids is None:
            position_ids = torch.arange(x.shape[1], device=x.device)
        return torch.sin(position_ids[:, None] * self.inv_freq)
"""
    assert pel401(source) == []


def test_learned_frequencies_are_clean():
    source = """
class LearnedFourier(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.freqs = nn.Parameter(torch.randn(dim))

    def forward(self, x):
        t = torch.arange(x.shape[1], device=x.device).float()
        return torch.sin(t[:, None] * self.freqs)
"""
    assert pel401(source) == []


def test_submodule_output_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.scale = nn.Linear(1, dim)

    def forward(self, x):
        t = torch.arange(x.shape[1], device=x.device).float()[:, None]
        return torch.sin(self.scale(t))
"""
    assert pel401(source) == []


def test_random_jitter_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        t = torch.arange(x.shape[1], device=x.device) + torch.rand(x.shape[1], device=x.device)
        return torch.sin(t[:, None] * self.dim)
"""
    assert pel401(source) == []


def test_table_built_only_when_length_grows_is_clean():
    source = """
class RotaryCache(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.inv_freq = nn.Buffer(1.0 / (10000 ** (torch.arange(0, dim, 2) / dim)))
        self.cached_len = 0

    def forward(self, x):
        seq_len = x.shape[1]
        if seq_len > self.cached_len:
            t = torch.arange(seq_len, device=x.device)
            freqs = torch.outer(t, self.inv_freq)
            self.cos_cached = freqs.cos()
            self.cached_len = seq_len
        return self.cos_cached[:seq_len]
"""
    assert pel401(source) == []


def test_early_return_cache_is_clean():
    # transformers' wav2vec2-conformer relative encoding: `extend_pe` returns the
    # stored table when it is long enough and only rebuilds it otherwise.
    source = """
class RelPositionalEmbedding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.d_model = d_model
        self.pe = nn.Buffer(self.extend_pe(torch.tensor(0.0).expand(1, max_len)), persistent=False)

    def extend_pe(self, x, pe=None):
        if pe is not None:
            if pe.size(1) >= x.size(1) * 2 - 1:
                return pe.to(dtype=x.dtype, device=x.device)
        position = torch.arange(0, x.size(1), dtype=torch.int64).float().unsqueeze(1)
        div_term = torch.exp(torch.arange(0, self.d_model, 2).float() * -(math.log(10000.0) / self.d_model))
        pe_positive = torch.zeros(x.size(1), self.d_model)
        pe_positive[:, 0::2] = torch.sin(position * div_term)
        pe_positive[:, 1::2] = torch.cos(position * div_term)
        return pe_positive.unsqueeze(0).to(device=x.device, dtype=x.dtype)

    def forward(self, hidden_states):
        self.pe = self.extend_pe(hidden_states, self.pe)
        return self.pe[:, : hidden_states.size(1)]
"""
    assert pel401(source) == []


def test_cached_method_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    @lru_cache(maxsize=4)
    def table(self, seq_len):
        t = torch.arange(seq_len).float()
        return torch.sin(t[:, None] * torch.arange(self.dim))

    def forward(self, x):
        return x + self.table(x.shape[1])
"""
    assert pel401(source) == []


def test_conditional_call_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, dim, use_table):
        super().__init__()
        self.dim = dim
        self.use_table = use_table

    def forward(self, x):
        if self.use_table:
            t = torch.arange(x.shape[1], device=x.device).float()
            x = x + torch.sin(t[:, None] * self.dim)
        return x
"""
    assert pel401(source) == []


def test_scalar_math_sin_is_clean():
    source = """
class Warp(nn.Module):
    def __init__(self, angle):
        super().__init__()
        self.angle = angle

    def forward(self, x):
        scale = math.sin(self.angle) + torch.arange(x.shape[1]).sum()
        return x * scale
"""
    assert pel401(source) == []


def test_sin_of_input_is_clean():
    source = """
class SinActivation(nn.Module):
    def forward(self, x):
        return torch.sin(x * torch.arange(x.shape[-1], device=x.device))
"""
    assert pel401(source) == []


def test_builder_called_with_position_ids_is_clean():
    source = """
def sinusoid(positions, dim):
    div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    angles = positions[:, None] * div_term
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class Embed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x, position_ids):
        return x + sinusoid(position_ids, self.dim)
"""
    assert pel401(source) == []


def test_function_outside_module_class_is_clean():
    source = """
def get_table(seq_len, dim):
    t = torch.arange(seq_len).float()
    return torch.sin(t[:, None] * torch.arange(dim))


class Helper:
    def forward(self, x):
        t = torch.arange(x.shape[1]).float()
        return torch.sin(t)
"""
    assert pel401(source) == []


def test_builder_with_early_return_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model
        self.register_buffer("pe", torch.zeros(0, d_model), persistent=False)

    def table(self, seq_len):
        if self.pe.size(0) >= seq_len:
            return self.pe[:seq_len]
        position = torch.arange(seq_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, self.d_model, 2) * (-math.log(10000.0) / self.d_model))
        return torch.cat([torch.sin(position * div_term), torch.cos(position * div_term)], dim=-1)

    def forward(self, x):
        return x + self.table(x.shape[1])
"""
    assert pel401(source) == []


def test_axial_rotary_with_imported_constants_fires():
    # vit-pytorch's rvt: a 2-d rotary table from the patch count, a fixed
    # buffer and `pi`, rebuilt on every call.
    source = """
from math import pi, sqrt

from einops import repeat


class AxialRotaryEmbedding(nn.Module):
    def __init__(self, dim, max_freq=10):
        super().__init__()
        self.register_buffer("scales", torch.linspace(1.0, max_freq / 2, dim // 4))

    def forward(self, x):
        device, n = x.device, int(sqrt(x.shape[-2]))
        seq = torch.linspace(-1.0, 1.0, steps=n, device=device).unsqueeze(-1)
        seq = seq * self.scales.to(x) * pi
        x_sinu = repeat(seq, "i d -> i j d", j=n)
        return x_sinu.sin(), x_sinu.cos()
"""
    assert pel401(source) == [("PEL401", 23)]
