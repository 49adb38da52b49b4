"""PEL502 fix: slice the cos term of a sinusoid table to `d // 2` columns."""

import importlib.util
import textwrap
from pathlib import Path

import pytest

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source

HEADER = """\
import math

import numpy as np
import torch


"""

SETTINGS = Settings(select=validate_selectors(["PEL502"]))
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "PEL502"


def fix(body: str) -> str:
    outcome = fix_source((HEADER + textwrap.dedent(body)).encode(), "example.py", SETTINGS)
    assert outcome.error is None, outcome.error
    return outcome.source.decode()[len(HEADER):]


def fixable(body: str) -> list:
    result = lint_source(HEADER + textwrap.dedent(body), "example.py", SETTINGS)
    return [diagnostic.fixable for diagnostic in result.diagnostics]


def table_builder(width: str, cos_line: str) -> str:
    return textwrap.dedent(
        f"""
        def build_table(max_len, d_model, config):
            pe = torch.zeros(max_len, {width})
            position = torch.arange(0, max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, {width}, 2) * -(math.log(10000.0) / {width}))
            pe[:, 0::2] = torch.sin(position * div_term)
            {cos_line}
            return pe
        """
    )


REWRITES = [
    pytest.param(
        table_builder("d_model", "pe[:, 1::2] = torch.cos(position * div_term)"),
        table_builder("d_model", "pe[:, 1::2] = torch.cos(position * div_term)[..., : d_model // 2]"),
        id="plain",
    ),
    pytest.param(
        table_builder("config.hidden_size", "pe[:, 1::2] = (position * div_term).cos()  # odd"),
        table_builder(
            "config.hidden_size",
            "pe[:, 1::2] = (position * div_term).cos()[..., : config.hidden_size // 2]  # odd",
        ),
        id="attribute-width-method-call-comment-kept",
    ),
    pytest.param(
        table_builder("config.a + config.b", "pe[:, 1::2] = torch.cos(position * div_term)"),
        table_builder(
            "config.a + config.b",
            "pe[:, 1::2] = torch.cos(position * div_term)[..., : (config.a + config.b) // 2]",
        ),
        id="sum-width-bracketed",
    ),
    pytest.param(
        table_builder("2 * d_model + 1", "pe[:, 1::2] = torch.cos(position * div_term)"),
        table_builder(
            "2 * d_model + 1",
            "pe[:, 1::2] = torch.cos(position * div_term)[..., : (2 * d_model + 1) // 2]",
        ),
        id="odd-expression-width",
    ),
    pytest.param(
        """
        def sequence_first(max_len, d_model):
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            return pe
        """,
        """
        def sequence_first(max_len, d_model):
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)[..., : d_model // 2]
            return pe
        """,
        id="sequence-first-layout",
    ),
    pytest.param(
        """
        def numpy_table(n_position, d_hid):
            table = np.zeros((n_position, d_hid))
            position = np.arange(n_position)[:, None]
            div_term = np.exp(np.arange(0, d_hid, 2) * -(math.log(10000.0) / d_hid))
            table[:, 0::2] = np.sin(position * div_term)
            table[:, 1::2] = np.cos(position * div_term)
            return table
        """,
        """
        def numpy_table(n_position, d_hid):
            table = np.zeros((n_position, d_hid))
            position = np.arange(n_position)[:, None]
            div_term = np.exp(np.arange(0, d_hid, 2) * -(math.log(10000.0) / d_hid))
            table[:, 0::2] = np.sin(position * div_term)
            table[:, 1::2] = np.cos(position * div_term)[..., : d_hid // 2]
            return table
        """,
        id="numpy",
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
        def half_frequencies(max_len, d_model):
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(d_model // 2) * -(math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            return pe
        """,
        id="sin-short-of-one-frequency",
    ),
    pytest.param(
        """
        def width_from_call(max_len, layer):
            pe = torch.zeros(max_len, layer.width())
            position = torch.arange(0, max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, layer.width(), 2) * -(math.log(10000.0) / 64))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            return pe
        """,
        id="width-is-a-call",
    ),
    pytest.param(
        """
        def width_reassigned(max_len, d_model):
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * -(math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            d_model = d_model + 1
            pe[:, 1::2] = torch.cos(position * div_term)
            return pe
        """,
        id="width-reassigned-before-cos",
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


def import_fixture(name: str):
    path = FIXTURES / name
    spec = importlib.util.spec_from_file_location(f"pel502_fixture_{path.stem.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("width", [15, 16])
def test_fixed_fixture_builds_odd_and_even_widths(width):
    import torch

    fixed = import_fixture("cos_overfills.fixed.py")

    table = fixed.PositionalEncoding(d_model=width).pe

    assert table.shape == (50, width)
    pairs = width // 2
    sin, cos = table[:, 0 : 2 * pairs : 2], table[:, 1 : 2 * pairs : 2]
    torch.testing.assert_close(sin**2 + cos**2, torch.ones(50, pairs))


def test_original_fixture_fails_for_odd_width():
    original = import_fixture("cos_overfills.py")

    with pytest.raises(RuntimeError):
        original.PositionalEncoding(d_model=15)
