"""PEL201: a position table whose length is an integer literal."""

import textwrap

from helpers import codes, findings

HEADER = """
import math

import torch
from torch import nn
"""


def lint(source):
    return findings(HEADER + textwrap.dedent(source), select=["PEL201"])


def line_of(source, fragment):
    """Return the 1-based line of ``fragment`` in the module that ``lint`` checks."""
    text = HEADER + textwrap.dedent(source)
    return text[: text.index(fragment)].count("\n") + 1


def test_parameter_with_literal_length_axis_is_reported():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(1, 1024, dim))
    """
    assert lint(source) == [("PEL201", line_of(source, "self.pos_embed ="))]


def test_two_dimensional_table_reports_axis_zero():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.zeros(2048, dim))
            nn.init.normal_(self.pos_embedding, std=0.02)
    """
    assert lint(source) == [("PEL201", line_of(source, "self.pos_embedding ="))]


def test_sequence_first_shape_reports_axis_zero():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(512, 1, dim) * 0.02)
    """
    assert lint(source) == [("PEL201", line_of(source, "self.pe ="))]


def test_shape_given_as_tuple_is_reported():
    source = """
    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros((1, 197, 768)))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
    """
    assert lint(source) == [("PEL201", line_of(source, "self.pos_embed ="))]


def test_literal_arithmetic_length_is_reported():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(1, 14 * 14 + 1, dim))
    """
    assert lint(source) == [("PEL201", line_of(source, "self.pos_embed ="))]


def test_init_helper_around_empty_is_reported():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, 256, dim), std=0.02))
    """
    assert lint(source) == [("PEL201", line_of(source, "self.pos_embed ="))]


def test_position_embedding_with_literal_rows_is_reported():
    source = """
    class TextEmbeddings(nn.Module):
        def __init__(self, vocab_size, hidden):
            super().__init__()
            self.word_embeddings = nn.Embedding(vocab_size, hidden)
            self.position_embeddings = nn.Embedding(num_embeddings=2048, embedding_dim=hidden)
    """
    assert lint(source) == [("PEL201", line_of(source, "self.position_embeddings ="))]


def test_detr_row_and_column_tables_are_reported():
    # The shape of DETR's learned position embedding, whose tables have 50 rows.
    source = """
    class LearnedPositionEmbedding(nn.Module):
        def __init__(self, embedding_dim=256):
            super().__init__()
            self.row_embeddings = nn.Embedding(50, embedding_dim)
            self.column_embeddings = nn.Embedding(50, embedding_dim)

        def forward(self, pixel_values):
            height, width = pixel_values.shape[-2:]
            x_emb = self.column_embeddings(torch.arange(width))
            y_emb = self.row_embeddings(torch.arange(height))
            return x_emb, y_emb
    """
    assert lint(source) == [
        ("PEL201", line_of(source, "self.row_embeddings =")),
        ("PEL201", line_of(source, "self.column_embeddings =")),
    ]


def test_sinusoid_built_with_literal_length_is_reported():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model):
            super().__init__()
            position = torch.arange(5000).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(5000, d_model)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0)
            self.register_buffer("pe", pe)
    """
    assert lint(source) == [("PEL201", line_of(source, "pe = torch.zeros(5000"))]


def test_builder_called_with_literal_length_is_reported():
    source = """
    def sinusoid_table(n_position, d_hid):
        position = torch.arange(n_position).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_hid, 2) * (-math.log(10000.0) / d_hid))
        table = torch.zeros(n_position, d_hid)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term)
        return table


    class Encoder(nn.Module):
        def __init__(self, d_model):
            super().__init__()
            self.register_buffer("pos_table", sinusoid_table(200, d_model))
    """
    assert lint(source) == [("PEL201", line_of(source, "self.register_buffer("))]


def test_position_ids_from_literal_arange_are_reported():
    source = """
    class TextEmbeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.position_embedding = nn.Embedding(config.max_positions, config.hidden_size)
            self.register_buffer("position_ids", torch.arange(77).expand((1, -1)), persistent=False)
    """
    assert lint(source) == [("PEL201", line_of(source, "self.register_buffer("))]


