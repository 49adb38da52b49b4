#!/usr/bin/env python3
"""Lint and fix all of the real code at hand, and check that nothing crashes or breaks.

The trees are every package pinned in ``corpus/packages.txt`` inside ``--shared``
(downloaded and unpacked into the cache by ``check_corpus.py``'s helpers) and the
Python sources of the installed ``torch`` and ``flake8``, found with
``importlib.util.find_spec`` without importing them (``--corpus-only`` leaves
those two out).

For each tree, the selected ``.py`` and ``.pyi`` files are copied to a temporary
folder and the posenc-lint CLI runs on the copy with every rule selected:

1. a lint run, whose findings tell which files may change;
2. ``--fix --unsafe-fixes``;
3. ``--fix --unsafe-fixes`` again on the whole copy.

A tree fails on any of these problems:

- a run reports an internal error (PEL902);
- a file could not be fixed or written;
- a rewritten file does not parse although its original does;
- a file without findings changed;
- the second run changed a file again.

With ``--hash-seeds``, step 2 runs once per ``PYTHONHASHSEED`` value on its own
copy, and every copy must come out byte-identical.

``--filter`` limits the files, for example
``--filter 'transformers/models/*'``. Paths are relative to the unpacked wheel,
or to ``site-packages`` for torch and flake8, so they start with the import
package's folder.

Exit status: 0 when every check holds, 1 when one fails, 2 when setup fails.
The result cache is turned off (``POSENC_LINT_NO_CACHE=1``), so every run lints
every file.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_corpus  # noqa: E402 - the folder of this script is put on sys.path above
from check_corpus import (  # noqa: E402
    DEFAULT_CACHE,
    DEFAULT_SHARED,
    REPO_ROOT,
    SetupError,
    fix_errors,
    parse_packages,
    parse_problem,
    prepare_package,
    short_diff,
)

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SETUP_ERROR = 2

INTERNAL_ERROR = "PEL902"
PYTHON_SUFFIXES = (".py", ".pyi")
SKIPPED_FOLDERS = {"__pycache__", ".git"}
INSTALLED_PACKAGES = ("torch", "flake8")


@dataclass(frozen=True)
class Tree:
    """A folder of real code: ``root`` is the folder that paths are relative to."""

    name: str
    root: Path
    top: str


@dataclass
class TreeReport:
    name: str
    files: int = 0
    findings: int = 0
    with_findings: int = 0
    rewritten: int = 0
    problems: List[str] = field(default_factory=list)
    seconds: float = 0.0


# --- Trees and files ---------------------------------------------------------------


def installed_tree(name: str) -> Tree:
    """Return the installed package ``name`` as a tree, without importing it."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise SetupError(f"package {name} is not installed in {sys.executable}; install it or leave it out with --tree")
    folder = Path(locations[0])
    return Tree(name, folder.parent, folder.name)


def corpus_trees(shared: Path, cache: Path) -> List[Tree]:
    """Return the unpacked tree of every pinned package, downloading what is missing."""
    packages_file = shared / "corpus" / "packages.txt"
    try:
        text = packages_file.read_text(encoding="utf-8")
    except OSError as error:
        raise SetupError(f"cannot read {packages_file}: {error}; pass --shared DIR with the folder that contains corpus/")
    return [Tree(package.key, prepare_package(package, cache), "") for package in parse_packages(text, str(packages_file))]


def matches(relative: str, patterns: Sequence[str]) -> bool:
    """Return whether ``relative`` matches a glob pattern, or lies in a folder that a plain pattern names."""
    if not patterns:
        return True
    for pattern in patterns:
        pattern = pattern.strip("/")
        if fnmatch.fnmatchcase(relative, pattern):
            return True
        if not any(character in pattern for character in "*?[") and (
            relative == pattern or relative.startswith(pattern + "/")
        ):
            return True
    return False


def select_files(tree: Tree, patterns: Sequence[str]) -> List[str]:
    """Return the sorted ``/``-separated paths of the Python files of ``tree`` that match ``patterns``."""
    start = tree.root / tree.top if tree.top else tree.root
    selected = []
    for directory, folders, names in os.walk(str(start)):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        for name in names:
            if not name.endswith(PYTHON_SUFFIXES):
                continue
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(tree.root).as_posix()
            if matches(relative, patterns):
                selected.append(relative)
    return sorted(selected)


def copy_files(tree: Tree, files: Sequence[str], target: Path) -> None:
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(str(tree.root / relative), str(destination))


def read_all(folder: Path, files: Sequence[str]) -> Dict[str, bytes]:
    return {relative: (folder / relative).read_bytes() for relative in files}


# --- Runs of the CLI ---------------------------------------------------------------


