"""PEL502: one half of a sinusoid table does not fit its columns for an odd width."""

from helpers import findings

CODE = "PEL502"


def lint(source):
    return findings(source, select=[CODE])


def test_rule_is_off_by_default():
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    """
    assert CODE not in [code for code, _ in findings(source)]
    assert lint(source) == [(CODE, 10)]


def test_static_method_with_config_width_is_reported():
    # The shape of PatchTST's _init_pe in transformers.
    source = """
    import math
    import torch
    from torch import nn

    class Encoder(nn.Module):
        @staticmethod
        def _init_pe(config, num_patches):
            if config.positional_encoding_type == "sincos":
                position_enc = torch.zeros(num_patches, config.d_model)
                position = torch.arange(0, num_patches).unsqueeze(1)
                div_term = torch.exp(
                    torch.arange(0, config.d_model, 2) * -(math.log(10000.0) / config.d_model)
                )
                position_enc[:, 0::2] = torch.sin(position * div_term)
                position_enc[:, 1::2] = torch.cos(position * div_term)
                return nn.Parameter(position_enc, requires_grad=False)
            return None
    """
    assert lint(source) == [(CODE, 16)]


def test_negative_positions_are_reported_per_table():
    source = """
    import math
    import torch

    def relative_tables(length, d_model):
        pe_positive = torch.zeros(length, d_model)
        pe_negative = torch.zeros(length, d_model)
        position = torch.arange(0, length, dtype=torch.int64).float().unsqueeze(1)
        div_term = torch.exp(
            torch.arange(0, d_model, 2, dtype=torch.int64).float() * -(math.log(10000.0) / d_model)
        )
        pe_positive[:, 0::2] = torch.sin(position * div_term)
        pe_positive[:, 1::2] = torch.cos(position * div_term)
        pe_negative[:, 0::2] = torch.sin(-1 * position * div_term)
        pe_negative[:, 1::2] = torch.cos(-1 * position * div_term)
        return pe_positive, pe_negative
    """
    assert lint(source) == [(CODE, 13), (CODE, 15)]


def test_numpy_table_is_reported():
    source = """
    import numpy as np

    def build_table(n, d):
        table = np.zeros((n, d))
        freqs = np.exp(np.arange(0, d, 2) * (-9.21 / d))
        table[:, 0::2] = np.sin(np.arange(n)[:, None] * freqs)
        table[:, 1::2] = np.cos(np.arange(n)[:, None] * freqs)
        return table
    """
    assert lint(source) == [(CODE, 8)]


def test_assert_even_width_is_clean():
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        assert d_model % 2 == 0, "d_model must be even"
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    """
    assert lint(source) == []


def test_check_in_init_covers_helper_on_config():
    source = """
    import math
    import torch
    from torch import nn

    def build_table(config, max_len):
        pe = torch.zeros(max_len, config.hidden_size)
        position = torch.arange(0, max_len).unsqueeze(1)
        width = config.hidden_size
        div_term = torch.exp(torch.arange(0, config.hidden_size, 2) * -(math.log(10000.0) / width))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe

    class Encoder(nn.Module):
        def __init__(self, config):
            super().__init__()
            if config.hidden_size % 2:
                raise ValueError("hidden_size must be even")
            self.register_buffer("pe", build_table(config, 512))
    """
    assert lint(source) == []


def test_odd_branch_is_clean():
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        if d_model & 1:
            pe[:, 1::2] = torch.cos(position * div_term)[:, :-1]
        else:
            pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    """
    assert lint(source) == []


def test_frequencies_sliced_to_half_are_clean():
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        return pe
    """
    assert lint(source) == []


def test_even_width_is_clean():
    source = """
    import math
    import torch

    def build_table(max_len, half):
        d_model = 2 * half
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe

    def fixed_table(max_len):
        pe = torch.zeros(max_len, 64)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, 64, 2) * -(math.log(10000.0) / 64))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    """
    assert lint(source) == []


def test_half_range_frequencies_are_clean():
    # arange(d // 2) has floor(d / 2) elements, as many as 1::2 has.
    source = """
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = 10000 ** (-torch.arange(d_model // 2) / d_model)
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    """
    assert lint(source) == []


def test_wider_table_is_clean():
    source = """
    import math
    import torch

    def build_table(max_len, d_model):
        pe = torch.zeros(max_len, d_model + 1)
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe[:, :d_model]
    """
    assert lint(source) == []


def test_table_of_unknown_shape_is_clean():
    source = """
    import math
    import torch

    def fill_table(pe, max_len, d_model):
        position = torch.arange(0, max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
        pe[:, 1::2] = torch.cos(position * div_term)
        return pe
    """
    assert lint(source) == []


def test_cos_of_table_columns_is_clean():
    # The shape of VideoMAE's sinusoid table: cos of existing odd columns fits any width.
    source = """
    import numpy as np

    def sinusoid_table(n_position, d_hid):
        table = np.array([[p / np.power(10000, 2 * (j // 2) / d_hid) for j in range(d_hid)]
                          for p in range(n_position)])
        table[:, 0::2] = np.sin(table[:, 0::2])
        table[:, 1::2] = np.cos(table[:, 1::2])
        return table
    """
    assert lint(source) == []


def test_half_range_frequencies_in_even_columns_are_reported():
    # arange(d // 2) has floor(d / 2) elements, one fewer than 0::2 has for an odd width.
    source = """
    import math
    import torch

    def build_table(max_positions, embed_dim):
        half_dim = embed_dim // 2
        freqs = torch.exp(torch.arange(half_dim).float() * -(math.log(10000) / half_dim))
        angles = torch.arange(max_positions).float().unsqueeze(1) * freqs.unsqueeze(0)
        table = torch.empty((max_positions, embed_dim))
        table[:, 0::2] = torch.sin(angles)
        table[:, 1::2] = torch.cos(angles)
        return table
    """
    assert lint(source) == [(CODE, 10)]
