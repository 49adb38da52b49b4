"""PEL301 fix: growth of a table on the forward path becomes a `ValueError` (precompute and slice)."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL301"

HEADER = """
import logging

import torch
from torch import nn

logger = logging.getLogger(__name__)
"""

REWRITES = [
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.dim = dim
                self.pos_embed = nn.Parameter(torch.randn(16, dim) * 0.02)

            def forward(self, x):
                if x.size(1) > self.pos_embed.size(0):
                    self.pos_embed = nn.Parameter(torch.randn(x.size(1), self.dim) * 0.02)
                return x + self.pos_embed[: x.size(1)]
        """,
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.dim = dim
                self.pos_embed = nn.Parameter(torch.randn(16, dim) * 0.02)

            def forward(self, x):
                if x.size(1) > self.pos_embed.size(0):
                    raise ValueError(f"sequence length {x.size(1)} exceeds the maximum {self.pos_embed.size(0)}")
                return x + self.pos_embed[: x.size(1)]
        """,
        id="rule-docs-example",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, d_model, max_len=12):
                super().__init__()
                self.positions = nn.Parameter(torch.randn(max_len, 1, d_model) * 0.02)

            def _ensure(self, seq_len):
                if len(self.positions) < seq_len:  # grow on demand
                    logger.warning("growing to %d", seq_len)
                    with torch.no_grad():
                        extra = torch.zeros(seq_len - len(self.positions), 1, self.positions.size(2))
                        self.positions.data = torch.cat([self.positions.data, extra])

            def forward(self, x):
                self._ensure(x.size(0))
                return x + self.positions[: x.size(0)]
        """,
        """
        class Positions(nn.Module):
            def __init__(self, d_model, max_len=12):
                super().__init__()
                self.positions = nn.Parameter(torch.randn(max_len, 1, d_model) * 0.02)

            def _ensure(self, seq_len):
                if len(self.positions) < seq_len:  # grow on demand
                    raise ValueError(f"sequence length {seq_len} exceeds the maximum {len(self.positions)}")

            def forward(self, x):
                self._ensure(x.size(0))
                return x + self.positions[: x.size(0)]
        """,
        id="helper-data-swap-sequence-first",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim, max_len=8):
                super().__init__()
                self.max_len = max_len
                setattr(self, "pos_emb", nn.Parameter(torch.randn(max_len, dim)))

            def forward(self, x):
                n = x.shape[1]
                if n > self.max_len: setattr(self, "pos_emb", nn.Parameter(torch.randn(n, x.shape[2]))); self.max_len = n
                return x + self.pos_emb[:n]
        """,
        """
        class Positions(nn.Module):
            def __init__(self, dim, max_len=8):
                super().__init__()
                self.max_len = max_len
                setattr(self, "pos_emb", nn.Parameter(torch.randn(max_len, dim)))

            def forward(self, x):
                n = x.shape[1]
                if n > self.max_len: raise ValueError(f"sequence length {n} exceeds the maximum {self.max_len}")
                return x + self.pos_emb[:n]
        """,
        id="setattr-one-line-length-attribute",
    ),
]


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


def test_message_says_what_changes():
    body, _ = REWRITES[0].values
    (diagnostic,) = diagnostics(HEADER + dedent(body), CODE)
    assert diagnostic.fix.message == (
        "Raise `ValueError` instead of growing `pos_embed` when an input is longer than the table"
    )


DECLINED = [
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.dim = dim
                self.pos_embed = None

            def forward(self, x):
                if self.pos_embed is None or x.size(1) > self.pos_embed.size(0):
                    self.pos_embed = nn.Parameter(torch.randn(x.size(1), self.dim))
                return x + self.pos_embed[: x.size(1)]
        """,
        id="built-lazily",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.zeros(1, dim))

            def forward(self, x):
                if x.size(1) > self.pos_embed.size(0):
                    extra = torch.zeros(x.size(1) - self.pos_embed.size(0), x.size(2))
                    self.pos_embed = nn.Parameter(torch.cat([self.pos_embed, extra]))
                return x + self.pos_embed[: x.size(1)]
        """,
        id="seed-of-one-row",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(16, dim))

            def forward(self, x):
                if x.size(1) >= self.pos_embed.size(0):
                    self.pos_embed = nn.Parameter(torch.randn(x.size(1) + 1, x.size(2)))
                return x + self.pos_embed[x.size(1)]
        """,
        id="grows-at-equal-length",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(16, dim))
                self.resized = 0

            def forward(self, x):
                if x.size(1) > self.pos_embed.size(0):
                    self.pos_embed = nn.Parameter(torch.randn(x.size(1), x.size(2)))
                    self.resized += 1
                return x + self.pos_embed[: x.size(1)]
        """,
        id="growth-block-does-more",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(16, dim))

            def forward(self, x):
                new_len = self.pos_embed.size(0)
                if x.size(1) > self.pos_embed.size(0):
                    new_len = x.size(1)
                    self.pos_embed = nn.Parameter(torch.randn(new_len, x.size(2)))
                return x + self.pos_embed[:new_len][: x.size(1)]
        """,
        id="local-read-after-the-block",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(16, dim))

            def forward(self, x):
                self.pos_embed = nn.Parameter(torch.randn(x.size(1), x.size(2)))
                return x + self.pos_embed
        """,
        id="rebuilt-on-every-call",
    ),
    pytest.param(
        """
        class Positions(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(16, dim))

            def forward(self, x, reset=False):
                if x.size(1) > self.pos_embed.size(0):
                    self.pos_embed = nn.Parameter(torch.randn(x.size(1), x.size(2)))
                if reset:
                    self.pos_embed = nn.Parameter(torch.randn(16, x.size(2)))
                return x + self.pos_embed[: x.size(1)]
        """,
        id="another-write-outside-growth",
    ),
]


@pytest.mark.parametrize("body", DECLINED)
def test_no_fix_when_unsound(body):
    assert_declined(HEADER + dedent(body), CODE)
