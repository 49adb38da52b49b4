"""`# noqa` comments and `# posenc-lint: noqa` file skips.

The command line must silence exactly what flake8 7 silences for the same
comment, so each case is checked against the expected outcome and against a
real flake8 run over the same files.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from posenc_lint import cli
from posenc_lint.config import Settings
from posenc_lint.engine import lint_source
from posenc_lint.noqa import NoqaMap, skips_file

TEMPLATE = """\
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        {statement}

    def forward(self, x):
        return x + self.pos_embed
"""

TABLE = "self.pos_embed = nn.Parameter(torch.zeros(1, n, d))"

# (statement put into TEMPLATE at line 8, whether the PEL101 finding on line 8 is silenced)
NOQA_CASES = [
    (f"{TABLE}", False),
    (f"{TABLE}  # noqa", True),
    (f"{TABLE}  # NOQA", True),
    (f"{TABLE}  # NoQa", True),
    (f"{TABLE}  #noqa", False),
    (f"{TABLE}  # noqa:PEL101", True),
    (f"{TABLE}  # noqa: PEL101", True),
    (f"{TABLE}  # noqa: PEL1", True),
    (f"{TABLE}  # noqa: PEL", True),
    (f"{TABLE}  # noqa: PEL102", False),
    (f"{TABLE}  # noqa: E501", False),
    (f"{TABLE}  # noqa: E501,PEL101", True),
    (f"{TABLE}  # noqa: E501, PEL101", True),
    (f"{TABLE}  # noqa: E501 PEL101", True),
    (f"{TABLE}  # noqa: PEL101 explained in the docs", True),
    # flake8 compares codes case-sensitively, after matching `noqa` in any case.
    (f"{TABLE}  # noqa: pel101", False),
    # Two spaces after the colon leave a blanket `# noqa`, which silences everything.
    (f"{TABLE}  # noqa:  PEL102", True),
    (f"{TABLE}  # noqa : PEL102", True),
    (f"{TABLE}  # type: ignore  # noqa: PEL101", True),
    (f"{TABLE}  # see the noqa docs", False),
    (f'{TABLE}; text = "# noqa"', True),
    # Brackets end each line with an NL token, so a comment on a later line of
    # the same statement does not reach the first line.
    ("self.pos_embed = nn.Parameter(\n            torch.zeros(1, n, d)\n        )  # noqa", False),
    ("self.pos_embed = nn.Parameter(  # noqa\n            torch.zeros(1, n, d)\n        )", True),
    # A backslash continuation joins the lines into one token group.
    ("self.pos_embed = \\\n            nn.Parameter(torch.zeros(1, n, d))  # noqa: PEL101", True),
    # So does a multi-line string.
    (f'{TABLE}; self.doc = """\n  text"""  # noqa: PEL101', True),
    (f'self.doc = """\n  text"""; {TABLE}  # noqa: PEL101', True),
]

CONCISE_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>[A-Z]+\d+) ")


def parse_concise(output: str) -> List[Tuple[str, int, int, str]]:
    found = []
    for line in output.splitlines():
        match = CONCISE_LINE.match(line)
        if match:
            found.append((match["path"], int(match["line"]), int(match["column"]), match["code"]))
    return found


def run_flake8(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flake8", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def case_path(index: int) -> str:
    return f"case{index:02d}.py"


def test_noqa_cases_match_expected_and_flake8(tmp_path, monkeypatch, capsys):
    for index, (statement, _) in enumerate(NOQA_CASES):
        (tmp_path / case_path(index)).write_text(TEMPLATE.format(statement=statement))
    monkeypatch.chdir(tmp_path)

    code = cli.main(["--select", "PEL101", "-j", "1", "."])
    ours = parse_concise(capsys.readouterr().out)
    flake8 = run_flake8(["--select", "PEL101", "."], tmp_path)
    theirs = [(path.removeprefix("./"), *rest) for path, *rest in parse_concise(flake8.stdout)]

    assert code == 1
    assert flake8.stderr == ""
    for index, (statement, silenced) in enumerate(NOQA_CASES):
        expected = [] if silenced else [(case_path(index), 8, 9, "PEL101")]
        mine = [item for item in ours if item[0] == case_path(index)]
        assert mine == expected, statement
    assert ours == sorted(theirs)


def test_noqa_with_crlf_line_endings(capsys):
    source = TEMPLATE.format(statement=f"{TABLE}  # noqa: PEL101").replace("\n", "\r\n")

    result = lint_source(source.encode(), "crlf.py", Settings())

    assert result.diagnostics == ()


def test_noqa_silences_only_its_line():
    source = TEMPLATE.format(statement=f"{TABLE}\n        self.other = 1  # noqa")

    result = lint_source(source, "example.py", Settings())

    assert [(d.code, d.start.line) for d in result.diagnostics] == [("PEL101", 8)]


def test_noqa_map_without_tokens_uses_line():
    # An unterminated triple-quoted string stops the tokenizer.
    source = 'x = 1  # noqa: PEL101\ny = 2\ntext = """never closed\n'

    mapping = NoqaMap(source)

    assert mapping.is_suppressed(1, "PEL101")
    assert not mapping.is_suppressed(2, "PEL101")
    assert not mapping.is_suppressed(99, "PEL101")


