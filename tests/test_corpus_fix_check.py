"""Tests of the `--fix-check` part of corpus/check_corpus.py on small trees of its own."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "corpus" / "check_corpus.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("check_corpus_for_fix_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class body runs.
    sys.modules["check_corpus_for_fix_check"] = module
    spec.loader.exec_module(module)
    return module


cc = _load_script()

PACKAGE = cc.Package("demo-models", "1.0")

PLAIN_TABLE = """\
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, max_len, d):
        super().__init__()
        pe = torch.zeros(max_len, d)
        self.pe = pe

    def forward(self, x):
        return x + self.pe[: x.size(1)]
"""

CLEAN = "def add(a, b):\n    return a + b\n"


def completed(returncode=0, stderr=""):
    return subprocess.CompletedProcess([], returncode, "", stderr)


def make_tree(root: Path) -> Path:
    (root / "demo" / "sub").mkdir(parents=True)
    (root / "demo" / "model.py").write_text(PLAIN_TABLE)
    (root / "demo" / "sub" / "util.py").write_text(CLEAN)
    (root / "demo" / "README.txt").write_text("not Python\n")
    return root


def copy_tree(original: Path, copy: Path) -> Path:
    import shutil

    shutil.copytree(original, copy)
    return copy


def problems_of(result):
    problems, _ = result
    return [(problem.path, problem.problem) for problem in problems]


def test_compare_trees_finds_changes(tmp_path):
    original = make_tree(tmp_path / "a")
    copy = copy_tree(original, tmp_path / "b")
    (copy / "demo" / "model.py").write_text("changed\n")
    (copy / "demo" / "README.txt").unlink()
    (copy / "demo" / "extra.tmp").write_text("")

    changes = cc.compare_trees(original, copy)

    assert changes.changed == ["demo/model.py"]
    assert changes.missing == ["demo/README.txt"]
    assert changes.added == ["demo/extra.tmp"]


def test_parse_problem():
    assert cc.parse_problem(b"x = 1\n") is None
    assert cc.parse_problem(b"x = (\n") is not None


def test_fix_errors_paths_relative_to_root(tmp_path):
    stderr = (
        "Found 1 finding\n"
        f"posenc-lint: error: {tmp_path}/demo/model.py: fixes not applied: reason; the file was left unchanged\n"
    )

    assert cc.fix_errors(stderr, tmp_path, Path("/")) == [
        ("demo/model.py", "fixes not applied: reason; the file was left unchanged")
    ]


def test_fixed_copy_passes(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    result = cc.run_fix([copy], 1, "fixing")

    problems, rewritten = cc.check_fixed_copy(PACKAGE, original, copy, "", {"demo/model.py"}, result, 1)

    assert problems == []
    assert rewritten == 1
    assert 'self.register_buffer("pe", pe, persistent=False)' in (copy / "demo" / "model.py").read_text()
    assert (copy / "demo" / "sub" / "util.py").read_text() == CLEAN


def test_fixed_copy_of_subfolder(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    result = cc.run_fix([copy / "demo" / "sub"], 1, "fixing")

    problems, rewritten = cc.check_fixed_copy(PACKAGE, original, copy, "demo/sub", set(), result, 1)

    assert problems == []
    assert rewritten == 0


def test_change_without_findings_fails(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    (copy / "demo" / "sub" / "util.py").write_text(CLEAN + "# touched\n")

    result = cc.check_fixed_copy(PACKAGE, original, copy, "", {"demo/model.py"}, completed(), 1)

    assert problems_of(result) == [("demo/sub/util.py", "changed although it has no findings")]


def test_rewrite_that_does_not_parse_fails(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    (copy / "demo" / "model.py").write_text(PLAIN_TABLE + "def broken(:\n")

    problems = problems_of(
        cc.check_fixed_copy(PACKAGE, original, copy, "", {"demo/model.py"}, completed(), 1)
    )

    parse_failures = [problem for path, problem in problems if path == "demo/model.py"]
    assert any(problem.startswith("the fixed file does not parse: ") for problem in parse_failures)
    assert any(problem.endswith(" on line 13") for problem in parse_failures)


def test_rewrite_changed_by_second_fix_fails(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    # A first pass that left a fixable finding behind, as a fix that does not settle would.
    (copy / "demo" / "model.py").write_text(PLAIN_TABLE + "\n")

    problems = problems_of(
        cc.check_fixed_copy(PACKAGE, original, copy, "", {"demo/model.py"}, completed(), 1)
    )

    assert len(problems) == 1
    path, problem = problems[0]
    assert path == "demo/model.py"
    assert problem.startswith("a second --fix changed the file again:\n")
    assert "-        self.pe = pe" in problem


def test_files_added_or_removed_fail(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    (copy / "demo" / ".model.py.abc.posenc-lint.tmp").write_text("")
    (copy / "demo" / "README.txt").unlink()

    problems = problems_of(cc.check_fixed_copy(PACKAGE, original, copy, "", set(), completed(), 1))

    assert problems == [
        ("demo/README.txt", "the file disappeared from the fixed copy"),
        ("demo/.model.py.abc.posenc-lint.tmp", "a new file appeared in the fixed copy"),
    ]


def test_fix_errors_fail_naming_file(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")
    stderr = f"posenc-lint: error: {copy}/demo/model.py: fixes not applied: it broke; the file was left unchanged\n"

    problems = problems_of(
        cc.check_fixed_copy(PACKAGE, original, copy, "", {"demo/model.py"}, completed(2, stderr), 1)
    )

    assert problems == [("demo/model.py", "not fixed: fixes not applied: it broke; the file was left unchanged")]


def test_failed_run_without_error_lines_fails(tmp_path):
    original = make_tree(tmp_path / "original")
    copy = copy_tree(original, tmp_path / "copy")

    problems = problems_of(
        cc.check_fixed_copy(PACKAGE, original, copy, "", set(), completed(2, "Traceback: boom\n"), 1)
    )

    assert len(problems) == 1
    assert problems[0][1].startswith("posenc-lint --fix exited with 2")
    assert "boom" in problems[0][1]


def test_fix_check_option_parsed():
    assert cc.build_parser().parse_args(["--fix-check"]).fix_check is True
    assert cc.build_parser().parse_args([]).fix_check is False


def test_fix_check_copies_and_cleans_up(tmp_path, monkeypatch, capsys):
    root = make_tree(tmp_path / "unpacked")
    findings = [cc.Finding(PACKAGE.key, "demo/model.py", 9, "PEL303", "message")]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(cc.tempfile, "tempdir", str(scratch))

    problems = cc.fix_check([PACKAGE], {PACKAGE.key: root}, {}, findings, 1)

    assert problems == []
    assert (root / "demo" / "model.py").read_text() == PLAIN_TABLE, "the original tree must stay as it was"
    assert list(scratch.iterdir()) == []
    assert "fix check: demo-models==1.0: 1 files rewritten, 0 problems" in capsys.readouterr().out


@pytest.mark.parametrize("prefix", ["", "demo"])
def test_fix_check_subfolder(tmp_path, prefix):
    root = make_tree(tmp_path / "unpacked")
    findings = [cc.Finding(PACKAGE.key, "demo/model.py", 9, "PEL303", "message")]
    subfolders = {PACKAGE.key: prefix} if prefix else {}

    assert cc.fix_check([PACKAGE], {PACKAGE.key: root}, subfolders, findings, 1) == []
