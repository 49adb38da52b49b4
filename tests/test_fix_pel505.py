"""PEL505 fix: `pe[:, n]` becomes `pe[:, :n]` when the slice lines up with the input."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL505"

HEADER = """
import torch
from torch import nn
"""

REWRITES = [
    pytest.param(
        """
        class LearnedPositions(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.pos_embedding = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)

            def forward(self, x):
                b, n, _ = x.shape
                return x + self.pos_embedding[:, n]
        """,
        "self.pos_embedding[:, n]",
        "self.pos_embedding[:, :n]",
        id="batch-first-learned",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.register_buffer("pe", torch.randn(max_len, dim))

            def forward(self, x):
                pos = self.pe[x.size(1)].to(x.dtype)
                x = x + pos
                return x
        """,
        "self.pe[x.size(1)].to(x.dtype)",
        "self.pe[:x.size(1)].to(x.dtype)",
        id="two-dimensional-table-cast",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.register_buffer("pe", torch.zeros(max_len, 1, dim))

            def forward(self, x):
                # x: (seq_len, batch, dim)
                x += self.pe[len(x)]
                return x
        """,
        "x += self.pe[len(x)]",
        "x += self.pe[:len(x)]",
        id="sequence-first-augmented",
    ),
]


@pytest.mark.parametrize("body, before, after", REWRITES)
def test_rewrite(body, before, after):
    source = HEADER + dedent(body)
    assert fix(source, CODE) == source.replace(before, after)


@pytest.mark.parametrize("body, before, after", REWRITES)
def test_fix_is_unsafe(body, before, after):
    source = HEADER + dedent(body)
    assert_unsafe(source, CODE)
    assert safe_fix(source, CODE) == source


@pytest.mark.parametrize("body, before, after", REWRITES)
def test_fixed_code_is_clean(body, before, after):
    source = HEADER + dedent(body)
    assert diagnostics(source.replace(before, after), CODE) == []


def test_message_shows_the_slice():
    body, _, _ = REWRITES[0].values
    (diagnostic,) = diagnostics(HEADER + dedent(body), CODE)
    assert diagnostic.fix.message == "Slice the first `n` positions instead of indexing position `n`"


DECLINED = [
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.register_buffer("pe", torch.randn(max_len, dim))

            def forward(self, x):
                return x + self.pe[x.size(1)].unsqueeze(0)
        """,
        id="row-reshaped",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.register_buffer("pe", torch.randn(max_len, dim))

            def forward(self, x):
                # x: (seq_len, batch, dim): a (n, dim) slice would meet the batch axis
                return x + self.pe[x.size(0)]
        """,
        id="slice-meets-batch-axis",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.register_buffer("pe", torch.randn(max_len, dim))

            def forward(self, x):
                row = self.pe[x.size(1)]
                x = x + row
                return x, row.norm()
        """,
        id="row-used-elsewhere",
    ),
]


@pytest.mark.parametrize("body", DECLINED)
def test_no_fix_when_unsound(body):
    assert_declined(HEADER + dedent(body), CODE)
