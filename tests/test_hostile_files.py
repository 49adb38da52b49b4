"""Hostile files and paths through the command line: clear messages, documented exit codes, no damage.

Most tests run `python -m posenc_lint` in a subprocess on files made under
`tmp_path`, next to `good.py`, whose one finding must still be reported. The
exit codes are those of the README: 0 clean, 1 findings, 2 errors. A message
about a file starts with the file's path. Cases that need a failure at a
precise moment (a file deleted after discovery, changed on disk or a full
disk while fixing) run the CLI in-process with one function patched.

Tests of modes that block reading (chmod 000) skip when they run as root,
which can read such files anyway.
"""

from __future__ import annotations

import ast
import codecs
import errno
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

import libcst as cst
import pytest

from posenc_lint import cli, nesting, writeback
from posenc_lint.config import Settings
from posenc_lint.engine import lint_source

# PEL101 on line 7, column 9, with an unsafe fix.
GOOD = b"""\
import torch
from torch import nn

class Embed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, n, d))

    def forward(self, x):
        return x + self.pos_embed
"""

REPORT_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>PEL\d{3})(?: \[\*\])? (?P<message>.*)$"
)
ERROR_LINE = re.compile(r"^posenc-lint: error: (?P<path>.+?): (?P<reason>.*)$")
RUNNING_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class Report(NamedTuple):
    path: str
    line: int
    column: int
    code: str
    message: str


class Run(NamedTuple):
    returncode: int
    reports: List[Report]
    errors: Dict[str, str]
    stderr: str


def run_cli(arguments: Sequence[str], cwd: Path, memory_limit: Optional[int] = None) -> Run:
    """Run the CLI with ``--isolated`` and the result cache off; parse its concise report."""
    environment = dict(os.environ, POSENC_LINT_NO_CACHE="1")

    def limit_memory() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    completed = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "--isolated", *arguments],
        cwd=str(cwd),
        env=environment,
        capture_output=True,
        timeout=600,
        preexec_fn=limit_memory,
    )
    stdout = completed.stdout.decode("utf-8", "surrogateescape")
    stderr = completed.stderr.decode("utf-8", "surrogateescape")
    reports = []
    for line in stdout.splitlines():
        match = REPORT_LINE.match(line)
        assert match, f"not a concise report line: {line!r}"
        reports.append(Report(match["path"], int(match["line"]), int(match["column"]), match["code"], match["message"]))
    errors = {}
    for line in stderr.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            errors[match["path"]] = match["reason"]
    return Run(completed.returncode, reports, errors, stderr)


def codes_for(run: Run, path: str) -> List[str]:
    return [report.code for report in run.reports if report.path == path]


def message_for(run: Run, path: str) -> str:
    messages = [report.message for report in run.reports if report.path == path]
    assert len(messages) == 1, f"expected one finding for {path}: {run.reports}"
    return messages[0]


def leftover_temporary_files(folder: Path) -> List[str]:
    return sorted(path.name for path in folder.rglob(f"*{writeback.TEMPORARY_SUFFIX}"))


