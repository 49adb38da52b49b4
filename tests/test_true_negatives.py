"""Correct code shaped like real libraries' position embeddings stays clean under every rule."""

import pytest

from helpers import codes

ROTARY_CACHE_THAT_GROWS = """
import torch
from torch import nn


class LlamaRotaryEmbedding(nn.Module):
    def __init__(self, dim, max_position_embeddings=2048, base=10000):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._set_cos_sin_cache(max_position_embeddings)

    def _set_cos_sin_cache(self, seq_len):
        self.max_seq_len_cached = seq_len
        t = torch.arange(seq_len, dtype=self.inv_freq.dtype)
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def forward(self, x, seq_len):
        if seq_len > self.max_seq_len_cached:
            self._set_cos_sin_cache(seq_len)
        return self.cos_cached[:seq_len], self.sin_cached[:seq_len]
"""

TIMM_VISION_TRANSFORMER = """
import torch
import torch.nn as nn
from timm.layers import trunc_normal_


class VisionTransformer(nn.Module):
    def __init__(self, num_patches, embed_dim, num_prefix_tokens=1):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches + num_prefix_tokens, embed_dim) * .02)
        self.head = nn.Linear(1024, 1024)
        self.init_weights()

    def init_weights(self):
        trunc_normal_(self.pos_embed, std=.02)
        nn.init.normal_(self.cls_token, std=1e-6)

    def set_input_size(self, num_patches):
        self.pos_embed = nn.Parameter(self.pos_embed[:, :num_patches].detach())

    def forward(self, x):
        return x + self.pos_embed
"""

BERT_EMBEDDINGS = """
import torch
from torch import nn


class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.position_ids = nn.Buffer(
            torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(self, input_ids, position_ids=None):
        embeddings = self.word_embeddings(input_ids)
        if position_ids is None:
            position_ids = self.position_ids[:, : input_ids.shape[1]]
        return embeddings + self.position_embeddings(position_ids)
"""

TUTORIAL_POSITIONAL_ENCODING = """
import math

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=5000):
        super().__init__()
        assert d_model % 2 == 0, "d_model must be even"
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        if x.size(0) > self.pe.size(0):
            raise ValueError(f"sequence length {x.size(0)} exceeds the maximum {self.pe.size(0)}")
        return x + self.pe[: x.size(0)]
"""

LLAMA_ROTARY_FROM_POSITION_IDS = """
import torch
from torch import nn


class LlamaRotaryEmbedding(nn.Module):
    def __init__(self, dim, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)
"""

EXAMPLES = {
    "rotary cache that grows a non-persistent buffer": ROTARY_CACHE_THAT_GROWS,
    "timm vision transformer": TIMM_VISION_TRANSFORMER,
    "pytorch tutorial positional encoding": TUTORIAL_POSITIONAL_ENCODING,
    "llama rotary from position ids": LLAMA_ROTARY_FROM_POSITION_IDS,
}


@pytest.mark.parametrize("source", EXAMPLES.values(), ids=list(EXAMPLES))
def test_real_library_shape_is_clean(source):
    assert codes(source, select=["PEL"]) == []


def test_bert_embeddings_clean_by_default():
    assert codes(BERT_EMBEDDINGS) == []


def test_bert_embeddings_unchecked_slice_is_opt_in():
    # The position ids slice has no length check, which only PEL202 (off by default) reports.
    assert codes(BERT_EMBEDDINGS, select=["PEL"]) == ["PEL202"]
