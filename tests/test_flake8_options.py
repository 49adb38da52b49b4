"""The flake8 plugin as editors run it: its `--posenc-...` options, config files, jobs,
`# noqa`, and files that make a rule fail.

Most tests run the real flake8 in a subprocess. The options tests that need to see
the resulting settings run flake8's application in-process.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import pytest
from flake8.main.application import Application

from posenc_lint.flake8_plugin import Plugin, PluginOptions, options_from_flake8
from posenc_lint.model import DEFAULT_TABLE_PATTERN
from posenc_lint.rules import ALL_RULES

# PEL101 on line 7, column 9, for a table the default pattern recognises.
ZERO_TABLE = """\
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self, n, d):
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))

    def forward(self, x):
        return x + self.pos_embed
"""

# The same mistake on a name only a custom pattern recognises.
CUSTOM_NAME = ZERO_TABLE.replace("pos_embed", "where_table")

# PEL202 (off by default) on line 11.
UNCHECKED = """\
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=512):
        super().__init__()
        self.pe = nn.Parameter(torch.randn(1, max_len, d_model) * 0.02)

    def forward(self, x):
        return x + self.pe[:, : x.size(1)]
"""

# PEL301 on line 12, PEL101 on line 7.
GROWS_IN_FORWARD = """\
import torch
from torch import nn


class Positions(nn.Module):
    def __init__(self, max_len, dim):
        self.other_pos = nn.Parameter(torch.zeros(1, max_len, dim))
        self.pos_embed = nn.Parameter(torch.randn(max_len, dim) * 0.02)

    def forward(self, x):
        if x.size(1) > self.pos_embed.size(0):
            self.pos_embed = nn.Parameter(torch.randn(x.size(1), x.size(2)) * 0.02)
        return x + self.other_pos + self.pos_embed[: x.size(1)]