def parses(data: bytes) -> bool:
    try:
        compile(data, "<fixed>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError:
        return False
    return True


# --- Hostile contents: one lint run and one fix run over a folder of them ----------

CRLF = GOOD.replace(b"\n", b"\r\n")
MIXED = b"".join(line.replace(b"\n", b"\r\n") if index % 2 else line for index, line in enumerate(GOOD.splitlines(True)))
TABS = GOOD.replace(b"        ", b"\t\t").replace(b"    ", b"\t")
LATIN1 = b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + GOOD
TRUNCATED = GOOD[: GOOD.index(b"torch.zeros") + 8]
# Only files that name torch and a position-related name are parsed, so only
# their syntax errors are reported (see the README).
PARSED = b"import torch  # pos_embed\n"


class Case(NamedTuple):
    data: bytes
    codes: List[str]
    # "clean": the fix run leaves the bytes alone. "fixed": the fix is applied.
    # "either": applied soundly, or rejected with an error that names the file.
    fix: str


CASES: Dict[str, Case] = {
    "good.py": Case(GOOD, ["PEL101"], "fixed"),
    "syntax_missing_colon.py": Case(PARSED + b"\ndef forward(self, x)\n    return x\n", ["PEL900"], "clean"),
    "syntax_unclosed_bracket.py": Case(PARSED + b"x = [1, 2,\n", ["PEL900"], "clean"),
    "syntax_bad_dedent.py": Case(PARSED + b"if True:\n        x = 1\n    y = 2\n", ["PEL900"], "clean"),
    "syntax_python2_print.py": Case(PARSED + b'print "hi"\n', ["PEL900"], "clean"),
    "syntax_assign_to_call.py": Case(PARSED + b"f() = 1\n", ["PEL900"], "clean"),
    "truncated_mid_token.py": Case(TRUNCATED, ["PEL900"], "clean"),
    "truncated_in_string.py": Case(PARSED + b'DOC = """never closed\n', ["PEL900"], "clean"),
    "nul_byte.py": Case(GOOD.replace(b"super()", b"super(\x00)"), ["PEL900"], "clean"),
    "invalid_utf8.py": Case(GOOD + b"# caf\xe9\n", ["PEL901"], "clean"),
    "latin1_declared.py": Case(LATIN1, ["PEL101"], "fixed"),
    "byte_order_mark.py": Case(codecs.BOM_UTF8 + GOOD, ["PEL101"], "fixed"),
    "crlf.py": Case(CRLF, ["PEL101"], "fixed"),
    "mixed_line_endings.py": Case(MIXED, ["PEL101"], "fixed"),
    "cr_line_endings.py": Case(GOOD.replace(b"\n", b"\r"), ["PEL101"], "either"),
    "tabs.py": Case(TABS, ["PEL101"], "fixed"),
    "form_feeds.py": Case(b"\x0c" + GOOD.replace(b"class Embed", b"\x0c\nclass Embed"), ["PEL101"], "either"),
    # LibCST 1.9 writes `except ValueError :` back without the space.
    "except_space_before_colon.py": Case(
        GOOD + b"\ntry:\n    pass\nexcept ValueError :\n    pass\n", ["PEL101"], "either"
    ),
    "empty.py": Case(b"", [], "clean"),
    "only_byte_order_mark.py": Case(codecs.BOM_UTF8, [], "clean"),
    "only_comments.py": Case(b"# one\n# two\n", [], "clean"),
    "only_whitespace.py": Case(b"\n\n   \n\t\n\x0c\n", [], "clean"),
}


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, case in CASES.items():
        (folder / name).write_bytes(case.data)
    return folder


@pytest.fixture(scope="module")
def lint_run(hostile_folder) -> Run:
    return run_cli(["."], hostile_folder)


class FixedCopy(NamedTuple):
    run: Run
    folder: Path


@pytest.fixture(scope="module")
def fixed(hostile_folder, tmp_path_factory) -> FixedCopy:
    copy = tmp_path_factory.mktemp("hostile-fixed") / "copy"
    shutil.copytree(str(hostile_folder), str(copy))
    return FixedCopy(run_cli(["--fix", "--unsafe-fixes", "."], copy), copy)


def test_hostile_contents_lint_exit_code(lint_run):
    assert lint_run.returncode == 1, lint_run.stderr


def test_hostile_contents_lint_has_no_traceback(lint_run):
    assert "Traceback" not in lint_run.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_contents_lint_codes(lint_run, name):
    assert codes_for(lint_run, name) == CASES[name].codes


@pytest.mark.parametrize("name", [name for name in sorted(CASES) if CASES[name].codes[:1] in (["PEL900"], ["PEL901"])])
def test_hostile_contents_message_explains(lint_run, name):
    message = message_for(lint_run, name)

    assert message.startswith(("syntax error: ", "cannot decode file"))


def test_nul_byte_message(lint_run):
    assert "NUL byte" in message_for(lint_run, "nul_byte.py")


def test_invalid_utf8_message_names_byte(lint_run):
    assert "byte 0xe9 on line 11" in message_for(lint_run, "invalid_utf8.py")


def test_hostile_contents_fix_has_no_traceback(fixed):
    assert "Traceback" not in fixed.run.stderr


def test_hostile_contents_fix_exit_code(fixed):
    # Findings remain (the syntax errors), and a rejected fix makes it 2.
    expected = 2 if fixed.run.errors else 1

    assert fixed.run.returncode == expected, fixed.run.stderr


def test_hostile_contents_fix_errors_name_files(fixed):
    may_reject = {name for name, case in CASES.items() if case.fix == "either"}

    assert set(fixed.run.errors) <= may_reject, fixed.run.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_contents_fix_result(fixed, name):
    case = CASES[name]
    data = (fixed.folder / name).read_bytes()

    if case.fix == "clean":
        assert data == case.data
    elif case.fix == "fixed":
        assert data != case.data
        assert parses(data)
    elif data == case.data:
        assert name in fixed.run.errors, "a file left unfixed needs an error that names it"
    else:
        assert parses(data)


def test_fix_keeps_crlf(fixed):
    data = (fixed.folder / "crlf.py").read_bytes()

    assert re.search(rb"(?<!\r)\n", data) is None


def test_fix_keeps_byte_order_mark(fixed):
    data = (fixed.folder / "byte_order_mark.py").read_bytes()

    assert data.startswith(codecs.BOM_UTF8)
    assert not data[3:].startswith(codecs.BOM_UTF8)


def test_fix_keeps_latin1_bytes(fixed):
    data = (fixed.folder / "latin1_declared.py").read_bytes()

    assert data.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert b"nn.init.trunc_normal_" in data


def test_fix_indents_with_tabs_in_tab_file(fixed):
    data = (fixed.folder / "tabs.py").read_bytes()
    added = [line for line in data.splitlines() if b"trunc_normal_" in line]

    assert added
    assert all(line.startswith(b"\t\t") for line in added)


def test_fix_keeps_cr_line_endings(fixed):
    data = (fixed.folder / "cr_line_endings.py").read_bytes()

    assert b"\n" not in data


def test_fix_leaves_no_temporary_files(fixed):
    assert leftover_temporary_files(fixed.folder) == []


# --- Large files --------------------------------------------------------------------


def test_ten_megabyte_file_reported_within_memory_limit(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    rows = b"".join(b"    [%d.0, %d.5, %d.25, %d.125]," % (index, index, index, index) + b"\n" for index in range(300_000))
    (tmp_path / "generated.py").write_bytes(GOOD + b"\nTABLE = [\n" + rows + b"]\n")
    assert (tmp_path / "generated.py").stat().st_size > 10 * 1024 * 1024

    run = run_cli(["generated.py", "good.py"], tmp_path, memory_limit=2 * 1024**3)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "good.py") == ["PEL101"]
    assert codes_for(run, "generated.py") == ["PEL901"]
    assert message_for(run, "generated.py").startswith("file not linted: it is 13.6 MiB")
    assert "limit set by `max-file-size`" in message_for(run, "generated.py")


# --- Paths --------------------------------------------------------------------------


def test_non_utf8_file_name_is_linted(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.py"), "wb") as stream:
        stream.write(GOOD)

    run = run_cli(["."], tmp_path)

    assert run.returncode == 1, run.stderr
    assert sorted(report.path for report in run.reports) == ["caf\udce9.py", "good.py"]


def test_non_utf8_file_name_is_fixed(tmp_path):
    name = os.path.join(os.fsencode(tmp_path), b"caf\xe9.py")
    with open(name, "wb") as stream:
        stream.write(GOOD)

    run = run_cli(["--fix", "--unsafe-fixes", "."], tmp_path)

    assert run.returncode == 0, run.stderr
    with open(name, "rb") as stream:
        assert b"trunc_normal_" in stream.read()


def test_symbolic_link_loops_end(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "up").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "pkg" / "self.py").symlink_to(tmp_path / "pkg" / "self.py")

    run = run_cli(["."], tmp_path)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "good.py") == ["PEL101"]
    assert "Traceback" not in run.stderr


