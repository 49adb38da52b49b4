"""Unit tests of the language server's edits: positions, line edits, `# noqa` edits and fixes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from lsprotocol import types

from posenc_lint import noqa
from posenc_lint.config import Settings
from posenc_lint.diagnostics import Location
from posenc_lint.fixer import fix_source
from posenc_lint.server.analysis import DocumentAnalysis
from posenc_lint.server.noqa_edit import TokenGroups, disable_edit
from posenc_lint.server.text import LineIndex, apply_edits, line_edits, split_lines
from server_helpers import FIXTURES


@pytest.mark.parametrize(
    "old, new",
    [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\nb\nc\n", "a\nc\n"),
        ("a\nb\nc\n", "a\nb\nb2\nc\n"),
        ("a\r\nb\r\n", "a\r\nx\r\ny\r\n"),
        ("a\rb\rc", "a\rB\rc"),
        ("a\nb", "a\nb\n"),
        ("a\nb", "a\nc"),
        ("", "x = 1\n"),
        ("x = 1\n", ""),
        ("a\x0cb\nc\n", "a\x0cb\nC\n"),
        ("same\n", "same\n"),
    ],
)
def test_line_edits_rebuild_new_text(old, new):
    edits = line_edits(old, new)

    assert apply_edits(old, edits) == new
    assert all(edit.start <= edit.end for edit in edits)
    if old == new:
        assert edits == []


def test_line_edits_cover_whole_lines():
    old = "first\nsecond\nthird\n"

    edits = line_edits(old, "first\nSECOND\nthird\n")

    assert len(edits) == 1
    assert (old[edits[0].start:edits[0].end], edits[0].content) == ("second\n", "SECOND\n")


def test_split_lines_ignores_form_feed_and_line_separator():
    text = "a\x0cb\u2028c\r\nd\re\n"

    assert split_lines(text) == ["a\x0cb\u2028c\r\n", "d\r", "e\n"]


@pytest.mark.parametrize(
    "encoding, expected",
    [("utf-16", 10), ("utf-8", 13), ("utf-32", 9)],
)
def test_position_counts_code_units(encoding, expected):
    text = 'x = 1\ns = "é😀" + t\n'
    index = LineIndex(text, encoding)
    offset = text.index("+")

    position = index.position(offset)

    assert position == types.Position(line=1, character=expected)
    assert index.offset(position) == offset


def test_position_of_engine_location_past_line_end():
    index = LineIndex("ab\ncd", "utf-16")

    assert index.offset_of_location(Location(1, 99)) == 2
    assert index.offset_of_location(Location(5, 0)) == 5
    assert index.position(5) == types.Position(line=1, character=2)


def test_form_feed_does_not_start_a_line():
    text = "a = 1\n\x0c\nclass B:\n    pass\n"
    index = LineIndex(text, "utf-16")

    assert index.position(text.index("class")) == types.Position(line=2, character=0)
    assert index.offset_of_location(Location(3, 0)) == text.index("class")


def test_offset_past_line_end_clamps_to_it():
    index = LineIndex("ab\r\ncd\n", "utf-16")

    assert index.offset(types.Position(line=0, character=10)) == 2
    assert index.offset(types.Position(line=7, character=0)) == len("ab\r\ncd\n")


def disabled(source: str, line: int, code: str = "PEL303") -> str:
    text = textwrap.dedent(source)
    edit = disable_edit(TokenGroups(text), line, code)
    assert edit is not None, "no edit offered"
    result = apply_edits(text, [edit])
    assert noqa.NoqaMap(result).is_suppressed(line, code)
    return result


def test_disable_appends_comment():
    result = disabled("x = 1\nself.pe = pe\n", 2)

    assert result == "x = 1\nself.pe = pe  # noqa: PEL303\n"


def test_disable_replaces_trailing_whitespace():
    assert disabled("self.pe = pe   \t\n", 1) == "self.pe = pe  # noqa: PEL303\n"


def test_disable_keeps_crlf_and_missing_final_newline():
    assert disabled("a = 1\r\nself.pe = pe\r\n", 2) == "a = 1\r\nself.pe = pe  # noqa: PEL303\r\n"
    assert disabled("self.pe = pe", 1) == "self.pe = pe  # noqa: PEL303"


def test_disable_after_existing_comment():
    assert disabled("self.pe = pe  # shape (n, d)\n", 1) == "self.pe = pe  # shape (n, d)  # noqa: PEL303\n"


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("# noqa: PEL201", "# noqa: PEL201, PEL303"),
        ("# noqa:PEL201", "# noqa:PEL201, PEL303"),
        ("# NOQA: E501,PEL201", "# NOQA: E501,PEL201, PEL303"),
        ("# noqa: PEL201, ", "# noqa: PEL201, PEL303, "),
        ("# noqa: PEL201 keep the old table", "# noqa: PEL201, PEL303 keep the old table"),
        ("# type: ignore  # noqa: E501", "# type: ignore  # noqa: E501, PEL303"),
    ],
)
def test_disable_extends_code_list(comment, expected):
    result = disabled(f"self.pe = pe  {comment}\n", 1)

    assert result == f"self.pe = pe  {expected}\n"


def test_disable_not_offered_under_bare_noqa():
    text = "self.pe = pe  # noqa\n"

    assert disable_edit(TokenGroups(text), 1, "PEL303") is None


def test_disable_not_offered_when_string_holds_first_noqa():
    # flake8 reads the first `# noqa` of the line, here the one inside the string.
    text = 'label = "# noqa: E501"; self.pe = pe\n'

    assert disable_edit(TokenGroups(text), 1, "PEL303") is None


def test_disable_inside_multiline_string_goes_to_last_line():
    source = '''\
    self.pe = make(
        """rows
        columns""", n)
    other = 1
    '''

    result = disabled(source, 2)

    assert result.splitlines()[2] == '    columns""", n)  # noqa: PEL303'
    assert result.splitlines()[1] == '    """rows'


