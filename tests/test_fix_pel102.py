"""PEL102 fix: a learned table allocated with `torch.empty` gets `trunc_normal_(..., std=0.02)`."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL102"

REWRITES = [
    pytest.param(
        """
        import torch
        from torch import nn


        class TextEncoder(nn.Module):
            def __init__(self, context_length, width):
                super().__init__()
                self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        """,
        """
        import torch
        from torch import nn


        class TextEncoder(nn.Module):
            def __init__(self, context_length, width):
                super().__init__()
                self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
                nn.init.trunc_normal_(self.positional_embedding, std=0.02)
        """,
        id="clip-text",
    ),
    pytest.param(
        """
        import torch
        import torch.nn as tnn


        class Positions(tnn.Module):
            def __init__(self, d_model, max_len=24):
                super().__init__()
                self.register_parameter("pos_table", tnn.Parameter(torch.Tensor(max_len, 1, d_model)))
        """,
        """
        import torch
        import torch.nn as tnn


        class Positions(tnn.Module):
            def __init__(self, d_model, max_len=24):
                super().__init__()
                self.register_parameter("pos_table", tnn.Parameter(torch.Tensor(max_len, 1, d_model)))
                tnn.init.trunc_normal_(self.pos_table, std=0.02)
        """,
        id="legacy-constructor-aliased-nn",
    ),
    pytest.param(
        """
        import torch
        from torch import nn


        class Positions(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                table = nn.Parameter(torch.empty(n, d, dtype=torch.float16))
                self.pos_embed = table
        """,
        """
        import torch
        from torch import nn


        class Positions(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                table = nn.Parameter(torch.empty(n, d, dtype=torch.float16))
                self.pos_embed = table
                nn.init.trunc_normal_(self.pos_embed, std=0.02)
        """,
        id="through-a-local-name-half-precision",
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


def test_message_names_the_initialiser():
    source, _ = REWRITES[1].values
    (diagnostic,) = diagnostics(source, CODE)
    assert diagnostic.fix.message == (
        "Initialise `pos_table` with `tnn.init.trunc_normal_(..., std=0.02)` right after it is created"
    )


DECLINED = [
    pytest.param(
        """
        import torch
        from torch import nn


        class Positions(nn.Module):
            def __init__(self, n, d):
                super().__init__()
                self.pos_embed = nn.Parameter(torch.empty(n, d, dtype=torch.int64))
        """,
        id="integer-table",
    ),
    pytest.param(
        """
        import torch
        from torch import nn


        class Positions(nn.Module):
            def __init__(self, n, d, learned):
                super().__init__()
                if learned: self.pos_embed = nn.Parameter(torch.empty(n, d))
        """,
        id="one-line-suite",
    ),
]


@pytest.mark.parametrize("source", DECLINED)
def test_no_fix_when_unsound(source):
    assert_declined(source, CODE)