def test_symbolic_link_loop_named_explicitly(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")

    run = run_cli(["self.py", "good.py"], tmp_path)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "self.py") == ["PEL901"]
    assert codes_for(run, "good.py") == ["PEL101"]


def test_symbolic_link_to_file_outside_tree_is_linted(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.py").write_bytes(GOOD)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(outside / "model.py")

    run = run_cli(["."], tree)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "link.py") == ["PEL101"]


def test_fix_through_outside_link_keeps_link(tmp_path):
    # The README documents that --fix follows a link and writes its target.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.py").write_bytes(GOOD)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(outside / "model.py")

    run = run_cli(["--fix", "--unsafe-fixes", "."], tree)

    assert run.returncode == 0, run.stderr
    assert (tree / "link.py").is_symlink()
    assert b"trunc_normal_" in (outside / "model.py").read_bytes()
    assert leftover_temporary_files(outside) == []


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root reads files with mode 000")
def test_unreadable_file_by_mode(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    secret = tmp_path / "secret.py"
    secret.write_bytes(GOOD)
    secret.chmod(0)
    try:
        run = run_cli(["."], tmp_path)
    finally:
        secret.chmod(0o644)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "secret.py") == ["PEL901"]
    assert "Permission denied" in message_for(run, "secret.py")
    assert codes_for(run, "good.py") == ["PEL101"]


