"""PEL202: a position table used at a runtime length that nothing checks."""

import textwrap

from helpers import codes, findings

HEADER = """
import torch
from torch import nn
"""


def lint(source):
    return findings(HEADER + textwrap.dedent(source), select=["PEL202"])


def line_of(source, fragment):
    """Return the 1-based line of ``fragment`` in the module that ``lint`` checks."""
    text = HEADER + textwrap.dedent(source)
    return text[: text.index(fragment)].count("\n") + 1


SLICED_TABLE = """
class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=512):
        super().__init__()
        self.max_len = max_len
        self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]
"""


def test_slice_by_input_length_is_reported():
    assert lint(SLICED_TABLE) == [("PEL202", line_of(SLICED_TABLE, "return x + self.pe"))]


def test_rule_is_off_by_default():
    assert "PEL202" not in codes(HEADER + SLICED_TABLE)


def test_slice_by_unpacked_length_is_reported():
    source = """
    class Embed(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))

        def forward(self, x):
            b, n, _ = x.shape
            x = x + self.pos_embedding[:, : (n + 1)]
            return x
    """
    assert lint(source) == [("PEL202", line_of(source, "x = x + self.pos_embedding"))]


def test_rope_cache_slice_in_conditional_expression_is_reported():
    # The shape of torchtune's rotary embeddings: the cache is sliced by the
    # input's length, and an over-long input fails later in `view`.
    source = """
    class RotaryPositionalEmbeddings(nn.Module):
        def __init__(self, dim, max_seq_len=4096):
            super().__init__()
            self.max_seq_len = max_seq_len
            self.register_buffer("cache", torch.randn(max_seq_len, dim // 2, 2), persistent=False)

        def forward(self, x, *, input_pos=None):
            seq_len = x.size(1)
            rope_cache = (
                self.cache[:seq_len] if input_pos is None else self.cache[input_pos]
            )
            return rope_cache.view(-1, x.size(1), 1, x.size(3) // 2, 2)
    """
    assert lint(source) == [("PEL202", line_of(source, "rope_cache = ("))]


def test_embedding_lookup_with_arange_is_reported():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pos_emb = nn.Embedding(max_len, dim)

        def forward(self, x):
            positions = torch.arange(x.shape[1], device=x.device)
            return x + self.pos_emb(positions)
    """
    assert lint(source) == [("PEL202", line_of(source, "return x + self.pos_emb"))]


def test_embedding_lookup_with_sliced_position_ids_is_reported():
    # The shape of BERT's embeddings: position ids come from a buffer sliced by the length.
    source = """
    class TextEmbeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.position_embeddings = nn.Embedding(config.max_positions, config.hidden_size)
            self.register_buffer(
                "position_ids", torch.arange(config.max_positions).expand((1, -1))
            )

        def forward(self, input_ids, position_ids=None, cache_length=0):
            batch_size, seq_length = input_ids.size()
            if position_ids is None:
                position_ids = self.position_ids[:, cache_length : seq_length + cache_length]
            return self.position_embeddings(position_ids)
    """
    assert lint(source) == [("PEL202", line_of(source, "return self.position_embeddings"))]


def test_whole_table_after_tableless_padding_is_reported():
    # The shape of vit-pytorch's CCT: only the branch without a table handles a short input.
    source = """
    def exists(value):
        return value is not None


    class TransformerClassifier(nn.Module):
        def __init__(self, sequence_length, dim, learned=True):
            super().__init__()
            self.sequence_length = sequence_length
            if learned:
                self.positional_emb = nn.Parameter(torch.zeros(1, sequence_length, dim))
            else:
                self.positional_emb = None

        def forward(self, x):
            if not exists(self.positional_emb) and x.size(1) < self.sequence_length:
                x = nn.functional.pad(x, (0, 0, 0, self.sequence_length - x.size(1)))
            if exists(self.positional_emb):
                x += self.positional_emb
            return x
    """
    assert lint(source) == [("PEL202", line_of(source, "x += self.positional_emb"))]


def test_assert_on_length_is_clean():
    # The shape of x-transformers' absolute positional embedding.
    source = """
    class AbsolutePositionalEmbedding(nn.Module):
        def __init__(self, dim, max_seq_len):
            super().__init__()
            self.max_seq_len = max_seq_len
            self.emb = nn.Embedding(max_seq_len, dim)

        def forward(self, x, pos=None, offset=0):
            seq_len, device = x.shape[1], x.device
            assert seq_len <= self.max_seq_len, f"sequence length {seq_len} is too long"
            if pos is None:
                pos = torch.arange(seq_len, device=device) + offset
            return self.emb(pos)
    """
    assert lint(source) == []


def test_raising_if_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

        def forward(self, x):
            n = x.size(1)
            if n > self.pe.size(1):
                raise ValueError(f"input has {n} positions, more than the table holds")
            return x + self.pe[:, :n]
    """
    assert lint(source) == []


