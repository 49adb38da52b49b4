"""End-to-end tests of the fix options: `--fix`, `--unsafe-fixes`, `--diff`, `--fix-only`
and `--exit-non-zero-on-fix`, with the `[*]` marker, the summary and the exit codes.

PEL303's fix (register a plain tensor attribute as a buffer) is the safe fix used
here, and PEL101's (initialise a zero-filled learned table) the unsafe one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import libcst as cst
import pytest

from posenc_lint import cli, engine, fixer
from posenc_lint.config import ConfigError, Settings, load_settings, settings_from_table
from posenc_lint.engine import lint_source
from posenc_lint.model import DEFAULT_MAX_LEN

# PEL303 on line 9, with a safe fix.
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

PLAIN_TABLE_FIXED = PLAIN_TABLE.replace(
    "self.pe = pe", 'self.register_buffer("pe", pe, persistent=False)'
)

# PEL101 on line 8, with an unsafe fix.
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

# PEL303 on line 10 without a fix: a buffer of complex numbers would turn real
# under `Module.to(dtype)`.
NO_FIX = """\
import torch
from torch import nn


class RotaryTable(nn.Module):
    def __init__(self, max_len, d):
        super().__init__()
        angles = torch.outer(torch.arange(max_len).float(), torch.ones(d))
        pe = torch.polar(torch.ones_like(angles), angles)
        self.pe = pe

    def forward(self, x):
        return x * self.pe[: x.size(1)]
"""

CLEAN = """\
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, max_len, d):
        super().__init__()
        self.register_buffer("pe", torch.zeros(max_len, d), persistent=False)

    def forward(self, x):
        return x + self.pe[: x.size(1)]
