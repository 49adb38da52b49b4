"""Write fixed sources back to disk without ever leaving a partial or stale file.

A fixed file is written to a temporary file in the same folder, flushed to disk
and renamed over the original, so a reader sees either the old bytes or the new
ones. The write is skipped when the file changed on disk after it was read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Suffix of the temporary files; a crash between creating and renaming one
# (power loss, SIGKILL) leaves a file with this name beside the original.
TEMPORARY_SUFFIX = ".posenc-lint.tmp"

WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


class WriteError(Exception):
    """The fixed source was not written; the message gives the reason, without the path."""


@dataclass(frozen=True)
class Snapshot:
    """A file's bytes as read, to detect a change on disk before writing."""

    path: Path
    data: bytes


def read_snapshot(path: Path) -> Snapshot:
    """Read ``path`` as bytes; OSError propagates to the caller."""
    return Snapshot(path, path.read_bytes())


def write_back(snapshot: Snapshot, data: bytes) -> None:
    """Replace the file of ``snapshot`` with ``data``, atomically, keeping its mode and owner.

    Raise WriteError, leaving the file and its folder as they were, when the
    file is read-only, has other hard links, changed on disk since it was read,
    or when any step of the write fails.
    """
    # Write through a symbolic link to its target, so the link stays a link.
    target = Path(os.path.realpath(snapshot.path))
    try:
        current = target.stat()
    except OSError as error:
        raise WriteError(f"cannot read the file's status: {_reason(error)}")
    if not stat.S_ISREG(current.st_mode):
        raise WriteError("it is not a regular file")
    if not current.st_mode & WRITE_BITS or not os.access(str(target), os.W_OK):
        raise WriteError("the file is read-only")
    if current.st_nlink > 1:
        # Renaming a new file over one name would leave the other names with the old bytes.
        raise WriteError(
            f"the file has {current.st_nlink} hard links, and replacing it would separate them"
        )
    _check_unchanged(snapshot, target)

    folder = target.parent
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=str(folder)
        )
    except OSError as error:
        raise WriteError(f"cannot create a temporary file in {folder}: {_reason(error)}")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, stat.S_IMODE(current.st_mode))
        _keep_owner(temporary, current)
        # Checked again right before the rename to keep the window for a lost
        # update small. NOTE: an editor that saves between this check and the
        # rename still loses its write; no portable compare-and-swap rename exists.
        _check_unchanged(snapshot, target)
        os.replace(temporary, str(target))
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise WriteError(f"writing the fixed source failed: {_reason(error)}") from error
        raise
    _sync_folder(folder)


def _check_unchanged(snapshot: Snapshot, target: Path) -> None:
    try:
        on_disk = target.read_bytes()
    except OSError as error:
        raise WriteError(f"cannot read the file again before writing: {_reason(error)}")
    if on_disk != snapshot.data:
        raise WriteError(
            "the file changed on disk after it was read, so the fixes were not written; "
            "run posenc-lint again"
        )


def _keep_owner(temporary: str, original: os.stat_result) -> None:
    """Give the temporary file the original's owner and group, or raise WriteError."""
    mine = os.stat(temporary)
    if (mine.st_uid, mine.st_gid) == (original.st_uid, original.st_gid):
        return
    try:
        os.chown(temporary, original.st_uid, original.st_gid)
    except OSError as error:
        raise WriteError(
            f"writing would change the file's owner or group, and keeping them failed: {_reason(error)}"
        )


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk; some platforms and file systems cannot, which is fine."""
    try:
        descriptor = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _reason(error: OSError) -> str:
    if error.strerror:
        return error.strerror
    if error.errno is not None:
        return errno.errorcode.get(error.errno, str(error))
    return str(error) or type(error).__name__
