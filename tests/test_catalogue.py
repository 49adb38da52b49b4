"""The light catalogue the command line reads agrees with the rule classes."""

import subprocess
import sys

from posenc_lint import catalogue
from posenc_lint.rules import ALL_RULES


def test_catalogue_lists_every_rule_as_its_class_does():
    assert catalogue.RULES == tuple((rule.code, rule.name, rule.default_enabled) for rule in ALL_RULES)


def test_command_line_starts_without_libcst():
    check = (
        "import sys, posenc_lint.cli, posenc_lint.flake8_plugin, posenc_lint.skeleton;"
        "print(sorted(name for name in sys.modules if name == 'libcst' or name.startswith('posenc_lint.rules')))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
