"""End-to-end tests of the `posenc-lint` command line.

Most tests call `posenc_lint.cli.main` in-process with captured output. A few run
`python -m posenc_lint` in a subprocess, because they need a real process: standard
input, worker processes or the module entry point.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from posenc_lint import cli
from posenc_lint.rules import ALL_RULES, RULES_BY_CODE

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

# PEL102 on line 8, PEL101 on line 17 and PEL301 on line 31, so prefixes PEL1 and
# PEL3 each select part of the findings.
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

THREE_RULES_FOUND = [
    ("three.py", 8, 9, "PEL102"),
    ("three.py", 17, 9, "PEL101"),
    ("three.py", 31, 13, "PEL301"),
]

THREE_RULES_CODES = {"PEL101", "PEL102", "PEL301"}

CLEAN = """\
import torch
from torch import nn

class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x):
        return x + self.pos_embed
"""

CONCISE_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>PEL\d{3}) ")


def run_main(argv: Sequence[str], capsys) -> Tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def parse_concise(output: str) -> List[Tuple[str, int, int, str]]:
    found = []
    for line in output.splitlines():
        match = CONCISE_LINE.match(line)
        assert match, f"not a concise report line: {line!r}"
        found.append(
            (match["path"], int(match["line"]), int(match["column"]), match["code"])
        )
    return found


def run_module(args: Sequence[str], cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "posenc_lint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with no configuration above it that matters, made the current folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Output


def test_concise_output_line_and_column(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["model.py"], capsys)

    assert code == 1
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]
    assert "learned position table `pos_embed`" in out
    # PEL101's fix is unsafe, so plain `--fix` would not apply it.
    assert err.strip() == "Found 1 finding in 1 file (1 checked). 1 fixable with `--fix --unsafe-fixes`."


def test_clean_file_exits_zero(project, capsys):
    (project / "model.py").write_text(CLEAN)

    code, out, err = run_main(["model.py"], capsys)

    assert code == 0
    assert out == ""
    assert err.strip() == "All checks passed (1 file checked)."


def test_default_path_is_current_folder(project, capsys):
    (project / "pkg").mkdir()
    (project / "pkg" / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main([], capsys)

    assert code == 1
    assert parse_concise(out) == [("pkg/model.py", 7, 9, "PEL101")]


def test_check_subcommand_is_accepted(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["check", "model.py"], capsys)

    assert code == 1
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]


def test_findings_sorted_by_path_and_position(project, capsys):
    (project / "b").mkdir()
    (project / "b" / "three.py").write_text(THREE_RULES)
    (project / "a.py").write_text(ZERO_TABLE)
    (project / "three.py").write_text(THREE_RULES)

    code, out, err = run_main(["three.py", "b", "a.py"], capsys)

    assert code == 1
    found = parse_concise(out)
    assert found == sorted(found, key=lambda item: (item[0], item[1], item[2]))
    assert [item[0] for item in found] == ["a.py"] + ["b/three.py"] * 3 + ["three.py"] * 3
    assert found[-3:] == THREE_RULES_FOUND
    assert err.strip().startswith("Found 7 findings in 3 files (3 checked).")


def test_quiet_prints_no_summary(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["-q", "model.py"], capsys)

    assert code == 1
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]
    assert err == ""


def test_json_output_fields(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["--output-format", "json", "model.py"], capsys)

    assert code == 1
    report = json.loads(out)
    assert len(report) == 1
    item = report[0]
    assert set(item) == {
        "code", "name", "message", "filename", "location", "end_location", "fixable", "fix",
    }
    assert item["code"] == "PEL101"
    assert item["name"] == RULES_BY_CODE["PEL101"].name
    assert item["filename"] == "model.py"
    assert item["location"] == {"row": 7, "column": 9}
    # The span ends after the closing parenthesis of `nn.Parameter(...)`.
    line_seven = ZERO_TABLE.splitlines()[6]
    assert item["end_location"] == {"row": 7, "column": len(line_seven) + 1}
    assert item["fixable"] is True
    assert item["fix"]["applicability"] == "unsafe"
    assert "pos_embed" in item["message"]


def test_json_output_empty_list_when_clean(project, capsys):
    (project / "model.py").write_text(CLEAN)

    code, out, _ = run_main(["--output-format", "json", "model.py"], capsys)

    assert code == 0
    assert json.loads(out) == []


def test_json_lines_one_object_per_finding(project, capsys):
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--output-format", "json-lines", "three.py"], capsys)

    assert code == 1
    items = [json.loads(line) for line in out.splitlines()]
    found = [
        (item["filename"], item["location"]["row"], item["location"]["column"], item["code"])
        for item in items
    ]
    assert found == THREE_RULES_FOUND


def test_output_file_receives_report(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["-o", "report.json", "--output-format", "json", "model.py"], capsys)

    assert code == 1
    assert out == ""
    assert "Found 1 finding" in err
    report = json.loads((project / "report.json").read_text())
    assert [item["code"] for item in report] == ["PEL101"]


def test_output_file_in_missing_folder_is_error(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, _, err = run_main(["-o", "missing/report.txt", "model.py"], capsys)

    assert code == 2
    assert "missing/report.txt" in err


def test_exit_zero_with_findings(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["--exit-zero", "model.py"], capsys)

    assert code == 0
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]


# Selection


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], ["PEL102", "PEL101", "PEL301"]),
        (["--select", "PEL1"], ["PEL102", "PEL101"]),
        (["--select", "PEL"], ["PEL102", "PEL101", "PEL301"]),
        (["--select", "ALL"], ["PEL102", "PEL101", "PEL301"]),
        (["--select", "PEL101"], ["PEL101"]),
        (["--select", "pel3"], ["PEL301"]),
        (["--select", "PEL101,PEL301"], ["PEL101", "PEL301"]),
        (["--select", "PEL101", "--select", "PEL301"], ["PEL101", "PEL301"]),
        (["--ignore", "PEL1"], ["PEL301"]),
        (["--select", "PEL1", "--ignore", "PEL102"], ["PEL101"]),
        # The longer selector wins, whichever side it is on.
        (["--select", "PEL102", "--ignore", "PEL1"], ["PEL102"]),
        (["--select", "PEL", "--ignore", "PEL10", "--extend-select", "PEL101"], ["PEL101", "PEL301"]),
        # An ignore wins a tie.
        (["--select", "PEL1", "--ignore", "PEL1"], []),
        (["--select", "ALL", "--ignore", "ALL"], []),
        (["--select", "PEL3", "--extend-select", "PEL101"], ["PEL101", "PEL301"]),
        (["--ignore", "ALL", "--extend-select", "PEL3"], ["PEL301"]),
    ],
)
def test_selection_by_prefix(project, capsys, options, expected):
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main([*options, "three.py"], capsys)

    # Broad selectors also enable off-by-default rules, which may fire on this
    # source too; only the three rules the source was written for are compared.
    found = [item[3] for item in parse_concise(out)]
    assert [code for code in found if code in THREE_RULES_CODES] == expected
    assert code == (1 if found else 0)


def test_extend_select_enables_default_off_rule(project, capsys):
    off_by_default = [rule.code for rule in ALL_RULES if not rule.default_enabled]
    if not off_by_default:
        pytest.skip("every rule is on by default")
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--extend-select", ",".join(off_by_default), "three.py"], capsys)

    # The default rules keep running next to the extra ones.
    found = [item[3] for item in parse_concise(out)]
    assert [code for code in found if code in THREE_RULES_CODES] == ["PEL102", "PEL101", "PEL301"]
    assert code == 1


@pytest.mark.parametrize("option", ["--select", "--extend-select", "--ignore"])
@pytest.mark.parametrize("selector", ["PEL999", "XYZ", "PEL1000", "PEL101,PEL0"])
def test_unknown_selector_is_usage_error(project, capsys, option, selector):
    (project / "three.py").write_text(THREE_RULES)

    with pytest.raises(SystemExit) as raised:
        cli.main([option, selector, "three.py"])

    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "unknown rule selector" in err
    assert option in err


# Discovery


def test_folder_walk_lints_py_and_pyi_only(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)
    (project / "stubs.pyi").write_text(ZERO_TABLE)
    (project / "notes.txt").write_text(ZERO_TABLE)
    (project / "script").write_text(ZERO_TABLE)

    code, out, err = run_main(["."], capsys)

    assert code == 1
    assert [item[0] for item in parse_concise(out)] == ["model.py", "stubs.pyi"]
    assert "(2 checked)" in err


@pytest.mark.parametrize(
    "folder", [".git", ".venv", "venv", "build", "dist", "__pycache__", ".tox", "node_modules"]
)
def test_walk_skips_default_excluded_folders(project, capsys, folder):
    (project / folder / "sub").mkdir(parents=True)
    (project / folder / "sub" / "model.py").write_text(ZERO_TABLE)
    (project / "kept.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert [item[0] for item in parse_concise(out)] == ["kept.py"]


def test_walk_skips_virtual_environment_by_marker(project, capsys):
    environment = project / "my-env"
    (environment / "lib").mkdir(parents=True)
    (environment / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (environment / "lib" / "model.py").write_text(ZERO_TABLE)
    (project / "kept.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert [item[0] for item in parse_concise(out)] == ["kept.py"]


def test_explicit_excluded_file_is_linted(project, capsys):
    (project / "build").mkdir()
    (project / "build" / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["build/model.py"], capsys)

    assert code == 1
    assert parse_concise(out) == [("build/model.py", 7, 9, "PEL101")]


def test_explicit_excluded_folder_is_linted(project, capsys):
    (project / "build").mkdir()
    (project / "build" / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["build"], capsys)

    assert code == 1
    assert parse_concise(out) == [("build/model.py", 7, 9, "PEL101")]


@pytest.mark.parametrize("target", ["build", "build/model.py", "build/sub", "build/sub/inner.py"])
def test_force_exclude_skips_explicit_path(project, capsys, target):
    (project / "build" / "sub").mkdir(parents=True)
    (project / "build" / "model.py").write_text(ZERO_TABLE)
    (project / "build" / "sub" / "inner.py").write_text(ZERO_TABLE)
    (project / "kept.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["--force-exclude", target, "kept.py"], capsys)

    assert code == 1
    assert [item[0] for item in parse_concise(out)] == ["kept.py"]


def test_force_exclude_ignores_folders_above_project(tmp_path, monkeypatch, capsys):
    # A folder named like a default exclude above the current folder must not
    # hide the whole project.
    project = tmp_path / "build" / "project"
    project.mkdir(parents=True)
    (project / "model.py").write_text(ZERO_TABLE)
    monkeypatch.chdir(project)

    code, out, _ = run_main(["--force-exclude", "model.py"], capsys)

    assert code == 1
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]


def test_extend_exclude_option_skips_pattern(project, capsys):
    (project / "generated").mkdir()
    (project / "generated" / "model.py").write_text(ZERO_TABLE)
    (project / "kept.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["--extend-exclude", "generated", "."], capsys)

    assert code == 1
    assert [item[0] for item in parse_concise(out)] == ["kept.py"]


def test_same_file_twice_is_linted_once(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["model.py", "./model.py", "."], capsys)

    assert code == 1
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]
    assert "(1 checked)" in err


# Standard input


def test_stdin_with_filename(project, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ZERO_TABLE.encode())))

    code, out, err = run_main(["--stdin-filename", "pkg/model.py", "-"], capsys)

    assert code == 1
    assert parse_concise(out) == [("pkg/model.py", 7, 9, "PEL101")]
    assert "(1 checked)" in err


def test_stdin_without_filename_reports_dash(project, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ZERO_TABLE.encode())))

    code, out, _ = run_main(["-"], capsys)

    assert code == 1
    assert parse_concise(out) == [("-", 7, 9, "PEL101")]


def test_stdin_ignores_file_on_disk(project, capsys, monkeypatch):
    # The named file is clean on disk; only the buffer on standard input counts.
    (project / "model.py").write_text(CLEAN)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ZERO_TABLE.encode())))

    code, out, _ = run_main(["--stdin-filename", "model.py", "-"], capsys)

    assert code == 1
    assert parse_concise(out) == [("model.py", 7, 9, "PEL101")]


def test_stdin_combined_with_path_is_usage_error(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, _, err = run_main(["-", "model.py"], capsys)

    assert code == 2
    assert "standard input" in err


def test_stdin_in_subprocess(project):
    result = run_module(["--stdin-filename", "model.py", "-"], project, ZERO_TABLE.encode())

    assert result.returncode == 1
    assert parse_concise(result.stdout.decode()) == [("model.py", 7, 9, "PEL101")]
    assert b"Found 1 finding" in result.stderr


# Usage errors and the rule catalogue


@pytest.mark.parametrize(
    "argv",
    [
        ["--output-format", "xml", "."],
        ["--jobs", "x", "."],
        ["--no-such-option", "."],
    ],
)
def test_bad_arguments_exit_two(project, capsys, argv):
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)

    assert raised.value.code == 2
    assert "error" in capsys.readouterr().err


def test_jobs_zero_is_usage_error(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, _, err = run_main(["--jobs", "0", "model.py"], capsys)

    assert code == 2
    assert "--jobs" in err


def test_version_option(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["--version"])

    assert raised.value.code == 0
    assert capsys.readouterr().out.startswith("posenc-lint ")


def test_rule_command_prints_documentation(capsys):
    code, out, _ = run_main(["rule", "PEL301"], capsys)

    rule = RULES_BY_CODE["PEL301"]
    assert code == 0
    assert out.startswith(f"# {rule.name} (PEL301)")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in out


def test_rule_command_accepts_name_and_lower_case(capsys):
    by_name = run_main(["rule", RULES_BY_CODE["PEL101"].name], capsys)
    by_code = run_main(["rule", "pel101"], capsys)

    assert by_name[0] == 0
    assert by_name[1] == by_code[1]


def test_rule_command_lists_catalogue(capsys):
    code, out, _ = run_main(["rule", "--all"], capsys)

    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [rule.code for rule in ALL_RULES]
    for line, rule in zip(lines, ALL_RULES):
        assert rule.name in line
        assert ("on " if rule.default_enabled else "off") in line


def test_rule_command_json(capsys):
    code, out, _ = run_main(["rule", "--all", "--output-format", "json"], capsys)

    assert code == 0
    assert [item["code"] for item in json.loads(out)] == [rule.code for rule in ALL_RULES]


@pytest.mark.parametrize("argv", [["rule", "PEL999"], ["rule"]])
def test_rule_command_errors_exit_two(capsys, argv):
    code, out, err = run_main(argv, capsys)

    assert code == 2
    assert out == ""
    assert "error" in err


# Exit code 2 for internal errors


def test_failing_rule_exits_two_and_keeps_other_findings(project, capsys, monkeypatch):
    def broken_check(self, model):
        raise ValueError("simulated rule bug")

    monkeypatch.setattr(RULES_BY_CODE["PEL102"], "check", broken_check)
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["three.py"], capsys)

    assert code == 2
    codes = [item[3] for item in parse_concise(out)]
    assert codes == ["PEL902", "PEL101", "PEL301"]
    assert "PEL102" in out and "simulated rule bug" in out


def test_internal_error_exits_two_even_with_exit_zero(project, capsys, monkeypatch):
    def broken_check(self, model):
        raise ValueError("simulated rule bug")

    monkeypatch.setattr(RULES_BY_CODE["PEL101"], "check", broken_check)
    (project / "model.py").write_text(ZERO_TABLE)

    code, _, _ = run_main(["--exit-zero", "model.py"], capsys)

    assert code == 2


# Real processes


def test_module_entry_point_end_to_end(project):
    (project / "model.py").write_text(ZERO_TABLE)

    result = run_module(["model.py"], project)

    assert result.returncode == 1
    assert parse_concise(result.stdout.decode()) == [("model.py", 7, 9, "PEL101")]
    assert result.stderr.decode().strip().startswith("Found 1 finding in 1 file (1 checked).")


def test_worker_processes_give_same_report(project):
    # Enough files to pass the runner's serial threshold, so -j 2 uses a pool.
    for index in range(12):
        source = THREE_RULES if index % 2 else ZERO_TABLE
        (project / f"m{index:02d}.py").write_text(source)
    (project / "broken.py").write_text("import torch  # pos\ndef forward(self, x)\n    return x\n")

    serial = run_module(["-j", "1", "."], project)
    parallel = run_module(["-j", "2", "."], project)

    assert serial.returncode == 1
    assert parallel.returncode == 1
    assert parallel.stdout == serial.stdout
    found = parse_concise(serial.stdout.decode())
    assert found[0] == ("broken.py", 2, 21, "PEL900")
    assert len(found) == 1 + 6 * 1 + 6 * 3
