#!/usr/bin/env python3
"""Lint pinned real-world packages and compare the findings with hand-checked rows.

The corpus folder (``corpus/`` inside ``--shared``) contains two files:

- ``packages.txt`` pins PyPI distributions, one ``NAME==VERSION`` a line.
- ``expected.tsv`` lists places in those packages, one a row with the columns
  package, path, line, code, verdict and why. A ``report`` row holds when a finding
  of that code starts on that line. A ``clean`` row holds when no finding of that
  code starts on the line or in the range ``A-B``. An ``either`` row holds when the
  file has no internal error (PEL902). A row whose ``why`` starts with ``opt-in``
  is about a rule that is off by default and is checked with that rule selected.
  Other ``report`` rows are checked as a default run would report them, and
  ``clean`` rows must hold with their rule selected.

The script downloads each pinned wheel with pip, unpacks it into the cache, runs
the posenc-lint CLI on it with every rule selected and prints one PASS, FAIL or
SKIP line a row. It writes every finding of a default rule to ``corpus/findings.tsv``.
When ``corpus/review.tsv`` exists, every such finding needs a review row with the
same package, path, line and code, and every review row needs its finding.

With ``--fix-check``, each linted tree is then copied to a temporary folder and
fixed there with ``--fix --unsafe-fixes``. The check fails, naming the files, when
a fix could not be applied or written, a rewritten file does not parse, a second
``--fix`` changes a rewritten file again, a file without findings changed, or a
file appeared or disappeared.

Exit status: 0 when every row and check holds, 1 when one fails, 2 when setup fails
(an invalid data file, a failed download, unpacking or lint run).

The script uses only the standard library and runs on Python 3.9 and later.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO_ROOT.parent / "shared"
DEFAULT_CACHE = REPO_ROOT / ".corpus-cache"
DEFAULT_FINDINGS = REPO_ROOT / "corpus" / "findings.tsv"
DEFAULT_REVIEW = REPO_ROOT / "corpus" / "review.tsv"

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SETUP_ERROR = 2

PASS = "PASS"
FAIL = "FAIL"
SKIP = "SKIP"

VERDICTS = ("report", "clean", "either")
INTERNAL_ERROR = "PEL902"
FILE_WARNING_CODES = ("PEL900", "PEL901")
FINDINGS_COLUMNS = ("package", "path", "line", "code", "message")
CODE_PATTERN = re.compile(r"PEL\d{3}\Z")
LINE_PATTERN = re.compile(r"(\d+)(?:-(\d+))?\Z")
REQUIREMENT_PATTERN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9.+!_-]*)\Z")

# Lines of a failed subprocess's standard error to show in a setup error.
ERROR_TAIL_LINES = 15

FileKey = Tuple[str, str]
"""A file in the corpus: (normalized package name, path relative to the wheel root)."""


class SetupError(Exception):
    """A problem that stops the run before rows can be checked, reported with exit status 2."""


# --- Data ---------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """Return the PEP 503 form of a distribution name: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Package:
    """A pinned distribution."""

    name: str
    version: str

    @property
    def key(self) -> str:
        return normalize_name(self.name)

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def folder_name(self) -> str:
        return f"{self.key}-{self.version}"


@dataclass(frozen=True)
class ExpectedRow:
    """One hand-checked row of expected.tsv, with the package name normalized."""

    package: str
    path: str
    first_line: int
    last_line: int
    code: str
    verdict: str
    why: str
    source_line: int

    @property
    def opt_in(self) -> bool:
        return self.why.strip().lower().startswith("opt-in")

    @property
    def line_text(self) -> str:
        if self.first_line == self.last_line:
            return str(self.first_line)
        return f"{self.first_line}-{self.last_line}"


@dataclass(frozen=True, order=True)
class Finding:
    """A finding of the linter, with ``path`` relative to the wheel root and ``/`` separators."""

    package: str
    path: str
    line: int
    code: str
    message: str

    @property
    def review_key(self) -> Tuple[str, str, int, str]:
        return (self.package, self.path, self.line, self.code)


@dataclass(frozen=True)
class ReviewRow:
    """A reviewer's verdict on one finding, keyed by package, path, line and code."""

    package: str
    path: str
    line: int
    code: str
    verdict: str
    reason: str
    source_line: int

    @property
    def review_key(self) -> Tuple[str, str, int, str]:
        return (self.package, self.path, self.line, self.code)


@dataclass(frozen=True)
class RowResult:
    row: ExpectedRow
    status: str
    detail: str


@dataclass(frozen=True)
class Scope:
    """The linted part of the corpus: the selected packages and an optional subfolder of each."""

    subfolders: Mapping[str, Optional[str]]

    def contains_package(self, package: str) -> bool:
        return package in self.subfolders

    def contains(self, package: str, path: str) -> bool:
        if package not in self.subfolders:
            return False
        subfolder = self.subfolders[package]
        return subfolder is None or path == subfolder or path.startswith(subfolder + "/")