def run_cli(arguments: Sequence[str], seed: Optional[str] = None) -> "subprocess.CompletedProcess[str]":
    """Run ``python -m posenc_lint`` from the repository root, with PYTHONHASHSEED=``seed`` when given."""
    environment = dict(os.environ, POSENC_LINT_NO_CACHE="1")
    if seed is not None:
        environment["PYTHONHASHSEED"] = seed
    command = [sys.executable, "-m", "posenc_lint", *arguments]
    try:
        return subprocess.run(
            command,
            cwd=str(REPO_ROOT),
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as error:
        raise SetupError(f"cannot run {sys.executable}: {error}")


def lint_copy(copy: Path, jobs: int) -> List[dict]:
    """Lint ``copy`` with every rule selected and return the JSON findings."""
    completed = run_cli(
        ["--output-format", "json", "--select", "PEL", "--isolated", "--exit-zero", "-q", "-j", str(jobs), str(copy)]
    )
    try:
        findings = json.loads(completed.stdout)
    except ValueError:
        raise SetupError(
            f"linting {copy} failed (exit {completed.returncode}); standard error:\n{check_corpus._tail(completed.stderr)}"
        )
    if not isinstance(findings, list):
        raise SetupError(f"linting {copy} printed JSON that is not a list")
    return findings


def fix_copy(copy: Path, jobs: int, seed: Optional[str] = None) -> "subprocess.CompletedProcess[str]":
    return run_cli(
        [
            "--fix", "--unsafe-fixes", "--select", "PEL", "--isolated", "--exit-zero", "-q",
            "--output-format", "json-lines", "-j", str(jobs), str(copy),
        ],
        seed,
    )


def relative_to_copy(filename: str, copy: Path) -> str:
    absolute = os.path.normpath(os.path.join(str(REPO_ROOT), filename))
    return Path(os.path.relpath(absolute, str(copy))).as_posix()


def internal_errors(completed: "subprocess.CompletedProcess[str]", copy: Path, step: str) -> List[str]:
    """Return a problem line for each PEL902 finding in a fix run's JSON-lines output."""
    problems = []
    for line in completed.stdout.splitlines():
        try:
            finding = json.loads(line)
        except ValueError:
            continue
        if isinstance(finding, dict) and finding.get("code") == INTERNAL_ERROR:
            path = relative_to_copy(str(finding.get("filename", "?")), copy)
            problems.append(f"{path}: {step}: {INTERNAL_ERROR} {finding.get('message', '')}")
    return problems


def failed_run(completed: "subprocess.CompletedProcess[str]", copy: Path, step: str) -> List[str]:
    """Return problems for a run that could not fix or write files, or that crashed."""
    problems = [f"{path}: {step}: {reason}" for path, reason in fix_errors(completed.stderr, copy, REPO_ROOT)]
    if completed.returncode != 0 and not problems:
        problems.append(f".: {step}: posenc-lint exited with {completed.returncode}:\n{check_corpus._tail(completed.stderr)}")
    return problems


# --- Checks -----------------------------------------------------------------------


def check_tree(tree: Tree, patterns: Sequence[str], scratch: Path, jobs: int, seeds: Sequence[str]) -> TreeReport:
    """Run the three steps on a copy of ``tree`` and return what they found."""
    started = time.monotonic()
    report = TreeReport(tree.name)
    files = select_files(tree, patterns)
    report.files = len(files)
    if not files:
        return report

    copy = scratch / tree.name
    copy_files(tree, files, copy)
    originals = read_all(copy, files)

    findings = lint_copy(copy, jobs)
    with_findings: Set[str] = set()
    for finding in findings:
        path = relative_to_copy(str(finding.get("filename", "?")), copy)
        with_findings.add(path)
        if finding.get("code") == INTERNAL_ERROR:
            report.problems.append(f"{path}: lint: {INTERNAL_ERROR} {finding.get('message', '')}")
    report.findings = len(findings)
    report.with_findings = len(with_findings)

    first = fix_copy(copy, jobs, seeds[0] if seeds else None)
    report.problems.extend(failed_run(first, copy, "--fix"))
    report.problems.extend(internal_errors(first, copy, "--fix"))
    fixed = read_all(copy, files)

    for relative in files:
        if fixed[relative] == originals[relative]:
            continue
        report.rewritten += 1
        if relative not in with_findings:
            report.problems.append(f"{relative}: --fix changed a file without findings")
        problem = parse_problem(fixed[relative])
        if problem is not None and parse_problem(originals[relative]) is None:
            report.problems.append(f"{relative}: the fixed file does not parse: {problem}")

    for seed in seeds[1:]:
        report.problems.extend(compare_seed(copy, files, originals, fixed, jobs, seeds[0], seed))

    second = fix_copy(copy, jobs)
    report.problems.extend(failed_run(second, copy, "second --fix"))
    report.problems.extend(internal_errors(second, copy, "second --fix"))
    for relative, data in read_all(copy, files).items():
        if data != fixed[relative]:
            report.problems.append(f"{relative}: a second --fix changed the file again:\n{short_diff(fixed[relative], data)}")

    shutil.rmtree(str(copy), ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def compare_seed(
    copy: Path,
    files: Sequence[str],
    originals: Dict[str, bytes],
    expected: Dict[str, bytes],
    jobs: int,
    first_seed: str,
    seed: str,
) -> List[str]:
    """Fix a fresh copy under PYTHONHASHSEED=``seed`` and compare it with the first seed's result."""
    other = copy.with_name(f"{copy.name}-seed-{seed}")
    for relative, data in originals.items():
        destination = other / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
    completed = fix_copy(other, jobs, seed)
    problems = failed_run(completed, other, f"--fix with PYTHONHASHSEED={seed}")
    for relative in files:
        data = (other / relative).read_bytes()
        if data != expected[relative]:
            problems.append(
                f"{relative}: --fix with PYTHONHASHSEED={seed} differs from PYTHONHASHSEED={first_seed}:\n"
                + short_diff(expected[relative], data)
            )
    shutil.rmtree(str(other), ignore_errors=True)
    return problems


# --- Command line -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Lint and fix copies of the pinned corpus and of the installed torch and flake8 sources, "
        "and check for internal errors, broken rewrites and fixes that do not settle.",
    )
    parser.add_argument("--tree", action="append", default=[], metavar="NAME", help="check only this tree: a pinned package name, torch or flake8 (repeatable; default: all)")
    parser.add_argument("--corpus-only", action="store_true", help="check the pinned packages only, not the installed torch and flake8")
    parser.add_argument("--filter", action="append", default=[], metavar="PATTERN", help="check only files whose path matches this glob, or lies in this folder, e.g. 'transformers/models/*' (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="N", help="worker processes for posenc-lint (default: one per CPU)")
    parser.add_argument("--hash-seeds", default="", metavar="SEEDS", help="comma-separated PYTHONHASHSEED values: fix one copy under each and require identical bytes, e.g. 0,1,2")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR", help=f"folder for wheels and unpacked trees (default: {DEFAULT_CACHE})")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, metavar="DIR", help=f"shared folder containing corpus/packages.txt (default: {DEFAULT_SHARED})")
    return parser


def select_trees(arguments: argparse.Namespace) -> List[Tree]:
    requested = [check_corpus.normalize_name(name) for name in arguments.tree]
    known_installed = set(INSTALLED_PACKAGES)
    trees: List[Tree] = []
    wants_corpus = not requested or any(name not in known_installed for name in requested)
    if wants_corpus:
        trees.extend(corpus_trees(arguments.shared, arguments.cache))
    for name in INSTALLED_PACKAGES:
        if name in requested or not (requested or arguments.corpus_only):
            trees.append(installed_tree(name))
    if requested:
        by_name = {tree.name: tree for tree in trees}
        unknown = [name for name in requested if name not in by_name]
        if unknown:
            raise SetupError(f"--tree {', '.join(unknown)}: unknown; known: {', '.join(sorted(by_name))}")
        trees = [by_name[name] for name in requested]
    return trees


def run(arguments: argparse.Namespace) -> int:
    started = time.monotonic()
    if arguments.jobs < 1:
        raise SetupError("--jobs must be at least 1")
    seeds = [seed.strip() for seed in arguments.hash_seeds.split(",") if seed.strip()]
    trees = select_trees(arguments)

    reports: List[TreeReport] = []
    with tempfile.TemporaryDirectory(prefix="posenc-check-everything-") as scratch:
        for tree in trees:
            report = check_tree(tree, arguments.filter, Path(scratch), arguments.jobs, seeds)
            reports.append(report)
            if not report.files:
                print(f"{report.name}: skipped, no Python files match the filter", flush=True)
                continue
            print(
                f"{report.name}: {report.files} files, {report.findings} findings in {report.with_findings} files, "
                f"{report.rewritten} rewritten, {len(report.problems)} problems, {report.seconds:.1f} s",
                flush=True,
            )
            for problem in report.problems:
                print(f"  FAIL {report.name}/{problem}", flush=True)

    files = sum(report.files for report in reports)
    problems = sum(len(report.problems) for report in reports)
    print(f"{len(reports)} trees, {files} files, {problems} problems, {time.monotonic() - started:.1f} s in all")
    if not files:
        print(f"FAIL no Python files match {', '.join(arguments.filter)}")
        return EXIT_FAIL
    return EXIT_FAIL if problems else EXIT_PASS


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return run(arguments)
    except SetupError as error:
        print(f"check_everything: error: {error}", file=sys.stderr)
        return EXIT_SETUP_ERROR


if __name__ == "__main__":
    sys.exit(main())