"""


def run_main(argv: Sequence[str], capsys) -> Tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_module(args: Sequence[str], cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "posenc_lint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def report_codes(output: str) -> List[Tuple[str, str, bool]]:
    """Return (path, code, marked fixable) for each concise report line."""
    found = []
    for line in output.splitlines():
        location, _, rest = line.partition(": ")
        code, _, message = rest.partition(" ")
        found.append((location.split(":")[0], code, message.startswith("[*] ")))
    return found


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with no configuration above it that matters, made the current folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- The [*] marker and the summary without --fix -----------------------------------


def test_safe_fix_marked_fixable(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, err = run_main(["model.py"], capsys)

    assert code == 1
    assert report_codes(out) == [("model.py", "PEL303", True)]
    assert err.strip() == "Found 1 finding in 1 file (1 checked). 1 fixable with `--fix`."


def test_unsafe_fix_marked_only_with_unsafe_fixes(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    _, out, err = run_main(["model.py"], capsys)
    assert report_codes(out) == [("model.py", "PEL101", False)]
    assert err.strip() == "Found 1 finding in 1 file (1 checked). 1 fixable with `--fix --unsafe-fixes`."

    _, out, err = run_main(["--unsafe-fixes", "model.py"], capsys)
    assert report_codes(out) == [("model.py", "PEL101", True)]
    assert err.strip() == "Found 1 finding in 1 file (1 checked). 1 fixable with `--fix --unsafe-fixes`."


def test_summary_counts_safe_and_unsafe_fixes(project, capsys):
    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "b.py").write_text(ZERO_TABLE)

    _, _, err = run_main(["a.py", "b.py"], capsys)

    assert err.strip() == (
        "Found 2 findings in 2 files (2 checked). "
        "1 fixable with `--fix`, 1 more with `--fix --unsafe-fixes`."
    )


def test_finding_without_fix_not_marked(project, capsys):
    (project / "model.py").write_text(NO_FIX)

    _, out, err = run_main(["--unsafe-fixes", "model.py"], capsys)

    assert report_codes(out) == [("model.py", "PEL303", False)]
    assert "fixable" not in err


def test_full_output_marks_fixable(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    _, out, _ = run_main(["--output-format", "full", "model.py"], capsys)

    assert out.splitlines()[0].startswith("model.py:9:9: PEL303 [*] ")


# --- --fix ----------------------------------------------------------------------------


def test_fix_writes_file_and_exits_zero(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, err = run_main(["--fix", "model.py"], capsys)

    assert code == 0
    assert out == ""
    assert err.strip() == "Found 1 finding in 1 file (1 checked): 1 fixed, 0 remaining."
    assert (project / "model.py").read_text() == PLAIN_TABLE_FIXED


def test_fix_reports_remaining_findings(project, capsys):
    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "b.py").write_text(NO_FIX)

    code, out, err = run_main(["--fix", "a.py", "b.py"], capsys)

    assert code == 1
    assert report_codes(out) == [("b.py", "PEL303", False)]
    assert err.strip() == "Found 2 findings in 2 files (2 checked): 1 fixed, 1 remaining."
    assert (project / "b.py").read_text() == NO_FIX


def test_fix_leaves_unsafe_fix_unapplied(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["--fix", "model.py"], capsys)

    assert code == 1
    assert report_codes(out) == [("model.py", "PEL101", False)]
    assert err.strip() == "Found 1 finding in 1 file (1 checked). 1 fixable with `--fix --unsafe-fixes`."
    assert (project / "model.py").read_text() == ZERO_TABLE


def test_unsafe_fixes_applies_unsafe_fix(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["--fix", "--unsafe-fixes", "model.py"], capsys)

    assert code == 0
    assert out == ""
    assert err.strip() == "Found 1 finding in 1 file (1 checked): 1 fixed, 0 remaining."
    fixed = (project / "model.py").read_text()
    assert fixed != ZERO_TABLE
    assert lint_source(fixed, "model.py", Settings()).diagnostics == ()


def test_fix_on_clean_file_changes_nothing(project, capsys):
    path = project / "model.py"
    path.write_text(CLEAN)
    inode = path.stat().st_ino

    code, _, err = run_main(["--fix", "--unsafe-fixes", "model.py"], capsys)

    assert code == 0
    assert err.strip() == "All checks passed (1 file checked)."
    assert path.read_text() == CLEAN
    assert path.stat().st_ino == inode, "an unchanged file must not be rewritten"


def test_fix_exit_non_zero_on_fix(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, _, _ = run_main(["--fix", "--exit-non-zero-on-fix", "model.py"], capsys)

    assert code == 1
    assert (project / "model.py").read_text() == PLAIN_TABLE_FIXED


def test_exit_non_zero_on_fix_when_nothing_fixed(project, capsys):
    (project / "model.py").write_text(CLEAN)

    code, _, _ = run_main(["--fix", "--exit-non-zero-on-fix", "model.py"], capsys)

    assert code == 0


def test_fix_exit_zero_with_remaining_findings(project, capsys):
    (project / "model.py").write_text(NO_FIX)

    code, _, _ = run_main(["--fix", "--exit-zero", "model.py"], capsys)

    assert code == 0


def test_fix_json_report_lists_remaining_only(project, capsys):
    import json

    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "b.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["--fix", "--output-format", "json", "a.py", "b.py"], capsys)

    assert code == 1
    report = json.loads(out)
    assert [(item["filename"], item["code"]) for item in report] == [("b.py", "PEL101")]
    assert report[0]["fix"]["applicability"] == "unsafe"


def test_fix_report_to_output_file(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, _ = run_main(["--fix", "-o", "report.txt", "model.py"], capsys)

    assert code == 1
    assert out == ""
    assert report_codes((project / "report.txt").read_text()) == [("model.py", "PEL101", False)]


def test_fix_quiet_prints_no_summary(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, err = run_main(["--fix", "-q", "model.py"], capsys)

    assert (code, out, err) == (0, "", "")


def test_fix_respects_noqa(project, capsys):
    source = PLAIN_TABLE.replace("self.pe = pe", "self.pe = pe  # noqa: PEL303")
    (project / "model.py").write_text(source)

    code, _, _ = run_main(["--fix", "model.py"], capsys)

    assert code == 0
    assert (project / "model.py").read_text() == source


def test_fix_respects_selection(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, _, _ = run_main(["--fix", "--ignore", "PEL303", "model.py"], capsys)

    assert code == 0
    assert (project / "model.py").read_text() == PLAIN_TABLE


def test_fix_walks_folders(project, capsys):
    package = project / "src" / "models"
    package.mkdir(parents=True)
    (package / "a.py").write_text(PLAIN_TABLE)
    (package / "b.py").write_text(CLEAN)

    code, _, err = run_main(["--fix", "src"], capsys)

    assert code == 0
    assert (package / "a.py").read_text() == PLAIN_TABLE_FIXED
    assert (package / "b.py").read_text() == CLEAN
    assert "1 fixed, 0 remaining" in err


def test_fix_in_worker_processes(project):
    # Eight files or more go to worker processes when -j allows more than one.
    for index in range(12):
        (project / f"model_{index:02}.py").write_text(PLAIN_TABLE if index % 2 else ZERO_TABLE)

    result = run_module(["--fix", "-j", "2", "."], project)

    assert result.returncode == 1, result.stderr.decode()
    for index in range(12):
        text = (project / f"model_{index:02}.py").read_text()
        assert text == (PLAIN_TABLE_FIXED if index % 2 else ZERO_TABLE)
    assert result.stderr.decode().strip() == (
        "Found 12 findings in 12 files (12 checked): 6 fixed, 6 remaining. "
        "6 fixable with `--fix --unsafe-fixes`."
    )
    reported = report_codes(result.stdout.decode())
    assert [code for _, code, _ in reported] == ["PEL101"] * 6


def test_fix_missing_path_reported(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, _ = run_main(["--fix", "model.py", "missing.py"], capsys)

    assert code == 1
    assert report_codes(out) == [("missing.py", "PEL901", False)]
    assert (project / "model.py").read_text() == PLAIN_TABLE_FIXED


# --- --diff ---------------------------------------------------------------------------


def test_diff_prints_unified_diff_and_writes_nothing(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, err = run_main(["--diff", "model.py"], capsys)

    assert code == 1
    assert out.splitlines()[:3] == ["--- model.py", "+++ model.py", "@@ -6,7 +6,7 @@"]
    assert "-        self.pe = pe\n" in out
    assert '+        self.register_buffer("pe", pe, persistent=False)\n' in out
    assert err.strip() == "Would fix 1 finding in 1 file."
    assert (project / "model.py").read_text() == PLAIN_TABLE


def test_diff_without_fixes_exits_zero(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["--diff", "model.py"], capsys)

    assert code == 0
    assert out == ""
    assert err.strip() == "No fixes to apply. 1 more fixable with `--unsafe-fixes`."


def test_diff_with_unsafe_fixes(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["--diff", "--unsafe-fixes", "model.py"], capsys)

    assert code == 1
    assert out.startswith("--- model.py\n+++ model.py\n")
    assert err.strip() == "Would fix 1 finding in 1 file."
    assert (project / "model.py").read_text() == ZERO_TABLE


def test_diff_applies_with_patch(project, capsys):
    patch = shutil.which("patch")
    if patch is None:
        pytest.fail("the `patch` program is needed to check that diffs apply")
    (project / "model.py").write_text(PLAIN_TABLE)
    (project / "copy.py").write_text(PLAIN_TABLE)

    run_main(["--diff", "-o", "changes.diff", "model.py"], capsys)
    subprocess.run([patch, "-s", "copy.py", "changes.diff"], cwd=project, check=True)
    run_main(["--fix", "model.py"], capsys)

    assert (project / "copy.py").read_bytes() == (project / "model.py").read_bytes()


def test_diff_exit_zero(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, _, _ = run_main(["--diff", "--exit-zero", "model.py"], capsys)

    assert code == 0


def test_diff_wins_over_fix(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, _ = run_main(["--diff", "--fix", "model.py"], capsys)

    assert code == 1
    assert out.startswith("--- model.py")
    assert (project / "model.py").read_text() == PLAIN_TABLE


def test_diff_of_several_files_sorted_by_path(project, capsys):
    (project / "b.py").write_text(PLAIN_TABLE)
    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "c.py").write_text(CLEAN)

    _, out, err = run_main(["--diff", "c.py", "b.py", "a.py"], capsys)

    headers = [line for line in out.splitlines() if line.startswith("--- ")]
    assert headers == ["--- a.py", "--- b.py"]
    assert err.strip() == "Would fix 2 findings in 2 files."


# --- --fix-only -----------------------------------------------------------------------


def test_fix_only_reports_no_findings_and_exits_zero(project, capsys):
    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "b.py").write_text(NO_FIX)

    code, out, err = run_main(["--fix-only", "a.py", "b.py"], capsys)

    assert code == 0
    assert out == ""
    assert err.strip() == "Fixed 1 finding in 1 file."
    assert (project / "a.py").read_text() == PLAIN_TABLE_FIXED


def test_fix_only_mentions_unsafe_fixes(project, capsys):
    (project / "model.py").write_text(ZERO_TABLE)

    code, out, err = run_main(["--fix-only", "model.py"], capsys)

    assert code == 0
    assert out == ""
    assert err.strip() == "No fixes applied. 1 more fixable with `--unsafe-fixes`."


def test_fix_only_exit_non_zero_on_fix(project, capsys):
    (project / "model.py").write_text(PLAIN_TABLE)

    code, _, _ = run_main(["--fix-only", "--exit-non-zero-on-fix", "model.py"], capsys)

    assert code == 1
    assert (project / "model.py").read_text() == PLAIN_TABLE_FIXED


def test_fix_only_nothing_fixed_exits_zero(project, capsys):
    (project / "model.py").write_text(NO_FIX)

    code, _, _ = run_main(["--fix-only", "--exit-non-zero-on-fix", "model.py"], capsys)

    assert code == 0


# --- Standard input -------------------------------------------------------------------


def test_stdin_fix_writes_fixed_source_to_stdout(project):
    result = run_module(["--fix", "-", "--stdin-filename", "model.py"], project, PLAIN_TABLE.encode())

    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == PLAIN_TABLE_FIXED.encode()
    assert result.stderr.decode().strip() == "Found 1 finding in 1 file (1 checked): 1 fixed, 0 remaining."
    assert not (project / "model.py").exists()


def test_stdin_fix_reports_remaining_to_stderr(project):
    result = run_module(["--fix", "-", "--stdin-filename", "model.py"], project, ZERO_TABLE.encode())

    assert result.returncode == 1
    assert result.stdout == ZERO_TABLE.encode()
    assert "model.py:8:9: PEL101 " in result.stderr.decode()


def test_stdin_fix_only_prints_source_only(project):
    source = ZERO_TABLE.encode()

    result = run_module(["--fix-only", "--unsafe-fixes", "-"], project, source)

    assert result.returncode == 0
    assert result.stdout.startswith(source[: source.index(b"\n\n    def forward")])
    assert b"nn.init.trunc_normal_(self.pos_embed" in result.stdout
    assert result.stderr.decode().strip() == "Fixed 1 finding in 1 file."


def test_stdin_diff(project):
    result = run_module(["--diff", "-", "--stdin-filename", "model.py"], project, PLAIN_TABLE.encode())

    assert result.returncode == 1
    assert result.stdout.decode().startswith("--- model.py\n+++ model.py\n")
    assert result.stderr.decode().strip() == "Would fix 1 finding in 1 file."


def test_stdin_fix_keeps_bytes_it_cannot_decode(project):
    source = b"x = '\xff'\n"

    result = run_module(["--fix", "-"], project, source)

    assert result.returncode == 1
    assert result.stdout == source
    assert "PEL901" in result.stderr.decode()


# --- Failures while fixing ------------------------------------------------------------


def broken_apply_plans(module, plans):
    """Stand in for apply_plans with a result that does not parse."""
    broken = cst.parse_module("x = 1\n").with_changes(
        body=[cst.SimpleStatementLine([cst.Expr(cst.Name("def"))])]
    )
    return broken, len(plans)


def test_abandoned_fix_reported_and_run_goes_on(project, capsys, monkeypatch):
    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "b.py").write_text(PLAIN_TABLE)
    real_apply = fixer.apply_plans

    def apply_plans(module, plans):
        if "broken" in module.code:
            return broken_apply_plans(module, plans)
        return real_apply(module, plans)

    monkeypatch.setattr(fixer, "apply_plans", apply_plans)
    (project / "a.py").write_text("# broken\n" + PLAIN_TABLE)

    code, out, err = run_main(["--fix", "a.py", "b.py"], capsys)

    assert code == 2
    assert (project / "a.py").read_text() == "# broken\n" + PLAIN_TABLE
    assert (project / "b.py").read_text() == PLAIN_TABLE_FIXED
    assert report_codes(out) == [("a.py", "PEL303", True)]
    assert "posenc-lint: error: a.py: fixes not applied: the fixes produced code that does not parse" in err
    assert "the file was left unchanged" in err


def test_fix_that_raises_reported(project, capsys, monkeypatch):
    def apply_plans(module, plans):
        raise RuntimeError("transformer failed")

    monkeypatch.setattr(fixer, "apply_plans", apply_plans)
    (project / "model.py").write_text(PLAIN_TABLE)

    code, _, err = run_main(["--fix", "model.py"], capsys)

    assert code == 2
    assert "model.py: fixes not applied: internal error while applying the fixes: RuntimeError" in err
    assert (project / "model.py").read_text() == PLAIN_TABLE


def test_abandoned_fix_on_stdin_echoes_source(project, capsys, monkeypatch):
    import io

    monkeypatch.setattr(fixer, "apply_plans", broken_apply_plans)
    source = PLAIN_TABLE.encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source)))
    stdout = io.TextIOWrapper(io.BytesIO(), write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)

    code = cli.main(["--fix", "-", "--stdin-filename", "model.py"])

    assert code == 2
    assert stdout.buffer.getvalue() == source
    assert "model.py: fixes not applied" in capsys.readouterr().err


def test_unexpected_error_while_fixing_reported(project, capsys, monkeypatch):
    def fail(*arguments, **keywords):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(fixer, "write_back", fail)
    (project / "a.py").write_text(PLAIN_TABLE)
    (project / "b.py").write_text(CLEAN)

    code, out, err = run_main(["--fix", "a.py", "b.py"], capsys)

    assert code == 2
    assert "posenc-lint: error: a.py: internal error while fixing the file: RuntimeError('unexpected')" in err
    assert report_codes(out) == [("a.py", "PEL303", True)]
    assert (project / "a.py").read_text() == PLAIN_TABLE


def test_read_only_file_reported_and_left_alone(project, capsys):
    path = project / "model.py"
    path.write_text(PLAIN_TABLE)
    path.chmod(0o444)
    (project / "other.py").write_text(PLAIN_TABLE)

    code, out, err = run_main(["--fix", "model.py", "other.py"], capsys)

    assert code == 2
    assert path.read_text() == PLAIN_TABLE
    assert (project / "other.py").read_text() == PLAIN_TABLE_FIXED
    assert "posenc-lint: error: model.py: fixed source not written: the file is read-only" in err
    assert report_codes(out) == [("model.py", "PEL303", True)]
    assert "1 fixed, 1 remaining" in err


# --- [tool.posenc-lint.fix] -----------------------------------------------------------


def test_default_max_len_defaults_to_2048():
    assert Settings().default_max_len == DEFAULT_MAX_LEN == 2048


def test_default_max_len_key(project):
    config = project / "pyproject.toml"
    config.write_text("[tool.posenc-lint.fix]\ndefault-max-len = 512\n")

    assert load_settings(config).default_max_len == 512


def test_default_max_len_reaches_model(monkeypatch):
    seen = []
    real_build = engine.build_model

    def build_model(*arguments, **keywords):
        model = real_build(*arguments, **keywords)
        seen.append(model)
        return model

    monkeypatch.setattr(engine, "build_model", build_model)
    settings = settings_from_table({"fix": {"default-max-len": 300}}, Path("pyproject.toml"))

    lint_source(PLAIN_TABLE, "model.py", settings)

    assert [model.default_max_len for model in seen] == [300]
    assert seen[0].settings is settings


def test_model_without_settings_uses_default_max_len():
    from posenc_lint.model import build_model

    assert build_model(cst.parse_module(PLAIN_TABLE)).default_max_len == DEFAULT_MAX_LEN


def test_default_max_len_changes_cache_key():
    assert Settings(default_max_len=16).cache_key() != Settings().cache_key()


@pytest.mark.parametrize(
    "body, expected",
    [
        ("[tool.posenc-lint.fix]\ndefault-max-len = 0\n", "`default-max-len` in [tool.posenc-lint.fix]"),
        ("[tool.posenc-lint.fix]\ndefault-max-len = -5\n", "`default-max-len` in [tool.posenc-lint.fix]"),
        ("[tool.posenc-lint.fix]\ndefault-max-len = 2048.0\n", "must be a whole number"),
        ("[tool.posenc-lint.fix]\ndefault-max-len = true\n", "must be a whole number"),
        ('[tool.posenc-lint.fix]\ndefault-max-len = "2048"\n', "must be a whole number"),
        ("[tool.posenc-lint.fix]\ndefault-max-len = 16777217\n", "from 1 to 16777216"),
        ("[tool.posenc-lint.fix]\nmax-len = 10\n", "unknown key `max-len` in [tool.posenc-lint.fix]"),
        ("[tool.posenc-lint]\nfix = true\n", "must be the table [tool.posenc-lint.fix]"),
    ],
)
def test_invalid_fix_config_exits_two(project, capsys, body, expected):
    (project / "pyproject.toml").write_text(body)
    (project / "model.py").write_text(PLAIN_TABLE)

    code, out, err = run_main(["--fix", "model.py"], capsys)

    assert code == 2
    assert out == ""
    assert expected in err
    assert "pyproject.toml" in err
    assert (project / "model.py").read_text() == PLAIN_TABLE


def test_invalid_fix_config_raises_config_error():
    with pytest.raises(ConfigError, match="default-max-len"):
        settings_from_table({"fix": {"default-max-len": 0}}, Path("pyproject.toml"))


# --- The README's example ---------------------------------------------------------------

REPOSITORY = Path(__file__).resolve().parent.parent


def test_readme_design_diff_is_current(monkeypatch, capsys):
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    start = readme.index("```diff\n--- fixtures/design/positional_embedding.py\n") + len("```diff\n")
    shown = readme[start : readme.index("```", start)]
    monkeypatch.chdir(REPOSITORY)

    code, out, _ = run_main(
        ["--diff", "--unsafe-fixes", "--isolated", "fixtures/design/positional_embedding.py"], capsys
    )

    assert code == 1
    assert shown == out, "update the README's diff to the output of the command above"

