"""PEL503: the sin and cos of one column pair use different frequencies."""

from helpers import findings

CODE = "PEL503"


def lint(source):
    return findings(source, select=[CODE])


def test_cos_exponent_with_next_column_is_reported():
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        for pos in range(max_len):
            for i in range(0, d_model, 2):
                pe[pos, i] = math.sin(pos / (10000 ** ((2 * i) / d_model)))
                pe[pos, i + 1] = math.cos(pos / (10000 ** ((2 * (i + 1)) / d_model)))
        return pe
    """
    assert lint(source) == [(CODE, 10)]


def test_method_with_numpy_and_index_pair_is_reported():
    source = """
    import numpy as np
    from torch import nn

    class PositionalEncoding(nn.Module):
        def build(self, max_len, dim):
            pe = np.zeros((max_len, dim))
            for i in range(dim // 2):
                pe[:, 2 * i] = np.sin(np.arange(max_len) / 10000 ** (2 * i / dim))
                pe[:, 2 * i + 1] = np.cos(np.arange(max_len) / 10000 ** ((2 * i + 1) / dim))
            return pe
    """
    assert lint(source) == [(CODE, 10)]


def test_different_frequency_through_local_names_is_reported():
    source = """
    from math import cos, sin

    def build_table(pe, max_len, d):
        for pos in range(max_len):
            for i in range(0, d, 2):
                even_rate = 1 / 10000 ** (i / d)
                odd_rate = 1 / 10000 ** ((i + 2) / d)
                pe[pos, i] = sin(pos * even_rate)
                pe[pos, i + 1] = cos(pos * odd_rate)
        return pe
    """
    assert lint(source) == [(CODE, 10)]


def test_numerically_different_angle_is_reported():
    source = """
    import math

    def build_table(pe, max_len, d):
        for pos in range(max_len):
            for i in range(0, d, 2):
                pe[pos, i] = math.sin(pos / 10000 ** (i / d))
                pe[pos, i + 1] = math.cos(pos / 10000 ** (i + 1 / d))
        return pe
    """
    assert lint(source) == [(CODE, 8)]


def test_cos_first_pair_is_reported_on_second_column():
    source = """
    import torch

    def build_table(pe, positions, d):
        for i in range(0, d, 2):
            pe[:, i] = torch.cos(positions / 10000 ** (i / d))
            pe[:, i + 1] = torch.sin(positions / 10000 ** ((i + 1) / d))
        return pe
    """
    assert lint(source) == [(CODE, 7)]


def test_shared_angle_is_clean():
    source = """
    import math

    def build_table(pe, max_len, d_model):
        for pos in range(max_len):
            for i in range(0, d_model, 2):
                pe[pos, i] = math.sin(pos / (10000 ** (i / d_model)))
                pe[pos, i + 1] = math.cos(pos / (10000 ** (i / d_model)))
        return pe
    """
    assert lint(source) == []


def test_same_angle_written_differently_is_clean():
    source = """
    import math

    def build_table(pe, max_len, d_model):
        for pos in range(max_len):
            for i in range(0, d_model, 2):
                rate = math.exp(-math.log(10000.0) * i / d_model)
                pe[pos, i] = math.sin(pos * rate)
                pe[pos, i + 1] = math.cos(pos / 10000 ** (i / d_model))
        return pe
    """
    assert lint(source) == []


def test_separate_sin_and_cos_loops_are_clean():
    source = """
    import math

    def build_table(pe, max_len, d):
        for pos in range(max_len):
            for i in range(0, d, 2):
                pe[pos, i] = math.sin(pos / 10000 ** (i / d))
            for i in range(1, d, 2):
                pe[pos, i] = math.cos(pos / 10000 ** ((i - 1) / d))
        return pe
    """
    assert lint(source) == []


def test_angles_over_different_names_are_clean():
    # Two local angles that the rule cannot show to be different are left alone.
    source = """
    import math

    def build_table(pe, angles, phases, max_len, d):
        for pos in range(max_len):
            for i in range(0, d, 2):
                pe[pos, i] = math.sin(angles[pos, i])
                pe[pos, i + 1] = math.cos(phases[pos, i])
        return pe
    """
    assert lint(source) == []


def test_different_rows_are_not_a_pair():
    source = """
    import math

    def build_table(pe, max_len, d):
        for pos in range(max_len - 1):
            for i in range(0, d, 2):
                pe[pos, i] = math.sin(pos / 10000 ** (i / d))
                pe[pos + 1, i + 1] = math.cos((pos + 1) / 10000 ** (i / d))
        return pe
    """
    assert lint(source) == []


def test_different_tables_are_not_a_pair():
    source = """
    import math

    def build_tables(sines, cosines, max_len, d):
        for pos in range(max_len):
            for i in range(0, d, 2):
                sines[pos, i] = math.sin(pos / 10000 ** (i / d))
                cosines[pos, i + 1] = math.cos(pos / 10000 ** ((i + 1) / d))
        return sines, cosines
    """
    assert lint(source) == []


def test_vectorized_halves_are_clean():
    # The usual vectorized table: one angle grid for both halves.
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        return pe
    """
    assert lint(source) == []


def test_nested_list_indexing_is_reported():
    source = """
    import math

    def build_table(max_len, d_model):
        table = [[0.0] * d_model for _ in range(max_len)]
        for pos in range(max_len):
            for i in range(0, d_model, 2):
                table[pos][i] = math.sin(pos / (10000 ** (i / d_model)))
                table[pos][i + 1] = math.cos(pos / (10000 ** ((i + 1) / d_model)))
        return table
    """
    assert lint(source) == [(CODE, 9)]


def test_angles_that_ignore_the_column_are_clean():
    source = """
    import math

    def fill(matrix, t, n):
        for i in range(0, n, 2):
            matrix[0, i] = math.cos(2 * t)
            matrix[0, i + 1] = math.sin(t)
        return matrix
    """
    assert lint(source) == []


def test_lookup_by_column_is_clean():
    # `freq` may repeat each frequency for both columns of a pair, so freq[i + 1] can be right.
    source = """
    import torch

    def build_table(pe, positions, freq, d):
        for i in range(0, d, 2):
            pe[:, i] = torch.sin(positions * freq[i])
            pe[:, i + 1] = torch.cos(positions * freq[i + 1])
        return pe
    """
    assert lint(source) == []
