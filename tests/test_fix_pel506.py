"""PEL506 fix: rows appended on the forward path become a `ValueError` (precompute and slice)."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL506"

HEADER = """
import math

import torch
import torch.nn as nn


def sinusoidal_init(num, d):
    position = torch.arange(num).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
    table = torch.zeros(num, d)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term)
    return table
"""

REWRITES = [
    pytest.param(
        """
        class PositionalEmbedding(nn.Module):
            def __init__(self, embed_size):
                super().__init__()
                self.embed_size = embed_size
                self.register_buffer("pos_embed", sinusoidal_init(1024, embed_size))

            def forward(self, x):
                N, seq_length = x.shape[0], x.shape[1]
                if seq_length > self.pos_embed.size(0):
                    extra = sinusoidal_init(seq_length - self.pos_embed.size(0), self.embed_size)
                    self.pos_embed = torch.cat([self.pos_embed, extra.to(x.device)])
                return x + self.pos_embed[:seq_length]
        """,
        """
        class PositionalEmbedding(nn.Module):
            def __init__(self, embed_size):
                super().__init__()
                self.embed_size = embed_size
                self.register_buffer("pos_embed", sinusoidal_init(1024, embed_size))

            def forward(self, x):
                N, seq_length = x.shape[0], x.shape[1]
                if seq_length > self.pos_embed.size(0):
                    raise ValueError(f"sequence length {seq_length} exceeds the maximum {self.pos_embed.size(0)}")
                return x + self.pos_embed[:seq_length]
        """,
        id="design-discussion-growth",
    ),
    pytest.param(
        """
        class RotaryAngles(nn.Module):
            def __init__(self, dim, max_len=10):
                super().__init__()
                self.max_len = max_len
                inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
                self.register_buffer("inv_freq", inv_freq)
                self.register_buffer("pos_angles", torch.outer(torch.arange(max_len).float(), inv_freq))

            def _extend(self, needed):
                if needed > self.max_len:
                    positions = torch.arange(needed - self.max_len).float()
                    setattr(self, "pos_angles", torch.cat([self.pos_angles, torch.outer(positions, self.inv_freq)]))
                    self.max_len = needed

            def forward(self, x):
                self._extend(x.shape[1])
                return x * self.pos_angles[: x.shape[1]].cos()
        """,
        """
        class RotaryAngles(nn.Module):
            def __init__(self, dim, max_len=10):
                super().__init__()
                self.max_len = max_len
                inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
                self.register_buffer("inv_freq", inv_freq)
                self.register_buffer("pos_angles", torch.outer(torch.arange(max_len).float(), inv_freq))

            def _extend(self, needed):
                if needed > self.max_len:
                    raise ValueError(f"sequence length {needed} exceeds the maximum {self.max_len}")

            def forward(self, x):
                self._extend(x.shape[1])
                return x * self.pos_angles[: x.shape[1]].cos()
        """,
        id="arange-in-helper-with-setattr",
    ),
]


EXPLICIT_RESIZE = """
class Angles(nn.Module):
    def __init__(self, dim, max_len=10):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq)
        self.register_buffer("pos_angles", torch.outer(torch.arange(max_len).float(), inv_freq))

    def extend_to(self, needed):
        have = self.pos_angles.size(0)
        positions = torch.arange(0, needed - have, dtype=torch.float32)
        self.pos_angles = torch.cat([self.pos_angles, torch.outer(positions, self.inv_freq)])

    def forward(self, x):
        return x * self.pos_angles[: x.shape[1]].cos()
"""

REWRITES.append(
    pytest.param(
        EXPLICIT_RESIZE,
        EXPLICIT_RESIZE.replace(
            "torch.arange(0, needed - have, dtype=torch.float32)",
            "torch.arange(have, needed, dtype=torch.float32)",
        ),
        id="explicit-resize-arange-starts-at-length",
    )
)


def test_explicit_resize_message():
    (diagnostic,) = diagnostics(HEADER + EXPLICIT_RESIZE, CODE)
    assert diagnostic.fix.message == "Build the appended positions from `have` on, not from 0"


@pytest.mark.parametrize("body, expected", REWRITES)
def test_rewrite(body, expected):
    assert fix(HEADER + dedent(body), CODE) == HEADER + dedent(expected)


@pytest.mark.parametrize("body, expected", REWRITES)
def test_fix_is_unsafe(body, expected):
    source = HEADER + dedent(body)
    assert_unsafe(source, CODE)
    assert safe_fix(source, CODE) == source


@pytest.mark.parametrize("body, expected", REWRITES)
def test_fixed_code_is_clean(body, expected):
    assert diagnostics(HEADER + dedent(expected), CODE) == []


DECLINED = [
    pytest.param(
        """
        class PositionalEmbedding(nn.Module):
            def __init__(self, embed_size):
                super().__init__()
                self.embed_size = embed_size
                self.register_buffer("pos_embed", sinusoidal_init(64, embed_size))

            def extend_to(self, seq_length):
                extra = sinusoidal_init(seq_length - self.pos_embed.size(0), self.embed_size)
                self.pos_embed = torch.cat([self.pos_embed, extra])

            def forward(self, x):
                return x + self.pos_embed[: x.shape[1]]
        """,
        id="explicit-resize-builder-without-start",
    ),
    pytest.param(
        EXPLICIT_RESIZE.replace(
            "positions = torch.arange(0, needed - have, dtype=torch.float32)",
            "count = needed - have\n        positions = torch.arange(count, dtype=torch.float32)",
        ),
        id="explicit-resize-count-in-a-local",
    ),
    pytest.param(
        """
        class PositionalEmbedding(nn.Module):
            def __init__(self, embed_size):
                super().__init__()
                self.embed_size = embed_size
                self.register_buffer("pos_embed", sinusoidal_init(64, embed_size))

            def forward(self, x):
                seq_length = x.shape[1]
                if seq_length > self.pos_embed.size(0):
                    extra = sinusoidal_init(seq_length - self.pos_embed.size(0), self.embed_size)
                    self.pos_embed = torch.cat([self.pos_embed, extra])
                    self.pos_embed = self.pos_embed.to(x.dtype)
                else:
                    extra = None
                return x + self.pos_embed[:seq_length], extra
        """,
        id="local-of-the-block-read-after",
    ),
]


@pytest.mark.parametrize("body", DECLINED)
def test_no_fix_when_unsound(body):
    assert_declined(HEADER + dedent(body), CODE)