# `# posenc-lint: noqa` skips the whole file


@pytest.mark.parametrize(
    "comment",
    [
        "# posenc-lint: noqa",
        "#posenc-lint:noqa",
        "   # posenc-lint : noqa  ",
        "# POSENC-LINT: NOQA",
        "\t# posenc-lint: noqa",
    ],
)
def test_file_skip_comment_skips_file(comment):
    source = TEMPLATE.format(statement=TABLE) + comment + "\n"

    result = lint_source(source, "model.py", Settings())

    assert result.skipped
    assert result.diagnostics == ()


@pytest.mark.parametrize(
    "comment",
    [
        "x = 1  # posenc-lint: noqa",
        "# posenc-lint: noqa because of reasons",
        "# posenc-lint: noqa: PEL101",
        "# posenc-lint noqa",
        "# flake8: noqa",
    ],
)
def test_file_skip_needs_comment_on_own_line(comment):
    source = TEMPLATE.format(statement=TABLE) + comment + "\n"

    result = lint_source(source, "model.py", Settings())

    assert not result.skipped
    assert [d.code for d in result.diagnostics] == ["PEL101"]


def test_file_skip_with_crlf_line_endings():
    source = ("# posenc-lint: noqa\n" + TEMPLATE.format(statement=TABLE)).replace("\n", "\r\n")

    assert skips_file(source)
    assert lint_source(source.encode(), "crlf.py", Settings()).skipped


def test_file_skip_also_skips_syntax_errors():
    source = "# posenc-lint: noqa\ndef forward(self, x)\n    return x\n"

    result = lint_source(source, "broken.py", Settings())

    assert result.skipped
    assert result.diagnostics == ()


def test_file_skip_from_command_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "skipped.py").write_text("# posenc-lint: noqa\n" + TEMPLATE.format(statement=TABLE))
    (tmp_path / "kept.py").write_text(TEMPLATE.format(statement=TABLE))
    monkeypatch.chdir(tmp_path)

    code = cli.main(["."])
    out = capsys.readouterr().out

    assert code == 1
    assert [item[0] for item in parse_concise(out)] == ["kept.py"]


def test_file_skip_under_flake8(tmp_path):
    (tmp_path / "skipped.py").write_text("# posenc-lint: noqa\n" + TEMPLATE.format(statement=TABLE))
    (tmp_path / "kept.py").write_text(TEMPLATE.format(statement=TABLE))

    result = run_flake8(["--select", "PEL", "."], tmp_path)

    assert [item[0] for item in parse_concise(result.stdout)] == ["./kept.py"]
