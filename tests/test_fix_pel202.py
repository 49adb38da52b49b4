"""PEL202 fix: raise a `ValueError` before a position table is used past its length."""

import textwrap

import pytest

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source

HEADER = """\
import torch
from torch import nn
"""

SETTINGS = Settings(select=validate_selectors(["PEL202"]))

SLICED_TABLE = """
class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=512):
        super().__init__()
        self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)
"""

FLAT_TABLE = """
class FlatEncoding(nn.Module):
    def __init__(self, d_model, max_len=512):
        super().__init__()
        self.pe = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
"""

CCT_TABLE = """
def exists(value):
    return value is not None


class TransformerClassifier(nn.Module):
    def __init__(self, sequence_length, dim, learned=True):
        super().__init__()
        self.sequence_length = sequence_length
        if learned:
            self.positional_emb = nn.Parameter(torch.zeros(1, sequence_length, dim))
        else:
            self.positional_emb = None
"""

BERT_TABLE = """
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )
"""

LOOKUP_TABLE = """
class TextEmbeddings(nn.Module):
    def __init__(self, d_model, max_len=512):
        super().__init__()
        self.position_embeddings = nn.Embedding(max_len, d_model)
"""


def with_forward(table: str, forward: str, signature: str = "self, x") -> str:
    body = textwrap.indent(textwrap.dedent(forward).strip("\n"), " " * 8)
    return f"{table}\n    def forward({signature}):\n{body}\n"


def fix(source: str) -> str:
    outcome = fix_source((HEADER + source).encode(), "example.py", SETTINGS)
    assert outcome.error is None, outcome.error
    return outcome.source.decode()[len(HEADER):]


def fixable(source: str) -> list:
    result = lint_source(HEADER + source, "example.py", SETTINGS)
    return [diagnostic.fixable for diagnostic in result.diagnostics]


def check(bound: str, size: str, attr: str, indent: int = 8, ids: bool = False) -> str:
    table = f"position ids `{attr}`" if ids else f"position table `{attr}`"
    lines = [
        f"if {bound} > {size}:",
        "    raise ValueError(",
        f'        f"sequence length {{{bound}}} exceeds the maximum "',
        f'        f"{{{size}}} of {table}"',
        "    )",
    ]
    return "".join(" " * indent + line + "\n" for line in lines)


REWRITES = [
    pytest.param(
        with_forward(SLICED_TABLE, "return x + self.pe[:, : x.size(1)]"),
        with_forward(SLICED_TABLE, "return x + self.pe[:, : x.size(1)]").replace(
            "        return x", check("x.size(1)", "self.pe.size(1)", "pe") + "        return x"
        ),
        id="slice-on-axis-one",
    ),
    pytest.param(
        with_forward(
            SLICED_TABLE,
            """
            seq_len = x.shape[1]
            # add the table
            return x + self.pe[None, 0, :seq_len]
            """,
        ),
        with_forward(
            SLICED_TABLE,
            """
            seq_len = x.shape[1]
            # add the table
            return x + self.pe[None, 0, :seq_len]
            """,
        ),
        id="index-before-slice-not-fixed",
    ),
    pytest.param(
        with_forward(
            FLAT_TABLE,
            """
            seq_len = x.shape[1]

            # add the table
            return x + self.pe.data[None, :seq_len]
            """,
        ),
        with_forward(
            FLAT_TABLE,
            """
            seq_len = x.shape[1]

            # add the table
            return x + self.pe.data[None, :seq_len]
            """,
        ).replace(
            "        # add the table",
            check("seq_len", "self.pe.data.size(0)", "pe") + "        # add the table",
        ),
        id="none-axis-blank-line-before-check",
    ),
    pytest.param(
        with_forward(
            LOOKUP_TABLE,
            """
            seq_length = input_ids.shape[1]
            position_ids = torch.arange(seq_length, device=input_ids.device)
            position_ids = position_ids.unsqueeze(0).expand_as(input_ids)
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids",
        ),
        with_forward(
            LOOKUP_TABLE,
            """
            seq_length = input_ids.shape[1]
            position_ids = torch.arange(seq_length, device=input_ids.device)
            position_ids = position_ids.unsqueeze(0).expand_as(input_ids)
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids",
        ).replace(
            "        position_ids = torch.arange",
            check("seq_length", "self.position_embeddings.num_embeddings", "position_embeddings")
            + "        position_ids = torch.arange",
        ),
        id="embedding-lookup-through-names",
    ),
    pytest.param(
        with_forward(
            LOOKUP_TABLE,
            """
            seq_length = input_ids.shape[1]
            if position_ids is None:
                position_ids = torch.arange(seq_length, dtype=torch.long)
                position_ids = position_ids.unsqueeze(0).expand(input_ids.shape)
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids, position_ids=None, token_type_ids=None",
        ),
        with_forward(
            LOOKUP_TABLE,
            """
            seq_length = input_ids.shape[1]
            if position_ids is None:
                position_ids = torch.arange(seq_length, dtype=torch.long)
                position_ids = position_ids.unsqueeze(0).expand(input_ids.shape)
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids, position_ids=None, token_type_ids=None",
        ).replace(
            "            position_ids = torch.arange",
            check("seq_length", "self.position_embeddings.num_embeddings", "position_embeddings", indent=12)
            + "            position_ids = torch.arange",
        ),
        id="ids-built-in-branch-used-after",
    ),
    pytest.param(
        with_forward(
            BERT_TABLE,
            """
            batch_size, seq_length = input_ids.size()

            if position_ids is None:
                position_ids = self.position_ids[:, cache_length : seq_length + cache_length]

            return self.position_embeddings(position_ids)
            """,
            "self, input_ids, position_ids=None, cache_length: int = 0",
        ),
        with_forward(
            BERT_TABLE,
            """
            batch_size, seq_length = input_ids.size()

            if position_ids is None:
                position_ids = self.position_ids[:, cache_length : seq_length + cache_length]

            return self.position_embeddings(position_ids)
            """,
            "self, input_ids, position_ids=None, cache_length: int = 0",
        ).replace(
            "            position_ids = self.position_ids[",
            check(
                "seq_length + cache_length", "self.position_ids.size(1)", "position_ids", indent=12, ids=True
            )
            + "            position_ids = self.position_ids[",
        ),
        id="slice-of-position-id-buffer",
    ),
    pytest.param(
        with_forward(
            SLICED_TABLE,
            """
            if self.training:
                x = x + self.pe[:, : x.size(1)]
            return x + self.pe[:, : x.size(1)]
            """,
        ),
        with_forward(
            SLICED_TABLE,
            """
            if self.training:
                x = x + self.pe[:, : x.size(1)]
            return x + self.pe[:, : x.size(1)]
            """,
        ).replace(
            "            x = x + self.pe",
            check("x.size(1)", "self.pe.size(1)", "pe", indent=12) + "            x = x + self.pe",
        ),
        id="check-inside-branch-covers-branch-only",
    ),
]


