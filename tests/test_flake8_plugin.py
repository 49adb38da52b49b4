"""The flake8 plugin `PEL`: same findings as the command line, from flake8's buffer.

flake8 6 and later run a plugin's codes only when they are selected, so every
flake8 run here passes `--select PEL` or `--extend-select PEL`.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import pytest

from posenc_lint import cli, engine
from posenc_lint.flake8_plugin import Plugin

# PEL101 on line 7, column 9.
ZERO_TABLE = """\
import torch
from torch import nn

class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))

    def forward(self, x):
        return x + self.pos_embed
"""

# PEL102 on line 8, PEL101 on line 17 and PEL301 on line 31.
THREE_RULES = """\
import torch
from torch import nn


class TextEncoder(nn.Module):
    def __init__(self, context_length, width):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))

    def forward(self, x):
        return x + self.positional_embedding[: x.shape[1]]


class PatchEmbed(nn.Module):
    def __init__(self, num_patches, dim):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, dim))

    def forward(self, x):
        return x + self.pos_embed


class Positions(nn.Module):
    def __init__(self, max_len, dim):
        super().__init__()
        self.dim = dim
        self.pos_embed = nn.Parameter(torch.randn(max_len, dim) * 0.02)

    def forward(self, x):
        if x.size(1) > self.pos_embed.size(0):
            self.pos_embed = nn.Parameter(torch.randn(x.size(1), self.dim) * 0.02)
        return x + self.pos_embed[: x.size(1)]
