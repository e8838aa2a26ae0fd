"""Atomic file writes: write to a temporary file next to the target, then rename over it.

A reader (the GUI tailing a run, a second process, a user opening the file) therefore sees
either the old file or the complete new one, never a half-written file. Write failures that
a user can fix (read-only folder, no permission, disk full) become a
:class:`pose_core.errors.DataError` naming the file.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pose_core.errors import DataError

_NOT_WRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _temp_path_for(path: Path) -> Path:
    """Return an unused hidden temporary path in the folder of ``path``, same extension.

    Keeping the extension matters for writers that pick the format from it (OpenCV).
    """
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return path.with_name(f".{path.stem}.{token}.partial{path.suffix}")


def _as_data_error(exc: OSError, path: Path) -> DataError:
    """Translate a failure to write ``path`` into a DataError that says how to fix it."""
    if exc.errno in _NOT_WRITABLE_ERRNOS:
        return DataError(
            f"{path} is not writable ({exc.strerror}): choose another output directory "
            "or fix the folder's permissions.",
            path=str(path),
        )
    if exc.errno in _DISK_FULL_ERRNOS:
        return DataError(
            f"Could not write {path}: disk full ({exc.strerror}); free some space or choose another output directory.",
            path=str(path),
        )
    return DataError(
        f"Could not write {path} ({exc.strerror or exc}): check that its folder exists and is "
        "a directory, or choose another output directory.",
        path=str(path),
    )


def _remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists, ignoring errors (used while another error propagates)."""
    with suppress(OSError):
        path.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    """Flush the file's data to disk so the rename cannot expose an empty file after a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_write_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary file lives in the same folder (so the final ``os.replace`` is atomic) and
    has the same extension. Parent folders are created. On any exception the temporary file
    is removed and ``path`` is left untouched.

    Args:
        path: Final destination of the file.

    Yields:
        The temporary path the caller must write completely.

    Raises:
        DataError: Writing failed with an OS error (folder not writable, disk full, a parent
            path is a file, ...); the message names ``path``.
    """
    path = Path(path)
    tmp_path = _temp_path_for(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp_path
        _fsync_file(tmp_path)
        os.replace(tmp_path, path)
    except OSError as exc:
        _remove_quietly(tmp_path)
        raise _as_data_error(exc, path) from exc
    except BaseException:
        _remove_quietly(tmp_path)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines kept as given) to ``path`` atomically.

    Args:
        path: Destination file; parent folders are created.
        text: Full file content.

    Raises:
        DataError: Writing failed (folder not writable, disk full, ...); names ``path``.
    """
    with atomic_write_path(path) as tmp_path, open(tmp_path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
