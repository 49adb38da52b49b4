"""The pre-commit hook in `.pre-commit-hooks.yaml`, run by the real pre-commit.

pre-commit installs a hook from a git repository, so the tests copy the
working tree (tracked and untracked files that git does not ignore) into a
temporary repository and commit it there. Each install builds posenc-lint in
a fresh virtual environment with pip, which fetches libcst, PyYAML and
setuptools from PyPI, or from wherever PIP_INDEX_URL, PIP_FIND_LINKS and
PIP_NO_INDEX in the environment point.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
HOOK_ID = "posenc-lint"

# Installing the hook environment is most of the time these tests take.
PRE_COMMIT_TIMEOUT = 300

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")

GIT_IDENTITY = (
    "-c",
    "user.name=posenc-lint tests",
    "-c",
    "user.email=tests@posenc-lint.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
)

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

CLEAN = ZERO_TABLE.replace(
    "torch.zeros(1, n, d))\n",
    "torch.zeros(1, n, d))\n        nn.init.trunc_normal_(self.pos_embed, std=0.02)\n",
)


@functools.lru_cache(maxsize=None)
def fix_supported() -> bool:
    """Check whether this checkout's posenc-lint has a `--fix` option."""
    result = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "--fix" in result.stdout


def git(args: Sequence[str], cwd: Path) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def new_repository(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    git(["init", "--quiet"], folder)
    return folder


def commit_all(folder: Path) -> str:
    git(["add", "--all"], folder)
    git(["commit", "--quiet", "--allow-empty", "-m", "snapshot"], folder)
    return git(["rev-parse", "HEAD"], folder).strip()


def working_tree_files() -> List[str]:
    """List the checkout's tracked and untracked files that git does not ignore."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.skip("the pre-commit tests copy the working tree, so they need a git checkout")
    names = [name for name in result.stdout.decode().split("\0") if name]
    # A tracked file deleted from the working tree is still listed.
    return [name for name in names if (REPO / name).is_file()]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """Return a committed copy of the working tree for pre-commit to install from."""
    destination = tmp_path_factory.mktemp("hook-repo")
    for name in working_tree_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    new_repository(destination)
    commit_all(destination)
    return destination


@pytest.fixture(scope="module")
def pre_commit_env(tmp_path_factory) -> Dict[str, str]:
    """Return an environment that keeps pre-commit's cache in a temporary folder."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GIT_") and not name.startswith("PRE_COMMIT")
    }
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    # pre-commit's output is plain text when it is not writing to a terminal,
    # but a forced colour setting would still add escape codes.
    env["PRE_COMMIT_COLOR"] = "never"
    return env


@pytest.fixture
def project(tmp_path) -> Path:
    return new_repository(tmp_path / "project")


def run_pre_commit(args: Sequence[str], cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PRE_COMMIT_TIMEOUT,
    )
    output = result.stdout + result.stderr
    # pre-commit exits with 3 when it fails itself, for example when pip
    # cannot install the hook environment.
    assert result.returncode != 3, (
        "pre-commit failed before running the hook. Installing the hook needs PyPI, "
        "or PIP_FIND_LINKS and PIP_NO_INDEX=1 pointing at wheels of libcst, PyYAML "
        f"and setuptools.\n{output}"
    )
    return result


def output_of(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def hook_manifest() -> dict:
    manifest = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hooks = [hook for hook in manifest if hook["id"] == HOOK_ID]
    assert len(hooks) == 1
    return hooks[0]


# The manifest


def test_manifest_passes_validate_manifest(pre_commit_env):
    result = run_pre_commit(["validate-manifest", str(REPO / ".pre-commit-hooks.yaml")], REPO, pre_commit_env)

    assert result.returncode == 0, output_of(result)


def test_manifest_hook_settings():
    hook = hook_manifest()

    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "pyi"]
    assert hook["entry"].split()[0] == "posenc-lint"
    assert "--force-exclude" in hook["entry"].split()
    # posenc-lint runs its own worker processes, one per CPU.
    assert hook["require_serial"] is True