def _data_lines(text: str) -> Iterable[Tuple[int, str]]:
    """Yield (line number, line) for the lines that are not blank and not ``#`` comments."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def _is_header(cells: Sequence[str]) -> bool:
    return bool(cells) and cells[0].strip().lower() == "package"


def parse_packages(text: str, source: str = "packages.txt") -> List[Package]:
    """Parse ``NAME==VERSION`` lines; raise SetupError naming the line of an invalid one."""
    packages: List[Package] = []
    seen: Set[str] = set()
    for number, line in _data_lines(text):
        match = REQUIREMENT_PATTERN.match(line.strip())
        if match is None:
            raise SetupError(f"{source} line {number}: expected NAME==VERSION, found {line.strip()!r}")
        package = Package(match.group(1), match.group(2))
        if package.key in seen:
            raise SetupError(f"{source} line {number}: {package.name} is pinned twice")
        seen.add(package.key)
        packages.append(package)
    return packages


def parse_line_range(text: str) -> Tuple[int, int]:
    """Parse ``N`` or ``A-B`` into (first, last); raise ValueError unless 1 <= first <= last."""
    match = LINE_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"invalid line {text!r}: expected a number or a range A-B")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if first < 1 or last < first:
        raise ValueError(f"invalid line range {text!r}: lines start at 1 and A must not exceed B")
    return first, last


def _relative_path(text: str) -> str:
    """Check that ``text`` is a relative path inside the wheel and return it with ``/``."""
    path = PurePosixPath(text.strip().replace("\\", "/"))
    if not text.strip() or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"invalid path {text!r}: expected a path relative to the wheel root")
    return path.as_posix()


def parse_expected(text: str, source: str = "expected.tsv") -> List[ExpectedRow]:
    """Parse expected.tsv rows; raise SetupError naming the line of an invalid one.

    The header line (first cell ``package``), blank lines and ``#`` comments are skipped.
    A range ``A-B`` is accepted in ``clean`` and ``either`` rows, and a ``report`` row
    needs a single line because a finding starts on one line.
    """
    rows: List[ExpectedRow] = []
    for number, line in _data_lines(text):
        cells = line.split("\t", 5)
        if _is_header(cells):
            continue
        if len(cells) < 6:
            raise SetupError(
                f"{source} line {number}: expected 6 tab-separated columns "
                f"(package, path, line, code, verdict, why), found {len(cells)}"
            )
        package, path, line_text, code, verdict, why = (cell.strip() for cell in cells)
        try:
            first, last = parse_line_range(line_text)
            path = _relative_path(path)
        except ValueError as error:
            raise SetupError(f"{source} line {number}: {error}")
        if not CODE_PATTERN.match(code):
            raise SetupError(f"{source} line {number}: invalid code {code!r}: expected PEL followed by 3 digits")
        if verdict not in VERDICTS:
            raise SetupError(f"{source} line {number}: invalid verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
        if verdict == "report" and first != last:
            raise SetupError(f"{source} line {number}: a report row needs one line, not the range {line_text}")
        rows.append(ExpectedRow(normalize_name(package), path, first, last, code, verdict, why, number))
    return rows


def parse_review(text: str, source: str = "review.tsv") -> List[ReviewRow]:
    """Parse review rows (package, path, line, code, verdict, reason); the last two may be empty."""
    rows: List[ReviewRow] = []
    for number, line in _data_lines(text):
        cells = line.split("\t", 5)
        if _is_header(cells):
            continue
        if len(cells) < 4:
            raise SetupError(
                f"{source} line {number}: expected at least 4 tab-separated columns "
                f"(package, path, line, code), found {len(cells)}"
            )
        cells = [cell.strip() for cell in cells] + [""] * (6 - len(cells))
        package, path, line_text, code, verdict, reason = cells
        if not line_text.isdigit() or int(line_text) < 1:
            raise SetupError(f"{source} line {number}: invalid line {line_text!r}: expected a positive number")
        try:
            path = _relative_path(path)
        except ValueError as error:
            raise SetupError(f"{source} line {number}: {error}")
        rows.append(ReviewRow(normalize_name(package), path, int(line_text), code, verdict, reason, number))
    return rows


def parse_findings_file(text: str) -> List[Finding]:
    """Parse a findings.tsv written earlier, skipping lines that do not have its columns."""
    findings: List[Finding] = []
    for _, line in _data_lines(text):
        cells = line.split("\t", 4)
        if _is_header(cells) or len(cells) != 5 or not cells[2].isdigit():
            continue
        findings.append(Finding(normalize_name(cells[0]), cells[1], int(cells[2]), cells[3], cells[4]))
    return findings


def format_findings(findings: Iterable[Finding]) -> str:
    """Return findings as TSV with a header, sorted, one finding a line."""
    lines = ["\t".join(FINDINGS_COLUMNS)]
    for finding in sorted(findings):
        message = re.sub(r"[\t\r\n]+", " ", finding.message)
        lines.append(f"{finding.package}\t{finding.path}\t{finding.line}\t{finding.code}\t{message}")
    return "\n".join(lines) + "\n"


def merge_findings(previous: Iterable[Finding], current: Iterable[Finding], scope: Scope, pinned: Set[str]) -> List[Finding]:
    """Replace the linted part of ``previous`` with ``current``.

    Earlier rows outside the scope are kept, so a run limited with --package or
    --subfolder does not erase the rest of the file. Rows of packages that are no
    longer pinned are dropped.
    """
    kept = [finding for finding in previous if finding.package in pinned and not scope.contains(finding.package, finding.path)]
    return sorted(kept + list(current))


# --- Comparison ---------------------------------------------------------------------


def group_by_file(findings: Iterable[Finding]) -> Dict[FileKey, List[Finding]]:
    grouped: Dict[FileKey, List[Finding]] = {}
    for finding in findings:
        grouped.setdefault((finding.package, finding.path), []).append(finding)
    return grouped


def _line_list(findings: Iterable[Finding]) -> str:
    return ", ".join(str(line) for line in sorted({finding.line for finding in findings}))


def evaluate_row(
    row: ExpectedRow,
    file_findings: Sequence[Finding],
    rules: Mapping[str, bool],
    line_count: Optional[int],
) -> Tuple[str, str]:
    """Return (status, detail) for one row of a linted file.

    ``file_findings`` contains every finding in the row's file with every rule selected,
    ``rules`` maps each registered code to whether it is on by default, and
    ``line_count`` is the file's number of lines, or None when the file is missing.
    A ``report`` row that is not opt-in is checked as a default run would report it,
    so a finding of an off-by-default rule does not count for it. A ``clean`` row
    must hold with its rule selected, whether or not the rule is on by default.
    """
    if line_count is None:
        return FAIL, "file not found in the unpacked wheel"
    if row.last_line > line_count:
        return FAIL, f"line {row.last_line} is past the end of the file ({line_count} lines)"

    crashes = [finding for finding in file_findings if finding.code == INTERNAL_ERROR]
    if crashes:
        return FAIL, f"{INTERNAL_ERROR} on line {crashes[0].line}: {crashes[0].message}"
    if row.verdict == "either":
        return PASS, ""

    notes: List[str] = []
    default = rules.get(row.code)
    if default is None:
        notes.append(f"{row.code} is not a registered rule")
        counted: List[Finding] = []
    elif not default and not row.opt_in and row.verdict == "report":
        notes.append(f"{row.code} is off by default and the row is not marked opt-in, so a default run does not report it")
        counted = []
    else:
        if default and row.opt_in:
            notes.append(f"the row is marked opt-in but {row.code} is on by default")
        counted = [finding for finding in file_findings if finding.code == row.code]

    inside = [finding for finding in counted if row.first_line <= finding.line <= row.last_line]
    if row.verdict == "report":
        if inside:
            return PASS, "; ".join(notes)
        problem = f"no {row.code} on line {row.first_line}"
        if counted:
            problem += f"; {row.code} found on line(s) {_line_list(counted)}"
        return FAIL, "; ".join([problem] + notes)

    if inside:
        first = min(inside)
        problem = f"{row.code} reported on line(s) {_line_list(inside)}: {first.message}"
        return FAIL, "; ".join([problem] + notes)
    return PASS, "; ".join(notes)


def check_rows(
    rows: Sequence[ExpectedRow],
    findings: Iterable[Finding],
    rules: Mapping[str, bool],
    line_counts: Mapping[FileKey, int],
    scope: Scope,
) -> List[RowResult]:
    """Evaluate every row; rows outside the linted scope are SKIP with the reason."""
    by_file = group_by_file(findings)
    results: List[RowResult] = []
    for row in rows:
        if not scope.contains_package(row.package):
            results.append(RowResult(row, SKIP, "package not selected"))
            continue
        if not scope.contains(row.package, row.path):
            results.append(RowResult(row, SKIP, f"outside the linted subfolder {scope.subfolders[row.package]}"))
            continue
        key = (row.package, row.path)
        status, detail = evaluate_row(row, by_file.get(key, []), rules, line_counts.get(key))
        results.append(RowResult(row, status, detail))
    return results


def default_findings(findings: Iterable[Finding], rules: Mapping[str, bool]) -> List[Finding]:
    """Keep the findings a default run reports; a code missing from the catalogue counts as default."""
    return sorted(finding for finding in findings if rules.get(finding.code, True))


def compare_review(
    findings: Iterable[Finding], review: Iterable[ReviewRow], scope: Scope
) -> Tuple[List[Finding], List[ReviewRow]]:
    """Return (unreviewed findings, stale review rows) within the linted scope.

    A finding is unreviewed when no review row has its package, path, line and code.
    A review row is stale when no finding has its key any more.
    """
    findings = list(findings)
    review = [row for row in review if scope.contains(row.package, row.path)]
    reviewed_keys = {row.review_key for row in review}
    found_keys = {finding.review_key for finding in findings}
    unreviewed = [finding for finding in findings if finding.review_key not in reviewed_keys]
    stale = [row for row in review if row.review_key not in found_keys]
    return unreviewed, stale


# --- Download, unpack and lint ------------------------------------------------------


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join("    " + line for line in lines[-ERROR_TAIL_LINES:])


def find_wheel(wheels_dir: Path, package: Package) -> Optional[Path]:
    """Return the wheel of ``package`` in ``wheels_dir``, matching the name as PEP 503 does."""
    if not wheels_dir.is_dir():
        return None
    for candidate in sorted(wheels_dir.glob("*.whl")):
        parts = candidate.name.split("-")
        if len(parts) >= 5 and normalize_name(parts[0]) == package.key and parts[1] == package.version:
            return candidate
    return None


def download_wheel(package: Package, wheels_dir: Path) -> Path:
    """Download the wheel with pip unless it is already in ``wheels_dir``; return its path."""
    existing = find_wheel(wheels_dir, package)
    if existing is not None:
        return existing

    wheels_dir.mkdir(parents=True, exist_ok=True)
    # --only-binary makes pip fail instead of building metadata from an sdist.
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--dest", str(wheels_dir), package.requirement,
    ]
    print(f"downloading {package.requirement} ...", flush=True)
    try:
        completed = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8", errors="replace"
        )
    except OSError as error:
        raise SetupError(f"download of {package.requirement} failed: cannot run pip: {error}")
    if completed.returncode != 0:
        raise SetupError(
            f"download of {package.requirement} failed (pip exited with {completed.returncode}):\n"
            f"{_tail(completed.stderr or completed.stdout)}\n"
            f"Check the network and the pin, or put the wheel into {wheels_dir}."
        )
    wheel = find_wheel(wheels_dir, package)
    if wheel is None:
        raise SetupError(f"download of {package.requirement} failed: pip left no matching wheel in {wheels_dir}")
    return wheel


def unpack_wheel(wheel: Path, target: Path) -> None:
    """Unpack ``wheel`` into ``target`` unless it exists.

    The wheel is extracted into a temporary folder beside ``target`` and renamed at
    the end, so an interrupted run leaves no half-unpacked tree under the final name.
    """
    if target.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(f".{target.name}.*.partial"):
        shutil.rmtree(leftover, ignore_errors=True)

    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=str(target.parent)))
    try:
        with zipfile.ZipFile(str(wheel)) as archive:
            archive.extractall(str(temporary))
        os.rename(str(temporary), str(target))
    except (OSError, zipfile.BadZipFile) as error:
        shutil.rmtree(temporary, ignore_errors=True)
        raise SetupError(f"unpacking {wheel} failed: {error}; delete the wheel so the next run downloads it again")


def prepare_package(package: Package, cache: Path) -> Path:
    """Return the unpacked tree of ``package`` in the cache, downloading and unpacking it if needed."""
    target = cache / "src" / package.folder_name
    if target.is_dir():
        return target
    wheel = download_wheel(package, cache / "wheels")
    unpack_wheel(wheel, target)
    return target


def _run_cli(arguments: Sequence[str], action: str) -> "subprocess.CompletedProcess[str]":
    # The repository root is the working directory, so `-m posenc_lint` imports this checkout.
    command = [sys.executable, "-m", "posenc_lint", *arguments]
    try:
        return subprocess.run(
            command,
            cwd=str(REPO_ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
        )
    except OSError as error:
        raise SetupError(f"{action} failed: cannot run {sys.executable}: {error}")


def load_rules() -> Dict[str, bool]:
    """Return {code: on by default} from ``posenc_lint rule --all --output-format json``."""
    completed = _run_cli(["rule", "--all", "--output-format", "json"], "listing the rules")
    try:
        catalogue = json.loads(completed.stdout)
        return {str(entry["code"]): bool(entry["default"]) for entry in catalogue}
    except (ValueError, TypeError, KeyError):
        raise SetupError(
            f"listing the rules failed (exit {completed.returncode}); standard error:\n{_tail(completed.stderr)}"
        )


def parse_lint_output(data: object, root: Path, package: str, base: Path) -> List[Finding]:
    """Turn the CLI's JSON list into findings with paths relative to ``root``.

    ``base`` is the folder the CLI ran in, used to resolve a relative ``filename``.
    Raise ValueError when the data does not have the documented shape.
    """
    if not isinstance(data, list):
        raise ValueError("the JSON report is not a list")
    findings: List[Finding] = []
    for entry in data:
        try:
            filename = str(entry["filename"])
            line = int(entry["location"]["row"])
            code = str(entry["code"])
            message = str(entry["message"])
        except (TypeError, KeyError, ValueError) as error:
            raise ValueError(f"a finding is missing a field: {error!r} in {entry!r}")
        absolute = os.path.normpath(os.path.join(str(base), filename))
        relative = os.path.relpath(absolute, str(root))
        if relative == ".." or relative.startswith(".." + os.sep):
            raise ValueError(f"finding in {filename}, outside the linted tree {root}")
        findings.append(Finding(package, Path(relative).as_posix(), line, code, message))
    return findings


def lint_package(package: Package, root: Path, target: Path, jobs: int) -> List[Finding]:
    """Run the CLI with every rule selected on ``target`` (inside ``root``) and return its findings."""
    action = f"linting {package.requirement}"
    # --isolated keeps a configuration file of this repository from changing the selection or exclusions.
    completed = _run_cli(
        [
            "--output-format", "json", "--select", "PEL", "--exit-zero", "-q", "--isolated",
            "-j", str(jobs), str(target),
        ],
        action,
    )
    for line in completed.stderr.splitlines():
        if line.strip():
            print(f"  {package.key}: {line}", file=sys.stderr)
    try:
        return parse_lint_output(json.loads(completed.stdout), root, package.key, REPO_ROOT)
    except ValueError as error:
        # Exit status 2 with a valid report means an internal error finding, handled later.
        raise SetupError(f"{action} failed (exit {completed.returncode}): {error}")


def count_lines(path: Path) -> Optional[int]:
    """Return the number of lines of ``path``, or None when it is not a readable file."""
    try:
        with path.open("rb") as stream:
            data = stream.read()
    except OSError:
        return None
    return len(data.splitlines())


# --- Fix check ----------------------------------------------------------------------

FIX_ERROR_PREFIX = "posenc-lint: error: "
# Lines of the diff shown when a second --fix changes a file again.
DIFF_LINES = 20


@dataclass(frozen=True)
class FixProblem:
    """A file that the fix check found wrong, with the path relative to the wheel root."""

    package: str
    path: str
    problem: str


@dataclass(frozen=True)
class TreeChanges:
    """The differences between a fixed copy and its original tree, by path relative to the tree."""

    changed: List[str]
    missing: List[str]
    added: List[str]


def tree_files(folder: Path) -> Dict[str, Path]:
    """Return every file under ``folder`` by its ``/``-separated path relative to it."""
    files: Dict[str, Path] = {}
    for directory, _, names in os.walk(str(folder)):
        for name in names:
            path = Path(directory) / name
            files[path.relative_to(folder).as_posix()] = path
    return files


def compare_trees(original: Path, copy: Path) -> TreeChanges:
    """Compare two trees byte for byte."""
    before = tree_files(original)
    after = tree_files(copy)
    changed = sorted(
        relative
        for relative in before.keys() & after.keys()
        if before[relative].read_bytes() != after[relative].read_bytes()
    )
    return TreeChanges(changed, sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys()))


def short_diff(before: bytes, after: bytes, limit: int = DIFF_LINES) -> str:
    """Return the first ``limit`` lines of a unified diff, indented, for a failure message."""
    lines = list(
        difflib.unified_diff(
            before.decode("utf-8", "replace").splitlines(),
            after.decode("utf-8", "replace").splitlines(),
            "first --fix",
            "second --fix",
            lineterm="",
        )
    )
    shown = ["    " + line for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"    ... {len(lines) - limit} more diff lines")
    return "\n".join(shown)


def parse_problem(source: bytes) -> Optional[str]:
    """Return why Python rejects ``source``, or None when it parses."""
    try:
        compile(source, "<fixed>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} on line {error.lineno}"
    except (ValueError, RecursionError, MemoryError) as error:
        return str(error) or type(error).__name__
    return None


def fix_errors(stderr: str, root: Path, base: Path) -> List[Tuple[str, str]]:
    """Return (path relative to ``root``, reason) for each file the CLI could not fix or write."""
    errors = []
    for line in stderr.splitlines():
        if not line.startswith(FIX_ERROR_PREFIX):
            continue
        filename, _, reason = line[len(FIX_ERROR_PREFIX):].partition(": ")
        absolute = os.path.normpath(os.path.join(str(base), filename))
        errors.append((Path(os.path.relpath(absolute, str(root))).as_posix(), reason))
    return errors


def run_fix(targets: Sequence[Path], jobs: int, action: str) -> "subprocess.CompletedProcess[str]":
    """Run ``--fix --unsafe-fixes`` with every rule selected on ``targets``."""
    arguments = [
        "--fix", "--unsafe-fixes", "--select", "PEL", "--isolated", "--exit-zero", "-q",
        "--output-format", "json-lines", "-j", str(jobs), *(str(target) for target in targets),
    ]
    return _run_cli(arguments, action)


def check_fixed_copy(
    package: Package,
    original_root: Path,
    copy_root: Path,
    prefix: str,
    with_findings: Set[str],
    completed: "subprocess.CompletedProcess[str]",
    jobs: int,
) -> Tuple[List[FixProblem], int]:
    """Check a tree fixed by ``completed``; return the problems and the number of rewritten files.

    ``original_root`` and ``copy_root`` are the unpacked wheel and its copy,
    ``prefix`` is the linted folder inside them ('' for the whole wheel), and
    ``with_findings`` contains the wheel paths of the files that have any finding.
    """
    original = original_root / prefix if prefix else original_root
    copy = copy_root / prefix if prefix else copy_root

    def in_wheel(relative: str) -> str:
        return f"{prefix}/{relative}" if prefix else relative

    problems: List[FixProblem] = []
    for path, reason in fix_errors(completed.stderr, copy_root, REPO_ROOT):
        problems.append(FixProblem(package.key, path, f"not fixed: {reason}"))
    if completed.returncode != 0 and not problems:
        problems.append(
            FixProblem(package.key, prefix or ".", f"posenc-lint --fix exited with {completed.returncode}:\n{_tail(completed.stderr)}")
        )

    changes = compare_trees(original, copy)
    for relative in changes.missing:
        problems.append(FixProblem(package.key, in_wheel(relative), "the file disappeared from the fixed copy"))
    for relative in changes.added:
        problems.append(FixProblem(package.key, in_wheel(relative), "a new file appeared in the fixed copy"))

    rewritten: List[str] = []
    for relative in changes.changed:
        path = in_wheel(relative)
        if path not in with_findings:
            problems.append(FixProblem(package.key, path, "changed although it has no findings"))
        problem = parse_problem((copy / relative).read_bytes())
        if problem is not None and parse_problem((original / relative).read_bytes()) is None:
            problems.append(FixProblem(package.key, path, f"the fixed file does not parse: {problem}"))
        rewritten.append(relative)

    if rewritten:
        first_pass = {relative: (copy / relative).read_bytes() for relative in rewritten}
        again = run_fix([copy / relative for relative in rewritten], jobs, f"fixing {package.requirement} again")
        for path, reason in fix_errors(again.stderr, copy_root, REPO_ROOT):
            problems.append(FixProblem(package.key, path, f"second --fix failed: {reason}"))
        for relative, data in first_pass.items():
            second_pass = (copy / relative).read_bytes()
            if second_pass != data:
                problems.append(
                    FixProblem(
                        package.key,
                        in_wheel(relative),
                        "a second --fix changed the file again:\n" + short_diff(data, second_pass),
                    )
                )
    return problems, len(rewritten)


def fix_check(
    selected: Sequence[Package],
    roots: Mapping[str, Path],
    subfolders: Mapping[str, str],
    findings: Sequence[Finding],
    jobs: int,
) -> List[FixProblem]:
    """Fix a temporary copy of each linted tree and check the result; return the problems."""
    with_findings = {(finding.package, finding.path) for finding in findings}
    problems: List[FixProblem] = []
    with tempfile.TemporaryDirectory(prefix="posenc-fix-check-") as scratch:
        for package in selected:
            started = time.monotonic()
            prefix = subfolders.get(package.key, "")
            original = roots[package.key] / prefix if prefix else roots[package.key]
            copy_root = Path(scratch) / package.folder_name
            copy = copy_root / prefix if prefix else copy_root
            try:
                shutil.copytree(str(original), str(copy), symlinks=True)
            except (OSError, shutil.Error) as error:
                raise SetupError(f"copying {original} for the fix check failed: {error}")

            completed = run_fix([copy], jobs, f"fixing {package.requirement}")
            package_findings = {path for key, path in with_findings if key == package.key}
            package_problems, rewritten = check_fixed_copy(
                package, roots[package.key], copy_root, prefix, package_findings, completed, jobs
            )
            problems.extend(package_problems)
            print(
                f"fix check: {package.requirement}: {rewritten} files rewritten, "
                f"{len(package_problems)} problems, {time.monotonic() - started:.1f} s",
                flush=True,
            )
            shutil.rmtree(str(copy_root), ignore_errors=True)
    return problems


# --- Command line -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Lint the pinned corpus packages and compare the findings with expected.tsv.",
    )
    parser.add_argument("--package", action="append", default=[], metavar="NAME", help="check only this pinned package (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="N", help="worker processes for posenc-lint (default: one per CPU)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR", help=f"folder for wheels and unpacked trees (default: {DEFAULT_CACHE})")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, metavar="DIR", help=f"shared folder containing corpus/packages.txt and corpus/expected.tsv (default: {DEFAULT_SHARED})")
    parser.add_argument("--subfolder", action="append", default=[], metavar="PKG=PATH", help="lint only PATH inside package PKG, e.g. transformers=transformers/models; rows outside it are skipped (repeatable)")
    parser.add_argument("--findings", type=Path, default=DEFAULT_FINDINGS, metavar="FILE", help=f"where to write the default-rule findings as TSV (default: {DEFAULT_FINDINGS})")
    parser.add_argument("--review", type=Path, default=DEFAULT_REVIEW, metavar="FILE", help=f"review verdicts to compare the findings with, if the file exists (default: {DEFAULT_REVIEW})")
    parser.add_argument("--allow-unreviewed", action="store_true", help="report unreviewed findings and stale review rows without failing")
    parser.add_argument("--fix-check", action="store_true", help="after the comparison, run --fix --unsafe-fixes on a temporary copy of each linted tree and check that every rewritten file parses, a second --fix changes nothing and files without findings stay byte-identical")
    return parser


def parse_subfolders(values: Sequence[str], packages: Mapping[str, Package]) -> Dict[str, str]:
    """Parse ``PKG=PATH`` options into {normalized package: path}."""
    subfolders: Dict[str, str] = {}
    for value in values:
        name, separator, path = value.partition("=")
        if not separator or not name.strip() or not path.strip():
            raise SetupError(f"invalid --subfolder {value!r}: expected PKG=PATH, e.g. transformers=transformers/models")
        key = normalize_name(name.strip())
        if key not in packages:
            raise SetupError(f"invalid --subfolder {value!r}: {name} is not pinned; pinned: {', '.join(sorted(packages))}")
        try:
            subfolders[key] = _relative_path(path).rstrip("/")
        except ValueError as error:
            raise SetupError(f"invalid --subfolder {value!r}: {error}")
    return subfolders


def select_packages(pinned: Sequence[Package], names: Sequence[str]) -> List[Package]:
    if not names:
        return list(pinned)
    by_key = {package.key: package for package in pinned}
    unknown = [name for name in names if normalize_name(name) not in by_key]
    if unknown:
        raise SetupError(f"--package {', '.join(unknown)}: not pinned; pinned: {', '.join(sorted(by_key))}")
    requested = {normalize_name(name) for name in names}
    return [package for package in pinned if package.key in requested]


def _read_text(path: Path, hint: str = "") -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"{path} not found" + (f"; {hint}" if hint else ""))
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"cannot read {path}: {error}")


def print_table(results: Sequence[RowResult]) -> None:
    header = ("STATUS", "PACKAGE", "LOCATION", "CODE", "VERDICT", "DETAIL")
    table = [header] + [
        (
            result.status,
            result.row.package,
            f"{result.row.path}:{result.row.line_text}",
            result.row.code,
            result.row.verdict + (" (opt-in)" if result.row.opt_in else ""),
            result.detail,
        )
        for result in results
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(header) - 1)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths)]
        print("  ".join(cells + [line[-1]]).rstrip())


def lint_selected(
    selected: Sequence[Package], subfolders: Mapping[str, str], cache: Path, jobs: int
) -> Tuple[List[Finding], Dict[str, Path]]:
    """Prepare and lint each selected package; return the findings and each package's unpacked root."""
    findings: List[Finding] = []
    roots: Dict[str, Path] = {}
    for package in selected:
        prepare_start = time.monotonic()
        root = prepare_package(package, cache)
        roots[package.key] = root
        prepared = time.monotonic() - prepare_start

        subfolder = subfolders.get(package.key)
        target = root / subfolder if subfolder else root
        if not target.exists():
            raise SetupError(f"--subfolder {package.key}={subfolder}: {target} not found in the unpacked wheel")
        lint_start = time.monotonic()
        package_findings = lint_package(package, root, target, jobs)
        findings.extend(package_findings)
        part = f" ({subfolder})" if subfolder else ""
        print(
            f"{package.requirement}{part}: ready in {prepared:.1f} s, linted in "
            f"{time.monotonic() - lint_start:.1f} s, {len(package_findings)} findings with every rule selected",
            flush=True,
        )
    return findings, roots


