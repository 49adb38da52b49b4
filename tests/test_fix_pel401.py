"""PEL401 fix: a table rebuilt on every call moves to `__init__` as a buffer that `forward` slices."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL401"

HEADER = """
import math

import torch
from torch import nn


def sinusoid_table(n, d, device=None):
    position = torch.arange(n, device=device).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, device=device) * (-math.log(10000.0) / d))
    table = torch.zeros(n, d, device=device)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term)
    return table
"""

INLINE = """
class Encoding(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model

    def forward(self, x):
        seq_len = x.shape[1]
        position = torch.arange(seq_len, device=x.device).unsqueeze(1)
        div_term = torch.exp(
            torch.arange(0, self.d_model, 2, device=x.device) * (-math.log(10000.0) / self.d_model)
        )
        pe = torch.zeros(seq_len, self.d_model, device=x.device)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return x + pe
"""

INLINE_FIXED = """
class Encoding(nn.Module):
    def __init__(self, d_model, max_len=MAX):
        super().__init__()
        self.d_model = d_model
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(
            torch.arange(0, self.d_model, 2) * (-math.log(10000.0) / self.d_model)
        )
        pe = torch.zeros(max_len, self.d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        seq_len = x.shape[1]
        if seq_len > self.pe.size(0):
            raise ValueError(f"sequence length {seq_len} exceeds the maximum {self.pe.size(0)}")
        pe = self.pe[:seq_len]
        return x + pe
"""

REWRITES = [
    pytest.param(INLINE, INLINE_FIXED.replace("MAX", "2048"), id="inline-new-max-len"),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, d_model, dropout=0.1, max_len=40):
                super().__init__()
                self.dropout = nn.Dropout(p=dropout)
                self.d_model = d_model

            def forward(self, x):
                # x: (seq_len, batch, d_model)
                pe = sinusoid_table(x.size(0), self.d_model, device=x.device).unsqueeze(1)
                return self.dropout(x + pe)
        """,
        """
        class Encoding(nn.Module):
            def __init__(self, d_model, dropout=0.1, max_len=40):
                super().__init__()
                self.dropout = nn.Dropout(p=dropout)
                self.d_model = d_model
                # x: (seq_len, batch, d_model)
                pe = sinusoid_table(max_len, self.d_model).unsqueeze(1)
                self.register_buffer("pe", pe, persistent=False)

            def forward(self, x):
                if x.size(0) > self.pe.size(0):
                    raise ValueError(f"sequence length {x.size(0)} exceeds the maximum {self.pe.size(0)}")
                pe = self.pe[:x.size(0)]
                return self.dropout(x + pe)
        """,
        id="builder-existing-parameter-sequence-first",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, d_model, block_size=64):
                super().__init__()
                self.d_model = d_model
                self.block_size = block_size

            def forward(self, x):
                return x + sinusoid_table(x.size(1), self.d_model).to(x.device)
        """,
        """
        class Encoding(nn.Module):
            def __init__(self, d_model, block_size=64):
                super().__init__()
                self.d_model = d_model
                self.block_size = block_size
                self.register_buffer("pe", sinusoid_table(block_size, self.d_model), persistent=False)

            def forward(self, x):
                if x.size(1) > self.pe.size(0):
                    raise ValueError(f"sequence length {x.size(1)} exceeds the maximum {self.pe.size(0)}")
                return x + self.pe[:x.size(1)].to(x.device)
        """,
        id="builder-call-inside-return",
    ),
    pytest.param(
        """
        class Rotary(nn.Module):
            def __init__(self, dim, max_seq_len=48):
                super().__init__()
                self.max_seq_len = max_seq_len
                inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
                self.register_buffer("inv_freq", inv_freq)

            def forward(self, x):
                t = torch.arange(x.shape[1], device=x.device).type_as(self.inv_freq)
                freqs = torch.einsum("i,j->ij", t, self.inv_freq)
                emb = torch.cat((freqs, freqs), dim=-1)
                return x * emb.cos()[None, :, :] + x * emb.sin()[None, :, :]
        """,
        """
        class Rotary(nn.Module):
            def __init__(self, dim, max_seq_len=48):
                super().__init__()
                self.max_seq_len = max_seq_len
                inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
                self.register_buffer("inv_freq", inv_freq)
                t = torch.arange(max_seq_len).type_as(self.inv_freq)
                freqs = torch.einsum("i,j->ij", t, self.inv_freq)
                emb = torch.cat((freqs, freqs), dim=-1)
                self.register_buffer("emb", emb, persistent=False)

            def forward(self, x):
                if x.shape[1] > self.emb.size(0):
                    raise ValueError(f"sequence length {x.shape[1]} exceeds the maximum {self.emb.size(0)}")
                emb = self.emb[:x.shape[1]]
                return x * emb.cos()[None, :, :] + x * emb.sin()[None, :, :]
        """,
        id="rotary-angles-read-in-return",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(
                self,
                d_model,
                *layers,
            ):
                super().__init__()
                self.d_model = d_model

            def forward(self, x):
                b, n, _ = x.shape
                pe = sinusoid_table(n, self.d_model, device=x.device)
                return x + pe.unsqueeze(0).expand(b, -1, -1)
        """,
        """
        class Encoding(nn.Module):
            def __init__(
                self,
                d_model,
                *layers,
                max_len=2048,
            ):
                super().__init__()
                self.d_model = d_model
                pe = sinusoid_table(max_len, self.d_model)
                self.register_buffer("pe", pe, persistent=False)

            def forward(self, x):
                b, n, _ = x.shape
                if n > self.pe.size(0):
                    raise ValueError(f"sequence length {n} exceeds the maximum {self.pe.size(0)}")
                pe = self.pe[:n]
                return x + pe.unsqueeze(0).expand(b, -1, -1)
        """,
        id="keyword-only-parameter-one-per-line",
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


def test_new_parameter_default_comes_from_configuration():
    fixed = fix(HEADER + INLINE, CODE, default_max_len=512)
    assert fixed == HEADER + INLINE_FIXED.replace("MAX", "512")


def test_message_says_a_parameter_is_added():
    (diagnostic,) = diagnostics(HEADER + INLINE, CODE)
    assert diagnostic.fix.message == (
        "Build `pe` once in `__init__` as a non-persistent buffer of `max_len` positions, "
        "slice it in `forward` and raise `ValueError` past that; adds the keyword parameter "
        "`max_len=2048` (the configured `default-max-len`) because the code names no maximum length"
    )


def test_message_names_the_existing_maximum():
    body, _ = REWRITES[2].values
    (diagnostic,) = diagnostics(HEADER + dedent(body), CODE)
    assert diagnostic.fix.message == (
        "Build `pe` once in `__init__` as a non-persistent buffer of `block_size` positions, "
        "slice it in `forward` and raise `ValueError` past that"
    )


DECLINED = [
    pytest.param(
        INLINE.replace(
            "pe = torch.zeros(seq_len, self.d_model, device=x.device)",
            "pe = torch.zeros(seq_len, self.d_model, device=x.device, dtype=x.dtype)",
        ),
        id="dtype-from-the-input",
    ),
    pytest.param(
        INLINE.replace("def __init__(self, d_model):", "def __init__(self, d_model, **kwargs):"),
        id="new-parameter-could-clash-with-kwargs",
    ),
    pytest.param(
        INLINE.replace(
            "position = torch.arange(seq_len, device=x.device).unsqueeze(1)",
            "position = (torch.arange(seq_len, device=x.device) / seq_len).unsqueeze(1)",
        ),
        id="values-depend-on-the-length",
    ),
    pytest.param(
        INLINE.replace("        return x + pe\n", "        pe[0] = x[0, 0]\n        return x + pe\n"),
        id="forward-writes-into-the-table",
    ),
    pytest.param(
        INLINE.replace(
            "        return x + pe\n", "        return x + pe.reshape(1, seq_len, self.d_model)\n"
        ).replace(
            "pe = torch.zeros(seq_len, self.d_model, device=x.device)",
            "pe = torch.zeros(seq_len * self.d_model, device=x.device).view(seq_len, self.d_model)",
        ),
        id="reshaped-table",
    ),
    pytest.param(
        """
        class Base(nn.Module):
            def __init__(self, d_model):
                super().__init__()
                self.d_model = d_model


        class Encoding(Base):
            def forward(self, x):
                return x + sinusoid_table(x.size(1), self.d_model)
        """,
        id="init-in-a-base-class",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, d_model, max_len=None):
                super().__init__()
                self.d_model = d_model
                if max_len is None:
                    return

            def forward(self, x):
                return x + sinusoid_table(x.size(1), self.d_model)
        """,
        id="init-returns-early",
    ),
]


@pytest.mark.parametrize("body", DECLINED)
def test_no_fix_when_unsound(body):
    assert_declined(HEADER + dedent(body), CODE)


def test_optional_maximum_length_gets_no_fix():
    body = """
        class Encoding(nn.Module):
            def __init__(self, d_model, max_len=None):
                super().__init__()
                self.d_model = d_model

            def forward(self, x):
                return x + sinusoid_table(x.size(1), self.d_model)
    """
    assert_declined(HEADER + dedent(body), CODE)
