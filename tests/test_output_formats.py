"""The report formats of `--output-format`, and `-o FILE`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import List
from urllib.parse import unquote

import jsonschema
import pytest

from posenc_lint import cli
from posenc_lint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from posenc_lint.report import OUTPUT_FORMATS, write_report
from posenc_lint.report.github import escape_data, escape_property, workflow_command
from posenc_lint.report.sarif import SOURCE_ROOT, sarif_log
from posenc_lint.rules import ALL_RULES

SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"

# PEL101 on line 7, columns 9 to 60.
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
ZERO_TABLE_LINE = "        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))"

CLEAN = ZERO_TABLE.replace(
    "torch.zeros(1, n, d))\n",
    "torch.zeros(1, n, d))\n        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n",
)


def run_cli(argv: List[str], capsys) -> tuple:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def diagnostic(
    path: str = "model.py",
    start=(7, 8),
    end=(7, 59),
    message: str = "learned position table `pos_embed` is created with zeros",
    code: str = "PEL101",
    fix=None,
) -> Diagnostic:
    return Diagnostic(
        code,
        "zero-initialized-position-table",
        message,
        path,
        Location(*start),
        Location(*end),
        fix,
    )


def report(diagnostics: List[Diagnostic], output_format: str, sources=None) -> str:
    stream = io.StringIO()
    write_report(diagnostics, output_format, stream, sources)
    return stream.getvalue()


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(ZERO_TABLE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# full


def test_full_marks_span_under_source_line(project, capsys):
    code, out, _ = run_cli(["--output-format", "full", "model.py"], capsys)

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("model.py:7:9: PEL101 learned position table `pos_embed`")
    assert lines[1:7] == [
        "  |",
        "6 |         super().__init__()",
        f"7 | {ZERO_TABLE_LINE}",
        "  |         " + "^" * len(ZERO_TABLE_LINE.strip()) + " PEL101",
        "8 |",
        "  |",
    ]


def test_full_marker_counts_tabs_and_wide_characters(tmp_path):
    source = "x = 1\n\t\u00e9 = '\u65e5\u672c'; self.pos_embed = value\ny = 2\n"
    line = source.splitlines()[1]
    start = line.index("self")
    found = diagnostic(start=(2, start), end=(2, len(line)))

    out = report([found], "full", {"model.py": source})

    rows = out.splitlines()
    assert rows[3] == "2 |     \u00e9 = '\u65e5\u672c'; self.pos_embed = value"
    # Four columns for the tab, then `é = '` (5), two wide characters (4) and `'; ` (3).
    assert rows[4] == "  | " + " " * 16 + "^" * len("self.pos_embed = value") + " PEL101"


def test_full_multiline_span_marks_first_and_last_line():
    source = "a = 1\nself.pos_embed = make(\n    1,\n)\nb = 2\n"
    found = diagnostic(start=(2, 0), end=(4, 1))

    rows = report([found], "full", {"model.py": source}).splitlines()

    assert rows[1:9] == [
        "  |",
        "1 | a = 1",
        "2 | self.pos_embed = make(",
        "  | " + "^" * len("self.pos_embed = make("),
        "3 |     1,",
        "4 | )",
        "  | ^ PEL101",
        "5 | b = 2",
    ]


def test_full_long_span_is_cut_in_the_middle():
    body = "".join(f"    {index},\n" for index in range(10))
    source = f"self.pos_embed = make(\n{body})\n"
    found = diagnostic(start=(1, 0), end=(12, 1))

    rows = report([found], "full", {"model.py": source}).splitlines()

    numbers = [row.split("|")[0].strip() for row in rows[1:] if row.split("|")[0].strip()]
    assert numbers == ["1", "2", "3", "..", "11", "12"]


def test_full_crlf_and_form_feed_keep_line_numbers():
    # A form feed is not a line break for Python, so line 3 is still `self.pe = pe`.
    source = "a = 1\r\n\x0cb = 2\r\nself.pe = pe\r\n"
    found = diagnostic(start=(3, 0), end=(3, 12), code="PEL303")

    rows = report([found], "full", {"model.py": source}).splitlines()

    assert "3 | self.pe = pe" in rows
    assert "  | ^^^^^^^^^^^^ PEL303" in rows


def test_full_shows_fix_as_diff():
    source = "import torch\n\nself.pe = pe\n"
    fix = Fix(
        "Register `pe` as a non-persistent buffer",
        Applicability.SAFE,
        (Edit(Location(3, 0), Location(3, 12), 'self.register_buffer("pe", pe, persistent=False)'),),
    )
    found = diagnostic(start=(3, 0), end=(3, 12), code="PEL303", fix=fix)

    rows = report([found], "full", {"model.py": source}).splitlines()

    assert rows[0].startswith("model.py:3:1: PEL303 [*] ")
    fix_row = rows.index("  = fix (safe): Register `pe` as a non-persistent buffer")
    # One line of context: the blank line 2 above the change, nothing below it.
    assert rows[fix_row + 1 :] == [
        "    @@ -2,2 +2,2 @@",
        "",
        "    -self.pe = pe",
        '    +self.register_buffer("pe", pe, persistent=False)',
    ]


def test_full_shows_fix_of_real_finding(project, capsys):
    (project / "model.py").write_text(
        "import math\nimport torch\nfrom torch import nn\n\n\n"
        "class PositionalEncoding(nn.Module):\n"
        "    def __init__(self, d_model, max_len=5000):\n"
        "        super().__init__()\n"
        "        position = torch.arange(max_len).unsqueeze(1)\n"
        "        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))\n"
        "        pe = torch.zeros(max_len, d_model)\n"
        "        pe[:, 0::2] = torch.sin(position * div_term)\n"
        "        pe[:, 1::2] = torch.cos(position * div_term)\n"
        "        self.pe = pe\n\n"
        "    def forward(self, x):\n"
        "        return x + self.pe[: x.size(1)]\n"
    )

    _, out, _ = run_cli(["--output-format", "full", "--select", "PEL303", "model.py"], capsys)

    assert out.startswith("model.py:14:9: PEL303 [*] ")
    assert "14 |         self.pe = pe" in out
    assert "   = fix (safe): " in out


def test_full_missing_file_prints_header_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    code, out, _ = run_cli(["--output-format", "full", "missing.py"], capsys)

    assert code == 1
    assert out == "missing.py:1:1: PEL901 path not found\n"


def test_full_quotes_stdin_not_disk(tmp_path):
    # On disk the file is clean and shorter; the buffer has the finding.
    (tmp_path / "model.py").write_text("x = 1\n")

    result = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "--output-format", "full", "--stdin-filename", "model.py", "-"],
        cwd=tmp_path,
        input=ZERO_TABLE.encode(),
        capture_output=True,
        timeout=120,
    )

    out = result.stdout.decode()
    assert result.returncode == 1
    assert f"7 | {ZERO_TABLE_LINE}" in out


def test_full_separates_findings_with_blank_line():
    source = "a = 1\nb = 2\n"
    first = diagnostic(start=(1, 0), end=(1, 5))
    second = diagnostic(start=(2, 0), end=(2, 5))

    out = report([first, second], "full", {"model.py": source})

    assert "\n\nmodel.py:2:1: PEL101" in out
    assert all(line == line.rstrip() for line in out.splitlines())


# github


def test_github_workflow_command(project, capsys):
    code, out, _ = run_cli(["--output-format", "github", "model.py"], capsys)

    assert code == 1
    assert out.startswith(
        "::warning file=model.py,line=7,col=9,endLine=7,endColumn=60,title=PEL101::"
        "model.py:7:9: PEL101 learned position table `pos_embed` is created with zeros"
    )
    assert out.count("\n") == 1


def test_github_escapes_message_and_properties():
    found = diagnostic(path="dir,with:odd%name.py", message="100% wrong\r\nsecond line")

    line = workflow_command(found)

    assert line.startswith("::warning file=dir%2Cwith%3Aodd%25name.py,line=7,col=9,")
    assert line.endswith("::dir,with:odd%25name.py:7:9: PEL101 100%25 wrong%0D%0Asecond line")
    assert "\n" not in line


def test_github_escape_functions_match_toolkit():
    assert escape_data("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad:e,f"
    assert escape_property("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad%3Ae%2Cf"


def test_github_unchecked_file_is_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.py").write_text("import torch  # pos\ndef forward(self, x)\n    return x\n")

    _, out, _ = run_cli(["--output-format", "github", "broken.py"], capsys)

    assert out.startswith("::error file=broken.py,line=2,col=21,")
    assert "title=PEL900::" in out


# sarif


@pytest.fixture(scope="module")
def sarif_validator():
    if not SARIF_SCHEMA.is_file():
        pytest.fail(f"SARIF schema not found at {SARIF_SCHEMA}; the tests expect ../shared beside the checkout")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def assert_valid(validator, log: dict) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)


def test_sarif_validates_against_schema(project, capsys, sarif_validator):
    (project / "pkg").mkdir()
    (project / "pkg" / "my model.py").write_text(ZERO_TABLE)

    code, out, _ = run_cli(["--output-format", "sarif", "."], capsys)

    assert code == 1
    log = json.loads(out)
    assert_valid(sarif_validator, log)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_sarif_run_describes_every_rule(project, capsys):
    _, out, _ = run_cli(["--output-format", "sarif", "model.py"], capsys)

    run = json.loads(out)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "posenc-lint"
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in ALL_RULES]
    for descriptor, rule in zip(driver["rules"], ALL_RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"] == rule.section("What it does")
        assert descriptor["help"]["markdown"] == rule.documentation()
        assert descriptor["defaultConfiguration"]["enabled"] == rule.default_enabled
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_result_has_relative_uri_and_full_region(project, capsys):
    _, out, _ = run_cli(["--output-format", "sarif", "model.py"], capsys)

    run = json.loads(out)["runs"][0]
    (result,) = run["results"]
    assert result["ruleId"] == "PEL101"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "PEL101"
    assert result["level"] == "warning"
    assert result["message"]["text"].startswith("learned position table `pos_embed`")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "model.py", "uriBaseId": SOURCE_ROOT}
    assert location["region"] == {"startLine": 7, "startColumn": 9, "endLine": 7, "endColumn": 60}
    base = run["originalUriBaseIds"][SOURCE_ROOT]["uri"]
    assert base == project.resolve().as_uri() + "/"


def test_sarif_uri_is_percent_encoded_posix_path(tmp_path):
    root = tmp_path / "repo"
    path = root / "pkg" / "my model#1.py"

    log = sarif_log([diagnostic(path=str(path))], root=root)

    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "pkg/my%20model%231.py", "uriBaseId": SOURCE_ROOT}
    assert unquote(location["uri"]) == "pkg/my model#1.py"


def test_sarif_file_outside_root_gets_absolute_uri(tmp_path):
    root = tmp_path / "repo"
    outside = tmp_path / "elsewhere" / "model.py"

    log = sarif_log([diagnostic(path=str(outside))], root=root)

    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": outside.as_uri()}


def test_sarif_fix_edits_become_replacements(tmp_path, sarif_validator):
    fix = Fix(
        "Register `pe` as a non-persistent buffer",
        Applicability.SAFE,
        (Edit(Location(3, 8), Location(3, 20), 'self.register_buffer("pe", pe, persistent=False)'),),
    )
    found = diagnostic(path=str(tmp_path / "model.py"), start=(3, 8), end=(3, 20), code="PEL303", fix=fix)

    log = sarif_log([found], root=tmp_path)

    assert_valid(sarif_validator, log)
    (change,) = log["runs"][0]["results"][0]["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "model.py", "uriBaseId": SOURCE_ROOT}
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 3, "startColumn": 9, "endLine": 3, "endColumn": 21},
            "insertedContent": {"text": 'self.register_buffer("pe", pe, persistent=False)'},
        }
    ]


def test_sarif_internal_error_marks_run_unsuccessful(tmp_path, sarif_validator):
    failed = diagnostic(path=str(tmp_path / "model.py"), start=(1, 0), end=(1, 0), code="PEL902")

    log = sarif_log([failed], root=tmp_path)

    assert_valid(sarif_validator, log)
    run = log["runs"][0]
    assert run["invocations"] == [{"executionSuccessful": False}]
    assert run["results"][0]["level"] == "error"


def test_sarif_without_findings_is_valid(tmp_path, monkeypatch, capsys, sarif_validator):
    (tmp_path / "clean.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)

    code, out, _ = run_cli(["--output-format", "sarif", "clean.py"], capsys)

    assert code == 0
    log = json.loads(out)
    assert_valid(sarif_validator, log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_sarif_column_counts_code_points(tmp_path, monkeypatch, capsys):
    # Two characters outside the Basic Multilingual Plane before the finding:
    # UTF-16 would count four code units, code points count two.
    source = ZERO_TABLE.replace("        self.pos_embed =", "        s = '\U0001F600\U0001F600'; self.pos_embed =")
    (tmp_path / "model.py").write_text(source, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    _, out, _ = run_cli(["--output-format", "sarif", "model.py"], capsys)

    region = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    line = source.splitlines()[6]
    assert region["startColumn"] == line.index("self.pos_embed") + 1


# json and json-lines


def test_json_and_json_lines_agree(project, capsys):
    _, as_array, _ = run_cli(["--output-format", "json", "model.py"], capsys)
    _, as_lines, _ = run_cli(["--output-format", "json-lines", "model.py"], capsys)

    objects = json.loads(as_array)
    assert objects == [json.loads(line) for line in as_lines.splitlines()]
    assert objects[0]["location"] == {"row": 7, "column": 9}
    assert objects[0]["end_location"] == {"row": 7, "column": 60}


# -o FILE


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_output_file_holds_what_stdout_would(project, capsys, output_format):
    _, printed, _ = run_cli(["--output-format", output_format, "model.py"], capsys)

    code, out, err = run_cli(["--output-format", output_format, "-o", "report.out", "model.py"], capsys)

    assert code == 1
    assert out == ""
    assert (project / "report.out").read_text(encoding="utf-8") == printed
    assert err.startswith("Found 1 finding")


def test_output_file_in_missing_folder_is_usage_error(project, capsys):
    code, out, err = run_cli(["-o", "no/such/folder/report.json", "model.py"], capsys)

    assert code == 2
    assert "cannot write the report to no/such/folder/report.json" in err


def test_unknown_output_format_is_rejected(project, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["--output-format", "xml", "model.py"])

    assert raised.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_write_report_rejects_unknown_format():
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        write_report([], "xml", io.StringIO())
