"""Files and folders the linter cannot check: each gets a clear message and the run goes on.

Every test lints a good file next to the bad input and checks that the good
file's finding is still reported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from posenc_lint import cli, discovery, engine
from posenc_lint.config import Settings
from posenc_lint.engine import lint_path, lint_source

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

GOOD_FINDING = ("good.py", 7, 9, "PEL101")

REPORT_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<code>PEL\d{3}) (?P<message>.*)$")

Report = Tuple[str, int, int, str, str]


def run_main(argv: Sequence[str], capsys) -> Tuple[int, List[Report], str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    found = []
    for line in captured.out.splitlines():
        match = REPORT_LINE.match(line)
        assert match, f"not a concise report line: {line!r}"
        found.append(
            (match["path"], int(match["line"]), int(match["column"]), match["code"], match["message"])
        )
    return code, found, captured.err


def positions(found: List[Report]) -> List[Tuple[str, int, int, str]]:
    return [item[:4] for item in found]


def message_for(found: List[Report], path: str) -> str:
    messages = [item[4] for item in found if item[0] == path]
    assert len(messages) == 1, f"expected one finding for {path}: {found}"
    return messages[0]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The current folder, containing `good.py` with one PEL101 finding."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.py").write_text(ZERO_TABLE)
    return tmp_path


# Syntax errors: PEL900 at CPython's line and column


SYNTAX_ERRORS = [
    "def forward(self, x)\n    return x\n",
    "x = (1 +\n",
    'x = "éé" + (1 +\n',
    "class Embed:\npass\n",
    "x = 1\n  y = 2\n",
    'print "hello"\n',
    "if True:\n\tx = 1\n        y = 2\n",
    "f() = 1\n",
    "def f():\n    return\n  x = 1\n",
    "a = 1 +* 2\n",
    'x = "abc\n',
]


# Only files that name torch and a position-related name are parsed at all.
PARSED_HEADER = "import torch  # pos_embed\n"


@pytest.mark.parametrize("source", [PARSED_HEADER + source for source in SYNTAX_ERRORS])
def test_syntax_error_uses_cpython_position(project, capsys, source):
    (project / "broken.py").write_text(source, encoding="utf-8")
    with pytest.raises(SyntaxError) as raised:
        compile(source, "broken.py", "exec")
    expected = raised.value

    code, found, _ = run_main(["broken.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("broken.py", expected.lineno, expected.offset, "PEL900"), GOOD_FINDING])
    assert message_for(found, "broken.py") == f"syntax error: {expected.msg}"


def test_syntax_error_in_unread_file_skipped(project, capsys):
    (project / "broken.py").write_text("def forward(self, x)\n    return x\n")

    code, found, _ = run_main(["broken.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == [GOOD_FINDING]


def test_syntax_error_known_position(project, capsys):
    (project / "broken.py").write_text("import torch\n\ndef forward(self, pos_embed)\n    return x\n")

    code, found, _ = run_main(["broken.py"], capsys)

    assert code == 1
    assert found == [("broken.py", 3, 29, "PEL900", "syntax error: expected ':'")]


@pytest.mark.parametrize(
    "data, line, column",
    [
        (b"import torch\n# a comment \x00 with a NUL\n", 2, 13),
        (b'import torch\nx = "a\x00b"\n', 2, 7),
        (b"\x00import torch\n", 1, 1),
    ],
)
def test_nul_byte_is_reported_with_position(project, capsys, data, line, column):
    (project / "nul.py").write_bytes(data)

    code, found, _ = run_main(["nul.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("nul.py", line, column, "PEL900"), GOOD_FINDING])
    assert "NUL byte" in message_for(found, "nul.py")


# Decoding: PEL901


def test_invalid_utf8_names_byte_and_line(project, capsys):
    (project / "latin.py").write_bytes(b"import torch\n\nname = 'caf\xe9'\n")

    code, found, _ = run_main(["latin.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("latin.py", 3, 1, "PEL901"), GOOD_FINDING])
    assert "byte 0xe9 on line 3" in message_for(found, "latin.py")
    assert "coding" in message_for(found, "latin.py")


def test_invalid_utf8_on_first_line(project, capsys):
    (project / "latin.py").write_bytes(b"name = 'caf\xe9'\n")

    code, found, _ = run_main(["latin.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("latin.py", 1, 1, "PEL901"), GOOD_FINDING])
    assert "byte 0xe9 on line 1" in message_for(found, "latin.py")


def test_unknown_encoding_is_named(project, capsys):
    (project / "odd.py").write_bytes(b"# -*- coding: no-such-codec -*-\nimport torch\n")

    code, found, _ = run_main(["odd.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("odd.py", 1, 1, "PEL901"), GOOD_FINDING])
    assert "no-such-codec" in message_for(found, "odd.py")


def test_byte_order_mark_with_other_coding(project, capsys):
    (project / "mixed.py").write_bytes(b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nimport torch\n")

    code, found, _ = run_main(["mixed.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("mixed.py", 1, 1, "PEL901"), GOOD_FINDING])
    assert "byte order mark" in message_for(found, "mixed.py")


def test_text_codec_that_is_not_an_encoding(project, capsys):
    (project / "rot.py").write_bytes(b"# -*- coding: rot13 -*-\nimport torch\n")

    code, found, _ = run_main(["rot.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("rot.py", 1, 1, "PEL901"), GOOD_FINDING])


def test_utf16_file_is_undecodable(project, capsys):
    (project / "wide.py").write_bytes(ZERO_TABLE.encode("utf-16"))

    code, found, _ = run_main(["wide.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == [GOOD_FINDING, ("wide.py", 1, 1, "PEL901")]


def test_declared_latin1_file_is_linted(project, capsys):
    source = "# -*- coding: latin-1 -*-\n" + ZERO_TABLE.replace("class Embed", "# caf\xe9\nclass Embed")
    (project / "declared.py").write_bytes(source.encode("latin-1"))

    code, found, _ = run_main(["declared.py"], capsys)

    assert code == 1
    assert positions(found) == [("declared.py", 9, 9, "PEL101")]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n   \n", b"# just a comment"])
def test_empty_files_are_clean(project, capsys, data):
    (project / "empty.py").write_bytes(data)

    code, found, _ = run_main(["empty.py"], capsys)

    assert code == 0
    assert found == []


# Paths that cannot be read


def test_missing_path_is_reported_and_run_goes_on(project, capsys):
    code, found, err = run_main(["missing.py", "missing_folder", "good.py"], capsys)

    assert code == 1
    assert positions(found) == [
        GOOD_FINDING,
        ("missing.py", 1, 1, "PEL901"),
        ("missing_folder", 1, 1, "PEL901"),
    ]
    assert message_for(found, "missing.py") == "path not found"
    assert message_for(found, "missing_folder") == "path not found"


def test_broken_symbolic_link_named_explicitly(project, capsys):
    (project / "link.py").symlink_to(project / "gone.py")

    code, found, _ = run_main(["link.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([GOOD_FINDING, ("link.py", 1, 1, "PEL901")])


def test_symbolic_link_loop_in_folder_ends(project, capsys):
    (project / "pkg").mkdir()
    (project / "pkg" / "loop").symlink_to(project, target_is_directory=True)

    code, found, _ = run_main(["."], capsys)

    assert code == 1
    assert positions(found) == [GOOD_FINDING]


def test_unreadable_file_simulated(project, capsys, monkeypatch):
    (project / "secret.py").write_text(ZERO_TABLE)
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)

    code, found, _ = run_main(["."], capsys)

    assert code == 1
    assert positions(found) == sorted([GOOD_FINDING, ("secret.py", 1, 1, "PEL901")])
    assert message_for(found, "secret.py") == "cannot read file: Permission denied"


def test_unreadable_file_by_mode(project, capsys):
    secret = project / "secret.py"
    secret.write_text(ZERO_TABLE)
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("this user can read files with mode 000 (root)")
        code, found, _ = run_main(["."], capsys)
    finally:
        secret.chmod(0o644)

    assert code == 1
    assert positions(found) == sorted([GOOD_FINDING, ("secret.py", 1, 1, "PEL901")])


def test_unreadable_folder_simulated(project, capsys, monkeypatch):
    (project / "locked").mkdir()
    (project / "locked" / "model.py").write_text(ZERO_TABLE)
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)

    code, found, _ = run_main(["."], capsys)

    assert code == 1
    assert positions(found) == sorted([GOOD_FINDING, ("locked", 1, 1, "PEL901")])
    assert message_for(found, "locked") == "cannot read folder: Permission denied"


def test_unreadable_folder_by_mode(project, capsys):
    locked = project / "locked"
    locked.mkdir()
    (locked / "model.py").write_text(ZERO_TABLE)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("this user can read folders with mode 000 (root)")
        code, found, _ = run_main(["."], capsys)
    finally:
        locked.chmod(0o755)

    assert code == 1
    assert positions(found) == sorted([GOOD_FINDING, ("locked", 1, 1, "PEL901")])


def test_folder_without_python_files_warns_and_exits_zero(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("nothing to lint\n")

    result = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "docs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0
    assert result.stdout == ""
    assert "no Python files found under docs" in result.stderr


def test_empty_folder_next_to_file_keeps_findings(project, capsys, caplog):
    (project / "empty").mkdir()

    code, found, _ = run_main(["empty", "good.py"], capsys)

    assert code == 1
    assert positions(found) == [GOOD_FINDING]
    assert "no Python files found under empty" in caplog.text


# Large files


def test_file_over_max_file_size_is_reported(project, capsys):
    (project / "pyproject.toml").write_text("[tool.posenc-lint]\nmax-file-size = 2000\n")
    big = project / "big.py"
    big.write_text(ZERO_TABLE + "# padding\n" * 300)
    size = big.stat().st_size

    code, found, _ = run_main(["big.py", "good.py"], capsys)

    assert code == 1
    assert positions(found) == sorted([("big.py", 1, 1, "PEL901"), GOOD_FINDING])
    assert message_for(found, "big.py") == (
        f"file not linted: it is {size} bytes, over the 2000 bytes limit set by `max-file-size`"
    )


def test_large_file_size_in_mebibytes(tmp_path):
    big = tmp_path / "big.py"
    big.write_bytes(b"import torch\n" + b"#" * (3 * 1024 * 1024) + b"\n")

    result = lint_path(big, Settings(max_file_size=1024 * 1024))

    assert [d.code for d in result.diagnostics] == ["PEL901"]
    assert "it is 3.0 MiB" in result.diagnostics[0].message
    assert "over the 1.0 MiB (1048576 bytes) limit" in result.diagnostics[0].message


def test_large_file_without_torch_is_skipped(tmp_path):
    big = tmp_path / "data.py"
    big.write_bytes(b"TABLE = [\n" + b"    1,\n" * 2000 + b"]\n")

    result = lint_path(big, Settings(max_file_size=1000))

    assert result.diagnostics == ()


def test_large_file_with_torch_across_read_chunks(tmp_path):
    # `torch` starts two bytes before the end of the first 1 MiB chunk.
    big = tmp_path / "split.py"
    big.write_bytes(b"#" * (1024 * 1024 - 2) + b"torch\n")

    result = lint_path(big, Settings(max_file_size=1000))

    assert [d.code for d in result.diagnostics] == ["PEL901"]


# Internal errors: PEL902, exit code 2, other files still linted


def test_unexpected_exception_becomes_pel902(project, capsys, monkeypatch):
    (project / "trigger.py").write_text("import torch\nTRIGGER = pos_embed = 1\n")
    real_parse = engine.cst.parse_module

    def parse_module(source, *args, **kwargs):
        text = source.decode() if isinstance(source, bytes) else source
        if "TRIGGER" in text:
            raise ValueError("simulated parser bug")
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(engine.cst, "parse_module", parse_module)

    code, found, _ = run_main(["trigger.py", "good.py"], capsys)

    assert code == 2
    assert positions(found) == sorted([GOOD_FINDING, ("trigger.py", 1, 1, "PEL902")])
    assert "simulated parser bug" in message_for(found, "trigger.py")


def test_lint_source_never_raises(monkeypatch):
    def build_positions(module, text, nodes):
        raise RuntimeError("simulated metadata bug")

    monkeypatch.setattr(engine, "_positions_of", build_positions)

    result = lint_source(ZERO_TABLE, "model.py", Settings())

    assert [d.code for d in result.diagnostics] == ["PEL902"]
    assert "simulated metadata bug" in result.diagnostics[0].message


def test_deep_nesting_does_not_stop_run(project, capsys):
    (project / "deep.py").write_text("import torch\nx = " + "[" * 150 + "1" + "]" * 150 + "\n")

    code, found, _ = run_main(["deep.py", "good.py"], capsys)

    # NOTE: the module model recurses per nesting level, so this file may get a
    # file-level "nests too deeply" diagnostic instead of being checked.
    deep = [item for item in found if item[0] == "deep.py"]
    assert GOOD_FINDING in positions(found)
    assert len(deep) <= 1
    for item in deep:
        assert item[3] in ("PEL900", "PEL902")
        assert "nests too deeply" in item[4]
    assert code == (2 if any(item[3] == "PEL902" for item in deep) else 1)


def test_bad_files_in_worker_processes(tmp_path):
    # Enough files for the runner to start worker processes.
    for index in range(10):
        (tmp_path / f"good{index}.py").write_text(ZERO_TABLE)
    (tmp_path / "broken.py").write_text("import torch\ndef forward(self, pos)\n    return x\n")
    (tmp_path / "latin.py").write_bytes(b"import torch\nname = 'caf\xe9'\n")
    (tmp_path / "nul.py").write_bytes(b"import torch\n# \x00\n")

    result = subprocess.run(
        [sys.executable, "-m", "posenc_lint", "-j", "2", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    codes = {}
    for line in result.stdout.splitlines():
        match = REPORT_LINE.match(line)
        codes[match["path"]] = match["code"]
    assert codes["broken.py"] == "PEL900"
    assert codes["latin.py"] == "PEL901"
    assert codes["nul.py"] == "PEL900"
    assert sum(1 for code in codes.values() if code == "PEL101") == 10
