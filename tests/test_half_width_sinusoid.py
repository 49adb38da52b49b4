"""PEL501: sin and cos applied to alternate columns of a half-width angle grid."""

from helpers import findings

CODE = "PEL501"


def lint(source):
    return findings(source, select=[CODE])


def test_in_place_on_step_two_grid_is_reported():
    source = """
    import math
    import torch

    def sinusoidal_init(num, d):
        position = torch.arange(num).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d, 2) * -(math.log(10000.0) / d))
        angles = position * div_term
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == [(CODE, 9)]


def test_half_range_grid_in_method_is_reported():
    source = """
    import torch
    from torch import nn

    class Embed(nn.Module):
        def __init__(self, max_len, dim):
            super().__init__()
            half = dim // 2
            freqs = 1.0 / (10000 ** (torch.arange(half).float() / half))
            grid = torch.arange(max_len)[:, None] * freqs[None, :]
            table = torch.cat([torch.sin(grid[:, 0::2]), torch.cos(grid[:, 1::2])], dim=-1)
            self.register_buffer("pe", table)
    """
    assert lint(source) == [(CODE, 11)]


def test_outer_product_grid_is_reported():
    source = """
    import torch

    def table(n, d):
        inv_freq = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        angles = torch.outer(torch.arange(n).float(), inv_freq)
        sines = angles[:, 0::2].sin()
        cosines = angles[:, 1::2].cos()
        return torch.stack([sines, cosines], dim=-1).flatten(1)
    """
    assert lint(source) == [(CODE, 7)]


def test_einsum_grid_with_ellipsis_is_reported():
    source = """
    import torch

    def table(t, d):
        inv_freq = torch.arange(0, d, 2).float().div(d).mul(-9.2).exp()
        angles = torch.einsum("i,j->ij", t, inv_freq)
        return torch.cat((torch.sin(angles[..., ::2]), torch.cos(angles[..., 1::2])), -1)
    """
    assert lint(source) == [(CODE, 7)]


def test_numpy_grid_is_reported():
    source = """
    import numpy as np

    def table(n, d):
        freqs = np.power(10000.0, -np.arange(0, d, 2) / d)
        angles = np.arange(n)[:, None] * freqs[None, :]
        angles[:, 0::2] = np.sin(angles[:, 0::2])
        angles[:, 1::2] = np.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == [(CODE, 7)]


def test_full_width_list_comprehension_grid_is_clean():
    # The shape of vit-pytorch's cct.py: every column has its own copy of the pair's frequency.
    source = """
    import torch

    def sinusoidal_embedding(n_channels, dim):
        pe = torch.FloatTensor([[p / (10000 ** (2 * (i // 2) / dim)) for i in range(dim)]
                                for p in range(n_channels)])
        pe[:, 0::2] = torch.sin(pe[:, 0::2])
        pe[:, 1::2] = torch.cos(pe[:, 1::2])
        return pe
    """
    assert lint(source) == []


def test_full_width_arange_grid_is_clean():
    # The shape of CTRL's positional_encoding in transformers: arange(d) with i // 2 in the exponent.
    source = """
    import torch

    def angle_defn(pos, i, d_model_size):
        angle_rates = 1 / torch.pow(10000, (2 * (i // 2)) / d_model_size)
        return pos * angle_rates

    def positional_encoding(position, d_model_size):
        angle_rads = angle_defn(
            torch.arange(position).float().unsqueeze(1),
            torch.arange(d_model_size).float().unsqueeze(0),
            d_model_size,
        )
        sines = torch.sin(angle_rads[:, 0::2])
        cosines = torch.cos(angle_rads[:, 1::2])
        return torch.cat([sines, cosines], dim=-1)
    """
    assert lint(source) == []


def test_sin_cos_of_whole_grid_is_clean():
    source = """
    import math
    import torch

    def table(max_len, d_model):
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        angles = position * div_term
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(angles)
        pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
        return pe
    """
    assert lint(source) == []


def test_repeated_frequencies_are_clean():
    source = """
    import torch

    def table(n, d):
        inv_freq = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        inv_freq = inv_freq.repeat_interleave(2)
        angles = torch.arange(n).float()[:, None] * inv_freq[None, :]
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == []


def test_grid_reassigned_before_slicing_is_clean():
    source = """
    import torch

    def table(n, d):
        inv_freq = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        angles = torch.arange(n).float()[:, None] * inv_freq
        angles = torch.cat([angles, angles], dim=-1)
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == []


def test_rotary_halves_of_input_are_clean():
    # Rotary code slices the input by two, not the angle grid.
    source = """
    import torch

    def rotate(x, t, d):
        inv_freq = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        freqs = t[:, None] * inv_freq[None, :]
        x1, x2 = x[..., 0::2], x[..., 1::2]
        cos, sin = freqs.cos(), freqs.sin()
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    """
    assert lint(source) == []


def test_only_sin_on_slice_is_clean():
    source = """
    import torch

    def table(n, d):
        inv_freq = torch.arange(0, d, 2).float()
        angles = torch.arange(n).float()[:, None] * inv_freq
        return torch.sin(angles[:, 0::2])
    """
    assert lint(source) == []


def test_sliced_frequency_vector_is_clean():
    # A bounded slice may change the width, so the grid is not known to be half-width.
    source = """
    import torch

    def table(n, d):
        inv_freq = torch.arange(0, 2 * d, 2).float()[:d]
        angles = torch.arange(n).float()[:, None] * inv_freq
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == []


def test_strided_positions_with_full_width_frequencies_are_clean():
    # The step-2 arange here is a column of positions, not the frequency vector.
    source = """
    import torch

    def table(n, d):
        positions = torch.arange(0, 2 * n, 2).float().unsqueeze(1)
        rates = 1 / torch.pow(10000, (2 * (torch.arange(d) // 2)) / d)
        angles = positions * rates.unsqueeze(0)
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == []


def test_arange_outside_any_exponent_is_clean():
    source = """
    import torch

    def table(n, d):
        steps = torch.arange(0, d, 2).float()
        angles = torch.arange(n).float()[:, None] * steps[None]
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == []


def test_row_indexing_with_none_is_reported():
    source = """
    import torch

    def table(n, d):
        inv_freq = 10000 ** (-torch.arange(0, d, 2).float() / d)
        angles = torch.arange(n).float()[:, None] * inv_freq[None]
        angles[:, 0::2] = torch.sin(angles[:, 0::2])
        angles[:, 1::2] = torch.cos(angles[:, 1::2])
        return angles
    """
    assert lint(source) == [(CODE, 7)]
