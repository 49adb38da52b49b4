import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import os

# Tests lint many look-alike files and monkeypatch the engine, so results must
# not come from a cache another test filled; tests/test_cache.py turns it on.
os.environ["POSENC_LINT_NO_CACHE"] = "1"
