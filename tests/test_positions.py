"""Spans computed statement by statement equal those of LibCST's whole-module PositionProvider."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from posenc_lint import engine, syntax

ROOT = Path(__file__).resolve().parent.parent

TRICKY = [
    "import torch\n\n# a comment\n\n@first\n# between decorators\n@second(1)\nclass A:\n    x = f(1)\n",
    "a = f(1); b = g(2)\nc = h(3)\n",
    "x = (f(1),\n     g(2)); y = h(3)\nz = k(4)\n",
    "import torch\r\n\r\nclass A:\r\n    def forward(self):\r\n        return f(1)\r\n",
    "import torch\n\x0c\nclass A:\n    y = f(2)\n\x0c\nz = g(3)\n",
    "if True:\n    a = f(1)\nelse:\n    b = g(2)\n# trailing comment\n",
    '"""Docstring."""\n\n\ndef f():\n    return g(1)  # comment\n',
    "x = f(1) \\\n    + g(2)\n",
]

FILES = sorted((ROOT / "fixtures").rglob("*.py"))[:20] + [ROOT / "posenc_lint" / "engine.py"]


def assert_same_spans(text: str) -> None:
    module = cst.parse_module(text)
    expected = engine._positions(module)
    calls = [node for node in syntax.walk(module) if isinstance(node, (cst.Call, cst.Assign, cst.ClassDef))]
    assert calls
    found = engine._positions_of(module, text, calls)
    for node in calls:
        assert found[node] == expected[node], module.code_for_node(node)[:60]


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_tricky_layouts(text):
    assert_same_spans(text)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_real_files(path):
    assert_same_spans(path.read_bytes().decode("utf-8"))


def test_statement_count_mismatch_falls_back(monkeypatch):
    text = "a = f(1)\n"
    module = cst.parse_module(text)
    node = module.body[0].body[0].value
    monkeypatch.setattr(engine, "_statement_lines", lambda text, expected: None)

    assert engine._positions_of(module, text, [node])[node] == engine._positions(module)[node]



def test_fix_edit_lines_after_form_feed():
    from posenc_lint.config import Settings

    source = (
        "import torch\n\x0c\nfrom torch import nn\n\n\nclass PositionalEncoding(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.pe = torch.zeros(16, 8)\n\n    def forward(self, x):\n        return x + self.pe[: x.size(1)]\n"
    )
    result = engine.lint_source(source, "model.py", Settings(fix_edits=True, select=("PEL303",)))

    (finding,) = result.diagnostics
    assert finding.start.line == 9
    assert [edit.start.line for edit in finding.fix.edits] == [9]


def test_fix_is_not_applied_when_libcst_drops_bytes():
    from posenc_lint.config import Settings
    from posenc_lint.fixer import fix_source

    source = (
        b"\x0cimport torch\nfrom torch import nn\n\n\nclass PositionalEncoding(nn.Module):\n"
        b"    def __init__(self):\n        super().__init__()\n"
        b"        self.pe = torch.zeros(16, 8)\n\n    def forward(self, x):\n        return x + self.pe[: x.size(1)]\n"
    )
    outcome = fix_source(source, "model.py", Settings(select=("PEL303",)), unsafe=True)

    assert outcome.source == source
    assert "byte for byte" in outcome.error
