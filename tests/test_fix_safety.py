"""Fixing must never corrupt a file: bytes, encodings, line endings, comments, modes and
links survive, a failed write leaves nothing behind, and a second fix changes nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import List

import pytest

from posenc_lint import writeback
from posenc_lint.config import Settings, validate_selectors
from posenc_lint.fixer import fix_path, fix_source, source_lines, unified_diff
from posenc_lint.writeback import TEMPORARY_SUFFIX, Snapshot, WriteError, read_snapshot, write_back

SETTINGS = Settings(select=validate_selectors(["PEL303"]))

# PEL303 on line 9; its fix replaces that one statement.
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

OLD_LINE = "        self.pe = pe"
NEW_LINE = '        self.register_buffer("pe", pe, persistent=False)'


def fix_file(path: Path, settings: Settings = SETTINGS):
    result = fix_path(path, settings)
    assert result.error is None, result.error
    return result


def assert_second_fix_changes_nothing(path: Path) -> None:
    before = path.read_bytes()
    result = fix_path(path, SETTINGS)
    assert result.error is None
    assert not result.changed
    assert path.read_bytes() == before


def leftovers(folder: Path) -> List[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(TEMPORARY_SUFFIX))


# --- Bytes, encodings and line endings -------------------------------------------------


def test_plain_file_fixed_exactly(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())

    result = fix_file(path)

    assert result.changed
    assert [diagnostic.code for diagnostic in result.fixed] == ["PEL303"]
    assert path.read_bytes() == PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).encode()
    assert_second_fix_changes_nothing(path)


def test_byte_order_mark_kept(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(b"\xef\xbb\xbf" + PLAIN_TABLE.encode())

    fix_file(path)

    assert path.read_bytes() == b"\xef\xbb\xbf" + PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).encode()
    assert_second_fix_changes_nothing(path)


def test_crlf_line_endings_kept(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.replace("\n", "\r\n").encode())

    fix_file(path)

    expected = PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).replace("\n", "\r\n").encode()
    assert path.read_bytes() == expected
    assert_second_fix_changes_nothing(path)


def test_mixed_line_endings_kept_on_untouched_lines(tmp_path):
    lines = PLAIN_TABLE.splitlines()
    endings = ["\r\n" if index % 3 == 0 else "\n" for index in range(len(lines))]
    source = "".join(line + ending for line, ending in zip(lines, endings))
    path = tmp_path / "model.py"
    path.write_bytes(source.encode())

    fix_file(path)

    fixed_lines = source_lines(path.read_bytes())
    original_lines = source_lines(source.encode())
    assert len(fixed_lines) == len(original_lines)
    for index, (before, after) in enumerate(zip(original_lines, fixed_lines)):
        if before.rstrip(b"\r\n") == OLD_LINE.encode():
            assert after.rstrip(b"\r\n") == NEW_LINE.encode()
            assert after[len(after.rstrip(b"\r\n")):] == before[len(before.rstrip(b"\r\n")):]
        else:
            assert after == before, f"line {index + 1} changed"
    assert_second_fix_changes_nothing(path)


def test_latin1_with_coding_line_kept(tmp_path):
    source = (
        "# -*- coding: latin-1 -*-\n"
        + PLAIN_TABLE.replace("        pe = torch.zeros", "        # Tabelle für Positionen, größe max_len\n        pe = torch.zeros")
        .replace(OLD_LINE, OLD_LINE + "  # à la Vaswani")
    )
    path = tmp_path / "model.py"
    path.write_bytes(source.encode("latin-1"))

    fix_file(path)

    expected = source.replace(OLD_LINE, NEW_LINE).encode("latin-1")
    assert path.read_bytes() == expected
    assert b"f\xfcr" in path.read_bytes()
    assert_second_fix_changes_nothing(path)


def test_file_without_final_newline(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.rstrip("\n").encode())

    fix_file(path)

    assert path.read_bytes() == PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).rstrip("\n").encode()
    assert_second_fix_changes_nothing(path)


def test_tab_indentation_kept(tmp_path):
    source = PLAIN_TABLE.replace("        ", "\t\t").replace("    ", "\t")
    path = tmp_path / "model.py"
    path.write_bytes(source.encode())

    fix_file(path)

    assert path.read_bytes() == source.replace("\t\tself.pe = pe", '\t\tself.register_buffer("pe", pe, persistent=False)').encode()
    assert_second_fix_changes_nothing(path)


def test_comments_around_rewritten_statement_kept(tmp_path):
    source = PLAIN_TABLE.replace(
        "        pe = torch.zeros(max_len, d)\n        self.pe = pe\n",
        "        pe = torch.zeros(max_len, d)\n"
        "        # The table is built once.\n"
        "        self.pe = (  # stored for forward\n"
        "            pe  # (max_len, d)\n"
        "        )  # end of the table\n"
        "        # Nothing else is stored.\n",
    )
    path = tmp_path / "model.py"
    path.write_bytes(source.encode())

    fix_file(path)

    text = path.read_text()
    for comment in (
        "# The table is built once.",
        "# stored for forward",
        "# (max_len, d)",
        "# end of the table",
        "# Nothing else is stored.",
    ):
        assert comment in text
    assert "self.register_buffer(" in text
    assert "self.pe =" not in text
    compile(text, "model.py", "exec")
    assert_second_fix_changes_nothing(path)


def test_file_without_findings_not_rewritten(tmp_path):
    path = tmp_path / "model.py"
    source = PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).encode()
    path.write_bytes(source)
    before = path.stat()

    result = fix_path(path, SETTINGS)

    assert not result.changed
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_fix_source_idempotent_on_its_output():
    first = fix_source(PLAIN_TABLE.encode(), "model.py", SETTINGS)
    second = fix_source(first.source, "model.py", SETTINGS)

    assert first.changed
    assert not second.changed
    assert second.source == first.source


def test_file_skipped_by_noqa_line_not_fixed(tmp_path):
    path = tmp_path / "model.py"
    source = ("# posenc-lint: noqa\n" + PLAIN_TABLE).encode()
    path.write_bytes(source)

    result = fix_path(path, SETTINGS)

    assert not result.changed
    assert path.read_bytes() == source


def test_file_over_max_size_not_fixed(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())

    result = fix_path(path, Settings(select=("PEL303",), max_file_size=100))

    assert not result.changed
    assert [diagnostic.code for diagnostic in result.result.diagnostics] == ["PEL901"]
    assert path.read_bytes() == PLAIN_TABLE.encode()


# --- Modes, owners and links -----------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_file_mode_kept(tmp_path, mode):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())
    path.chmod(mode)

    fix_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert leftovers(tmp_path) == []


def test_read_only_file_left_alone(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())
    path.chmod(0o444)

    result = fix_path(path, SETTINGS)

    assert result.error == "fixed source not written: the file is read-only"
    assert not result.changed
    assert result.fixed == ()
    assert [diagnostic.code for diagnostic in result.result.diagnostics] == ["PEL303"]
    assert path.read_bytes() == PLAIN_TABLE.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert leftovers(tmp_path) == []


def test_symbolic_link_stays_a_link(tmp_path):
    target = tmp_path / "real.py"
    target.write_bytes(PLAIN_TABLE.encode())
    link = tmp_path / "model.py"
    link.symlink_to(target.name)

    fix_file(link)

    assert link.is_symlink()
    assert target.read_bytes() == PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).encode()


def test_hard_linked_file_left_alone(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())
    os.link(path, tmp_path / "alias.py")

    result = fix_path(path, SETTINGS)

    assert result.error is not None and "2 hard links" in result.error
    assert path.read_bytes() == PLAIN_TABLE.encode()
    assert (tmp_path / "alias.py").read_bytes() == PLAIN_TABLE.encode()


# --- Failed and racing writes -----------------------------------------------------------


def failing(name: str):
    def fail(*arguments, **keywords):
        raise OSError(28, "No space left on device")

    fail.__name__ = name
    return fail


@pytest.mark.parametrize("step", ["fsync", "replace", "chmod"])
def test_failed_write_leaves_file_and_no_temporary(tmp_path, monkeypatch, step):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())
    monkeypatch.setattr(writeback.os, step, failing(step))

    result = fix_path(path, SETTINGS)

    assert result.error == "fixed source not written: writing the fixed source failed: No space left on device"
    assert path.read_bytes() == PLAIN_TABLE.encode()
    assert leftovers(tmp_path) == []
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["model.py"]


def test_failed_write_in_stream_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.py"
    path.write_bytes(b"old\n")
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, stream):
            self.stream = stream

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.stream.close()

        def write(self, data):
            self.stream.write(data[:3])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(writeback.os, "fdopen", lambda descriptor, mode: FullDisk(real_fdopen(descriptor, mode)))

    with pytest.raises(WriteError, match="No space left on device"):
        write_back(read_snapshot(path), b"new contents\n")

    assert path.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_interrupted_write_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.py"
    path.write_bytes(b"old\n")

    def interrupt(*arguments):
        raise KeyboardInterrupt

    monkeypatch.setattr(writeback.os, "fsync", interrupt)

    with pytest.raises(KeyboardInterrupt):
        write_back(read_snapshot(path), b"new\n")

    assert path.read_bytes() == b"old\n"
    assert leftovers(tmp_path) == []


def test_temporary_file_that_cannot_be_created(tmp_path, monkeypatch):
    path = tmp_path / "model.py"
    path.write_bytes(b"old\n")

    def refuse(**keywords):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writeback.tempfile, "mkstemp", refuse)

    with pytest.raises(WriteError, match=r"cannot create a temporary file in .*: Permission denied"):
        write_back(read_snapshot(path), b"new\n")
    assert path.read_bytes() == b"old\n"


def test_file_changed_on_disk_after_read_not_written(tmp_path, monkeypatch):
    path = tmp_path / "model.py"
    path.write_bytes(PLAIN_TABLE.encode())
    edited = PLAIN_TABLE + "\n# edited in an editor meanwhile\n"
    from posenc_lint import fixer

    real_fix_source = fixer.fix_source

    def fix_source_while_editing(*arguments, **keywords):
        outcome = real_fix_source(*arguments, **keywords)
        path.write_bytes(edited.encode())
        return outcome

    monkeypatch.setattr(fixer, "fix_source", fix_source_while_editing)

    result = fix_path(path, SETTINGS)

    assert result.error is not None
    assert "changed on disk after it was read" in result.error
    assert path.read_bytes() == edited.encode()
    assert leftovers(tmp_path) == []


def test_file_changed_between_check_and_rename_not_written(tmp_path, monkeypatch):
    path = tmp_path / "model.py"
    path.write_bytes(b"old\n")
    real_chmod = os.chmod

    def chmod_then_edit(target, mode, **keywords):
        real_chmod(target, mode, **keywords)
        path.write_bytes(b"edited\n")

    monkeypatch.setattr(writeback.os, "chmod", chmod_then_edit)

    with pytest.raises(WriteError, match="changed on disk"):
        write_back(read_snapshot(path), b"new\n")
    assert path.read_bytes() == b"edited\n"
    assert leftovers(tmp_path) == []


def test_deleted_file_not_recreated(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(b"old\n")
    snapshot = read_snapshot(path)
    path.unlink()

    with pytest.raises(WriteError, match="cannot read the file's status"):
        write_back(snapshot, b"new\n")
    assert not path.exists()


def test_write_back_replaces_whole_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_bytes(b"a much longer original line\n" * 10)

    write_back(read_snapshot(path), b"short\n")

    assert path.read_bytes() == b"short\n"
    assert leftovers(tmp_path) == []


def test_write_back_rejects_folder(tmp_path):
    with pytest.raises(WriteError, match="not a regular file"):
        write_back(Snapshot(tmp_path, b""), b"new\n")


# --- Diffs ----------------------------------------------------------------------------------


def test_diff_keeps_file_bytes():
    original = PLAIN_TABLE.replace("\n", "\r\n").encode()
    fixed = PLAIN_TABLE.replace(OLD_LINE, NEW_LINE).replace("\n", "\r\n").encode()

    diff = unified_diff(original, fixed, "model.py")

    assert diff.startswith(b"--- model.py\n+++ model.py\n@@ -6,7 +6,7 @@\n")
    assert b"-" + OLD_LINE.encode() + b"\r\n" in diff
    assert b"+" + NEW_LINE.encode() + b"\r\n" in diff


def test_diff_marks_missing_final_newline():
    diff = unified_diff(b"a = 1\nb = 2", b"a = 1\nb = 3", "x.py")

    assert diff.endswith(b"-b = 2\n\\ No newline at end of file\n+b = 3\n\\ No newline at end of file\n")


def test_source_lines_split_like_python():
    assert source_lines(b"a\r\nb\rc\nd\x0ce\n\nf") == [b"a\r\n", b"b\r", b"c\n", b"d\x0ce\n", b"\n", b"f"]