@pytest.mark.skipif(RUNNING_AS_ROOT, reason="root reads folders with mode 000")
def test_unreadable_folder_by_mode(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "model.py").write_bytes(GOOD)
    locked.chmod(0)
    try:
        run = run_cli(["."], tmp_path)
    finally:
        locked.chmod(0o755)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "locked") == ["PEL901"]
    assert codes_for(run, "good.py") == ["PEL101"]


def test_read_only_file_is_not_fixed(tmp_path):
    (tmp_path / "good.py").write_bytes(GOOD)
    locked = tmp_path / "locked.py"
    locked.write_bytes(GOOD)
    locked.chmod(0o444)

    run = run_cli(["--fix", "--unsafe-fixes", "."], tmp_path)

    assert run.returncode == 2, run.stderr
    assert "read-only" in run.errors["locked.py"]
    assert locked.read_bytes() == GOOD
    assert b"trunc_normal_" in (tmp_path / "good.py").read_bytes()
    assert leftover_temporary_files(tmp_path) == []


# --- Failures at a precise moment, in-process ------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.py").write_bytes(GOOD)
    (tmp_path / "other.py").write_bytes(GOOD)
    return tmp_path


def run_main(arguments: Sequence[str], capsys) -> Run:
    code = cli.main(["--isolated", "-j", "1", *arguments])
    captured = capsys.readouterr()
    reports = []
    for line in captured.out.splitlines():
        match = REPORT_LINE.match(line)
        if match:
            reports.append(Report(match["path"], int(match["line"]), int(match["column"]), match["code"], match["message"]))
    errors = {}
    for line in captured.err.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            errors[match["path"]] = match["reason"]
    return Run(code, reports, errors, captured.err)


def delete_after_discovery(monkeypatch, victim: Path) -> None:
    real_discover = cli.discover

    def discover(*args, **kwargs):
        found = real_discover(*args, **kwargs)
        victim.unlink()
        return found

    monkeypatch.setattr(cli, "discover", discover)