"""

REPORT_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>[A-Z]+\d+) (?P<message>.*)$")

Found = Tuple[str, int, str]


def found(output: str, prefix: str = "PEL") -> List[Found]:
    """Return (path, line, code) of each report line whose code starts with ``prefix``."""
    results = []
    for line in output.splitlines():
        match = REPORT_LINE.match(line)
        if match and match["code"].startswith(prefix):
            path = match["path"][2:] if match["path"].startswith("./") else match["path"]
            results.append((path, int(match["line"]), match["code"]))
    return sorted(results)


def run_flake8(
    args: Sequence[str], cwd: Path, stdin: Optional[str] = None, prelude: str = ""
) -> subprocess.CompletedProcess:
    """Run flake8 in a subprocess, after ``prelude`` (Python code) when given."""
    if prelude:
        script = prelude + "\nfrom flake8.main.cli import main\nraise SystemExit(main())\n"
        command = [sys.executable, "-c", script, *args]
    else:
        command = [sys.executable, "-m", "flake8", *args]
    return subprocess.run(
        command, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(autouse=True)
def fresh_plugin_state(monkeypatch):
    """Keep in-process flake8 runs from leaking options into other tests."""
    monkeypatch.setattr(Plugin, "_settings_cache", {})
    monkeypatch.setattr(Plugin, "_options", PluginOptions())


# --posenc-position-table-pattern


def test_pattern_option_on_command_line(tmp_path):
    (tmp_path / "model.py").write_text(CUSTOM_NAME)

    default = run_flake8(["--select", "PEL", "model.py"], tmp_path)
    custom = run_flake8(["--select", "PEL", "--posenc-position-table-pattern", "where_table", "model.py"], tmp_path)

    assert found(default.stdout) == []
    assert found(custom.stdout) == [("model.py", 7, "PEL101")]


@pytest.mark.parametrize("config_name", ["setup.cfg", "tox.ini", ".flake8"])
def test_pattern_option_from_config_file(tmp_path, config_name):
    (tmp_path / "model.py").write_text(CUSTOM_NAME)
    (tmp_path / config_name).write_text("[flake8]\nposenc-position-table-pattern = where_table\n")

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert result.stderr == ""
    assert found(result.stdout) == [("model.py", 7, "PEL101")]


def test_pattern_option_overrides_pyproject(tmp_path):
    (tmp_path / "model.py").write_text(CUSTOM_NAME)
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nposition-table-pattern = "nothing_matches"\n')

    from_pyproject = run_flake8(["--select", "PEL", "model.py"], tmp_path)
    overridden = run_flake8(
        ["--select", "PEL", "--posenc-position-table-pattern", "where_table", "model.py"], tmp_path
    )

    assert found(from_pyproject.stdout) == []
    assert found(overridden.stdout) == [("model.py", 7, "PEL101")]


def test_pyproject_pattern_applies_without_flake8_option(tmp_path):
    (tmp_path / "model.py").write_text(CUSTOM_NAME)
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nposition-table-pattern = "where_table"\n')

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert found(result.stdout) == [("model.py", 7, "PEL101")]


def test_invalid_pattern_on_command_line_is_usage_error(tmp_path):
    (tmp_path / "model.py").write_text(ZERO_TABLE)

    result = run_flake8(["--select", "PEL", "--posenc-position-table-pattern", "(", "model.py"], tmp_path)

    assert result.returncode == 2
    assert "--posenc-position-table-pattern: invalid regular expression '('" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_pattern_in_config_is_usage_error(tmp_path):
    (tmp_path / "model.py").write_text(ZERO_TABLE)
    (tmp_path / "setup.cfg").write_text("[flake8]\nposenc-position-table-pattern = (\n")

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert result.returncode == 2
    assert "invalid regular expression" in result.stderr
    assert "Traceback" not in result.stderr


def test_unchecked_pattern_value_becomes_pel902(tmp_path, monkeypatch):
    # flake8 checks config values with the option's type, but a caller that
    # builds the options itself can still pass an invalid pattern.
    options = argparse.Namespace(posenc_position_table_pattern="(", select=None, extend_select=None)

    Plugin.parse_options(options)
    monkeypatch.chdir(tmp_path)
    results = list(Plugin(None, ZERO_TABLE.splitlines(keepends=True), "model.py").run())

    assert len(results) == 1
    assert results[0][2].startswith("PEL902 invalid posenc-lint flake8 option: `posenc-position-table-pattern`")


# --posenc-default-max-len, through flake8's own option parsing


def flake8_settings(tmp_path: Path, monkeypatch, argv: Sequence[str]):
    """Parse flake8's options in ``tmp_path`` in-process and return the plugin's settings."""
    monkeypatch.chdir(tmp_path)
    application = Application()
    application.initialize(list(argv))
    return Plugin(None, [], str(tmp_path / "model.py"))._settings()


def test_default_max_len_from_command_line(tmp_path, monkeypatch):
    settings = flake8_settings(tmp_path, monkeypatch, ["--posenc-default-max-len", "4096", "model.py"])

    assert settings.default_max_len == 4096


@pytest.mark.parametrize("config_name", ["setup.cfg", "tox.ini", ".flake8"])
def test_default_max_len_from_config_file(tmp_path, monkeypatch, config_name):
    (tmp_path / config_name).write_text("[flake8]\nposenc-default-max-len = 1024\n")

    settings = flake8_settings(tmp_path, monkeypatch, ["model.py"])

    assert settings.default_max_len == 1024


def test_default_max_len_overrides_pyproject(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[tool.posenc-lint.fix]\ndefault-max-len = 512\n")

    from_pyproject = flake8_settings(tmp_path, monkeypatch, ["model.py"])
    overridden = flake8_settings(tmp_path, monkeypatch, ["--posenc-default-max-len", "8192", "model.py"])

    assert from_pyproject.default_max_len == 512
    assert overridden.default_max_len == 8192


@pytest.mark.parametrize("value", ["0", "-3", "many", "1e3"])
def test_invalid_default_max_len_is_usage_error(tmp_path, value):
    (tmp_path / "model.py").write_text(ZERO_TABLE)

    result = run_flake8(["--select", "PEL", f"--posenc-default-max-len={value}", "model.py"], tmp_path)

    assert result.returncode == 2
    assert f"--posenc-default-max-len: invalid maximum length '{value}'" in result.stderr


def test_options_default_to_pyproject_values(tmp_path, monkeypatch):
    settings = flake8_settings(tmp_path, monkeypatch, ["model.py"])

    assert settings.position_table_pattern == DEFAULT_TABLE_PATTERN


# Off-by-default rules selected through flake8


def test_select_pel_keeps_default_rules(tmp_path):
    (tmp_path / "model.py").write_text(UNCHECKED)

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert found(result.stdout) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--select", "PEL202"],
        ["--select", "E,F", "--extend-select", "PEL202"],
        ["--extend-select", "PEL2"],
    ],
)
def test_naming_off_by_default_rule_enables_it(tmp_path, args):
    (tmp_path / "model.py").write_text(UNCHECKED)

    result = run_flake8([*args, "model.py"], tmp_path)

    assert found(result.stdout) == [("model.py", 11, "PEL202")]


def test_off_by_default_rule_from_config_extend_select(tmp_path):
    (tmp_path / "model.py").write_text(UNCHECKED)
    (tmp_path / "tox.ini").write_text("[flake8]\nextend-select = PEL202\n")

    result = run_flake8(["model.py"], tmp_path)

    assert found(result.stdout) == [("model.py", 11, "PEL202")]


def test_selectors_add_only_off_by_default_rules():
    off_by_default = tuple(
        rule.code
        for rule in ALL_RULES
        if rule.code.startswith("PEL5") and not rule.default_enabled
    )
    options = argparse.Namespace(
        posenc_position_table_pattern=None, select=["PEL999", "PEL", "E501"], extend_select=["PEL5"]
    )

    assert off_by_default
    assert options_from_flake8(options).extend_select == off_by_default


def test_pyproject_ignore_beats_flake8_select(tmp_path):
    (tmp_path / "model.py").write_text(ZERO_TABLE)
    (tmp_path / "unchecked.py").write_text(UNCHECKED)
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nignore = ["PEL101", "PEL202"]\n')

    result = run_flake8(["--select", "PEL101,PEL202", "."], tmp_path)

    assert found(result.stdout) == []


# Standard input: settings from the working folder


def test_stdin_reads_pyproject_from_working_folder(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.posenc-lint]\nignore = ["PEL101"]\n')

    result = run_flake8(
        ["--select", "PEL", "--stdin-display-name", "not/on/disk.py", "-"], tmp_path, stdin=ZERO_TABLE
    )

    assert result.returncode == 0
    assert found(result.stdout) == []


def test_stdin_buffer_with_options_differs_from_disk(tmp_path):
    (tmp_path / "model.py").write_text(ZERO_TABLE)

    result = run_flake8(
        ["--select", "PEL", "--posenc-position-table-pattern", "where_table", "--stdin-display-name", "model.py", "-"],
        tmp_path,
        stdin=CUSTOM_NAME,
    )

    # The file on disk has `pos_embed`, which this pattern does not match; the buffer has `where_table`.
    assert found(result.stdout) == [("model.py", 7, "PEL101")]


# Jobs


def test_jobs_two_matches_serial_run_with_options(tmp_path):
    for index in range(6):
        (tmp_path / f"model_{index}.py").write_text(CUSTOM_NAME)
    (tmp_path / "grows.py").write_text(GROWS_IN_FORWARD)
    args = ["--select", "PEL", "--posenc-position-table-pattern", "where_table|pos_embed|other_pos", "."]

    serial = run_flake8(["-j", "1", *args], tmp_path)
    parallel = run_flake8(["-j", "2", *args], tmp_path)

    assert parallel.stderr == ""
    assert found(parallel.stdout) == found(serial.stdout)
    assert [item for item in found(parallel.stdout) if item[0].startswith("model_")] == [
        (f"model_{index}.py", 7, "PEL101") for index in range(6)
    ]
    assert ("grows.py", 12, "PEL301") in found(parallel.stdout)


# noqa


def test_bare_noqa_silences_pel(tmp_path):
    (tmp_path / "model.py").write_text(
        ZERO_TABLE.replace("torch.zeros(1, n, d))", "torch.zeros(1, n, d))  # noqa")
    )

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert result.returncode == 0
    assert found(result.stdout) == []


def test_noqa_with_code_silences_only_that_code(tmp_path):
    source = GROWS_IN_FORWARD.replace("* 0.02)\n        return", "* 0.02)  # noqa: PEL301\n        return")
    (tmp_path / "model.py").write_text(source)

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert found(result.stdout) == [("model.py", 7, "PEL101")]


def test_noqa_for_other_code_keeps_pel(tmp_path):
    (tmp_path / "model.py").write_text(
        ZERO_TABLE.replace("torch.zeros(1, n, d))", "torch.zeros(1, n, d))  # noqa: E501")
    )

    result = run_flake8(["--select", "PEL", "model.py"], tmp_path)

    assert found(result.stdout) == [("model.py", 7, "PEL101")]


# A file that makes posenc-lint fail


RULE_RAISES = """\
from posenc_lint.rules import RULES_BY_CODE

