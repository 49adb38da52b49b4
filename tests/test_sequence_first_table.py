"""PEL504: a (max_len, 1, d) table sliced by the batch axis of a batch-first input."""

import textwrap

from helpers import codes, findings

HEADER = """
import math

import torch
from torch import nn
"""

# The PyTorch tutorial's encoding: a (max_len, 1, d_model) table for sequence-first input.
TUTORIAL_ENCODING = """
class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[: x.size(0), :]
        return self.dropout(x)
"""


def lint(source):
    return findings(HEADER + textwrap.dedent(source), select=["PEL504"])


def line_of(source, fragment):
    """Return the 1-based line of ``fragment`` in the module that ``lint`` checks."""
    text = HEADER + textwrap.dedent(source)
    return text[: text.index(fragment)].count("\n") + 1


def test_tutorial_encoding_alone_is_clean():
    assert lint(TUTORIAL_ENCODING) == []


def test_tutorial_encoding_in_batch_first_model_is_reported():
    source = TUTORIAL_ENCODING + """

class Model(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.pos_encoder = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=8, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)

    def forward(self, x):
        return self.encoder(self.pos_encoder(x))
"""
    assert lint(source) == [("PEL504", line_of(source, "x = x + self.pe[: x.size(0), :]"))]


def test_rule_is_off_by_default():
    source = HEADER + TUTORIAL_ENCODING + """
layer = nn.TransformerEncoderLayer(512, nhead=8, batch_first=True)
"""
    assert "PEL504" not in codes(source)


def test_file_level_batch_first_is_reported():
    source = TUTORIAL_ENCODING + """

def make_layer(d_model):
    return nn.TransformerEncoderLayer(d_model, nhead=8, batch_first=True)
"""
    assert lint(source) == [("PEL504", line_of(source, "x = x + self.pe[: x.size(0), :]"))]


def test_unsqueezed_table_with_batch_names_is_reported():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pos_table", torch.randn(max_len, dim).unsqueeze(1))

        def forward(self, x):
            batch_size, seq_len, _ = x.shape
            return x + self.pos_table[:batch_size]
    """
    assert lint(source) == [("PEL504", line_of(source, "return x + self.pos_table"))]


def test_sequence_first_factory_is_reported():
    source = """
    class LearnedPositions(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.pos_embedding = nn.Parameter(torch.zeros(max_len, 1, dim))
            nn.init.normal_(self.pos_embedding, std=0.02)

        def forward(self, x):
            seq_len = x.size(1)
            return x + self.pos_embedding[: len(x)]
    """
    assert lint(source) == [("PEL504", line_of(source, "return x + self.pos_embedding"))]


def test_batch_first_docstring_is_reported():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(max_len, dim)[:, None])

        def forward(self, x):
            \"\"\"Add positions to ``x`` of shape [batch_size, seq_len, dim].\"\"\"
            return x + self.pe[: x.shape[0]]
    """
    assert lint(source) == [("PEL504", line_of(source, "return x + self.pe"))]


def test_sequence_first_docstring_overrides_file_flag():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(max_len, dim).unsqueeze(1))

        def forward(self, x):
            \"\"\"x: Tensor, shape ``[seq_len, batch_size, embedding_dim]``\"\"\"
            return x + self.pe[: x.size(0)]


    rnn = nn.LSTM(16, 16, batch_first=True)
    """
    assert lint(source) == []


def test_sequence_name_for_axis_zero_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(max_len, dim).unsqueeze(1))

        def forward(self, x):
            seq_len = x.size(0)
            return x + self.pe[:seq_len]


    rnn = nn.LSTM(16, 16, batch_first=True)
    """
    assert lint(source) == []


def test_input_transposed_before_slice_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(max_len, dim).unsqueeze(1))

        def forward(self, x):
            x = x.transpose(0, 1)
            x = x + self.pe[: x.size(0)]
            return x.transpose(0, 1)


    layer = nn.TransformerEncoderLayer(16, nhead=2, batch_first=True)
    """
    assert lint(source) == []


def test_class_with_batch_first_option_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len, dim, batch_first=False):
            super().__init__()
            self.batch_first = batch_first
            self.register_buffer("pe", torch.randn(max_len, dim).unsqueeze(1))

        def forward(self, x):
            if self.batch_first:
                return x + self.pe[: x.size(1)].transpose(0, 1)
            return x + self.pe[: x.size(0)]


    layer = nn.TransformerEncoderLayer(16, nhead=2, batch_first=True)
    """
    assert lint(source) == []


def test_creator_without_batch_first_is_clean():
    source = TUTORIAL_ENCODING + """

class Model(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.pos_encoder = PositionalEncoding(d_model)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model, 8), 2)


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(16, 16, batch_first=True)
"""
    assert lint(source) == []


def test_both_layouts_in_file_are_clean():
    source = TUTORIAL_ENCODING + """

encoder_layer = nn.TransformerEncoderLayer(512, nhead=8, batch_first=True)
decoder_layer = nn.TransformerDecoderLayer(512, nhead=8, batch_first=False)
"""
    assert lint(source) == []


def test_batch_first_table_is_clean():
    source = """
    class PositionalEncoding(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            self.register_buffer("pe", torch.randn(max_len, dim).unsqueeze(0))

        def forward(self, x):
            batch_size, seq_len, _ = x.shape
            return x + self.pe[:, :seq_len]
    """
    assert lint(source) == []


def test_lstm_flag_without_creator_is_clean():
    source = TUTORIAL_ENCODING + """

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(16, 16, batch_first=True)
"""
    assert lint(source) == []


def test_mixed_docstring_shapes_are_clean():
    # One sequence-first shape in the docstring is enough to stay quiet.
    source = TUTORIAL_ENCODING.replace(
        "    def forward(self, x):\n",
        '    def forward(self, x):\n        """x: (T, B, C). The padding mask is (B, T)."""\n',
    ) + """

layer = nn.TransformerEncoderLayer(16, nhead=2, batch_first=True)
"""
    assert "(T, B, C)" in source
    assert lint(source) == []