def test_file_deleted_after_discovery_lint(project, capsys, monkeypatch):
    delete_after_discovery(monkeypatch, project / "other.py")

    run = run_main(["."], capsys)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "other.py") == ["PEL901"]
    assert message_for(run, "other.py") == "file not found"
    assert codes_for(run, "good.py") == ["PEL101"]


def test_file_deleted_after_discovery_fix(project, capsys, monkeypatch):
    delete_after_discovery(monkeypatch, project / "other.py")

    run = run_main(["--fix", "--unsafe-fixes", "."], capsys)

    assert run.returncode == 1, run.stderr
    assert codes_for(run, "other.py") == ["PEL901"]
    assert not (project / "other.py").exists()
    assert b"trunc_normal_" in (project / "good.py").read_bytes()


def test_file_changed_on_disk_during_fix(project, capsys, monkeypatch):
    from posenc_lint import fixer

    edited = GOOD + b"# saved by an editor meanwhile\n"
    real_fix_source = fixer.fix_source

    def fix_source(source, display, *args, **kwargs):
        outcome = real_fix_source(source, display, *args, **kwargs)
        if Path(display).name == "other.py":
            (project / "other.py").write_bytes(edited)
        return outcome

    monkeypatch.setattr(fixer, "fix_source", fix_source)

    run = run_main(["--fix", "--unsafe-fixes", "."], capsys)

    assert run.returncode == 2, run.stderr
    assert "changed on disk" in run.errors["other.py"]
    assert (project / "other.py").read_bytes() == edited
    assert b"trunc_normal_" in (project / "good.py").read_bytes()
    assert leftover_temporary_files(project) == []


@pytest.mark.parametrize("step", ["fsync", "replace", "mkstemp"])
def test_full_disk_leaves_original_intact(project, capsys, monkeypatch, step):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if step == "mkstemp":
        monkeypatch.setattr(writeback.tempfile, "mkstemp", no_space)
    else:
        monkeypatch.setattr(writeback.os, step, no_space)

    run = run_main(["--fix", "--unsafe-fixes", "good.py"], capsys)

    assert run.returncode == 2, run.stderr
    assert os.strerror(errno.ENOSPC) in run.errors["good.py"]
    assert (project / "good.py").read_bytes() == GOOD
    assert leftover_temporary_files(project) == []
    assert codes_for(run, "good.py") == ["PEL101"]


# --- Deep nesting ---------------------------------------------------------------------

SHAPES = {
    "brackets": lambda n: "[" * n + "1" + "]" * n,
    "calls": lambda n: "f(" * n + "1" + ")" * n,
    "sum": lambda n: "+".join(["x"] * n),
    "attributes": lambda n: "x" + ".a" * n,
    "and": lambda n: " and ".join(["x"] * n),
    "or_over_lines": lambda n: "(x\n" + "".join("            or x\n" for _ in range(n)) + "        )",
    "lambdas": lambda n: "lambda: " * n + "1",
    "conditionals": lambda n: "1 if x else " * n + "2",
}


def deep_module(shape: str, levels: int) -> str:
    """Return GOOD with ``forward`` computing an expression of ``shape`` nested ``levels`` deep."""
    expression = SHAPES[shape](levels)
    return GOOD.decode().replace("        return x + self.pos_embed", f"        y = {expression}\n        return x + self.pos_embed")


# (shape, levels, expected): "lint" means linted with the PEL101 finding, and
# a code means that file-level diagnostic instead. "reported" means PEL900 or
# PEL901, depending on how deep the running Python's parser goes.
NESTING_CASES = [
    ("brackets", 150, "lint"),
    ("brackets", 199, "lint"),
    ("brackets", 201, "PEL900"),
    ("brackets", 1500, "PEL900"),
    ("calls", 199, "lint"),
    ("sum", 1000, "lint"),
    ("attributes", 2000, "lint"),
    ("and", 500, "lint"),
    ("and", 8000, "PEL901"),
    ("or_over_lines", 3000, "PEL901"),
    ("lambdas", 900, "lint"),
    ("lambdas", 2000, "PEL901"),
    ("conditionals", 5000, "reported"),
]