rule = RULES_BY_CODE["PEL301"]
original_check = rule.check


def check(self, model):
    if "TRIGGER_RULE_FAILURE" in model.module.code:
        raise RuntimeError("simulated rule failure")
    return original_check(self, model)


rule.check = check
"""

PLUGIN_RAISES = """\
from posenc_lint import engine

original_lint_source = engine.lint_source


def lint_source(source, display, *args, **kwargs):
    if "TRIGGER_PLUGIN_FAILURE" in source:
        raise RuntimeError("simulated engine failure")
    return original_lint_source(source, display, *args, **kwargs)


engine.lint_source = lint_source
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_rule_failure_reports_pel902_and_keeps_going(tmp_path, jobs):
    (tmp_path / "a_fails.py").write_text("# TRIGGER_RULE_FAILURE\n" + GROWS_IN_FORWARD)
    (tmp_path / "b_model.py").write_text(ZERO_TABLE)
    (tmp_path / "c_model.py").write_text(ZERO_TABLE)

    result = run_flake8(["-j", jobs, "--select", "PEL", "."], tmp_path, prelude=RULE_RAISES)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    reports = found(result.stdout)
    assert ("a_fails.py", 1, "PEL902") in reports
    # The other rules still ran on the failing file, and the other files were linted.
    assert ("a_fails.py", 8, "PEL101") in reports
    assert ("b_model.py", 7, "PEL101") in reports
    assert ("c_model.py", 7, "PEL101") in reports
    assert "rule PEL301 (parameter-assigned-in-forward) failed on this file" in result.stdout


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_plugin_failure_reports_pel902_and_keeps_going(tmp_path, jobs):
    (tmp_path / "a_fails.py").write_text("# TRIGGER_PLUGIN_FAILURE\n" + ZERO_TABLE)
    (tmp_path / "b_model.py").write_text(ZERO_TABLE)

    result = run_flake8(["-j", jobs, "--select", "PEL,E999", "."], tmp_path, prelude=PLUGIN_RAISES)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert found(result.stdout) == [("a_fails.py", 1, "PEL902"), ("b_model.py", 7, "PEL101")]
    assert "posenc-lint failed on this file: RuntimeError('simulated engine failure')" in result.stdout