def test_constructor_default_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)
    """
    assert lint(source) == []


def test_config_field_is_clean():
    # The shape of ViLT's text embeddings: every size comes from the config.
    source = """
    class TextEmbeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
            self.position_embeddings = nn.Embedding(config.max_positions, config.hidden_size)
            self.position_ids = nn.Buffer(
                torch.arange(config.max_positions).expand((1, -1)), persistent=False
            )
    """
    assert lint(source) == []


def test_rope_cache_with_default_length_is_clean():
    # The shape of torchtune's rotary embeddings: `max_seq_len: int = 4096` is a default.
    source = """
    class RotaryPositionalEmbeddings(nn.Module):
        def __init__(self, dim, max_seq_len: int = 4096, base: int = 10_000):
            super().__init__()
            self.dim = dim
            self.base = base
            self.max_seq_len = max_seq_len
            self.rope_init()

        def rope_init(self):
            theta = 1.0 / (self.base ** (torch.arange(0, self.dim, 2).float() / self.dim))
            self.register_buffer("theta", theta, persistent=False)
            self.build_rope_cache(self.max_seq_len)

        def build_rope_cache(self, max_seq_len: int = 4096):
            seq_idx = torch.arange(max_seq_len, dtype=self.theta.dtype)
            idx_theta = torch.einsum("i, j -> ij", seq_idx, self.theta).float()
            cache = torch.stack([torch.cos(idx_theta), torch.sin(idx_theta)], dim=-1)
            self.register_buffer("cache", cache, persistent=False)
    """
    assert lint(source) == []


def test_widths_of_other_layers_are_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len):
            super().__init__()
            self.proj = nn.Linear(1024, 1024)
            self.pos_embed = nn.Parameter(torch.zeros(1, max_len, 1024))
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 1024))
    """
    assert lint(source) == []


def test_grid_and_ambiguous_shapes_are_clean():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros(1, 14, 14, dim))
            self.pos_embedding = nn.Parameter(torch.zeros(4, 16, dim))
    """
    assert lint(source) == []


def test_width_first_table_is_clean():
    source = """
    class ConvPositions(nn.Module):
        def __init__(self, max_len):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.randn(512, max_len))
            self.pos_embed = nn.Parameter(torch.randn(256, self.config.num_positions))
    """
    assert lint(source) == []


def test_fourier_projection_matrix_is_clean():
    # The shape of SAM's positional embedding: a (2, d) matrix applied to coordinates.
    source = """
    class PositionalEmbedding(nn.Module):
        def __init__(self, num_pos_feats, scale):
            super().__init__()
            self.positional_embedding = nn.Parameter(scale * torch.randn((2, num_pos_feats)))

        def forward(self, coords):
            coords = coords @ self.positional_embedding
            return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)
    """
    assert lint(source) == []


def test_relative_position_table_is_clean():
    source = """
    class WindowAttention(nn.Module):
        def __init__(self, num_heads):
            super().__init__()
            self.relative_position_bias_table = nn.Parameter(torch.zeros(13 * 13, num_heads))
            self.rel_pos_h = nn.Parameter(torch.zeros(27, 64))
    """
    assert lint(source) == []


def test_token_table_in_position_class_is_clean():
    source = """
    class TokenAndPositionEmbedding(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.token_emb = nn.Embedding(30522, dim)
            self.pos_emb = nn.Embedding(max_len, dim)
    """
    assert lint(source) == []


def test_single_row_table_is_clean():
    source = """
    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.pos_embedding = nn.Embedding(1, dim)
    """
    assert lint(source) == []


def test_builder_literal_width_is_clean():
    source = """
    def sinusoid_table(n_position, d_hid):
        position = torch.arange(n_position).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_hid, 2) * (-math.log(10000.0) / d_hid))
        table = torch.zeros(n_position, d_hid)
        table[:, 0::2] = torch.sin(position * div_term)
        table[:, 1::2] = torch.cos(position * div_term)
        return table


    class Encoder(nn.Module):
        def __init__(self, max_len):
            super().__init__()
            self.register_buffer("pos_table", sinusoid_table(max_len, 512))
    """
    assert lint(source) == []


def test_rule_is_on_by_default():
    source = HEADER + """
class Embed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, 1024, dim))
"""
    assert "PEL201" in codes(source)
