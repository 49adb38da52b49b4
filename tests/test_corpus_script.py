"""Unit tests of corpus/check_corpus.py: data parsing, row checks and review comparison.

Nothing here downloads: the wheel tests build small zip files in a temporary folder.
"""

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "corpus" / "check_corpus.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("check_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class body runs.
    sys.modules["check_corpus"] = module
    spec.loader.exec_module(module)
    return module


cc = _load_script()

RULES = {"PEL101": True, "PEL202": False, "PEL302": True, "PEL902": True}
VIT = "vit-pytorch"
CCT = "vit_pytorch/cct.py"


def row(verdict="report", line="10", code="PEL302", why="a reason", path=CCT, package=VIT):
    text = "\t".join([package, path, line, code, verdict, why])
    return cc.parse_expected(text)[0]


def finding(line, code="PEL302", path=CCT, package=VIT, message="message"):
    return cc.Finding(package, path, line, code, message)


WHOLE_VIT = cc.Scope({VIT: None})


# --- packages.txt and expected.tsv ----------------------------------------------------


def test_parse_packages_skips_comments():
    text = "# pinned\n\ntransformers==5.25.0\nvit-pytorch==1.26.14\n"
    packages = cc.parse_packages(text)
    assert packages == [cc.Package("transformers", "5.25.0"), cc.Package("vit-pytorch", "1.26.14")]


def test_parse_packages_rejects_unpinned_line():
    with pytest.raises(cc.SetupError, match="line 2: expected NAME==VERSION"):
        cc.parse_packages("timm==1.0.31\ntimm>=1.0\n")


def test_parse_packages_rejects_duplicate():
    with pytest.raises(cc.SetupError, match="pinned twice"):
        cc.parse_packages("open-clip-torch==3.3.0\nopen_clip_torch==3.3.0\n")


def test_package_names_normalized():
    package = cc.Package("Open_Clip.Torch", "3.3.0")
    assert package.key == "open-clip-torch"
    assert package.folder_name == "open-clip-torch-3.3.0"
    assert package.requirement == "Open_Clip.Torch==3.3.0"


@pytest.mark.parametrize(
    "text, expected",
    [("12", (12, 12)), ("75-79", (75, 79)), (" 5-5 ", (5, 5))],
)
def test_line_range_valid(text, expected):
    assert cc.parse_line_range(text) == expected


@pytest.mark.parametrize("text", ["", "0", "9-3", "a", "3-", "-3", "1-2-3", "4,5"])
def test_line_range_invalid(text):
    with pytest.raises(ValueError):
        cc.parse_line_range(text)


def test_parse_expected_reads_columns():
    text = (
        "package\tpath\tline\tcode\tverdict\twhy\n"
        "Vit_Pytorch\tvit_pytorch/cct.py\t75-79\tPEL501\tclean\tsin/cos in place: correct\n"
    )
    rows = cc.parse_expected(text)
    assert len(rows) == 1
    parsed = rows[0]
    assert parsed.package == "vit-pytorch"
    assert parsed.path == "vit_pytorch/cct.py"
    assert (parsed.first_line, parsed.last_line) == (75, 79)
    assert parsed.line_text == "75-79"
    assert parsed.code == "PEL501"
    assert parsed.verdict == "clean"
    assert parsed.source_line == 2


def test_parse_expected_keeps_tabs_in_why():
    parsed = row(why="first part\tsecond part")
    assert parsed.why == "first part\tsecond part"


@pytest.mark.parametrize(
    "line, message",
    [
        ("vit-pytorch\tvit_pytorch/cct.py\t12\tPEL302\treport", "expected 6 tab-separated columns"),
        ("vit-pytorch\tvit_pytorch/cct.py\t12\tPEL302\tmaybe\twhy", "invalid verdict 'maybe'"),
        ("vit-pytorch\tvit_pytorch/cct.py\t12\tE501\treport\twhy", "invalid code 'E501'"),
        ("vit-pytorch\tvit_pytorch/cct.py\t0\tPEL302\treport\twhy", "invalid line"),
        ("vit-pytorch\tvit_pytorch/cct.py\t10-12\tPEL302\treport\twhy", "a report row needs one line"),
        ("vit-pytorch\t/abs/cct.py\t12\tPEL302\treport\twhy", "invalid path"),
        ("vit-pytorch\t../cct.py\t12\tPEL302\treport\twhy", "invalid path"),
    ],
)
def test_parse_expected_rejects_invalid_row(line, message):
    with pytest.raises(cc.SetupError, match="line 1: " + message):
        cc.parse_expected(line + "\n")


