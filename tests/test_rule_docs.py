"""Every rule's documentation has the standard sections, and its examples hold."""

import pytest

from helpers import codes
from posenc_lint.rules import ALL_RULES
from posenc_lint.rules.base import DOC_SECTIONS

CHECKED_RULES = [rule for rule in ALL_RULES if not getattr(rule, "file_level", False)]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
def test_documentation_has_every_section(rule):
    for title in DOC_SECTIONS:
        assert rule.section(title), f"{rule.code} has no '## {title}' section"


@pytest.mark.parametrize("rule", CHECKED_RULES, ids=lambda rule: rule.code)
def test_bad_example_fires(rule):
    examples = rule.code_blocks("Example")
    assert examples, f"{rule.code} has no Python example"
    for example in examples:
        assert rule.code in codes(example, select=[rule.code])


@pytest.mark.parametrize("rule", CHECKED_RULES, ids=lambda rule: rule.code)
def test_good_example_is_clean(rule):
    examples = rule.code_blocks("Use instead")
    assert examples, f"{rule.code} has no 'Use instead' example"
    for example in examples:
        assert codes(example, select=["PEL"]) == []
