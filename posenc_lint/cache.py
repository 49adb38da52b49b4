"""The result cache: findings of files whose contents were linted before with the same settings.

Each set of settings has one JSON file under the cache folder
(``.posenc_lint_cache/`` by default), named by a digest of the tool's own
code, the Python version and the settings. It maps each linted path to a
digest of the file's bytes and the findings. A file is linted again when its
bytes, the settings or the tool change.

Concurrent runs are safe: a run reads the cache file once, and at its end
merges its new entries into what is on disk then and replaces the file
atomically. When two runs finish together one run's new entries may be lost,
which only costs a later run some work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from posenc_lint import __version__
from posenc_lint.diagnostics import Applicability, Diagnostic, Edit, FileResult, Fix, Location

LOG = logging.getLogger(__name__)

DEFAULT_FOLDER = ".posenc_lint_cache"
FORMAT = 1

# Marks the folder as a cache for backup tools (https://bford.info/cachedir/).
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by posenc-lint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _tool_digest() -> str:
    """Return a digest of the installed tool: its version and the size and time of each module.

    Version numbers change only at releases; an edited checkout must not be
    served findings its old code produced.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{__version__} {FORMAT} {sys.version_info[:2]}".encode())
    for module in sorted(package.rglob("*.py")):
        try:
            status = module.stat()
        except OSError:
            continue
        digest.update(f"{module.relative_to(package)} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class ResultCache:
    """Findings by path for one set of settings, loaded once and saved once."""

    def __init__(self, folder: Path, settings_key: str):
        self.folder = folder
        key = hashlib.blake2b(f"{_tool_digest()} {settings_key}".encode(), digest_size=16).hexdigest()
        self.file = folder / f"{key}.json"
        self._entries: Dict[str, List[Any]] = self._load()
        self._new: Dict[str, List[Any]] = {}

    def _load(self) -> Dict[str, List[Any]]:
        try:
            with self.file.open("rb") as stream:
                data = json.load(stream)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            LOG.debug("ignoring unreadable cache file %s: %s", self.file, error)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, path: str, digest: str) -> Optional[FileResult]:
        entry = self._entries.get(path)
        if entry is None or entry[0] != digest:
            return None
        try:
            return _result_from_json(path, entry[1])
        except (TypeError, ValueError, KeyError, IndexError):
            return None

    def put(self, path: str, digest: str, result: FileResult) -> None:
        if not cacheable(result):
            return
        entry = [digest, _result_to_json(result)]
        self._entries[path] = entry
        self._new[path] = entry

    def save(self) -> None:
        """Merge this run's entries into the cache file; a failure only logs."""
        if not self._new:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _mark_folder(self.folder)
            entries = self._load()
            entries.update(self._new)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
            try:
                # mkstemp creates the file readable by its owner only; give it the usual mode.
                os.chmod(temporary, 0o666 & ~_umask())
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(entries, stream, separators=(",", ":"))
                os.replace(temporary, self.file)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as error:
            LOG.warning("cannot write the cache in %s: %s", self.folder, error.strerror or error)
        self._new = {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def cacheable(result: FileResult) -> bool:
    """Return whether ``result`` may be reused: unreadable files and internal errors are linted again."""
    return not any(diagnostic.code in ("PEL901", "PEL902") for diagnostic in result.diagnostics)


def _mark_folder(folder: Path) -> None:
    for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "# Created by posenc-lint.\n*\n")):
        target = folder / name
        if not target.exists():
            target.write_text(text, encoding="utf-8")


def _result_to_json(result: FileResult) -> List[Any]:
    return [result.skipped, [_diagnostic_to_json(diagnostic) for diagnostic in result.diagnostics], list(result.errors)]


def _diagnostic_to_json(diagnostic: Diagnostic) -> List[Any]:
    fix = diagnostic.fix
    fix_json = None
    if fix is not None:
        fix_json = [
            fix.message,
            fix.applicability.value,
            [[*_point(edit.start), *_point(edit.end), edit.content] for edit in fix.edits],
        ]
    return [
        diagnostic.code,
        diagnostic.name,
        diagnostic.message,
        *_point(diagnostic.start),
        *_point(diagnostic.end),
        fix_json,
    ]


def _point(location: Location) -> Tuple[int, int]:
    return location.line, location.column


def _result_from_json(path: str, data: List[Any]) -> FileResult:
    skipped, diagnostics, errors = data
    return FileResult(
        path,
        tuple(_diagnostic_from_json(path, item) for item in diagnostics),
        skipped=bool(skipped),
        errors=tuple(errors),
    )


def _diagnostic_from_json(path: str, item: List[Any]) -> Diagnostic:
    code, name, message, line, column, end_line, end_column, fix_json = item
    fix = None
    if fix_json is not None:
        fix_message, applicability, edits = fix_json
        fix = Fix(
            fix_message,
            Applicability(applicability),
            tuple(Edit(Location(a, b), Location(c, d), content) for a, b, c, d, content in edits),
        )
    return Diagnostic(code, name, message, path, Location(line, column), Location(end_line, end_column), fix)