@pytest.mark.parametrize(
    "why, opt_in",
    [
        ("opt-in: whole table added with no slice", True),
        ("  Opt-in: leading space and capital", True),
        ("zero table; opt-in rules do not matter here", False),
        ("", False),
    ],
)
def test_opt_in_read_from_why(why, opt_in):
    assert row(why=why).opt_in is opt_in


# --- Row checks -----------------------------------------------------------------------


def test_report_row_passes_on_its_line():
    assert cc.evaluate_row(row(line="10"), [finding(10)], RULES, 300) == (cc.PASS, "")


def test_report_row_fails_on_other_line():
    status, detail = cc.evaluate_row(row(line="10"), [finding(9), finding(12)], RULES, 300)
    assert status == cc.FAIL
    assert "no PEL302 on line 10" in detail
    assert "found on line(s) 9, 12" in detail


def test_report_row_ignores_other_codes():
    status, _ = cc.evaluate_row(row(line="10"), [finding(10, code="PEL101")], RULES, 300)
    assert status == cc.FAIL


def test_clean_row_fails_on_its_line():
    status, detail = cc.evaluate_row(row("clean", "10"), [finding(10, message="table is frozen")], RULES, 300)
    assert status == cc.FAIL
    assert "PEL302 reported on line(s) 10: table is frozen" in detail


def test_clean_range_includes_both_ends():
    clean = row("clean", "75-79")
    for line in (75, 77, 79):
        status, _ = cc.evaluate_row(clean, [finding(line)], RULES, 300)
        assert status == cc.FAIL, line


def test_clean_range_ignores_lines_outside():
    clean = row("clean", "75-79")
    result = cc.evaluate_row(clean, [finding(74), finding(80)], RULES, 300)
    assert result == (cc.PASS, "")


def test_clean_range_ignores_other_codes():
    clean = row("clean", "75-79")
    assert cc.evaluate_row(clean, [finding(76, code="PEL101")], RULES, 300)[0] == cc.PASS


def test_either_row_passes_with_or_without_finding():
    either = row("either", "10", code="PEL101")
    assert cc.evaluate_row(either, [], RULES, 300)[0] == cc.PASS
    assert cc.evaluate_row(either, [finding(10, code="PEL101")], RULES, 300)[0] == cc.PASS


def test_internal_error_fails_every_verdict():
    crash = finding(1, code="PEL902", message="rule PEL101 failed")
    for verdict in ("report", "clean", "either"):
        status, detail = cc.evaluate_row(row(verdict, "10"), [crash, finding(10)], RULES, 300)
        assert status == cc.FAIL, verdict
        assert "PEL902 on line 1: rule PEL101 failed" in detail


def test_missing_file_fails_row():
    status, detail = cc.evaluate_row(row("clean"), [], RULES, None)
    assert status == cc.FAIL
    assert "file not found" in detail


def test_line_past_end_fails_row():
    status, detail = cc.evaluate_row(row("clean", "75-79"), [], RULES, 78)
    assert status == cc.FAIL
    assert "line 79 is past the end of the file (78 lines)" in detail


def test_opt_in_row_counts_off_by_default_rule():
    opt_in = row("report", "277", code="PEL202", why="opt-in: no length check")
    assert cc.evaluate_row(opt_in, [finding(277, code="PEL202")], RULES, 300) == (cc.PASS, "")


def test_opt_in_clean_row_fails_on_off_by_default_rule():
    opt_in = row("clean", "277", code="PEL202", why="opt-in: length asserted")
    assert cc.evaluate_row(opt_in, [finding(277, code="PEL202")], RULES, 300)[0] == cc.FAIL


def test_default_report_row_fails_for_opt_in_rule():
    plain = row("report", "277", code="PEL202", why="no length check")
    status, detail = cc.evaluate_row(plain, [finding(277, code="PEL202")], RULES, 300)
    assert status == cc.FAIL
    assert "PEL202 is off by default and the row is not marked opt-in" in detail


def test_clean_row_holds_with_opt_in_rule_selected():
    plain = row("clean", "277", code="PEL202", why="asserts the length first")
    status, _ = cc.evaluate_row(plain, [finding(277, code="PEL202")], RULES, 300)
    assert status == cc.FAIL