def readme_pre_commit_config() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    configs = [block for block in blocks if f"id: {HOOK_ID}" in block and "repos:" in block]
    assert configs, "the README has no .pre-commit-config.yaml snippet for the hook"
    return configs[0]


def test_readme_snippet_passes_validate_config(tmp_path, pre_commit_env):
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(readme_pre_commit_config())

    result = run_pre_commit(["validate-config", str(config)], tmp_path, pre_commit_env)

    assert result.returncode == 0, output_of(result)
    hooks = yaml.safe_load(config.read_text())["repos"][0]["hooks"]
    assert [hook["id"] for hook in hooks] == [HOOK_ID]
    assert hooks[0]["args"] == ["--fix"]


# try-repo: the hook as pre-commit installs it from a repository


def test_try_repo_fails_on_findings(project, hook_repo, pre_commit_env):
    (project / "model.py").write_text(ZERO_TABLE)

    result = run_pre_commit(
        ["try-repo", str(hook_repo), HOOK_ID, "--files", "model.py"], project, pre_commit_env
    )

    output = output_of(result)
    assert result.returncode == 1, output
    assert re.search(r"^posenc-lint\.+Failed$", output, re.MULTILINE), output
    assert "model.py:7:9: PEL101" in output


def test_try_repo_passes_clean_and_excluded_files(project, hook_repo, pre_commit_env):
    (project / "clean.py").write_text(CLEAN)
    (project / "stubs.pyi").write_text("def build_table(max_len: int, d_model: int) -> object: ...\n")
    # pre-commit names this file too; --force-exclude must skip it.
    (project / "vendored").mkdir()
    (project / "vendored" / "model.py").write_text(ZERO_TABLE)
    (project / "pyproject.toml").write_text('[tool.posenc-lint]\nextend-exclude = ["vendored"]\n')

    result = run_pre_commit(
        ["try-repo", str(hook_repo), HOOK_ID, "--files", "clean.py", "stubs.pyi", "vendored/model.py"],
        project,
        pre_commit_env,
    )

    output = output_of(result)
    assert result.returncode == 0, output
    assert re.search(r"^posenc-lint\.+Passed$", output, re.MULTILINE), output
    assert "PEL101" not in output


# --fix through a .pre-commit-config.yaml, as the README shows it


def fixable_example(tmp_path: Path) -> str:
    """Return a rule example that `posenc-lint --fix` fixes completely with safe fixes."""
    from posenc_lint.rules import ALL_RULES

    candidate = tmp_path / "candidate.py"
    for rule in ALL_RULES:
        if getattr(rule, "file_level", False):
            continue
        for example in rule.code_blocks("Example"):
            candidate.write_text(example + "\n")
            result = subprocess.run(
                [sys.executable, "-m", "posenc_lint", "--isolated", "--fix", str(candidate)],
                capture_output=True,
                timeout=120,
            )
            if result.returncode == 0 and candidate.read_text() != example + "\n":
                return example + "\n"
    raise AssertionError("no rule example is fixed completely by `posenc-lint --fix`")


@pytest.mark.skipif(not fix_supported(), reason="this posenc-lint has no --fix option yet")
def test_fix_hook_rewrites_then_passes(project, hook_repo, pre_commit_env, tmp_path):
    source = fixable_example(tmp_path)
    (project / "model.py").write_text(source)
    rev = git(["rev-parse", "HEAD"], hook_repo).strip()
    (project / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump(
            {"repos": [{"repo": str(hook_repo), "rev": rev, "hooks": [{"id": HOOK_ID, "args": ["--fix"]}]}]}
        )
    )
    commit_all(project)

    first = run_pre_commit(["run", "--files", "model.py"], project, pre_commit_env)

    assert first.returncode == 1, output_of(first)
    assert "files were modified by this hook" in output_of(first)
    assert (project / "model.py").read_text() != source

    second = run_pre_commit(["run", "--files", "model.py"], project, pre_commit_env)

    assert second.returncode == 0, output_of(second)
    assert re.search(r"^posenc-lint\.+Passed$", output_of(second), re.MULTILINE)
