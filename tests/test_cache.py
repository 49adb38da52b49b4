"""The result cache: unchanged files are not linted again, and the cache never changes a result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from posenc_lint import cli, engine
from posenc_lint.cache import ResultCache, content_digest
from posenc_lint.diagnostics import FileResult

ZERO_TABLE = """\
import torch
from torch import nn


class Embed(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, 16, 8))

    def forward(self, x):
        return x + self.pos_embed
"""

CLEAN = "import torch\n\nx = torch.ones(3)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.delenv("POSENC_LINT_NO_CACHE", raising=False)
    monkeypatch.delenv("POSENC_LINT_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text(ZERO_TABLE)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def run(argv, capsys):
    code = cli.main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def forbid_linting(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the file was linted again")

    monkeypatch.setattr(engine, "lint_source", fail)


def test_second_run_is_served_from_the_cache(project, capsys, monkeypatch):
    first = run(["."], capsys)
    forbid_linting(monkeypatch)

    second = run(["."], capsys)

    assert first[0] == second[0] == 1
    assert second[1] == first[1]
    assert "PEL101" in second[1]


def test_changed_file_is_linted_again(project, capsys):
    run(["."], capsys)
    (project / "model.py").write_text(CLEAN)

    code, out, _ = run(["."], capsys)

    assert code == 0
    assert "PEL101" not in out


def test_other_settings_do_not_share_results(project, capsys, monkeypatch):
    run(["."], capsys)

    code, out, _ = run(["--select", "PEL5", "."], capsys)

    assert code == 0
    assert "PEL101" not in out


def test_cache_folder_is_marked_and_ignored_by_git(project, capsys):
    run(["."], capsys)

    folder = project / ".posenc_lint_cache"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert len(list(folder.glob("*.json"))) == 1
    assert not list(folder.glob(".tmp-*"))


def test_no_cache_writes_nothing(project, capsys):
    code, out, _ = run(["--no-cache", "."], capsys)

    assert code == 1
    assert not (project / ".posenc_lint_cache").exists()


def test_environment_variable_turns_the_cache_off(project, capsys, monkeypatch):
    monkeypatch.setenv("POSENC_LINT_NO_CACHE", "1")

    run(["."], capsys)

    assert not (project / ".posenc_lint_cache").exists()


def test_cache_dir_option_and_variable(project, capsys, monkeypatch, tmp_path_factory):
    chosen = tmp_path_factory.mktemp("chosen")
    run(["--cache-dir", str(chosen), "."], capsys)
    assert (chosen / "CACHEDIR.TAG").is_file()

    from_variable = tmp_path_factory.mktemp("variable")
    monkeypatch.setenv("POSENC_LINT_CACHE_DIR", str(from_variable))
    run(["."], capsys)
    assert (from_variable / "CACHEDIR.TAG").is_file()
    assert not (project / ".posenc_lint_cache").exists()


def test_cache_goes_beside_the_configuration_file(project, capsys, monkeypatch):
    (project / "pyproject.toml").write_text("[tool.posenc-lint]\n")
    package = project / "pkg"
    package.mkdir()
    (package / "model.py").write_text(ZERO_TABLE)
    monkeypatch.chdir(package)

    run(["."], capsys)

    assert (project / ".posenc_lint_cache").is_dir()
    assert not (package / ".posenc_lint_cache").exists()


def test_corrupt_cache_file_is_ignored_and_replaced(project, capsys):
    run(["."], capsys)
    (cache_file,) = (project / ".posenc_lint_cache").glob("*.json")
    cache_file.write_text('{"model.py": ["not', encoding="utf-8")

    code, out, _ = run(["."], capsys)

    assert code == 1
    assert "PEL101" in out
    assert isinstance(json.loads(cache_file.read_text()), dict)


def test_unwritable_cache_folder_only_warns(project, capsys, caplog):
    (project / "blocker").write_text("a file where the cache folder should be")

    code, out, _ = run(["--cache-dir", "blocker/cache", "."], capsys)

    assert code == 1
    assert "PEL101" in out
    assert "cannot write the cache in blocker/cache" in caplog.text


def test_unreadable_and_crashed_files_are_not_cached(tmp_path):
    cache = ResultCache(tmp_path / "cache", "key")
    from posenc_lint.diagnostics import file_diagnostic

    broken = FileResult("a.py", (file_diagnostic("PEL902", "a.py", "internal error"),))
    cache.put("a.py", "digest", broken)
    cache.save()

    assert ResultCache(tmp_path / "cache", "key").get("a.py", "digest") is None


def test_entry_round_trips_every_field(tmp_path):
    source = ZERO_TABLE.encode()
    from posenc_lint.config import Settings

    result = engine.lint_source(source, "model.py", Settings(fix_edits=True))
    assert result.diagnostics
    assert result.diagnostics[0].fix is not None
    assert result.diagnostics[0].fix.edits

    cache = ResultCache(tmp_path, "key")
    cache.put("model.py", content_digest(source), result)
    cache.save()

    assert ResultCache(tmp_path, "key").get("model.py", content_digest(source)) == result
    assert ResultCache(tmp_path, "key").get("model.py", content_digest(b"other")) is None


CONCURRENT_RUN = """
import sys
from posenc_lint.cli import main
sys.exit(main(["--no-progress", "-q", "-j", "1", "."]))
"""


def test_concurrent_runs_leave_a_valid_cache(project):
    for index in range(30):
        (project / f"m{index:02d}.py").write_text(ZERO_TABLE + f"\nVALUE = {index}\n")
    env = {key: value for key, value in __import__("os").environ.items() if key != "POSENC_LINT_NO_CACHE"}
    runs = [
        subprocess.Popen([sys.executable, "-c", CONCURRENT_RUN], cwd=project, env=env, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [run.returncode for run in runs] == [1] * 4
    assert len(set(outputs)) == 1
    (cache_file,) = (project / ".posenc_lint_cache").glob("*.json")
    assert len(json.loads(cache_file.read_text())) == 32
    assert not list((project / ".posenc_lint_cache").glob(".tmp-*"))
    again = subprocess.run([sys.executable, "-c", CONCURRENT_RUN], cwd=project, env=env, stdout=subprocess.PIPE)
    assert again.stdout == outputs[0]


WARM_RUN_IMPORTS = """
import sys
from posenc_lint.cli import main
code = main(["--no-progress", "-q", "."])
print(sorted(name for name in sys.modules if name == "libcst" or name.startswith("posenc_lint.rules")))
sys.exit(code)
"""


def test_warm_run_never_imports_libcst(project):
    env = {key: value for key, value in __import__("os").environ.items() if key != "POSENC_LINT_NO_CACHE"}
    subprocess.run([sys.executable, "-c", WARM_RUN_IMPORTS], cwd=project, env=env, check=False)

    warm = subprocess.run(
        [sys.executable, "-c", WARM_RUN_IMPORTS], cwd=project, env=env, capture_output=True, text=True
    )

    assert warm.returncode == 1
    assert warm.stdout.splitlines()[-1] == "[]"


def test_progress_bar_draws_and_clears():
    import io

    from posenc_lint.runner import _with_progress

    stream = io.StringIO()
    items = list(_with_progress(range(100), 100, stream))

    assert items == list(range(100))
    output = stream.getvalue()
    assert "100/100 files" in output
    assert output.endswith("\r")


def test_no_progress_bar_in_ci_or_pipes(monkeypatch):
    import io

    from posenc_lint.runner import show_progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert show_progress(Terminal())
    assert not show_progress(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not show_progress(Terminal())