def test_growth_logic_is_clean():
    source = """
    class SinusoidalPositions(nn.Module):
        def __init__(self, dim, max_len=512):
            super().__init__()
            self.dim = dim
            self.register_buffer("pe", self._build(max_len), persistent=False)

        def _build(self, length):
            return torch.randn(length, self.dim)

        def forward(self, x):
            seq_len = x.shape[1]
            if seq_len > self.pe.shape[0]:
                self.register_buffer("pe", self._build(seq_len), persistent=False)
            return x + self.pe[:seq_len]
    """
    assert lint(source) == []


def test_growth_in_helper_method_is_clean():
    source = """
    class RotaryEmbedding(nn.Module):
        def __init__(self, dim, max_position_embeddings=2048):
            super().__init__()
            self.max_seq_len_cached = max_position_embeddings
            self.register_buffer("pos_cache", torch.randn(max_position_embeddings, dim))

        def _extend(self, seq_len):
            if seq_len > self.max_seq_len_cached:
                self.max_seq_len_cached = seq_len
                self.register_buffer("pos_cache", torch.randn(seq_len, self.pos_cache.size(1)))

        def forward(self, x, seq_len):
            self._extend(seq_len)
            return self.pos_cache[:seq_len]
    """
    assert lint(source) == []


def test_clamped_length_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

        def forward(self, x):
            n = min(x.size(1), self.pe.size(1))
            return x[:, :n] + self.pe[:, :n]
    """
    assert lint(source) == []


def test_literal_and_attribute_bounds_are_clean():
    source = """
    class Embed(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.num_patches = num_patches
            self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, dim))

        def forward(self, x):
            cls_pos = self.pos_embed[:, :1]
            patch_pos = self.pos_embed[:, 1 : self.num_patches + 1]
            return x + torch.cat([cls_pos, patch_pos], dim=1)
    """
    assert lint(source) == []


def test_causal_mask_is_not_a_table():
    source = """
    class CausalSelfAttention(nn.Module):
        def __init__(self, block_size):
            super().__init__()
            self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size)))

        def forward(self, att):
            T = att.size(-1)
            return att.masked_fill(self.bias[:T, :T] == 0, float("-inf"))
    """
    assert lint(source) == []


def test_whole_table_with_fixed_input_length_is_clean():
    # The shape of timm's ViT: no length is read, so nothing shows that it varies.
    source = """
    class VisionTransformer(nn.Module):
        def __init__(self, num_patches, dim):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.randn(1, num_patches, dim) * 0.02)

        def forward(self, x):
            x = x + self.pos_embed
            return x
    """
    assert lint(source) == []


def test_slice_outside_forward_path_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

        def visualise(self, n):
            return self.pe[:, :n]

        def forward(self, x):
            return x + self.pe
    """
    assert lint(source) == []


def test_written_slice_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=512):
            super().__init__()
            self.register_buffer("pe", torch.zeros(max_len, d_model))

        def forward(self, x, values):
            n = x.size(0)
            self.pe[:n] = values
            return x
    """
    assert lint(source) == []


def test_table_rebuilt_in_forward_is_clean():
    # The shape of the conformer relative encodings: `extend_pe` returns a table
    # long enough for the input, and forward stores it before slicing.
    source = """
    class RelPositionalEncoding(nn.Module):
        def __init__(self, dim, max_len=5000):
            super().__init__()
            self.dim = dim
            self.pe = None
            self.pe = self.extend_pe(torch.zeros(1, max_len), self.pe)

        def extend_pe(self, x, pe=None):
            if pe is not None and pe.size(1) >= x.size(1) * 2 - 1:
                return pe
            return torch.randn(1, 2 * x.size(1) - 1, self.dim)

        def forward(self, hidden_states):
            self.pe = self.extend_pe(hidden_states, self.pe)
            center = self.pe.size(1) // 2
            end = center + hidden_states.size(1)
            return self.pe[:, center - hidden_states.size(1) + 1 : end]
    """
    assert lint(source) == []