def test_clean_row_of_opt_in_rule_passes_without_finding():
    plain = row("clean", "277", code="PEL202", why="asserts the length first")
    status, _ = cc.evaluate_row(plain, [finding(10, code="PEL202")], RULES, 300)
    assert status == cc.PASS


def test_default_report_row_ignores_opt_in_rule():
    plain = row("report", "277", code="PEL202", why="no length check")
    status, detail = cc.evaluate_row(plain, [finding(277, code="PEL202")], RULES, 300)
    assert status == cc.FAIL
    assert "off by default" in detail


def test_opt_in_row_for_default_rule_is_noted():
    opt_in = row("report", "10", why="opt-in: but the rule is on")
    status, detail = cc.evaluate_row(opt_in, [finding(10)], RULES, 300)
    assert status == cc.PASS
    assert "marked opt-in but PEL302 is on by default" in detail


def test_unregistered_rule_fails_report_row():
    status, detail = cc.evaluate_row(row("report", "10", code="PEL999"), [], RULES, 300)
    assert status == cc.FAIL
    assert "PEL999 is not a registered rule" in detail


def test_unregistered_rule_clean_row_passes_with_note():
    status, detail = cc.evaluate_row(row("clean", "10", code="PEL999"), [], RULES, 300)
    assert status == cc.PASS
    assert "not a registered rule" in detail


def test_check_rows_matches_file_and_package():
    rows = [row("report", "10"), row("report", "10", path="vit_pytorch/vit.py")]
    findings = [finding(10), finding(10, package="timm", path="vit_pytorch/vit.py")]
    counts = {(VIT, CCT): 300, (VIT, "vit_pytorch/vit.py"): 300}
    results = cc.check_rows(rows, findings, RULES, counts, WHOLE_VIT)
    assert [result.status for result in results] == [cc.PASS, cc.FAIL]


def test_check_rows_skips_unselected_package():
    results = cc.check_rows([row(package="timm")], [], RULES, {}, WHOLE_VIT)
    assert results[0].status == cc.SKIP
    assert results[0].detail == "package not selected"


def test_check_rows_skips_outside_subfolder():
    scope = cc.Scope({"transformers": "transformers/models"})
    inside = row(package="transformers", path="transformers/models/bert/modeling_bert.py")
    sibling = row(package="transformers", path="transformers/models_extra/x.py")
    outside = row(package="transformers", path="transformers/utils/x.py")
    counts = {("transformers", inside.path): 300}
    results = cc.check_rows([inside, sibling, outside], [], RULES, counts, scope)
    assert [result.status for result in results] == [cc.FAIL, cc.SKIP, cc.SKIP]
    assert "outside the linted subfolder transformers/models" in results[2].detail


def test_scope_contains_subfolder_itself():
    scope = cc.Scope({"timm": "timm/models/cait.py"})
    assert scope.contains("timm", "timm/models/cait.py")
    assert not scope.contains("timm", "timm/models/cait.pyi")
    assert not scope.contains("vit-pytorch", "timm/models/cait.py")


# --- Findings file and review ----------------------------------------------------------


def test_default_findings_drop_opt_in_rules():
    findings = [finding(3, code="PEL202"), finding(2), finding(1, code="PEL777")]
    kept = cc.default_findings(findings, RULES)
    assert [item.code for item in kept] == ["PEL777", "PEL302"]


def test_findings_file_round_trip():
    findings = [finding(20, message="second"), finding(5, message="tab\tand\nnewline")]
    text = cc.format_findings(findings)
    lines = text.splitlines()
    assert lines[0] == "package\tpath\tline\tcode\tmessage"
    assert lines[1] == f"{VIT}\t{CCT}\t5\tPEL302\ttab and newline"
    assert cc.parse_findings_file(text) == [finding(5, message="tab and newline"), finding(20, message="second")]


def test_findings_sorted_by_line_number():
    text = cc.format_findings([finding(100), finding(20), finding(3)])
    assert [line.split("\t")[2] for line in text.splitlines()[1:]] == ["3", "20", "100"]


