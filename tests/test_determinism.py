"""Findings, their order and the fixed bytes do not depend on hash seeds, worker counts or history.

The CLI lints and fixes a copy of the fixtures, and of a sample of the real
corpus when its cache (`.corpus-cache/`, filled by `corpus/check_corpus.py`) is
present. It runs under several `PYTHONHASHSEED` values and with one and two
worker processes, and every run must print the same bytes. `corpus/check_everything.py
--hash-seeds` makes the same comparison on whole packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from posenc_lint.config import Settings, validate_selectors
from posenc_lint.engine import lint_source
from posenc_lint.fixer import fix_source

REPO = Path(__file__).resolve().parent.parent
CORPUS_SAMPLE = REPO / ".corpus-cache" / "src" / "vit-pytorch-1.26.14"
ALL_SELECTED = Settings(select=validate_selectors(["PEL"]))

# (PYTHONHASHSEED, worker processes); the first is the baseline.
CONFIGURATIONS: List[Tuple[str, int]] = [("0", 1), ("1", 2), ("2", 2)]
# Files of the corpus sample, enough to hold findings of several rules.
CORPUS_SAMPLE_SIZE = 30


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the fixtures, with the corpus sample when the cache has it."""
    root = tmp_path_factory.mktemp("determinism")
    shutil.copytree(str(REPO / "fixtures"), str(root / "fixtures"))
    if CORPUS_SAMPLE.is_dir():
        for path in sorted(CORPUS_SAMPLE.rglob("*.py"))[:CORPUS_SAMPLE_SIZE]:
            target = root / "corpus" / path.relative_to(CORPUS_SAMPLE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(str(path), str(target))
    return root


def run_cli(arguments: Sequence[str], cwd: Path, seed: str, jobs: int) -> bytes:
    environment = dict(os.environ, POSENC_LINT_NO_CACHE="1", PYTHONHASHSEED=seed)
    completed = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "--isolated", "--select", "PEL", "-j", str(jobs), *arguments, "."],
        cwd=str(cwd),
        env=environment,
        capture_output=True,
        timeout=600,
    )
    assert completed.returncode in (0, 1), completed.stderr.decode("utf-8", "replace")
    return completed.stdout


@pytest.fixture(scope="module")
def findings(tree) -> List[bytes]:
    return [run_cli(["--output-format", "json", "--exit-zero"], tree, seed, jobs) for seed, jobs in CONFIGURATIONS]


@pytest.fixture(scope="module")
def diffs(tree) -> List[bytes]:
    return [run_cli(["--diff", "--unsafe-fixes", "--exit-zero"], tree, seed, jobs) for seed, jobs in CONFIGURATIONS]


def test_sample_has_findings_and_fixes(findings, diffs):
    assert findings[0].count(b'"code"') > 50
    assert diffs[0].count(b"\n+++ ") > 20


@pytest.mark.parametrize("index", range(1, len(CONFIGURATIONS)), ids=lambda index: "seed %s, -j %d" % CONFIGURATIONS[index])
def test_findings_same_under_seed_and_jobs(findings, index):
    assert findings[index] == findings[0]


@pytest.mark.parametrize("index", range(1, len(CONFIGURATIONS)), ids=lambda index: "seed %s, -j %d" % CONFIGURATIONS[index])
def test_fixed_bytes_same_under_seed_and_jobs(diffs, index):
    assert diffs[index] == diffs[0]


def fixture_sources() -> List[Path]:
    return sorted(path for path in (REPO / "fixtures").rglob("*.py") if not path.name.endswith(".fixed.py"))


def test_same_process_gives_same_results_in_any_order():
    # Caches keyed by id() would go wrong when another file's nodes reuse an address.
    sources = [path.read_bytes() for path in fixture_sources()]

    first = [lint_source(data, "model.py", ALL_SELECTED).diagnostics for data in sources]
    second = [lint_source(data, "model.py", ALL_SELECTED).diagnostics for data in reversed(sources)]

    assert first == list(reversed(second))


def test_same_process_fixes_same_in_any_order():
    sources = [path.read_bytes() for path in fixture_sources()[::3]]

    first = [fix_source(data, "model.py", ALL_SELECTED, unsafe=True).source for data in sources]
    second = [fix_source(data, "model.py", ALL_SELECTED, unsafe=True).source for data in reversed(sources)]

    assert first == list(reversed(second))
