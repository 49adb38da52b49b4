import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import os

# Tests lint many look-alike files and monkeypatch the engine, so results must
# not come from a cache another test filled; tests/test_cache.py turns it on.
os.environ["POSENC_LINT_NO_CACHE"] = "1"

import tempfile

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Property tests (tests/test_fuzz_*.py) run few examples by default, the same
# ones on every run, so CI stays fast and stable. The `long` profile searches
# with fresh random examples and keeps failing ones outside the repository;
# choose it with `--hypothesis-profile=long` or POSENC_LINT_HYPOTHESIS_PROFILE=long.
# Tests scale their example counts from the profile's max_examples.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=4000,
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(Path(tempfile.gettempdir()) / "posenc-lint-hypothesis")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("POSENC_LINT_HYPOTHESIS_PROFILE", "ci"))
