"""PEL101 fix: a zero-initialised learned table gets `trunc_normal_(..., std=0.02)` once created."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL101"

REWRITES = [
    pytest.param(
        """
        import torch
        from torch import nn


        class Embed(nn.Module):
            def __init__(self, num_patches, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))  # learned
                self.drop = nn.Dropout(0.1)

            def forward(self, x):
                return self.drop(x + self.pos_embed)
        """,
        """
        import torch
        from torch import nn


        class Embed(nn.Module):
            def __init__(self, num_patches, dim):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))  # learned
                nn.init.trunc_normal_(self.pos_embed, std=0.02)
                self.drop = nn.Dropout(0.1)

            def forward(self, x):
                return self.drop(x + self.pos_embed)
        """,
        id="from-torch-import-nn",
    ),
    pytest.param(
        """
        import torch
        import torch.nn.init as init
        from torch.nn import Module, Parameter


        class Embed(Module):
            def __init__(self, n, d, use_abs=True):
                super().__init__()
                if use_abs:
                    self.pos_embed = Parameter(torch.zeros(1, n, d))
        """,
        """
        import torch
        import torch.nn.init as init
        from torch.nn import Module, Parameter


        class Embed(Module):
            def __init__(self, n, d, use_abs=True):
                super().__init__()
                if use_abs:
                    self.pos_embed = Parameter(torch.zeros(1, n, d))
                    init.trunc_normal_(self.pos_embed, std=0.02)
        """,
        id="init-alias-inside-if",
    ),
    pytest.param(
        """
        import torch
        from torch.nn import Module, Parameter


        class Embed(Module):
            def __init__(self, n, d):
                super().__init__()
                setattr(self, "pos_emb", Parameter(torch.zeros(n, d)))
        """,
        """
        import torch
        from torch.nn import Module, Parameter


        class Embed(Module):
            def __init__(self, n, d):
                super().__init__()
                setattr(self, "pos_emb", Parameter(torch.zeros(n, d)))
                torch.nn.init.trunc_normal_(self.pos_emb, std=0.02)
        """,
        id="setattr-full-path",
    ),
    pytest.param(
        """
        from torch import zeros
        from torch.nn import Module, Parameter


        class Embed(Module):
            def __init__(self, n, d):
                super().__init__()
                self.register_parameter("pos_embed", Parameter(zeros(n, d)))
        """,
        """
        from torch import zeros
        from torch.nn import Module, Parameter
        from torch import nn


        class Embed(Module):
            def __init__(self, n, d):
                super().__init__()
                self.register_parameter("pos_embed", Parameter(zeros(n, d)))
                nn.init.trunc_normal_(self.pos_embed, std=0.02)
        """,
        id="import-added",
    ),
    pytest.param(
        """
        import torch
        import torch.nn as nn


        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.position_embedding = nn.Parameter(torch.randn(n, d))
                self.reset_parameters()

            def reset_parameters(self):
                nn.init.zeros_(self.position_embedding)
        """,
        """
        import torch
        import torch.nn as nn


        class Encoder(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.position_embedding = nn.Parameter(torch.randn(n, d))
                self.reset_parameters()

            def reset_parameters(self):
                nn.init.trunc_normal_(self.position_embedding, std=0.02)
        """,
        id="zeros-init-replaced",
    ),
]


@pytest.mark.parametrize("source, expected", REWRITES)
def test_rewrite(source, expected):
    assert fix(source, CODE) == dedent(expected)


@pytest.mark.parametrize("source, expected", REWRITES)
def test_fix_is_unsafe(source, expected):
    assert_unsafe(source, CODE)
    assert safe_fix(source, CODE) == dedent(source)


@pytest.mark.parametrize("source, expected", REWRITES)
def test_fixed_code_is_clean(source, expected):
    assert diagnostics(expected, CODE) == []


def test_fix_keeps_comment_and_layout():
    source = """
        import torch
        from torch import nn


        class Embed(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                # one row per patch
                self.pos_embed = nn.Parameter(
                    torch.zeros(1, n, d),  # zeros for now
                )
    """
    fixed = fix(source, CODE)
    assert "# one row per patch" in fixed
    assert "torch.zeros(1, n, d),  # zeros for now\n        )\n" in fixed
    assert fixed.endswith("        )\n        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n")


DECLINED = [
    pytest.param(
        """
        import torch
        from torch import nn


        class Embed(nn.Module):
            def __init__(self, n, d, flag):
                super().__init__()
                if flag: self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
        """,
        id="one-line-suite",
    ),
    pytest.param(
        """
        import torch
        from torch import nn


        class Embed(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.zeros(1, n, d, dtype=torch.long))
        """,
        id="integer-dtype",
    ),
    pytest.param(
        """
        from torch import zeros
        from torch.nn import Module, Parameter


        def nn(x):
            return x


        class Embed(Module):
            def __init__(self, n, d, torch=None):
                super().__init__()
                self.pos_embed = Parameter(zeros(1, n, d))
        """,
        id="no-free-name-for-an-import",
    ),
]


@pytest.mark.parametrize("source", DECLINED)
def test_no_fix_when_unsound(source):
    assert_declined(source, CODE)


def test_shadowed_alias_falls_back_to_full_path():
    source = """
        import torch
        from torch import nn


        class Embed(nn.Module):
            def __init__(self, n, d, nn=None):
                super().__init__()
                self.pos_embed = torch.nn.Parameter(torch.zeros(1, n, d))
    """
    fixed = fix(source, CODE)
    assert "torch.nn.init.trunc_normal_(self.pos_embed, std=0.02)" in fixed