def write_findings(path: Path, reported: Sequence[Finding], scope: Scope, pinned: Set[str], full_run: bool) -> None:
    """Write the default-rule findings, keeping earlier rows outside the scope of a partial run."""
    previous: List[Finding] = []
    if not full_run and path.is_file():
        previous = parse_findings_file(_read_text(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(format_findings(merge_findings(previous, reported, scope, pinned)), encoding="utf-8")
    except OSError as error:
        raise SetupError(f"cannot write the findings to {path}: {error}")
    print(f"wrote {len(reported)} default-rule findings to {path}")


def check_review(path: Path, reported: Sequence[Finding], scope: Scope) -> int:
    """Print unreviewed findings and stale review rows; return how many there are."""
    if not path.is_file():
        print(f"review: {path} not found, so findings are not compared with a review")
        return 0
    review = parse_review(_read_text(path), str(path))
    unreviewed, stale = compare_review(reported, review, scope)
    for finding in unreviewed:
        print(f"unreviewed: {finding.package}\t{finding.path}\t{finding.line}\t{finding.code}\t{finding.message}")
    for row in stale:
        print(f"stale: {path.name} line {row.source_line}: {row.package} {row.path}:{row.line} {row.code} is no longer reported")
    print(f"review: {len(unreviewed)} unreviewed findings, {len(stale)} stale review rows")
    return len(unreviewed) + len(stale)


def run(arguments: argparse.Namespace) -> int:
    started = time.monotonic()
    if arguments.jobs < 1:
        raise SetupError("--jobs must be at least 1")

    corpus_dir = arguments.shared / "corpus"
    hint = "pass --shared DIR with the folder that contains corpus/"
    pinned = parse_packages(_read_text(corpus_dir / "packages.txt", hint), str(corpus_dir / "packages.txt"))
    rows = parse_expected(_read_text(corpus_dir / "expected.tsv", hint), str(corpus_dir / "expected.tsv"))
    by_key = {package.key: package for package in pinned}
    for row in rows:
        if row.package not in by_key:
            raise SetupError(f"expected.tsv line {row.source_line}: package {row.package} is not pinned in packages.txt")

    selected = select_packages(pinned, arguments.package)
    subfolders = parse_subfolders(arguments.subfolder, by_key)
    selected_keys = {package.key for package in selected}
    for key in subfolders:
        if key not in selected_keys:
            raise SetupError(f"--subfolder names {key}, which --package does not select")
    scope = Scope({package.key: subfolders.get(package.key) for package in selected})
    rules = load_rules()

    findings, roots = lint_selected(selected, subfolders, arguments.cache, arguments.jobs)

    line_counts: Dict[FileKey, int] = {}
    for row in rows:
        key = (row.package, row.path)
        if scope.contains(row.package, row.path) and key not in line_counts:
            count = count_lines(roots[row.package] / row.path)
            if count is not None:
                line_counts[key] = count

    print()
    results = check_rows(rows, findings, rules, line_counts, scope)
    print_table(results)
    failed = sum(1 for result in results if result.status == FAIL)
    passed = sum(1 for result in results if result.status == PASS)
    skipped = sum(1 for result in results if result.status == SKIP)

    print()
    crashes = [finding for finding in findings if finding.code == INTERNAL_ERROR]
    for finding in crashes:
        print(f"error: {finding.package} {finding.path}:{finding.line}: {finding.code} {finding.message}")
    for finding in findings:
        if finding.code in FILE_WARNING_CODES:
            print(f"warning: {finding.package} {finding.path}:{finding.line}: {finding.code} {finding.message}")

    reported = default_findings(findings, rules)
    full_run = len(selected) == len(pinned) and not subfolders
    write_findings(arguments.findings, reported, scope, set(by_key), full_run)
    review_problems = check_review(arguments.review, reported, scope)
    review_failed = review_problems > 0 and not arguments.allow_unreviewed

    fix_problems: List[FixProblem] = []
    if arguments.fix_check:
        print()
        fix_problems = fix_check(selected, roots, subfolders, findings, arguments.jobs)
        for problem in fix_problems:
            print(f"fix check: FAIL {problem.package} {problem.path}: {problem.problem}")

    fix_part = f"; {len(fix_problems)} fix-check problems" if arguments.fix_check else ""
    print(
        f"rows: {passed} pass, {failed} fail, {skipped} skipped; "
        f"{len(crashes)} internal errors{fix_part}; {time.monotonic() - started:.1f} s in all"
    )
    if failed or crashes or review_failed or fix_problems:
        return EXIT_FAIL
    return EXIT_PASS


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return run(arguments)
    except SetupError as error:
        print(f"check_corpus: error: {error}", file=sys.stderr)
        return EXIT_SETUP_ERROR


if __name__ == "__main__":
    sys.exit(main())
