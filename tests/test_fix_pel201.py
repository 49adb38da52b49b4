"""PEL201 fix: lift a literal table length into an `__init__` keyword parameter."""

import textwrap

import pytest

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source

HEADER = """\
import math

import torch
from torch import nn
"""

SETTINGS = Settings(select=validate_selectors(["PEL201"]))


def fix(body: str) -> str:
    source = HEADER + textwrap.dedent(body)
    outcome = fix_source(source.encode(), "example.py", SETTINGS)
    assert outcome.error is None, outcome.error
    return outcome.source.decode()[len(HEADER):]


def fixable(body: str) -> list:
    result = lint_source(HEADER + textwrap.dedent(body), "example.py", SETTINGS)
    return [diagnostic.fixable for diagnostic in result.diagnostics]


REWRITES = [
    pytest.param(
        """
        class PatchEmbed(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(1, 196, dim) * 0.02)
        """,
        """
        class PatchEmbed(nn.Module):
            def __init__(self, dim, max_len=196):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        """,
        id="plain",
    ),
    pytest.param(
        """
        class LearnedPositionEmbedding(nn.Module):
            def __init__(self, embedding_dim=256):
                super().__init__()
                self.row_embeddings = nn.Embedding(50, embedding_dim)
                self.column_embeddings = nn.Embedding(50, embedding_dim)
        """,
        """
        class LearnedPositionEmbedding(nn.Module):
            def __init__(self, embedding_dim=256, max_len=50):
                super().__init__()
                self.row_embeddings = nn.Embedding(max_len, embedding_dim)
                self.column_embeddings = nn.Embedding(max_len, embedding_dim)
        """,
        id="two-tables-one-parameter",
    ),
    pytest.param(
        """
        class VisionEmbeddings(nn.Module):
            def __init__(
                self,
                dim: int,
                *,
                eps: float = 1e-6,
            ):
                super().__init__()
                self.max_seq_len = 14 * 14 + 1
                self.pos_embed = nn.Parameter(torch.zeros(1, 14 * 14 + 1, dim))
                self.register_buffer("position_ids", torch.arange(14 * 14 + 1).expand((1, -1)))
        """,
        """
        class VisionEmbeddings(nn.Module):
            def __init__(
                self,
                dim: int,
                *,
                eps: float = 1e-6,
                max_seq_len: int = 14 * 14 + 1,
            ):
                super().__init__()
                self.max_seq_len = max_seq_len
                self.pos_embed = nn.Parameter(torch.zeros(1, max_seq_len, dim))
                self.register_buffer("position_ids", torch.arange(max_seq_len).expand((1, -1)))
        """,
        id="keyword-only-annotated-with-stored-length",
    ),
    pytest.param(
        """
        class Encoding(nn.Module):
            def __init__(self, dim, max_len=5000):
                super().__init__()
                self.pe = nn.Parameter(torch.randn(512, 1, dim) * 0.02)
        """,
        """
        class Encoding(nn.Module):
            def __init__(self, dim, max_len=5000, max_length=512):
                super().__init__()
                self.pe = nn.Parameter(torch.randn(max_length, 1, dim) * 0.02)
        """,
        id="existing-parameter-not-reused",
    ),
    pytest.param(
        """
        class TextEmbeddings(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.position_embeddings = nn.Embedding(num_embeddings=2048, embedding_dim=config.hidden)


        class AudioEmbeddings(nn.Module):
            def __init__(self, hidden, max_position_embeddings=1500):
                super().__init__()
                self.position_embeddings = nn.Embedding(max_position_embeddings, hidden)
        """,
        """
        class TextEmbeddings(nn.Module):
            def __init__(self, config, max_position_embeddings=2048):
                super().__init__()
                self.position_embeddings = nn.Embedding(num_embeddings=max_position_embeddings, embedding_dim=config.hidden)


        class AudioEmbeddings(nn.Module):
            def __init__(self, hidden, max_position_embeddings=1500):
                super().__init__()
                self.position_embeddings = nn.Embedding(max_position_embeddings, hidden)
        """,
        id="length-name-of-the-file",
    ),
    pytest.param(
        """
        def sinusoid_table(max_len, d):
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            table = torch.zeros(max_len, d)
            table[:, 0::2] = torch.sin(position * div_term)
            table[:, 1::2] = torch.cos(position * div_term)
            return table


        class Encoder(nn.Module):
            def __init__(self, d_model):
                super().__init__()
                self.register_buffer("pe", sinusoid_table(1024, d_model))
        """,
        """
        def sinusoid_table(max_len, d):
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            table = torch.zeros(max_len, d)
            table[:, 0::2] = torch.sin(position * div_term)
            table[:, 1::2] = torch.cos(position * div_term)
            return table


        class Encoder(nn.Module):
            def __init__(self, d_model, max_len=1024):
                super().__init__()
                self.register_buffer("pe", sinusoid_table(max_len, d_model))
        """,
        id="sinusoid-builder-argument",
    ),
]


