"""End-to-end tests of `[tool.posenc-lint]` in pyproject.toml and how the command line layers on it."""

from __future__ import annotations

import dataclasses
import io
import re
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from posenc_lint import cli
from posenc_lint.config import (
    Settings,
    find_config_file,
    selected_codes,
    with_command_line_selection,
)
from posenc_lint.rules import ALL_RULES

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

THREE_RULES_CODES = {"PEL101", "PEL102", "PEL301"}

CONCISE_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>PEL\d{3}) ")


def run_main(argv: Sequence[str], capsys) -> Tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reported(output: str) -> List[Tuple[str, str]]:
    """Return (path, code) pairs of the findings of the three rules THREE_RULES targets."""
    pairs = []
    for line in output.splitlines():
        match = CONCISE_LINE.match(line)
        assert match, f"not a concise report line: {line!r}"
        if match["code"] in THREE_RULES_CODES or match["code"].startswith("PEL9"):
            pairs.append((match["path"], match["code"]))
    return pairs


def write_config(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "pyproject.toml"
    config.write_text(body)
    return config


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Finding the configuration file


def test_nearest_config_with_section_wins(project, capsys):
    write_config(project, '[tool.posenc-lint]\nselect = ["PEL1"]\n')
    write_config(project / "pkg", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    (project / "pkg" / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["pkg"], capsys)

    assert code == 1
    assert reported(out) == [("pkg/three.py", "PEL301")]


def test_config_without_section_is_passed_over(project, capsys):
    write_config(project, '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    write_config(project / "pkg", '[project]\nname = "pkg"\n\n[tool.other]\nselect = ["X"]\n')
    (project / "pkg" / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["pkg"], capsys)

    assert code == 1
    assert reported(out) == [("pkg/three.py", "PEL301")]


def test_config_found_from_linted_path_not_current_folder(tmp_path, monkeypatch, capsys):
    write_config(tmp_path / "repo", '[tool.posenc-lint]\nignore = ["PEL1"]\n')
    (tmp_path / "repo" / "three.py").write_text(THREE_RULES)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")

    code, out, _ = run_main([str(tmp_path / "repo")], capsys)

    assert code == 1
    assert [pair[1] for pair in reported(out)] == ["PEL301"]


def test_config_found_above_current_folder(project, monkeypatch, capsys):
    write_config(project, '[tool.posenc-lint]\nignore = ["PEL1"]\n')
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / "pkg" / "sub" / "three.py").write_text(THREE_RULES)
    monkeypatch.chdir(project / "pkg" / "sub")

    code, out, _ = run_main([], capsys)

    assert code == 1
    assert reported(out) == [("three.py", "PEL301")]


def test_nested_config_applies_to_its_folder(project, capsys):
    write_config(project, '[tool.posenc-lint]\nselect = ["PEL1"]\n')
    write_config(project / "sub", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    (project / "three.py").write_text(THREE_RULES)
    (project / "sub" / "deeper").mkdir()
    (project / "sub" / "deeper" / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert reported(out) == [
        ("sub/deeper/three.py", "PEL301"),
        ("three.py", "PEL102"),
        ("three.py", "PEL101"),
    ]


def test_each_project_uses_its_own_config(project, capsys):
    write_config(project / "a", '[tool.posenc-lint]\nselect = ["PEL1"]\n')
    write_config(project / "b", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    (project / "c").mkdir()
    for folder in ("a", "b", "c"):
        (project / folder / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["a/three.py", "b", "c"], capsys)

    assert code == 1
    assert reported(out) == [
        ("a/three.py", "PEL102"),
        ("a/three.py", "PEL101"),
        ("b/three.py", "PEL301"),
        ("c/three.py", "PEL102"),
        ("c/three.py", "PEL101"),
        ("c/three.py", "PEL301"),
    ]


def test_command_line_selection_applies_to_every_config(project, capsys):
    write_config(project / "a", '[tool.posenc-lint]\nignore = ["PEL1"]\n')
    write_config(project / "b", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    for folder in ("a", "b"):
        (project / folder / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--extend-select", "PEL101", "a", "b"], capsys)

    assert code == 1
    assert reported(out) == [
        ("a/three.py", "PEL101"),
        ("a/three.py", "PEL301"),
        ("b/three.py", "PEL101"),
        ("b/three.py", "PEL301"),
    ]


def test_explicit_config_applies_to_every_file(project, capsys):
    write_config(project / "a", '[tool.posenc-lint]\nselect = ["PEL1"]\n')
    other = write_config(project / "configs", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    (project / "a" / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--config", str(other), "a"], capsys)

    assert code == 1
    assert reported(out) == [("a/three.py", "PEL301")]


def test_find_config_file_returns_none_without_section(tmp_path):
    write_config(tmp_path, "[tool.black]\nline-length = 100\n")

    assert find_config_file(tmp_path) is None


def test_explicit_config_option(project, capsys):
    write_config(project, '[tool.posenc-lint]\nselect = ["PEL1"]\n')
    other = write_config(project / "configs", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--config", str(other), "three.py"], capsys)

    assert code == 1
    assert reported(out) == [("three.py", "PEL301")]


def test_missing_config_option_file_exits_two(project, capsys):
    (project / "three.py").write_text(THREE_RULES)

    code, out, err = run_main(["--config", "missing.toml", "three.py"], capsys)

    assert code == 2
    assert out == ""
    assert "missing.toml" in err


def test_isolated_ignores_configuration(project, capsys):
    write_config(project, '[tool.posenc-lint]\nunknown-key = 1\nselect = ["PEL3"]\n')
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--isolated", "three.py"], capsys)

    assert code == 1
    assert [pair[1] for pair in reported(out)] == ["PEL102", "PEL101", "PEL301"]


# Each key


def test_select_and_ignore_keys(project, capsys):
    write_config(project, '[tool.posenc-lint]\nselect = ["PEL1", "PEL3"]\nignore = ["PEL102"]\n')
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["three.py"], capsys)

    assert code == 1
    assert [pair[1] for pair in reported(out)] == ["PEL101", "PEL301"]


def test_extend_select_key_keeps_defaults(project, capsys):
    off_by_default = [rule.code for rule in ALL_RULES if not rule.default_enabled]
    if not off_by_default:
        pytest.skip("every rule is on by default")
    listed = ", ".join(f'"{code}"' for code in off_by_default)
    write_config(project, f"[tool.posenc-lint]\nextend-select = [{listed}]\n")
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["three.py"], capsys)

    assert code == 1
    assert [pair[1] for pair in reported(out)] == ["PEL102", "PEL101", "PEL301"]


def test_empty_select_disables_every_rule(project, capsys):
    write_config(project, "[tool.posenc-lint]\nselect = []\n")
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["three.py"], capsys)

    assert code == 0
    assert out == ""


def test_per_file_ignores_key(project, capsys):
    write_config(
        project,
        "[tool.posenc-lint]\n"
        "[tool.posenc-lint.per-file-ignores]\n"
        '"tests/*" = ["PEL1"]\n'
        '"legacy.py" = ["PEL301"]\n',
    )
    (project / "tests").mkdir()
    (project / "tests" / "three.py").write_text(THREE_RULES)
    (project / "legacy.py").write_text(THREE_RULES)
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert reported(out) == [
        ("legacy.py", "PEL102"),
        ("legacy.py", "PEL101"),
        ("tests/three.py", "PEL301"),
        ("three.py", "PEL102"),
        ("three.py", "PEL101"),
        ("three.py", "PEL301"),
    ]


def test_per_file_ignores_beat_longer_select(project, capsys):
    # Per-file ignores remove codes after selection, whatever their length.
    write_config(
        project,
        '[tool.posenc-lint]\nselect = ["PEL101", "PEL301"]\n'
        '[tool.posenc-lint.per-file-ignores]\n"three.py" = ["PEL1"]\n',
    )
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["three.py"], capsys)

    assert code == 1
    assert reported(out) == [("three.py", "PEL301")]


def test_per_file_ignores_apply_after_command_line_select(project, capsys):
    write_config(
        project, '[tool.posenc-lint]\n[tool.posenc-lint.per-file-ignores]\n"three.py" = ["PEL1"]\n'
    )
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main(["--select", "PEL101", "three.py"], capsys)

    assert code == 0
    assert out == ""


def test_per_file_ignores_apply_to_stdin_filename(project, capsys, monkeypatch):
    write_config(
        project, '[tool.posenc-lint]\n[tool.posenc-lint.per-file-ignores]\n"gen/*" = ["PEL1"]\n'
    )
    (project / "gen").mkdir()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(THREE_RULES.encode())))

    code, out, _ = run_main(["--stdin-filename", "gen/three.py", "-"], capsys)

    assert code == 1
    assert reported(out) == [("gen/three.py", "PEL301")]


def test_stdin_filename_finds_config_of_its_folder(project, capsys, monkeypatch):
    write_config(project / "pkg", '[tool.posenc-lint]\nselect = ["PEL3"]\n')
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(THREE_RULES.encode())))

    code, out, _ = run_main(["--stdin-filename", "pkg/three.py", "-"], capsys)

    assert code == 1
    assert reported(out) == [("pkg/three.py", "PEL301")]


def test_exclude_key_replaces_defaults(project, capsys):
    write_config(project, '[tool.posenc-lint]\nexclude = ["generated"]\n')
    for folder in ("generated", "build", "src"):
        (project / folder).mkdir()
        (project / folder / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert [pair[0] for pair in reported(out)] == ["build/model.py", "src/model.py"]


def test_extend_exclude_key_keeps_defaults(project, capsys):
    write_config(project, '[tool.posenc-lint]\nextend-exclude = ["src/generated_*.py"]\n')
    (project / "src").mkdir()
    (project / "build").mkdir()
    (project / "build" / "model.py").write_text(ZERO_TABLE)
    (project / "src" / "generated_model.py").write_text(ZERO_TABLE)
    (project / "src" / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert [pair[0] for pair in reported(out)] == ["src/model.py"]


def test_extend_exclude_relative_to_config_folder(project, monkeypatch, capsys):
    write_config(project, '[tool.posenc-lint]\nextend-exclude = ["src/generated"]\n')
    (project / "src" / "generated").mkdir(parents=True)
    (project / "src" / "generated" / "model.py").write_text(ZERO_TABLE)
    (project / "src" / "model.py").write_text(ZERO_TABLE)
    monkeypatch.chdir(project / "src")

    code, out, _ = run_main(["."], capsys)

    assert code == 1
    assert [pair[0] for pair in reported(out)] == ["model.py"]


def test_position_table_pattern_key(project, capsys):
    source = ZERO_TABLE.replace("pos_embed", "where_table").replace("Embed", "Mixer")
    (project / "model.py").write_text(source)

    assert run_main(["model.py"], capsys)[0] == 0

    write_config(project, '[tool.posenc-lint]\nposition-table-pattern = "^where_table$"\n')
    code, out, _ = run_main(["model.py"], capsys)

    assert code == 1
    assert reported(out) == [("model.py", "PEL101")]
    assert "`where_table`" in out


def test_max_file_size_key(project, capsys):
    write_config(project, "[tool.posenc-lint]\nmax-file-size = 100\n")
    (project / "model.py").write_text(ZERO_TABLE)
    size = len(ZERO_TABLE.encode())

    code, out, _ = run_main(["model.py"], capsys)

    assert code == 1
    assert reported(out) == [("model.py", "PEL901")]
    assert f"it is {size} bytes, over the 100 bytes limit set by `max-file-size`" in out


# Invalid configuration


@pytest.mark.parametrize(
    "body, key",
    [
        ('selct = ["PEL1"]', "selct"),
        ("[tool.posenc-lint.extra]\nx = 1", "extra"),
        ('select = "PEL1"', "select"),
        ('select = ["PEL999"]', "select"),
        ("ignore = [1]", "ignore"),
        ('extend-select = ["nope"]', "extend-select"),
        ('per-file-ignores = ["tests/*"]', "per-file-ignores"),
        ('per-file-ignores = {"tests/*" = "PEL101"}', "per-file-ignores"),
        ('per-file-ignores = {"tests/*" = ["PEL999"]}', "per-file-ignores"),
        ('exclude = "build"', "exclude"),
        ("extend-exclude = [1]", "extend-exclude"),
        ("position-table-pattern = 5", "position-table-pattern"),
        ('position-table-pattern = "("', "position-table-pattern"),
        ("max-file-size = 0", "max-file-size"),
        ("max-file-size = -1", "max-file-size"),
        ('max-file-size = "1MB"', "max-file-size"),
        ("max-file-size = true", "max-file-size"),
        ("max-file-size = 1.5", "max-file-size"),
    ],
)
def test_invalid_config_exits_two_naming_key_and_file(project, capsys, body, key):
    config = write_config(project, f"[tool.posenc-lint]\n{body}\n")
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["model.py"], capsys)

    assert code == 2
    assert out == ""
    assert f"`{key}`" in err
    assert str(config.resolve()) in err


def test_invalid_toml_exits_two_naming_file(project, capsys):
    config = write_config(project, "[tool.posenc-lint\nselect = [\n")
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["model.py"], capsys)

    assert code == 2
    assert out == ""
    assert str(config.resolve()) in err
    assert "invalid TOML" in err


def test_invalid_config_exits_two_in_subprocess(project):
    import subprocess

    write_config(project, '[tool.posenc-lint]\nselct = ["PEL1"]\n')
    (project / "model.py").write_text(ZERO_TABLE)

    result = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "model.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert "`selct`" in result.stderr


# Command-line options layered on the configuration, as Ruff layers them


@pytest.mark.parametrize(
    "config, options, expected",
    [
        # --select starts over: the configured ignore no longer counts.
        ('ignore = ["PEL101"]', ["--select", "PEL101"], ["PEL101"]),
        ('select = ["PEL3"]\nextend-select = ["PEL102"]', ["--select", "PEL101"], ["PEL101"]),
        # --extend-select and --ignore adjust the configured result.
        ('ignore = ["PEL1"]', ["--extend-select", "PEL101"], ["PEL101", "PEL301"]),
        ('ignore = ["PEL101"]', ["--extend-select", "PEL101"], ["PEL102", "PEL101", "PEL301"]),
        ('select = ["PEL3"]', ["--extend-select", "PEL1"], ["PEL102", "PEL101", "PEL301"]),
        ('select = ["PEL101"]', ["--ignore", "PEL1"], []),
        ('extend-select = ["PEL101"]', ["--ignore", "PEL1"], ["PEL301"]),
        ('select = ["PEL1", "PEL3"]', ["--ignore", "PEL102"], ["PEL101", "PEL301"]),
        ('select = []', ["--extend-select", "PEL301"], ["PEL301"]),
    ],
)
def test_command_line_layers_on_config(project, capsys, config, options, expected):
    write_config(project, f"[tool.posenc-lint]\n{config}\n")
    (project / "three.py").write_text(THREE_RULES)

    code, out, _ = run_main([*options, "three.py"], capsys)

    assert [pair[1] for pair in reported(out)] == expected
    assert code == (1 if expected else 0)


def test_command_line_selection_without_options_keeps_settings():
    settings = Settings(select=("PEL1",), ignore=("PEL102",))

    assert with_command_line_selection(settings, None, (), ()) is settings


def test_default_selection_leaves_out_off_by_default_rules():
    enabled = selected_codes(Settings())

    for rule in ALL_RULES:
        assert (rule.code in enabled) == rule.default_enabled, rule.code


def test_replaced_settings_do_not_reuse_cached_selection():
    settings = Settings()
    assert "PEL101" in selected_codes(settings, Path("model.py"))

    narrowed = dataclasses.replace(settings, ignore=("PEL101",))

    assert "PEL101" not in selected_codes(narrowed, Path("model.py"))
