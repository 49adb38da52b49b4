"""PEL505: a position table indexed by a length where a slice was meant."""

import textwrap

from helpers import codes, findings

HEADER = """
import torch
from torch import nn
"""


def lint(source):
    return findings(HEADER + textwrap.dedent(source), select=["PEL505"])


def line_of(source, fragment):
    """Return the 1-based line of ``fragment`` in the module that ``lint`` checks."""
    text = HEADER + textwrap.dedent(source)
    return text[: text.index(fragment)].count("\n") + 1


def test_index_by_size_call_is_reported():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def forward(self, x):
            return x + self.pe[:, x.size(1)]
    """
    assert lint(source) == [("PEL505", line_of(source, "return x + self.pe"))]


def test_index_by_unpacked_shape_is_reported():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.randn(1, num_patches, dim))

        def forward(self, x):
            b, n, _ = x.shape
            x += self.pos_embedding[:, n]
            return x
    """
    assert lint(source) == [("PEL505", line_of(source, "x += self.pos_embedding"))]


def test_index_held_in_local_name_is_reported():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(max_len, dim))

        def forward(self, x):
            seq_len = x.shape[0]
            positions = self.pe[seq_len]
            return x + positions
    """
    assert lint(source) == [("PEL505", line_of(source, "positions = self.pe"))]


def test_embedding_weight_indexed_by_len_is_reported():
    source = """
    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size, max_len, dim):
            super().__init__()
            self.tok_emb = nn.Embedding(vocab_size, dim)
            self.pos_emb = nn.Embedding(max_len, dim)

        def forward(self, tokens):
            h = self.tok_emb(tokens)
            return h + self.pos_emb.weight[len(tokens)]
    """
    assert lint(source) == [("PEL505", line_of(source, "return h + self.pos_emb"))]


def test_rule_is_on_by_default():
    source = HEADER + """
class LearnedPositions(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.pe = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

    def forward(self, x):
        return x + self.pe[:, x.size(1)]
"""
    assert "PEL505" in codes(source)


def test_diffusion_timestep_lookup_is_clean():
    source = """
    class TimestepEmbedding(nn.Module):
        def __init__(self, num_steps, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(num_steps, dim))

        def forward(self, x, t):
            return x + self.pe[t]
    """
    assert lint(source) == []


def test_literal_index_is_clean():
    source = """
    class Embed(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, dim))

        def forward(self, cls_token, x):
            cls_token = cls_token + self.pos_embed[:, 0]
            return x + self.pos_embed[:, 1:]
    """
    assert lint(source) == []


def test_slice_is_clean():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def forward(self, x):
            b, n, _ = x.shape
            return x + self.pe[:, :n]
    """
    assert lint(source) == []


def test_cache_length_is_the_next_position():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def forward(self, x, past_keys):
            return x + self.pe[:, past_keys.size(2)]
    """
    assert lint(source) == []


def test_next_token_position_during_decoding_is_clean():
    # The new token sits at position len(tokens), and its embedding is not computed from `tokens`.
    source = """
    class Decoder(nn.Module):
        def __init__(self, vocab_size, max_len, dim):
            super().__init__()
            self.tok_emb = nn.Embedding(vocab_size, dim)
            self.register_buffer("pos_table", torch.randn(max_len, dim))

        def embed_next(self, tokens, next_token):
            return self.tok_emb(next_token) + self.pos_table[tokens.size(1)]
    """
    assert lint(source) == []


def test_index_on_singleton_axis_is_clean():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def forward(self, x):
            return x + self.pe[x.size(0)]
    """
    assert lint(source) == []


def test_row_not_added_to_input_is_clean():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

        def last_position(self, x):
            return self.pe[:, x.size(1)]
    """
    assert lint(source) == []


def test_incremental_decoding_method_is_clean():
    source = """
    class Decoder(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pos_table", torch.randn(max_len, dim))

        def forward(self, x, incremental_state=None):
            if incremental_state is not None:
                return x + self.pos_table[x.size(1)]
            return x + self.pos_table[: x.size(1)]
    """
    assert lint(source) == []
