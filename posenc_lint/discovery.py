"""Which files to lint: walk the given paths, skipping excluded folders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from posenc_lint.config import Settings, path_matches

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Discovered:
    """The files to lint and the problems met while finding them."""

    files: Tuple[Path, ...]
    missing: Tuple[Path, ...]
    empty_folders: Tuple[Path, ...]
    unreadable_folders: Tuple[Tuple[Path, str], ...] = ()


def is_excluded(path: Path, settings: Settings) -> bool:
    patterns = settings.exclude + settings.extend_exclude
    return any(path_matches(path, pattern, settings.root) for pattern in patterns)


def _is_force_excluded(path: Path, settings: Settings) -> bool:
    """Check whether a path named on the command line, or a folder above it, is excluded.

    Only folders below the project root (the configuration folder, else the
    current folder) count, so a folder named `build` above the project does not
    exclude everything in it.
    """
    if is_excluded(path, settings):
        return True
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(settings.root or Path.cwd()))
    if base not in absolute.parents:
        return False
    return any(
        is_excluded(folder, settings) for folder in absolute.parents if base in folder.parents
    )


def discover(paths: Sequence[Path], settings: Settings, force_exclude: bool = False) -> Discovered:
    """Expand ``paths`` into Python files, sorted and without duplicates.

    A file named explicitly is linted even when excluded, unless ``force_exclude``.
    Symbolic links to folders are not followed, so a link loop cannot trap the walk.
    """
    files: List[Path] = []
    missing: List[Path] = []
    empty: List[Path] = []
    unreadable: List[Tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            if force_exclude and _is_force_excluded(path, settings):
                continue
            found = list(_walk(path, settings, unreadable))
            if not found:
                empty.append(path)
            files.extend(found)
        elif path.exists() or path.is_symlink():
            if force_exclude and _is_force_excluded(path, settings):
                continue
            files.append(path)
        else:
            missing.append(path)

    unique = []
    seen = set()
    for path in files:
        key = os.path.normpath(str(path))
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return Discovered(tuple(unique), tuple(missing), tuple(empty), tuple(unreadable))


def _walk(folder: Path, settings: Settings, unreadable: List[Tuple[Path, str]]) -> Iterator[Path]:
    try:
        with os.scandir(folder) as iterator:
            entries = sorted(iterator, key=lambda entry: entry.name)
    except OSError as error:
        unreadable.append((folder, error.strerror or str(error)))
        return
    for entry in entries:
        path = folder / entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file()
        except OSError:
            continue
        if is_dir:
            if is_excluded(path, settings) or (path / "pyvenv.cfg").exists():
                continue
            yield from _walk(path, settings, unreadable)
        elif is_file and entry.name.endswith(PYTHON_SUFFIXES):
            if not is_excluded(path, settings):
                yield path