def test_merge_findings_replaces_scope_only():
    previous = [
        finding(1, package="timm", path="timm/a.py"),
        finding(2, path="vit_pytorch/old.py"),
        finding(3, package="dropped", path="dropped/a.py"),
    ]
    current = [finding(4)]
    merged = cc.merge_findings(previous, current, WHOLE_VIT, {"timm", VIT})
    assert merged == [finding(1, package="timm", path="timm/a.py"), finding(4)]


def test_merge_findings_keeps_outside_subfolder():
    scope = cc.Scope({"transformers": "transformers/models"})
    previous = [
        finding(1, package="transformers", path="transformers/utils/a.py"),
        finding(2, package="transformers", path="transformers/models/b.py"),
    ]
    merged = cc.merge_findings(previous, [], scope, {"transformers"})
    assert merged == [finding(1, package="transformers", path="transformers/utils/a.py")]


REVIEW_TEXT = (
    "package\tpath\tline\tcode\tverdict\treason\n"
    f"vit_pytorch\t{CCT}\t248\tPEL302\ttrue-positive\tsinusoid wrapped as a frozen Parameter\n"
    f"vit-pytorch\t{CCT}\t300\tPEL302\tfalse-positive\tfixed since\n"
    "timm\ttimm/models/cait.py\t10\tPEL101\tjudgement\tnot linted in this run\n"
)


def test_parse_review_reads_rows():
    review = cc.parse_review(REVIEW_TEXT)
    assert len(review) == 3
    assert review[0].review_key == (VIT, CCT, 248, "PEL302")
    assert review[0].verdict == "true-positive"
    assert review[1].source_line == 3


def test_parse_review_allows_missing_reason():
    review = cc.parse_review(f"{VIT}\t{CCT}\t248\tPEL302\n")
    assert review[0].verdict == ""
    assert review[0].reason == ""


@pytest.mark.parametrize("line", [f"{VIT}\t{CCT}\t248", f"{VIT}\t{CCT}\tx\tPEL302", f"{VIT}\t{CCT}\t0\tPEL302"])
def test_parse_review_rejects_invalid_row(line):
    with pytest.raises(cc.SetupError, match="line 1"):
        cc.parse_review(line + "\n")


def test_review_finds_unreviewed_and_stale():
    review = cc.parse_review(REVIEW_TEXT)
    findings = [finding(248, message="reviewed"), finding(260, message="new")]
    unreviewed, stale = cc.compare_review(findings, review, WHOLE_VIT)
    assert [item.line for item in unreviewed] == [260]
    assert [item.line for item in stale] == [300]


def test_review_ignores_rows_outside_scope():
    review = cc.parse_review(REVIEW_TEXT)
    unreviewed, stale = cc.compare_review([finding(248), finding(300)], review, WHOLE_VIT)
    assert unreviewed == []
    assert stale == []


def test_review_key_includes_code():
    review = cc.parse_review(f"{VIT}\t{CCT}\t248\tPEL303\ttrue-positive\tother rule\n")
    unreviewed, stale = cc.compare_review([finding(248)], review, WHOLE_VIT)
    assert len(unreviewed) == 1
    assert len(stale) == 1


# --- Lint output ----------------------------------------------------------------------


def json_entry(filename, row_number=12, code="PEL302"):
    return {
        "code": code,
        "name": "fixed-table-as-parameter",
        "message": "frozen",
        "filename": filename,
        "location": {"row": row_number, "column": 5},
        "end_location": {"row": row_number, "column": 40},
        "fixable": False,
        "fix": None,
    }


def test_lint_output_paths_relative_to_root(tmp_path):
    root = tmp_path / "src" / "vit-pytorch-1.26.14"
    data = [json_entry(str(root / "vit_pytorch" / "cct.py")), json_entry("src/vit-pytorch-1.26.14/vit_pytorch/vit.py", 3)]
    findings = cc.parse_lint_output(data, root, VIT, tmp_path)
    assert findings == [
        cc.Finding(VIT, CCT, 12, "PEL302", "frozen"),
        cc.Finding(VIT, "vit_pytorch/vit.py", 3, "PEL302", "frozen"),
    ]


def test_lint_output_outside_root_rejected(tmp_path):
    with pytest.raises(ValueError, match="outside the linted tree"):
        cc.parse_lint_output([json_entry(str(tmp_path / "other.py"))], tmp_path / "root", VIT, tmp_path)