def lint_guarded(source: str):
    """Lint ``source`` as the engine does with the nesting guard in front of LibCST."""
    problem = nesting.nesting_problem(source)
    if problem is not None:
        return [problem.code]
    with nesting.recursion_headroom():
        result = lint_source(source.encode(), "deep.py", Settings())
    return [diagnostic.code for diagnostic in result.diagnostics]


@pytest.mark.parametrize("shape, levels, expected", NESTING_CASES)
def test_nesting_guard_and_headroom(shape, levels, expected):
    codes = lint_guarded(deep_module(shape, levels))

    if expected == "lint":
        assert codes == ["PEL101"]
    elif expected == "reported":
        assert codes in (["PEL900"], ["PEL901"])
    else:
        assert codes == [expected]


def test_nesting_guard_passes_corpus_like_code():
    assert nesting.nesting_problem(GOOD.decode()) is None


def test_nesting_guard_uses_cpython_message():
    problem = nesting.nesting_problem(deep_module("brackets", 300))

    assert problem is not None
    assert problem.message == "syntax error: too many nested parentheses"
    assert problem.line == 10


def test_nesting_guard_message_names_limit():
    problem = nesting.nesting_problem(deep_module("and", 5000))

    assert problem is not None
    assert problem.message.startswith("file not linted: its code nests 50")
    assert f"more than the {nesting.MAX_NESTING} levels" in problem.message


def test_nesting_guard_leaves_newer_syntax_to_libcst():
    # Python before 3.12 rejects `type`, which LibCST parses, so only the bracket depth may decide.
    source = "type Table = list[float]\n" + "x = " + "(" * 150 + "1" + ")" * 150 + "\n"

    assert nesting.nesting_problem(source) is None


def test_nesting_guard_deep_brackets_newer_syntax():
    source = "type Table = list[float]\n" + "x = " + "(" * 300 + "1" + ")" * 300 + "\n"

    problem = nesting.nesting_problem(source)

    assert problem is not None
    assert problem.code in ("PEL900", "PEL901")


def test_recursion_headroom_restores_limit():
    before = sys.getrecursionlimit()

    with nesting.recursion_headroom():
        inside = sys.getrecursionlimit()
        with nesting.recursion_headroom():
            nested = sys.getrecursionlimit()
        after_nested = sys.getrecursionlimit()

    assert inside >= nesting.FRAMES_PER_LEVEL * nesting.MAX_NESTING
    assert nested == inside
    assert after_nested == inside
    assert sys.getrecursionlimit() == before


def test_describe_error_with_deep_node():
    node = cst.parse_expression("[" * 180 + "1" + "]" * 180)

    text = nesting.describe_error(KeyError(node))

    assert text == "KeyError(<List>)"


def test_describe_error_cuts_long_messages():
    text = nesting.describe_error(ValueError("x" * 1000), limit=50)

    assert len(text) == 53
    assert text.startswith("ValueError('xxx")


@pytest.mark.parametrize(
    "shape, levels, expected",
    [
        ("brackets", 150, "lint"),
        ("sum", 1000, "lint"),
        ("and", 8000, "PEL901"),
        ("brackets", 1500, "PEL900"),
    ],
)
def test_deep_file_through_cli(tmp_path, shape, levels, expected):
    (tmp_path / "good.py").write_bytes(GOOD)
    (tmp_path / "deep.py").write_text(deep_module(shape, levels))

    run = run_cli(["deep.py", "good.py"], tmp_path)

    assert "Traceback" not in run.stderr
    assert run.returncode == 1, run.stderr
    assert codes_for(run, "good.py") == ["PEL101"]
    assert codes_for(run, "deep.py") == (["PEL101"] if expected == "lint" else [expected])