"""

CLEAN = ZERO_TABLE.replace(
    "torch.zeros(1, n, d))\n",
    "torch.zeros(1, n, d))\n        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n",
)

REPORT_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$"
)

Report = Tuple[str, int, int, str, str]


def parse_report(output: str, prefix: str = "PEL") -> List[Report]:
    found = []
    for line in output.splitlines():
        match = REPORT_LINE.match(line)
        if match and match["code"].startswith(prefix):
            path = match["path"]
            if path.startswith("./"):
                path = path[2:]
            found.append((path, int(match["line"]), int(match["column"]), match["code"], match["message"]))
    return found


def run_flake8(args: Sequence[str], cwd: Path, stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flake8", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def run_cli(argv: Sequence[str], capsys) -> List[Report]:
    cli.main(list(argv))
    return parse_report(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def fresh_settings_cache(monkeypatch):
    monkeypatch.setattr(Plugin, "_settings_cache", {})


# In-process: the plugin's contract with flake8


def plugin_results(source: str, filename: str = "model.py"):
    lines = source.splitlines(keepends=True)
    return list(Plugin(ast.parse(source), lines, filename).run())


def test_plugin_reports_zero_based_columns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    results = plugin_results(ZERO_TABLE)

    assert len(results) == 1
    line, column, text, checker = results[0]
    assert (line, column) == (7, 8)
    assert text.startswith("PEL101 learned position table `pos_embed`")
    assert checker is Plugin


def test_plugin_lints_lines_not_the_file_on_disk(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)

    def no_reading(*args, **kwargs):
        raise AssertionError("the plugin read a file from disk")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "read_text", no_reading)
    monkeypatch.setattr(engine, "lint_path", no_reading)

    results = plugin_results(ZERO_TABLE, "model.py")

    assert [(line, text.split()[0]) for line, _, text, _ in results] == [(7, "PEL101")]


def test_plugin_works_for_file_missing_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    results = plugin_results(ZERO_TABLE, "not/on/disk.py")

    assert [(line, column) for line, column, _, _ in results] == [(7, 8)]


@pytest.mark.parametrize("error", [ValueError("simulated"), RecursionError(), KeyError("x")])
def test_plugin_turns_exceptions_into_pel902(tmp_path, monkeypatch, error):
    monkeypatch.chdir(tmp_path)

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(engine, "lint_source", broken)

    results = plugin_results(ZERO_TABLE)

    assert len(results) == 1
    line, column, text, _ = results[0]
    assert (line, column) == (1, 0)
    assert text.startswith("PEL902 ")


def test_plugin_reports_invalid_config_as_pel902(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nselct = ["PEL1"]\n')
    monkeypatch.chdir(tmp_path)

    results = plugin_results(ZERO_TABLE)

    assert len(results) == 1
    assert results[0][2].startswith("PEL902 invalid posenc-lint configuration")
    assert "`selct`" in results[0][2]


# flake8 in a subprocess


def test_flake8_select_pel_matches_cli(tmp_path, monkeypatch, capsys):
    (tmp_path / "model.py").write_text(ZERO_TABLE)
    monkeypatch.chdir(tmp_path)

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert result.returncode == 1
    assert result.stderr == b""
    found = parse_report(result.stdout.decode())
    assert [item[:4] for item in found] == [("model.py", 7, 9, "PEL101")]
    assert found == run_cli(["model.py"], capsys)


def test_flake8_extend_select_pel_next_to_pycodestyle(tmp_path):
    (tmp_path / "model.py").write_text(ZERO_TABLE)

    result = run_flake8(["--select", "E,F", "--extend-select", "PEL", "model.py"], tmp_path)

    assert result.returncode == 1
    output = result.stdout.decode()
    assert [item[:4] for item in parse_report(output)] == [("model.py", 7, 9, "PEL101")]
    # `class Embed` follows the imports after one blank line, not two.
    assert [item[3] for item in parse_report(output, "E")] == ["E302"]


def test_flake8_disable_noqa_shows_silenced_finding(tmp_path):
    source = ZERO_TABLE.replace("torch.zeros(1, n, d))", "torch.zeros(1, n, d))  # noqa: PEL101")
    (tmp_path / "model.py").write_text(source)

    plain = run_flake8(["--select", "PEL", "model.py"], tmp_path)
    disabled = run_flake8(["--select", "PEL", "--disable-noqa", "model.py"], tmp_path)

    assert parse_report(plain.stdout.decode()) == []
    assert [item[:4] for item in parse_report(disabled.stdout.decode())] == [("model.py", 7, 9, "PEL101")]


def parity_files(folder: Path) -> None:
    """Write files whose columns or decoding could differ between flake8 and the CLI."""
    (folder / "three.py").write_text(THREE_RULES)
    (folder / "tabs.py").write_text(ZERO_TABLE.replace("        ", "\t\t").replace("    ", "\t"))
    # Non-ASCII text before the finding on the same line: columns count characters.
    (folder / "accents.py").write_text(
        ZERO_TABLE.replace("        self.pos_embed =", "        é = 'ü'; self.pos_embed ="),
        encoding="utf-8",
    )
    (folder / "latin1.py").write_bytes(
        ("# -*- coding: latin-1 -*-\n" + ZERO_TABLE.replace("        self.pos_embed =", "        é = 1; self.pos_embed ="))
        .encode("latin-1")
    )
    (folder / "crlf.py").write_bytes(THREE_RULES.replace("\n", "\r\n").encode())
    (folder / "bom.py").write_bytes(b"\xef\xbb\xbf" + THREE_RULES.encode())
    (folder / "noqa.py").write_text(
        THREE_RULES.replace("width))\n", "width))  # noqa: PEL102\n")
    )
    (folder / "clean.py").write_text(CLEAN)


def test_flake8_matches_cli_on_many_files(tmp_path, monkeypatch, capsys):
    parity_files(tmp_path)
    monkeypatch.chdir(tmp_path)

    result = run_flake8(["--select", "PEL", "."], tmp_path)
    flake8_found = sorted(parse_report(result.stdout.decode()))
    cli_found = run_cli(["-j", "1", "."], capsys)

    assert result.stderr == b""
    assert flake8_found == cli_found
    paths = {item[0] for item in cli_found}
    assert paths == {"three.py", "tabs.py", "accents.py", "latin1.py", "crlf.py", "bom.py", "noqa.py"}
    assert ("accents.py", 7, 18, "PEL101") in [item[:4] for item in cli_found]
    assert ("tabs.py", 7, 3, "PEL101") in [item[:4] for item in cli_found]


def test_flake8_stdin_lints_buffer_not_disk(tmp_path):
    # On disk the file is clean; the buffer on standard input has the finding.
    (tmp_path / "model.py").write_text(CLEAN)

    result = run_flake8(
        ["--select", "PEL", "--stdin-display-name", "model.py", "-"], tmp_path, ZERO_TABLE.encode()
    )

    assert result.returncode == 1
    assert [item[:4] for item in parse_report(result.stdout.decode())] == [("model.py", 7, 9, "PEL101")]


def test_flake8_stdin_clean_buffer_hides_disk_finding(tmp_path):
    (tmp_path / "model.py").write_text(ZERO_TABLE)

    result = run_flake8(
        ["--select", "PEL", "--stdin-display-name", "model.py", "-"], tmp_path, CLEAN.encode()
    )

    assert result.returncode == 0
    assert result.stdout == b""


def test_flake8_stdin_matches_cli_stdin(tmp_path):
    source = THREE_RULES.encode()

    flake8 = run_flake8(["--select", "PEL", "--stdin-display-name", "pkg/three.py", "-"], tmp_path, source)
    ours = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "--stdin-filename", "pkg/three.py", "-"],
        cwd=tmp_path,
        input=source,
        capture_output=True,
        timeout=120,
    )

    found = parse_report(flake8.stdout.decode())
    assert [item[3] for item in found if item[3] in ("PEL101", "PEL102", "PEL301")] == [
        "PEL102",
        "PEL101",
        "PEL301",
    ]
    assert found == parse_report(ours.stdout.decode())


def test_flake8_reads_pyproject_settings(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.posenc-lint]\n"
        'ignore = ["PEL102"]\n'
        "[tool.posenc-lint.per-file-ignores]\n"
        '"legacy/*" = ["PEL1"]\n'
    )
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "three.py").write_text(THREE_RULES)
    (tmp_path / "three.py").write_text(THREE_RULES)
    monkeypatch.chdir(tmp_path)

    result = run_flake8(["--select", "PEL", "."], tmp_path)
    found = sorted(parse_report(result.stdout.decode()))

    assert [(item[0], item[3]) for item in found if item[3] in ("PEL101", "PEL102", "PEL301")] == [
        ("legacy/three.py", "PEL301"),
        ("three.py", "PEL101"),
        ("three.py", "PEL301"),
    ]
    assert found == run_cli(["-j", "1", "."], capsys)


def test_flake8_nested_config_matches_cli(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nselect = ["PEL1"]\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text('[tool.posenc-lint]\nselect = ["PEL3"]\n')
    (tmp_path / "three.py").write_text(THREE_RULES)
    (tmp_path / "sub" / "three.py").write_text(THREE_RULES)
    monkeypatch.chdir(tmp_path)

    result = run_flake8(["--select", "PEL", "."], tmp_path)
    found = sorted(parse_report(result.stdout.decode()))

    assert [(item[0], item[3]) for item in found] == [
        ("sub/three.py", "PEL301"),
        ("three.py", "PEL102"),
        ("three.py", "PEL101"),
    ]
    assert found == run_cli(["-j", "1", "."], capsys)


def test_flake8_invalid_config_reports_pel902_per_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nmax-file-size = "big"\n')
    (tmp_path / "a.py").write_text(ZERO_TABLE)
    (tmp_path / "b.py").write_text(CLEAN)

    result = run_flake8(["--select", "PEL", "."], tmp_path)

    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    found = parse_report(result.stdout.decode())
    assert [(item[0], item[1], item[3]) for item in found] == [("a.py", 1, "PEL902"), ("b.py", 1, "PEL902")]
    assert all("`max-file-size`" in item[4] for item in found)


def test_flake8_syntax_error_file_does_not_break_run(tmp_path):
    (tmp_path / "broken.py").write_text("def forward(self, x)\n    return x\n")
    (tmp_path / "model.py").write_text(ZERO_TABLE)

    result = run_flake8(["--select", "PEL,E999", "."], tmp_path)

    assert b"Traceback" not in result.stderr
    output = result.stdout.decode()
    assert [item[:4] for item in parse_report(output)] == [("model.py", 7, 9, "PEL101")]
    assert [item[0] for item in parse_report(output, "E999")] == ["broken.py"]
