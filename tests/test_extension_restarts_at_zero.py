"""PEL506: rows appended to a position table repeat the positions from 0."""

from helpers import findings

HEADER = """
import math

import torch
from torch import nn


def sinusoidal_init(num_positions, dim, start=0):
    position = torch.arange(start, start + num_positions).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    table = torch.zeros(num_positions, dim)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term[: dim // 2])
    return table
"""

# HEADER takes lines 1-14, so the class in each test starts on line 16.


def pel506(source):
    return findings(HEADER + source, select=["PEL506"])


def test_builder_called_with_missing_count_fires():
    source = """
class PositionalEmbedding(nn.Module):
    def __init__(self, embed_size):
        super().__init__()
        self.embed_size = embed_size
        self.pos_embed = nn.Parameter(sinusoidal_init(1024, embed_size), requires_grad=False)

    def forward(self, x):
        N, seq_length = x.shape[0], x.shape[1]
        if seq_length > self.pos_embed.size(0):
            extra = sinusoidal_init(seq_length - self.pos_embed.size(0), self.embed_size)
            self.pos_embed = nn.Parameter(torch.cat([self.pos_embed, extra]), requires_grad=False)
        positions = torch.arange(0, seq_length).expand(N, seq_length).to(x.device)
        return x + self.pos_embed[positions]
"""
    assert pel506(source) == [("PEL506", 26)]
    assert ("PEL402", 27) in findings(HEADER + source, select=["PEL402"])


def test_count_through_local_names_fires():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.d_model = d_model
        self.register_buffer("pe", sinusoidal_init(max_len, d_model), persistent=False)

    def forward(self, x):
        need = x.shape[1]
        have = self.pe.shape[0]
        if need > have:
            missing = need - have
            rows = sinusoidal_init(missing, self.d_model).to(x.device)
            self.pe = torch.cat((self.pe, rows), dim=0)
        return x + self.pe[:need]
"""
    assert pel506(source) == [("PEL506", 28)]


def test_arange_of_missing_count_fires():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, d_model, 2) / d_model)))
        self.register_buffer("pos_table", torch.sin(torch.arange(max_len)[:, None] * self.inv_freq))

    def forward(self, x):
        seq_len = x.shape[1]
        if seq_len > self.pos_table.size(0):
            t = torch.arange(0, seq_len - self.pos_table.size(0), device=x.device)
            extra = torch.sin(t[:, None] * self.inv_freq)
            self.pos_table = torch.cat([self.pos_table.data, extra])
        return x + self.pos_table[:seq_len]
"""
    assert pel506(source) == [("PEL506", 27)]


def test_builder_given_start_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.d_model = d_model
        self.register_buffer("pe", sinusoidal_init(max_len, d_model), persistent=False)

    def forward(self, x):
        have = self.pe.shape[0]
        if x.shape[1] > have:
            extra = sinusoidal_init(x.shape[1] - have, self.d_model, start=have)
            self.pe = torch.cat([self.pe, extra.to(x.device)])
        return x + self.pe[: x.shape[1]]
"""
    assert pel506(source) == []


def test_arange_from_current_length_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, d_model, 2) / d_model)))
        self.register_buffer("pos_table", torch.sin(torch.arange(max_len)[:, None] * self.inv_freq))

    def forward(self, x):
        have, need = self.pos_table.size(0), x.shape[1]
        if need > have:
            t = torch.arange(have, need, device=x.device)
            self.pos_table = torch.cat([self.pos_table, torch.sin(t[:, None] * self.inv_freq)])
        return x + self.pos_table[:need]
"""
    assert pel506(source) == []


def test_shifted_arange_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, d_model, 2) / d_model)))
        self.register_buffer("pos_table", torch.sin(torch.arange(max_len)[:, None] * self.inv_freq))

    def forward(self, x):
        have, need = self.pos_table.size(0), x.shape[1]
        if need > have:
            t = torch.arange(need - have, device=x.device) + have
            self.pos_table = torch.cat([self.pos_table, torch.sin(t[:, None] * self.inv_freq)])
        return x + self.pos_table[:need]
"""
    assert pel506(source) == []


def test_zero_rows_are_clean():
    # Growing a learned table with new rows is a different question.
    source = """
class Embed(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(max_len, dim) * 0.02)

    def grow(self, new_len):
        extra = torch.zeros(new_len - self.pos_embed.shape[0], self.pos_embed.shape[1])
        self.pos_embed = nn.Parameter(torch.cat([self.pos_embed.data, extra]))

    def forward(self, x):
        return x + self.pos_embed[: x.shape[1]]
"""
    assert pel506(source) == []


def test_cls_token_prepended_is_clean():
    # timm's vision transformers concatenate a class token before the patches.
    source = """
class Embed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x):
        return torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
"""
    assert pel506(source) == []


def test_non_table_attribute_is_clean():
    # transformers' logits bias resize: extra columns for new tokens.
    source = """
class Head(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.register_buffer("final_logits_bias", torch.zeros((1, vocab_size)))

    def resize(self, new_num_tokens):
        old = self.final_logits_bias.shape[-1]
        extra_bias = torch.zeros((1, new_num_tokens - old), device=self.final_logits_bias.device)
        new_bias = torch.cat([self.final_logits_bias, extra_bias], dim=1)
        self.register_buffer("final_logits_bias", new_bias)
"""
    assert pel506(source) == []


def test_literal_subtraction_is_clean():
    source = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len):
        super().__init__()
        self.d_model = d_model
        self.register_buffer("pe", sinusoidal_init(max_len, d_model), persistent=False)

    def forward(self, x):
        sep = sinusoidal_init(x.shape[1] - 1, self.d_model)
        return torch.cat([self.pe[:1], sep])
"""
    assert pel506(source) == []
