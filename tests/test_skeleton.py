"""The cut that skips code no rule reads: it keeps positions, and it never hides a finding."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from posenc_lint import engine, skeleton
from posenc_lint.catalogue import DEFAULT_TABLE_PATTERN
from posenc_lint.config import Settings
from posenc_lint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
EVERY_RULE = Settings(select=("PEL",))


def cut(source: str) -> str:
    result = skeleton.cut(textwrap.dedent(source), DEFAULT_TABLE_PATTERN)
    assert result is not None
    return result


def kept_names(source: str):
    text = cut(source)
    return [line.split()[1].split("(")[0].rstrip(":") for line in text.splitlines() if line.startswith(("class ", "def "))]


def both_ways(source, display="example.py", settings=EVERY_RULE):
    engine.CUT_FILES = True
    try:
        with_cut = engine.lint_source(source, display, settings)
        engine.CUT_FILES = False
        whole = engine.lint_source(source, display, settings)
    finally:
        engine.CUT_FILES = True
    return with_cut, whole


MODULE = """\
import torch
from torch import nn


def helper(n):
    return torch.ones(n)


def sincos_table(n, d):
    position = torch.arange(n)
    return torch.sin(position), torch.cos(position)


class Mlp(nn.Module):
    def forward(self, x):
        return helper(3) * x


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = sincos_table(16, 8)


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, 16, 8))


class Child(Base):
    def forward(self, x):
        return x


class Unrelated:
    value = 3
"""


def test_cut_blanks_unread_definitions():
    assert kept_names(MODULE) == ["sincos_table", "Encoder", "Base", "Child"]


def test_cut_keeps_every_line_in_place():
    text = cut(MODULE)
    original = MODULE.splitlines()
    result = text.splitlines()
    assert len(result) == len(original)
    for before, after in zip(original, result):
        assert after in (before, "")


def test_cut_keeps_bases_and_helpers_of_kept_code():
    source = """\
    import torch
    from torch import nn


    def make(n):
        return torch.zeros(n)


    class Layer(nn.Module):
        pass


    class PositionalEncoding(Layer):
        def __init__(self):
            super().__init__()
            self.weight = make(4)
    """
    assert kept_names(source) == ["make", "Layer", "PositionalEncoding"]


def test_cut_keeps_parameter_change_and_base():
    source = """\
    import torch
    from torch import nn


    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3))


    class Resizer(Holder):
        def forward(self, x):
            self.weight.data = x
            return x


    class Other(nn.Module):
        def forward(self, x):
            return x
    """
    assert kept_names(source) == ["Holder", "Resizer"]


def test_decorators_are_cut_with_their_definition():
    source = "import torch\n\n@decorate\nclass A:\n    pass\n\n\nclass PosEmbed:\n    pass\n"
    assert cut(source) == "import torch\n\n\n\n\n\n\nclass PosEmbed:\n    pass\n"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_are_kept(newline):
    source = newline.join(["import torch", "class A:", "    x = 1", "class PosEmbed:", "    pass", ""])
    assert cut(source) == newline.join(["import torch", "", "", "class PosEmbed:", "    pass", ""])


def test_form_feed_does_not_shift_lines():
    source = "import torch\n\x0c\nclass A:\n    x = 1\n\nclass PosEmbed:\n    pass\n"
    assert cut(source) == "import torch\n\x0c\n\n\n\nclass PosEmbed:\n    pass\n"


def test_file_python_cannot_parse_is_left_whole():
    assert skeleton.cut("import torch\nclass PosEmbed(:\n", DEFAULT_TABLE_PATTERN) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("import numpy as np\nx = 1\n", False),
        ("import torch\nx = torch.ones(3)\n", False),
        ("import torch\nself.pos_embed = 1\n", True),
        ("import numpy as np\npe = np.sin(x)\n", True),
        ("import torch\nclass PositionalEncoding: pass\n", True),
        ("import torch\nx = torch.arange(3)\n", True),
        ("import torch\nw = nn.Parameter(x)\n", True),
    ],
)
def test_could_report(text, expected):
    assert skeleton.could_report(text, DEFAULT_TABLE_PATTERN) is expected


def test_custom_table_pattern_is_honoured():
    text = "import torch\nself.lookup = torch.zeros(3)\n"
    assert not skeleton.could_report(text, DEFAULT_TABLE_PATTERN)
    assert skeleton.could_report(text, r"^lookup$")


# The cut never changes a finding: fixtures, rule examples and generated variants.

FIXTURE_FILES = sorted(path for path in (ROOT / "fixtures").rglob("*.py"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: str(path.relative_to(ROOT / "fixtures")))
def test_fixture_findings_are_the_same_with_the_cut(path):
    with_cut, whole = both_ways(path.read_bytes(), str(path))
    assert with_cut == whole


# PEL900's example is a syntax error in a file no rule reads, which is not parsed at all.
EXAMPLES = [
    (rule.code, index, block)
    for rule in ALL_RULES
    if not getattr(rule, "file_level", False)
    for title in ("Example", "Use instead")
    for index, block in enumerate(rule.code_blocks(title))
]


@pytest.mark.parametrize("code, index, block", EXAMPLES, ids=lambda value: str(value)[:20])
def test_cut_keeps_rule_example_findings(code, index, block):
    # Padding classes around the example give the cut something to remove.
    padded = (
        "import torch\n\n\nclass Before:\n    pass\n\n\n"
        + block
        + "\n\n\nclass After:\n    def forward(self, x):\n        return x\n"
    )
    with_cut, whole = both_ways(padded)
    assert with_cut == whole


def test_cut_bare_position_name_needs_parameter():
    source = """\
    import torch
    from torch import nn


    class Wrapper(nn.Module):
        def forward(self, x, position_ids=None):
            return self.layer(x, position_ids=position_ids)


    class Lookup(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Embedding(512, 8)

        def forward(self, position_ids):
            return self.table(position_ids)
    """
    assert kept_names(source) == ["Lookup"]


def test_concatenation_with_a_builder_keeps_the_class():
    source = """\
    import torch
    from torch import nn
    from .rope import make_freqs


    class Cache(nn.Module):
        def grow(self, n):
            self.cache = torch.cat([self.cache, make_freqs(n - self.cache.size(0))])


    class Other(nn.Module):
        def forward(self, x):
            return torch.cat([x, x])
    """
    assert kept_names(source) == ["Cache"]
