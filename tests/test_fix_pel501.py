"""PEL501 fix: sin and cos of the whole angle grid go into the even and odd columns of a full-width table."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL501"

REWRITES = [
    pytest.param(
        """
        import math

        import torch


        def sinusoidal_init(num, d):
            position = torch.arange(num).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            angles = position * div_term
            angles[:, 0::2] = torch.sin(angles[:, 0::2])
            angles[:, 1::2] = torch.cos(angles[:, 1::2])
            return angles
        """,
        """
        import math

        import torch


        def sinusoidal_init(num, d):
            position = torch.arange(num).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            angles = position * div_term
            table = angles.new_zeros(num, d)
            table[:, 0::2] = torch.sin(angles)
            table[:, 1::2] = torch.cos(angles)
            return table
        """,
        id="design-discussion-builder",
    ),
    pytest.param(
        """
        import torch


        def features(max_len, d_model):
            position = torch.arange(0, max_len, dtype=torch.float32)
            inv_freq = 1.0 / (10000 ** (torch.arange(d_model // 2).float() * 2 / d_model))
            freqs = torch.outer(position, inv_freq)
            freqs[:, 0::2] = freqs[:, 0::2].sin()
            freqs[:, 1::2] = freqs[:, 1::2].cos()
            table = freqs.unsqueeze(1)
            return table, freqs.shape
        """,
        """
        import torch


        def features(max_len, d_model):
            position = torch.arange(0, max_len, dtype=torch.float32)
            inv_freq = 1.0 / (10000 ** (torch.arange(d_model // 2).float() * 2 / d_model))
            freqs = torch.outer(position, inv_freq)
            encoding = freqs.new_zeros(max_len, d_model)
            encoding[:, 0::2] = freqs.sin()
            encoding[:, 1::2] = freqs.cos()
            table = encoding.unsqueeze(1)
            return table, encoding.shape
        """,
        id="outer-methods-and-later-reads",
    ),
    pytest.param(
        """
        import math

        import torch


        def table(n, d):
            position = torch.arange(n)[:, None]
            div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            angles = position * div_term
            pe = torch.zeros(n, d)
            pe[:, 0::2] = torch.sin(angles[:, 0::2])
            pe[:, 1::2] = torch.cos(angles[:, 1::2])
            return pe
        """,
        """
        import math

        import torch


        def table(n, d):
            position = torch.arange(n)[:, None]
            div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            angles = position * div_term
            pe = torch.zeros(n, d)
            pe[:, 0::2] = torch.sin(angles)
            pe[:, 1::2] = torch.cos(angles)
            return pe
        """,
        id="separate-full-width-table",
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


DECLINED = [
    pytest.param(
        """
        import math

        import torch


        def sinusoidal_init(num, d):
            position = torch.arange(num).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            angles = position * div_term
            angles[:, 0::2] = torch.sin(angles[:, 0::2])
            print(angles.sum())
            angles[:, 1::2] = torch.cos(angles[:, 1::2])
            return angles
        """,
        id="grid-read-between-the-writes",
    ),
    pytest.param(
        """
        import math

        import torch


        def sinusoidal_init(positions, d):
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            angles = positions[..., None] * div_term
            angles[..., 0::2] = torch.sin(angles[..., 0::2])
            angles[..., 1::2] = torch.cos(angles[..., 1::2])
            return angles
        """,
        id="positions-of-unknown-shape",
    ),
    pytest.param(
        """
        import math

        import torch


        def sinusoidal_init(num, d):
            position = torch.arange(num).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            angles = position * div_term
            return torch.cat([torch.sin(angles[:, 0::2]), torch.cos(angles[:, 1::2])], dim=1)
        """,
        id="not-written-into-columns",
    ),
    pytest.param(
        """
        import math

        import torch


        def sinusoidal_init(num, d):
            position = torch.arange(num).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
            angles = position * div_term
            for row in range(num):
                angles[row, 0::2] = torch.sin(angles[row, 0::2])
                angles[row, 1::2] = torch.cos(angles[row, 1::2])
            return angles
        """,
        id="row-by-row-in-a-loop",
    ),
]


@pytest.mark.parametrize("source", DECLINED)
def test_no_fix_when_unsound(source):
    assert_declined(source, CODE)
