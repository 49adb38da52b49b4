"""Start `posenc-lint server` with PEL303's check replaced by one that raises.

The crash tests run this script as the server command, so the product code
needs no switch for simulating a failing rule.
"""

import sys

from posenc_lint.rules import RULES_BY_CODE
from posenc_lint.server import main

FAILURE_MESSAGE = "simulated failure in PEL303"


def failing_check(self, model):
    raise RuntimeError(FAILURE_MESSAGE)


if __name__ == "__main__":
    # Patched only when run as the server, so importing FAILURE_MESSAGE changes nothing.
    RULES_BY_CODE["PEL303"].check = failing_check
    sys.exit(main(sys.argv[1:]))