@pytest.mark.parametrize("original, expected", REWRITES)
def test_rewrite(original, expected):
    assert fix(original) == textwrap.dedent(expected)


@pytest.mark.parametrize("original, expected", REWRITES)
def test_second_fix_changes_nothing(original, expected):
    once = fix(original)
    assert fix(once) == once


NOT_FIXABLE = [
    pytest.param(
        """
        class Embed(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self._build(dim)

            def _build(self, dim):
                self.pos_embed = nn.Parameter(torch.randn(1, 196, dim))
        """,
        id="literal-in-helper-method",
    ),
    pytest.param(
        """
        class Embed(nn.Module):
            def __init__(self, dim, **kwargs):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(1, 196, dim))
        """,
        id="init-takes-kwargs",
    ),
    pytest.param(
        """
        class Embed(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(1, 196, dim))
                self.decoder_pos_embed = nn.Parameter(torch.randn(1, 50, dim))
        """,
        id="two-different-lengths",
    ),
    pytest.param(
        """
        class Embed(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(1, 196, dim))

            def forward(self, x):
                if x.size(1) > 196:
                    raise ValueError(f"{x.size(1)} patches exceed 196")
                return x + self.pos_embed[:, : x.size(1)]
        """,
        id="same-number-in-forward",
    ),
    pytest.param(
        """
        class Embed(nn.Module):
            def __init__(self, dim, /):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.randn(1, 196, dim))
        """,
        id="positional-only-parameters",
    ),
]


@pytest.mark.parametrize("original", NOT_FIXABLE)
def test_no_fix_offered(original):
    flags = fixable(original)
    assert flags, "the rule no longer reports this case"
    assert not any(flags)


@pytest.mark.parametrize("original", NOT_FIXABLE)
def test_unfixable_file_left_unchanged(original):
    assert fix(original) == textwrap.dedent(original)


def test_name_taken_by_local_or_global_is_skipped():
    source = """
    max_len = 4096


    class Embed(nn.Module):
        def __init__(self, dim):
            super().__init__()
            max_length = 3
            self.limit = max_len + max_length
            self.pos_embed = nn.Parameter(torch.randn(1, 196, dim))
    """
    fixed = fix(source)
    assert "def __init__(self, dim, max_seq_len=196):" in fixed
    assert "torch.randn(1, max_seq_len, dim)" in fixed
    assert "self.limit = max_len + max_length\n" in fixed


def test_fix_message_names_parameter_and_tables():
    result = lint_source(HEADER + textwrap.dedent(REWRITES[1].values[0]), "example.py", SETTINGS)
    messages = {diagnostic.fix.message for diagnostic in result.diagnostics}
    assert messages == {
        "Add the keyword parameter `max_len=50` to `__init__` and use it as the length of "
        "`column_embeddings`, `row_embeddings`"
    }