@pytest.mark.parametrize("original, expected", REWRITES)
def test_rewrite(original, expected):
    assert fix(original) == expected


@pytest.mark.parametrize("original, expected", REWRITES)
def test_second_fix_changes_nothing(original, expected):
    once = fix(original)
    assert fix(once) == once


def test_check_in_branch_then_after_branch():
    # The first pass checks the use in the branch; the later use still needs its own check.
    source = with_forward(
        SLICED_TABLE,
        """
        if self.training:
            x = x + self.pe[:, : x.size(1)]
        return x + self.pe[:, : x.size(1)]
        """,
    )
    fixed = fix(source)
    assert fixed.count("raise ValueError(") == 1
    assert fixable(fixed) == []


NOT_FIXABLE = [
    pytest.param(
        with_forward(SLICED_TABLE, "return x + self.pe[:, : x.size(1)] if use_pe else x", "self, x, use_pe"),
        id="conditional-expression",
    ),
    pytest.param(
        with_forward(
            SLICED_TABLE,
            """
            try:
                return x + self.pe[:, : x.size(1)]
            except RuntimeError:
                return x
            """,
        ),
        id="inside-try",
    ),
    pytest.param(
        with_forward(
            SLICED_TABLE,
            """
            add = lambda t: t + self.pe[:, : t.size(1)]
            return add(x)
            """,
        ),
        id="inside-lambda",
    ),
    pytest.param(
        with_forward(SLICED_TABLE, "return x + self.pe[:, : self.length_of(x)]"),
        id="length-from-a-method-call",
    ),
    pytest.param(
        with_forward(
            LOOKUP_TABLE,
            """
            position_ids = torch.arange(input_ids.shape[1]) + offset
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids, offset",
        ),
        id="ids-shifted-by-arithmetic",
    ),
    pytest.param(
        with_forward(
            LOOKUP_TABLE,
            """
            position_ids = torch.arange(input_ids.shape[1])
            if input_ids.dim() == 3:
                return None
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids",
        ),
        id="early-return-between",
    ),
    pytest.param(
        with_forward(
            LOOKUP_TABLE,
            """
            for chunk in input_ids.split(8, dim=1):
                position_ids = torch.arange(chunk.shape[1])
            return self.position_embeddings(position_ids)
            """,
            "self, input_ids",
        ),
        id="ids-built-in-loop-used-after",
    ),
    pytest.param(
        with_forward(
            LOOKUP_TABLE,
            """
            position_ids = torch.arange(input_ids.shape[1])
            if input_ids.dim() == 2:
                return self.position_embeddings(position_ids)
            return None
            """,
            "self, input_ids",
        ),
        id="lookup-on-one-branch-only",
    ),
    pytest.param(
        with_forward(
            CCT_TABLE,
            """
            if not exists(self.positional_emb) and x.size(1) < self.sequence_length:
                x = nn.functional.pad(x, (0, 0, 0, self.sequence_length - x.size(1)))
            if exists(self.positional_emb):
                x += self.positional_emb
            return x
            """,
        ),
        id="whole-table-addition",
    ),
]


@pytest.mark.parametrize("original", NOT_FIXABLE)
def test_no_fix_offered(original):
    flags = fixable(original)
    assert flags, "the rule no longer reports this case"
    assert not any(flags)


@pytest.mark.parametrize("original", NOT_FIXABLE)
def test_unfixable_file_left_unchanged(original):
    assert fix(original) == original


def test_id_buffer_sliced_after_new_axis():
    source = with_forward(
        LOOKUP_TABLE.replace(
            "        self.position_embeddings = nn.Embedding(max_len, d_model)\n",
            "        self.position_embeddings = nn.Embedding(max_len, d_model)\n"
            "        self.position_ids = nn.Buffer(torch.arange(max_len), persistent=False)\n",
        ),
        """
        if position_ids is None:
            position_ids = self.position_ids[None, : input_ids.shape[-1]]
        return self.position_embeddings(position_ids)
        """,
        "self, input_ids, position_ids=None",
    )
    expected = source.replace(
        "            position_ids = self.position_ids[None",
        check("input_ids.shape[-1]", "self.position_ids.size(0)", "position_ids", indent=12, ids=True)
        + "            position_ids = self.position_ids[None",
    )
    assert fix(source) == expected
