"""Rule codes, names and defaults: what the command line needs before any file is parsed.

Importing the rules imports LibCST, which took about a quarter of a second on a
2-core machine. A run whose every file comes from the result cache needs neither. The rule
classes stay the source of truth: ``tests/test_catalogue.py`` checks this
table against them.
"""

from __future__ import annotations

import re
from typing import Dict, Tuple

# Code, name and whether the rule is on by default, for every rule.
RULES: Tuple[Tuple[str, str, bool], ...] = (
    ("PEL101", "zero-initialized-position-table", True),
    ("PEL102", "uninitialized-position-table", True),
    ("PEL201", "hardcoded-max-length", True),
    ("PEL202", "unchecked-sequence-length", False),
    ("PEL301", "parameter-assigned-in-forward", True),
    ("PEL302", "fixed-table-as-parameter", True),
    ("PEL303", "fixed-table-as-plain-attribute", True),
    ("PEL401", "table-rebuilt-in-forward", True),
    ("PEL402", "positions-built-on-host", True),
    ("PEL501", "half-width-sinusoid", True),
    ("PEL502", "odd-width-sinusoid", False),
    ("PEL503", "mismatched-sinusoid-pair", True),
    ("PEL504", "sequence-first-table-on-batch-first-input", False),
    ("PEL505", "position-indexed-not-sliced", True),
    ("PEL506", "extension-restarts-at-zero", True),
    ("PEL900", "syntax-error", True),
    ("PEL901", "unreadable-file", True),
    ("PEL902", "internal-error", True),
)

ALL_CODES: Tuple[str, ...] = tuple(code for code, _, _ in RULES)
DEFAULT_ENABLED: Dict[str, bool] = {code: enabled for code, _, enabled in RULES}

SYNTAX_ERROR = "PEL900"
UNREADABLE_FILE = "PEL901"
INTERNAL_ERROR = "PEL902"

# Default pattern for attribute and variable names that hold position tables.
DEFAULT_TABLE_PATTERN = (
    r"(^|_)(pos|position|positions|positional|pe|wpe|posemb|posenc)(_|$)"
    r"|pos_?emb|pos_?enc|position_?emb|position_?enc|positional_?emb|positional_?enc"
)

# Class names that mark the class as a position table.
TABLE_CLASS_NAME = re.compile(
    r"(pos|position|positional)(al)?_?(embedding|encoding|embed|enc|emb)", re.IGNORECASE
)

# Names of functions that build position rows from a count (PEL506).
BUILDER_NAME = re.compile(r"sin|cos|posit|pos_|_pos|table|encod|embed|rope|rotary|freq", re.IGNORECASE)

# The `max_len` a fix writes when the code names no maximum length
# (`[tool.posenc-lint.fix] default-max-len`).
DEFAULT_MAX_LEN = 2048