def test_disable_on_backslash_continuation():
    source = "self.pe = pe + \\\n    offset\n"

    result = disabled(source, 1)

    assert result == "self.pe = pe + \\\n    offset  # noqa: PEL303\n"


def test_disable_line_inside_brackets_stays_on_its_line():
    source = "self.pe = nn.Parameter(\n    torch.zeros(n, d)\n)\n"

    assert disabled(source, 1) == "self.pe = nn.Parameter(  # noqa: PEL303\n    torch.zeros(n, d)\n)\n"


def test_disable_on_untokenizable_text_uses_the_line():
    source = "self.pe = pe\nx = (\n"

    assert disabled(source, 1) == "self.pe = pe  # noqa: PEL303\nx = (\n"


def test_server_without_pygls_names_extra():
    script = "import sys; sys.modules['pygls'] = None\nfrom posenc_lint.cli import main\nsys.exit(main(['server']))"

    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)

    assert completed.returncode == 2
    assert 'pip install "posenc-lint[lsp]"' in completed.stderr
    assert completed.stdout == ""


def analysis_of(text: str) -> DocumentAnalysis:
    return DocumentAnalysis(text, "example.py", None, Settings(), "utf-16", lambda code: None)


PLAIN = (FIXTURES / "PEL303" / "plain.py").read_text(encoding="utf-8")


def test_fix_all_keeps_declared_encoding():
    text = "# -*- coding: latin-1 -*-\n# Café\n" + PLAIN
    analysis = analysis_of(text)

    result = analysis.fix_all()

    expected = fix_source(text.encode("latin-1"), "example.py", Settings()).source.decode("latin-1")
    assert result.error is None
    assert apply_edits(text, result.edits) == expected
    assert "register_buffer" in expected


def test_fix_all_reports_unencodable_buffer():
    text = "# -*- coding: latin-1 -*-\n# 5 €\n" + PLAIN
    analysis = analysis_of(text)

    result = analysis.fix_all()

    assert result.edits == ()
    assert result.error is not None
    assert "'€'" in result.error
    assert "iso-8859-1" in result.error


def test_quick_fix_matches_single_fix():
    analysis = analysis_of(PLAIN)
    numbers = [number for number, item in enumerate(analysis.reported) if item.diagnostic.fix is not None]
    assert numbers == [0]

    edits = analysis.quick_fix(0)

    assert apply_edits(PLAIN, edits) == (FIXTURES / "PEL303" / "plain.fixed.py").read_text(encoding="utf-8")
