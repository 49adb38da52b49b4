"""PEL402 fix: pass the device to `torch.arange` instead of moving its result."""

import textwrap

import pytest

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source

HEADER = """\
import torch
from torch import nn


"""

SETTINGS = Settings(select=validate_selectors(["PEL402"]))


def module(forward_body: str, signature: str = "self, x") -> str:
    """Wrap a ``forward`` body in a module class with a position embedding."""
    body = textwrap.indent(textwrap.dedent(forward_body).strip("\n"), " " * 8)
    return (
        "class Embed(nn.Module):\n"
        "    def __init__(self, max_len, dim):\n"
        "        super().__init__()\n"
        "        self.pos_embed = nn.Embedding(max_len, dim)\n"
        "\n"
        f"    def forward({signature}):\n"
        f"{body}\n"
    )


def fix(source: str) -> str:
    outcome = fix_source((HEADER + source).encode(), "example.py", SETTINGS)
    assert outcome.error is None, outcome.error
    return outcome.source.decode()[len(HEADER):]


def fixable(source: str) -> list:
    result = lint_source(HEADER + source, "example.py", SETTINGS)
    return [diagnostic.fixable for diagnostic in result.diagnostics]


REWRITES = [
    pytest.param(
        """
        N, seq_length = x.shape[0], x.shape[1]
        positions = torch.arange(0, seq_length).expand(N, seq_length).to(x.device)
        return self.pos_embed(positions)
        """,
        """
        N, seq_length = x.shape[0], x.shape[1]
        positions = torch.arange(0, seq_length, device=x.device).expand(N, seq_length)
        return self.pos_embed(positions)
        """,
        id="expand-then-to",
    ),
    pytest.param(
        """
        return self.pos_embed(torch.arange(x.shape[1])[None, :].to(device=x.device))
        """,
        """
        return self.pos_embed(torch.arange(x.shape[1], device=x.device)[None, :])
        """,
        id="device-keyword-after-index",
    ),
    pytest.param(
        """
        positions = torch.arange(x.shape[1]).unsqueeze(0).to(x.device, torch.long, non_blocking=True)
        return self.pos_embed(positions)
        """,
        """
        positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0).to(torch.long)
        return self.pos_embed(positions)
        """,
        id="dtype-kept-non-blocking-dropped",
    ),
    pytest.param(
        """
        positions = torch.arange(x.shape[1]).to(device=x.device, dtype=torch.long)
        return self.pos_embed(positions)
        """,
        """
        positions = torch.arange(x.shape[1], device=x.device).to(dtype=torch.long)
        return self.pos_embed(positions)
        """,
        id="dtype-keyword-kept",
    ),
    pytest.param(
        """
        a = torch.arange(x.shape[1])[None, :].cuda()
        b = torch.arange(x.shape[1]).cuda(1)
        c = torch.arange(x.shape[1]).cuda(non_blocking=True)
        return self.pos_embed(a) + self.pos_embed(b) + self.pos_embed(c)
        """,
        """
        a = torch.arange(x.shape[1], device="cuda")[None, :]
        b = torch.arange(x.shape[1], device="cuda:1")
        c = torch.arange(x.shape[1], device="cuda")
        return self.pos_embed(a) + self.pos_embed(b) + self.pos_embed(c)
        """,
        id="cuda-calls",
    ),
    pytest.param(
        """
        positions = torch.arange(x.shape[1], dtype=torch.long)
        positions = positions.unsqueeze(0)
        # move them to the model's device
        positions = positions.to(device=x.device)
        return self.pos_embed(positions)
        """,
        """
        positions = torch.arange(x.shape[1], dtype=torch.long, device=x.device)
        positions = positions.unsqueeze(0)
        return self.pos_embed(positions)
        """,
        id="through-local-names-self-assignment-deleted",
    ),
    pytest.param(
        """
        if position_ids is None:
            position_ids = torch.arange(3, 3 + x.shape[1])
            position_ids = position_ids.view(1, 1, -1).expand(3, x.shape[0], -1).to(x.device)
        return self.pos_embed(position_ids)
        """,
        """
        if position_ids is None:
            position_ids = torch.arange(3, 3 + x.shape[1], device=x.device)
            position_ids = position_ids.view(1, 1, -1).expand(3, x.shape[0], -1)
        return self.pos_embed(position_ids)
        """,
        id="inside-a-branch",
    ),
    pytest.param(
        """
        init_index = (
            torch.arange(x.shape[1])
            .view(1, -1, 1)
            .repeat(x.shape[0], 1, 4)
            .to(x.device)
        )
        return init_index
        """,
        """
        init_index = (
            torch.arange(x.shape[1], device=x.device)
            .view(1, -1, 1)
            .repeat(x.shape[0], 1, 4)
        )
        return init_index
        """,
        id="parenthesized-multiline-chain",
    ),
    pytest.param(
        """
        indicator = torch.arange(
            3,
            x.shape[1],
            dtype=torch.long,
        ).to(x.device)
        return self.pos_embed(indicator)
        """,
        """
        indicator = torch.arange(
            3,
            x.shape[1],
            dtype=torch.long,
            device=x.device,
        )
        return self.pos_embed(indicator)
        """,
        id="one-argument-per-line",
    ),
    pytest.param(
        """
        mask = torch.arange(x.shape[1]).expand(x.shape[0], x.shape[1]).to(
            lengths.device
        ) < lengths.unsqueeze(1)
        return x * mask
        """,
        """
        mask = torch.arange(x.shape[1], device=lengths.device).expand(x.shape[0], x.shape[1]) < lengths.unsqueeze(1)
        return x * mask
        """,
        id="move-inside-comparison",
    ),
]

