"""Lint or fix many files, in worker processes when there are enough of them."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import List, Optional, Sequence

from posenc_lint.config import Settings
from posenc_lint.diagnostics import FileResult
from posenc_lint.engine import lint_path
from posenc_lint.fixer import FileFix, fix_path

# Below this many files, starting worker processes costs more than it saves.
SERIAL_THRESHOLD = 8


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return max(1, os.cpu_count() or 1)


def lint_files(paths: Sequence[Path], settings: Settings, jobs: Optional[int] = None) -> List[FileResult]:
    """Lint ``paths`` and return one result a file, in the order given."""
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(paths) < SERIAL_THRESHOLD:
        return [lint_path(path, settings) for path in paths]
    chunksize = max(1, len(paths) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_lint_one, paths, [settings] * len(paths), chunksize=chunksize))


def _lint_one(path: Path, settings: Settings) -> FileResult:
    return lint_path(path, settings)


def fix_files(
    paths: Sequence[Path],
    settings: Settings,
    jobs: Optional[int] = None,
    unsafe: bool = False,
    write: bool = True,
) -> List[FileFix]:
    """Fix ``paths`` (see ``fix_path``) and return one result a file, in the order given.

    Each worker reads, fixes and writes its own files, so only the findings and
    the diffs travel back to this process.
    """
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(paths) < SERIAL_THRESHOLD:
        return [fix_path(path, settings, unsafe, write) for path in paths]
    count = len(paths)
    chunksize = max(1, count // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(
            pool.map(fix_path, paths, [settings] * count, [unsafe] * count, [write] * count, chunksize=chunksize)
        )
