"""corpus/check_everything.py: file selection and the checks on a small tree."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "corpus"))

import check_everything  # noqa: E402 - found through the sys.path entry above

GOOD = b"""\
import torch
from torch import nn

class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))

    def forward(self, x):
        return x + self.pos_embed
"""


def make_tree(root: Path) -> check_everything.Tree:
    package = root / "site" / "pkg"
    (package / "models").mkdir(parents=True)
    (package / "models" / "embed.py").write_bytes(GOOD)
    (package / "clean.py").write_bytes(b"import torch\n\nVALUE = 1\n")
    (package / "notes.txt").write_bytes(b"not Python\n")
    return check_everything.Tree("pkg", root / "site", "pkg")


def test_glob_pattern_matches_nested_files():
    assert check_everything.matches("transformers/models/bert/modeling_bert.py", ["transformers/models/*"])


def test_plain_pattern_matches_folder():
    assert check_everything.matches("transformers/models/bert/modeling_bert.py", ["transformers/models"])


def test_pattern_rejects_other_folder():
    assert not check_everything.matches("transformers/utils/hub.py", ["transformers/models"])


def test_no_pattern_matches_everything():
    assert check_everything.matches("anything.py", [])


def test_select_files_keeps_python_files(tmp_path):
    tree = make_tree(tmp_path)

    assert check_everything.select_files(tree, []) == ["pkg/clean.py", "pkg/models/embed.py"]


def test_select_files_applies_filter(tmp_path):
    tree = make_tree(tmp_path)

    assert check_everything.select_files(tree, ["pkg/models"]) == ["pkg/models/embed.py"]


def test_check_tree_fixes_copy_without_problems(tmp_path):
    tree = make_tree(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    report = check_everything.check_tree(tree, [], scratch, jobs=1, seeds=["0", "1"])

    assert report.problems == []
    assert report.files == 2
    assert report.with_findings == 1
    assert report.rewritten == 1
    assert (tree.root / "pkg" / "models" / "embed.py").read_bytes() == GOOD


def test_check_tree_reports_change_without_findings(tmp_path, monkeypatch):
    tree = make_tree(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    real_fix_copy = check_everything.fix_copy

    def fix_copy(copy, jobs, seed=None):
        completed = real_fix_copy(copy, jobs, seed)
        (copy / "pkg" / "clean.py").write_bytes(b"import torch\n\nVALUE = 2\n")
        return completed

    monkeypatch.setattr(check_everything, "fix_copy", fix_copy)

    report = check_everything.check_tree(tree, [], scratch, jobs=1, seeds=[])

    assert "pkg/clean.py: --fix changed a file without findings" in report.problems
