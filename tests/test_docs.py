"""The generated rule reference, docs/rules.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from posenc_lint import docs
from posenc_lint.rules import ALL_RULES
from posenc_lint.rules.base import DOC_SECTIONS

REPO = Path(__file__).resolve().parents[1]
RULES_MD = REPO / "docs" / "rules.md"


def run_docs(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "posenc_lint.docs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rules_md_is_up_to_date():
    current = RULES_MD.read_text(encoding="utf-8")

    assert current == docs.render_rules(), (
        "docs/rules.md is out of date; run `python -m posenc_lint.docs` from the repository root"
    )


def test_check_passes_on_repository_file():
    result = run_docs("--check")

    assert result.returncode == 0, result.stderr


def test_check_fails_on_stale_file(tmp_path):
    stale = tmp_path / "rules.md"
    stale.write_text(docs.render_rules().replace("## PEL101", "## PEL101 old", 1), encoding="utf-8")

    result = run_docs("--check", str(stale))

    assert result.returncode == 1
    assert "is out of date" in result.stderr


def test_check_fails_on_missing_file(tmp_path):
    result = run_docs("--check", str(tmp_path / "missing.md"))

    assert result.returncode == 1
    assert "cannot read the rule reference" in result.stderr


def test_generator_writes_requested_path(tmp_path):
    target = tmp_path / "out" / "rules.md"

    result = run_docs(str(target))

    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == docs.render_rules().encode("utf-8")


def rule_page(text: str, rule) -> str:
    start = text.index(f"\n## {rule.code} {rule.name}\n")
    following = text.find("\n## ", start + 1)
    return text[start : following if following >= 0 else len(text)]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_rule_page_has_every_section(rule):
    page = rule_page(docs.render_rules(), rule)

    for title in DOC_SECTIONS:
        assert f"\n### {title}\n" in page, f"{rule.code} page lacks `### {title}`"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_rule_page_keeps_examples_verbatim(rule):
    page = rule_page(docs.render_rules(), rule)

    for title in ("Example", "Use instead"):
        blocks = re.findall(r"```python\n.*?```", rule.section(title), re.DOTALL)
        # PEL900-PEL902 describe their example files in prose.
        if not getattr(rule, "file_level", False):
            assert blocks, f"{rule.code} has no Python block under `{title}`"
        for block in blocks:
            assert block in page


def test_catalogue_links_point_at_headings():
    text = docs.render_rules()
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].lower()).replace(" ", "-")
        for line in text.splitlines()
        if line.startswith("## ")
    }

    links = re.findall(r"\]\(#([^)]+)\)", text)

    assert len(links) == len(ALL_RULES)
    assert set(links) <= headings


def test_default_column_matches_rules():
    text = docs.render_rules()

    for rule in ALL_RULES:
        row = next(line for line in text.splitlines() if line.startswith(f"| [{rule.code}]"))
        if getattr(rule, "file_level", False):
            expected = "always"
        elif rule.default_enabled:
            expected = "on"
        else:
            expected = "off"
        assert row.endswith(f"| {expected} |")


def test_headings_inside_code_blocks_stay():
    text = "## What it does\nText.\n```python\n## a comment, not a heading\nx = 1\n```\n## Options\nNone."

    lines = docs._demote_headings(text)

    assert lines == [
        "### What it does",
        "Text.",
        "```python",
        "## a comment, not a heading",
        "x = 1",
        "```",
        "### Options",
        "None.",
    ]
