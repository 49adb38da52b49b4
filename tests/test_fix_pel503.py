"""PEL503 fix: the odd column of a sin/cos pair gets the angle of the even column."""

import pytest

from fix_helpers import assert_declined, assert_unsafe, dedent, diagnostics, fix, safe_fix

CODE = "PEL503"

REWRITES = [
    pytest.param(
        """
        import math

        import torch


        def build_table(max_len, d_model):
            pe = torch.zeros(max_len, d_model)
            for pos in range(max_len):
                for i in range(0, d_model, 2):
                    pe[pos, i] = math.sin(pos / (10000 ** ((2 * i) / d_model)))
                    pe[pos, i + 1] = math.cos(pos / (10000 ** ((2 * (i + 1)) / d_model)))
            return pe
        """,
        """
        import math

        import torch


        def build_table(max_len, d_model):
            pe = torch.zeros(max_len, d_model)
            for pos in range(max_len):
                for i in range(0, d_model, 2):
                    pe[pos, i] = math.sin(pos / (10000 ** ((2 * i) / d_model)))
                    pe[pos, i + 1] = math.cos(pos / (10000 ** ((2 * i) / d_model)))
            return pe
        """,
        id="tutorial-loop",
    ),
    pytest.param(
        """
        import math

        import torch


        def table(n, dim):
            out = torch.zeros(n, dim)
            for p in range(n):
                for i in range(dim // 2):
                    sin_angle = p / math.pow(10000, 2 * i / dim)
                    cos_angle = p / math.pow(10000, 2 * (i + 1) / dim)
                    out[p, 2 * i] = math.sin(sin_angle)
                    out[p, 2 * i + 1] = math.cos(cos_angle)
            return out
        """,
        """
        import math

        import torch


        def table(n, dim):
            out = torch.zeros(n, dim)
            for p in range(n):
                for i in range(dim // 2):
                    sin_angle = p / math.pow(10000, 2 * i / dim)
                    out[p, 2 * i] = math.sin(sin_angle)
                    out[p, 2 * i + 1] = math.cos(sin_angle)
            return out
        """,
        id="named-angles-dead-name-removed",
    ),
    pytest.param(
        """
        import math

        import torch


        def table(n, dim):
            out = torch.zeros(n, dim)
            for p in range(n):
                for i in range(0, dim, 2):
                    out[p, i + 1] = math.cos(p / 10000 ** ((i + 1) / dim))
                    out[p, i] = math.sin(p / 10000 ** (i / dim))
            return out
        """,
        """
        import math

        import torch


        def table(n, dim):
            out = torch.zeros(n, dim)
            for p in range(n):
                for i in range(0, dim, 2):
                    out[p, i + 1] = math.cos(p / 10000 ** (i / dim))
                    out[p, i] = math.sin(p / 10000 ** (i / dim))
            return out
        """,
        id="cos-written-first",
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


def test_angle_name_kept_when_read_elsewhere():
    source = """
        import math

        import torch


        def table(n, dim):
            out = torch.zeros(n, dim)
            last = 0.0
            for p in range(n):
                for i in range(dim // 2):
                    sin_angle = p / math.pow(10000, 2 * i / dim)
                    cos_angle = p / math.pow(10000, 2 * (i + 1) / dim)
                    out[p, 2 * i] = math.sin(sin_angle)
                    out[p, 2 * i + 1] = math.cos(cos_angle)
                    last = cos_angle
            return out, last
    """
    fixed = fix(source, CODE)
    assert "cos_angle = p / math.pow(10000, 2 * (i + 1) / dim)" in fixed
    assert "out[p, 2 * i + 1] = math.cos(sin_angle)" in fixed


DECLINED = [
    pytest.param(
        """
        import math

        import torch


        def table(n, dim):
            out = torch.zeros(n, dim)
            for p in range(n):
                for i in range(dim // 2):
                    angle = p / math.pow(10000, 2 * i / dim)
                    out[p, 2 * i] = math.sin(angle)
                    angle = p / math.pow(10000, 2 * (i + 1) / dim)
                    out[p, 2 * i + 1] = math.cos(angle)
            return out
        """,
        id="angle-rebound-between",
    ),
    pytest.param(
        """
        import math

        import torch


        def table(n, dim, scale):
            out = torch.zeros(n, dim)
            for p in range(n):
                for i in range(0, dim, 2):
                    out[p, i] = math.sin(p * scale() / 10000 ** (i / dim))
                    out[p, i + 1] = math.cos(p * scale() / 10000 ** ((i + 1) / dim))
            return out
        """,
        id="angle-calls-unknown-function",
    ),
]


@pytest.mark.parametrize("source", DECLINED)
def test_no_fix_when_unsound(source):
    assert_declined(source, CODE)