def test_lint_output_missing_field_rejected(tmp_path):
    entry = json_entry("a.py")
    del entry["location"]
    with pytest.raises(ValueError, match="is missing a field"):
        cc.parse_lint_output([entry], tmp_path, VIT, tmp_path)


def test_lint_output_must_be_list(tmp_path):
    with pytest.raises(ValueError, match="not a list"):
        cc.parse_lint_output({"code": "PEL302"}, tmp_path, VIT, tmp_path)


# --- Options --------------------------------------------------------------------------

PINNED = {package.key: package for package in cc.parse_packages("transformers==5.25.0\nvit-pytorch==1.26.14\n")}


def test_subfolder_option_parsed():
    parsed = cc.parse_subfolders(["Transformers=transformers/models/"], PINNED)
    assert parsed == {"transformers": "transformers/models"}


@pytest.mark.parametrize(
    "value, message",
    [
        ("transformers", "expected PKG=PATH"),
        ("=transformers/models", "expected PKG=PATH"),
        ("timm=timm/models", "timm is not pinned"),
        ("transformers=../elsewhere", "invalid path"),
    ],
)
def test_subfolder_option_rejected(value, message):
    with pytest.raises(cc.SetupError, match=message):
        cc.parse_subfolders([value], PINNED)


def test_select_packages_by_normalized_name():
    selected = cc.select_packages(list(PINNED.values()), ["vit_pytorch"])
    assert [package.key for package in selected] == [VIT]


def test_select_packages_rejects_unknown():
    with pytest.raises(cc.SetupError, match="timm: not pinned"):
        cc.select_packages(list(PINNED.values()), ["timm"])


# --- Wheels ---------------------------------------------------------------------------


def make_wheel(path, files):
    with zipfile.ZipFile(str(path), "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)


def test_find_wheel_matches_normalized_name(tmp_path):
    make_wheel(tmp_path / "vit_pytorch-1.26.14-py3-none-any.whl", {})
    make_wheel(tmp_path / "vit_pytorch-1.26.13-py3-none-any.whl", {})
    found = cc.find_wheel(tmp_path, cc.Package("vit-pytorch", "1.26.14"))
    assert found == tmp_path / "vit_pytorch-1.26.14-py3-none-any.whl"
    assert cc.find_wheel(tmp_path, cc.Package("vit-pytorch", "2.0")) is None
    assert cc.find_wheel(tmp_path / "missing", cc.Package("vit-pytorch", "1.26.14")) is None


def test_unpack_wheel_renames_complete_tree(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    make_wheel(wheel, {"demo/__init__.py": "", "demo/model.py": "x = 1\n"})
    target = tmp_path / "src" / "demo-1.0"
    leftover = tmp_path / "src" / ".demo-1.0.abc.partial"
    leftover.mkdir(parents=True)

    cc.unpack_wheel(wheel, target)

    assert (target / "demo" / "model.py").read_text() == "x = 1\n"
    assert not leftover.exists()
    assert sorted(path.name for path in (tmp_path / "src").iterdir()) == ["demo-1.0"]


def test_unpack_wheel_leaves_existing_tree(tmp_path):
    target = tmp_path / "src" / "demo-1.0"
    target.mkdir(parents=True)
    cc.unpack_wheel(tmp_path / "absent.whl", target)
    assert list(target.iterdir()) == []


def test_unpack_broken_wheel_leaves_nothing(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a zip file")
    with pytest.raises(cc.SetupError, match="unpacking .* failed"):
        cc.unpack_wheel(wheel, tmp_path / "src" / "demo-1.0")
    assert list((tmp_path / "src").iterdir()) == []


def test_failed_download_names_package(tmp_path, monkeypatch):
    def fail(command, **options):
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(cc.subprocess, "run", fail)
    with pytest.raises(cc.SetupError, match=r"download of vit-pytorch==1\.26\.14 failed \(pip exited with 1\)"):
        cc.download_wheel(cc.Package("vit-pytorch", "1.26.14"), tmp_path / "wheels")


def test_download_skips_present_wheel(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels / "vit_pytorch-1.26.14-py3-none-any.whl", {})

    def refuse(command, **options):
        raise AssertionError("pip must not run when the wheel is present")

    monkeypatch.setattr(cc.subprocess, "run", refuse)
    found = cc.download_wheel(cc.Package("vit-pytorch", "1.26.14"), wheels)
    assert found.name == "vit_pytorch-1.26.14-py3-none-any.whl"
