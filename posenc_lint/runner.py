"""Lint or fix many files, in worker processes when there are enough of them."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar

from posenc_lint.cache import ResultCache, content_digest
from posenc_lint.config import Settings
from posenc_lint.diagnostics import FileResult

if TYPE_CHECKING:
    from posenc_lint.fixer import FileFix

# Below this many files, starting worker processes costs more than it saves.
SERIAL_THRESHOLD = 8

# Runs with fewer files to lint than this finish before a progress bar helps.
PROGRESS_THRESHOLD = 64

T = TypeVar("T")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return max(1, os.cpu_count() or 1)


def lint_files(
    paths: Sequence[Path],
    settings: Settings,
    jobs: Optional[int] = None,
    cache: Optional[ResultCache] = None,
    progress: bool = False,
) -> List[FileResult]:
    """Lint ``paths`` and return one result a file, in the order given.

    With a ``cache``, files whose bytes it has an entry for are not linted again, and the
    results of the others are added to it.
    """
    results: List[Optional[FileResult]] = [None] * len(paths)
    pending: List[int] = []
    for index, path in enumerate(paths):
        if cache is not None:
            data = _read_small(path, settings)
            if data is not None:
                hit = cache.get(str(path), content_digest(data))
                if hit is not None:
                    results[index] = hit
                    continue
        pending.append(index)

    if pending:
        outcomes = _map(_lint_one, [paths[index] for index in pending], settings, jobs)
        if progress and len(pending) >= PROGRESS_THRESHOLD:
            outcomes = _with_progress(outcomes, len(pending))
        for index, (result, digest) in zip(pending, outcomes):
            results[index] = result
            if cache is not None and digest is not None:
                cache.put(str(paths[index]), digest, result)
    if cache is not None:
        cache.save()
    return [result for result in results if result is not None]


def _read_small(path: Path, settings: Settings) -> Optional[bytes]:
    """Return the bytes of a file the cache may serve, or None to leave it to the linter."""
    try:
        if path.stat().st_size > settings.max_file_size:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _lint_one(path: Path, settings: Settings) -> Tuple[FileResult, Optional[str]]:
    """Lint one file; return its result and the digest of the bytes linted, if any were read."""
    from posenc_lint.engine import lint_source, read_source

    source = read_source(path, settings)
    if isinstance(source, FileResult):
        return source, None
    return lint_source(source, str(path), settings, path=path), content_digest(source)


def fix_files(
    paths: Sequence[Path],
    settings: Settings,
    jobs: Optional[int] = None,
    unsafe: bool = False,
    write: bool = True,
    progress: bool = False,
) -> List["FileFix"]:
    """Fix ``paths`` (see ``fix_path``) and return one result a file, in the order given.

    Each worker reads, fixes and writes its own files, so only the findings and
    the diffs travel back to this process.
    """
    from posenc_lint.fixer import fix_path

    count = len(paths)
    outcomes = _map(fix_path, paths, settings, jobs, [unsafe] * count, [write] * count)
    if progress and count >= PROGRESS_THRESHOLD:
        outcomes = _with_progress(outcomes, count)
    return list(outcomes)


def _map(function, paths: Sequence[Path], settings: Settings, jobs: Optional[int], *extra: Sequence) -> Iterator:
    """Apply ``function(path, settings, *extra)`` to each path, in worker processes when it pays."""
    jobs = jobs or default_jobs()
    count = len(paths)
    if jobs <= 1 or count < SERIAL_THRESHOLD:
        return (function(path, settings, *(values[index] for values in extra)) for index, path in enumerate(paths))
    return _pooled(function, paths, settings, jobs, extra)


def _pooled(function, paths: Sequence[Path], settings: Settings, jobs: int, extra: Tuple[Sequence, ...]) -> Iterator:
    count = len(paths)
    # Small chunks keep both workers busy to the end; each chunk costs one round trip.
    chunksize = max(1, min(16, count // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=min(jobs, count)) as pool:
        yield from pool.map(function, paths, [settings] * count, *extra, chunksize=chunksize)


def show_progress(stream=None) -> bool:
    """Return whether a progress bar suits ``stream``: a terminal, outside CI."""
    stream = stream if stream is not None else sys.stderr
    if os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _with_progress(items: Iterable[T], total: int, stream=None) -> Iterator[T]:
    """Yield ``items`` while drawing a one-line bar on ``stream`` (standard error)."""
    stream = stream if stream is not None else sys.stderr
    width = 30
    done = 0
    shown = -1
    try:
        for item in items:
            done += 1
            filled = width * done // total
            if filled != shown or done == total:
                shown = filled
                bar = "=" * filled + " " * (width - filled)
                stream.write(f"\r[{bar}] {done}/{total} files")
                stream.flush()
            yield item
    finally:
        stream.write("\r" + " " * (width + 30) + "\r")
        stream.flush()
