"""PEL302 fix: a frozen Parameter position table becomes a persistent buffer."""

import textwrap

import pytest

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source

HEADER = """\
import math

import torch
from torch import nn


def sinusoid_table(n, d):
    position = torch.arange(n).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    table = torch.zeros(n, d)
    table[:, 0::2] = torch.sin(position * div_term)
    table[:, 1::2] = torch.cos(position * div_term)[:, : d // 2]
    return table
"""

SETTINGS = Settings(select=validate_selectors(["PEL302"]))


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
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)
        """,
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.register_buffer("pos_embed", sinusoid_table(n, d))
        """,
        id="plain",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(data=sinusoid_table(n, d), requires_grad=False)
        """,
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.register_buffer("pos_embed", sinusoid_table(n, d))
        """,
        id="data-keyword",
    ),
    pytest.param(
        """
        class MaskedAutoencoder(nn.Module):
            def __init__(self, n, width):
                super().__init__()
                # fixed sin-cos embedding
                self.position_embeddings = nn.Parameter(
                    torch.zeros(1, n + 1, width), requires_grad=False
                )
                self.decoder_pos_embed = nn.Parameter(
                    torch.zeros(1, n + 1, width),  # filled below
                    requires_grad=False,
                )
                self.position_embeddings.data.copy_(sinusoid_table(n + 1, width).unsqueeze(0))
        """,
        """
        class MaskedAutoencoder(nn.Module):
            def __init__(self, n, width):
                super().__init__()
                # fixed sin-cos embedding
                self.register_buffer(
                    "position_embeddings", torch.zeros(1, n + 1, width)
                )
                self.register_buffer(
                    "decoder_pos_embed",
                    torch.zeros(1, n + 1, width),  # filled below
                )
                self.position_embeddings.data.copy_(sinusoid_table(n + 1, width).unsqueeze(0))
        """,
        id="zeros-then-copy-layouts-kept",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d))
                # the table is fixed
                self.pos_embed.requires_grad = False
                self.proj = nn.Linear(d, d)
        """,
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.register_buffer("pos_embed", sinusoid_table(n, d))
                self.proj = nn.Linear(d, d)
        """,
        id="freeze-after-creation",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                setattr(self, "pos_enc", nn.Parameter(sinusoid_table(n, d)))
                self.pos_enc.requires_grad_(False); self.d = d
        """,
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.register_buffer("pos_enc", sinusoid_table(n, d))
                self.d = d
        """,
        id="setattr-and-requires-grad-call",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self._build(n, d)

            def _build(self, n, d):
                self.pos_embed = nn.Parameter(torch.zeros(n, d), requires_grad=False)
                self.pos_embed.requires_grad = False
                self.pos_embed.data.copy_(sinusoid_table(n, d))
        """,
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self._build(n, d)

            def _build(self, n, d):
                self.register_buffer("pos_embed", torch.zeros(n, d))
                self.pos_embed.data.copy_(sinusoid_table(n, d))
        """,
        id="helper-called-from-init",
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
        class VisionTransformer(nn.Module):
            def __init__(self, n, d, pos_embed_type):
                super().__init__()
                if pos_embed_type == "learnable":
                    self.positional_embedding = nn.Parameter(torch.randn(n, d) * 0.02)
                else:
                    self.positional_embedding = nn.Parameter(sinusoid_table(n, d), requires_grad=False)
        """,
        id="learned-parameter-on-other-branch",
    ),
    pytest.param(
        """
        class PatchEncoding(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.position_enc = self._init_pe(config)

            @staticmethod
            def _init_pe(config):
                if config.positional_encoding_type == "random":
                    position_enc = nn.Parameter(torch.randn(config.n, config.d), requires_grad=True)
                else:
                    position_enc = sinusoid_table(config.n, config.d)
                    position_enc = nn.Parameter(position_enc, requires_grad=False)
                return position_enc
        """,
        id="static-builder-returns-either-parameter",
    ),
    pytest.param(
        """
        from somewhere import PreTrainedModule

        class Encoder(PreTrainedModule):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)

            def forward(self, x):
                return x + self.pos_embed[: x.size(1)]
        """,
        id="base-class-from-another-file",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            pos_embed = None

            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)
        """,
        id="class-attribute-of-same-name",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)

            def lock(self):
                for group in [self.pos_embed, self.proj]:
                    group.requires_grad_(False)
        """,
        id="stored-in-a-list",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)
                self.decoder_pos = self.pos_embed
        """,
        id="aliased-on-another-attribute",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)

            def no_decay(self):
                return [p for p in (self.pos_embed,) if isinstance(p, nn.Parameter)]
        """,
        id="parameter-type-checked",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, table):
                super().__init__()
                self.pos_embed = nn.Parameter(table, requires_grad=False)
        """,
        id="table-passed-in-may-carry-history",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d))
                self.pos_embed.data.requires_grad = False
        """,
        id="freeze-through-data-leaves-it-trainable",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)

            def resize(self, n):
                self.pos_embed = nn.Parameter(sinusoid_table(n, self.pos_embed.shape[-1]), requires_grad=False)
        """,
        id="resize-method-assigns-again",
    ),
    pytest.param(
        """
        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(sinusoid_table(n, d), requires_grad=False)

        class LongEncoder(Encoder):
            def __init__(self, n, d):
                super().__init__(n, d)
                self.pos_embed = nn.Parameter(sinusoid_table(2 * n, d), requires_grad=False)
        """,
        id="subclass-assigns-again",
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


def test_fix_message_names_buffer():
    result = lint_source(HEADER + textwrap.dedent(REWRITES[3].values[0]), "example.py", SETTINGS)
    (diagnostic,) = result.diagnostics
    assert diagnostic.fix is not None
    assert diagnostic.fix.message == (
        "Register `pos_embed` as a persistent buffer and delete the `requires_grad` freeze"
    )