SIGNATURES = {"inside-a-branch": "self, x, position_ids=None", "move-inside-comparison": "self, x, lengths"}


def signature_of(case_id: str) -> str:
    return SIGNATURES.get(case_id, "self, x")


@pytest.mark.parametrize("original, expected", REWRITES)
def test_rewrite(original, expected, request):
    signature = signature_of(request.node.callspec.id)
    assert fix(module(original, signature)) == module(expected, signature)


@pytest.mark.parametrize("original, expected", REWRITES)
def test_second_fix_changes_nothing(original, expected, request):
    once = fix(module(original, signature_of(request.node.callspec.id)))
    assert fix(once) == once


def test_module_level_helper_called_from_forward():
    source = textwrap.dedent(
        """
        def make_position_ids(input_ids, past_length):
            position_ids = torch.arange(past_length, past_length + input_ids.shape[1])
            return position_ids.unsqueeze(0).to(input_ids.device)


        class Embed(nn.Module):
            def __init__(self, max_len, dim):
                super().__init__()
                self.pos_embed = nn.Embedding(max_len, dim)

            def forward(self, input_ids):
                return self.pos_embed(make_position_ids(input_ids, 0))
        """
    )
    expected = source.replace(
        "torch.arange(past_length, past_length + input_ids.shape[1])",
        "torch.arange(past_length, past_length + input_ids.shape[1], device=input_ids.device)",
    ).replace("position_ids.unsqueeze(0).to(input_ids.device)", "position_ids.unsqueeze(0)")
    assert fix(source) == expected


NOT_FIXABLE = [
    pytest.param(
        "self, x, device_index",
        """
        return self.pos_embed(torch.arange(x.shape[1]).cuda(device_index))
        """,
        id="cuda-with-device-variable",
    ),
    pytest.param(
        "self, x",
        """
        positions = torch.arange(x.shape[1]).cuda(memory_format=torch.contiguous_format)
        return self.pos_embed(positions)
        """,
        id="cuda-with-memory-format",
    ),
    pytest.param(
        "self, x, mask",
        """
        positions = torch.arange(x.shape[1]).masked_fill(mask, 0).to(x.device)
        return self.pos_embed(positions)
        """,
        id="step-that-reads-another-tensor",
    ),
    pytest.param(
        "self, x, keep",
        """
        positions = torch.arange(x.shape[1])[keep].to(x.device)
        return self.pos_embed(positions)
        """,
        id="index-by-tensor",
    ),
    pytest.param(
        "self, x",
        """
        positions = torch.arange(x.shape[1])
        lengths = positions + 1
        positions = positions.to(x.device)
        return self.pos_embed(positions) + lengths.sum()
        """,
        id="intermediate-read-elsewhere",
    ),
    pytest.param(
        "self, x, positions=None",
        """
        if positions is None:
            positions = torch.arange(x.shape[1])
        positions = positions.to(x.device)
        return self.pos_embed(positions)
        """,
        id="assigned-on-one-path-only",
    ),
    pytest.param(
        "self, x",
        """
        positions = torch.arange(x.shape[1])
        device = x.device
        positions = positions.to(device)
        return self.pos_embed(positions)
        """,
        id="device-assigned-after-arange",
    ),
    pytest.param(
        "self, x",
        """
        positions = torch.arange(x.shape[1])
        positions = positions.to(next(self.parameters()).device)
        return self.pos_embed(positions)
        """,
        id="device-from-a-call-through-name",
    ),
    pytest.param(
        "self, x",
        """
        try:
            positions = torch.arange(x.shape[1])
            positions = positions.to(x.device)
        except RuntimeError:
            positions = None
        return self.pos_embed(positions)
        """,
        id="inside-try",
    ),
    pytest.param(
        "self, x, **options",
        """
        positions = torch.arange(x.shape[1], **options).to(x.device)
        return self.pos_embed(positions)
        """,
        id="arange-with-unpacked-keywords",
    ),
]


@pytest.mark.parametrize("signature, original", NOT_FIXABLE)
def test_no_fix_offered(signature, original):
    flags = fixable(module(original, signature))
    assert flags, "the rule no longer reports this case"
    assert not any(flags)


@pytest.mark.parametrize("signature, original", NOT_FIXABLE)
def test_unfixable_file_left_unchanged(signature, original):
    source = module(original, signature)
    assert fix(source) == source


def test_fix_message_names_the_move():
    source = module(
        """
        return self.pos_embed(torch.arange(x.shape[1]).cuda())
        """
    )
    result = lint_source(HEADER + source, "example.py", SETTINGS)
    (diagnostic,) = result.diagnostics
    assert diagnostic.fix is not None
    assert diagnostic.fix.message == "Pass `device=` to `torch.arange` and drop the `.cuda()` copy"
