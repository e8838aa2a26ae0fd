"""Atomic file writes: the one helper every config, label, prediction and checkpoint write goes through.

A write goes to a hidden temporary file next to the target, is flushed to disk (``fsync``) and
renamed over the target, so a reader (the GUI tailing a run, a second process, a user opening
the file) sees either the old file or the complete new one, never a half-written file, even
after a crash or a full disk.

- A target that is a **symlink** is written through to the file it points to (the link stays a
  link, so a config shared by several projects keeps updating everywhere).
- An existing target keeps its **permission bits** (a ``0600`` secret stays ``0600``).
- Write failures that a user can fix (read-only folder, no permission, disk full) become one
  :class:`pose_core.errors.DataError` naming the file and the fix; the target is untouched.
- Temporary files left by a process that was killed (``kill -9``) before it could rename them
  are removed the next time the same file is written.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pose_core.errors import DataError

_NOT_WRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_PARTIAL_MARK = ".partial"


def _temp_path_for(path: Path) -> Path:
    """Return an unused hidden temporary path in the folder of ``path``, same extension.

    Keeping the extension matters for writers that pick the format from it (OpenCV). The name
    carries the writer's pid, so a later write can tell a dead writer's leftovers from a live one's.
    """
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return path.with_name(f".{path.stem}.{token}{_PARTIAL_MARK}{path.suffix}")


def _pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(path: Path) -> list[Path]:
    """Delete the temporary files of earlier writes of ``path`` whose writer no longer runs.

    Args:
        path: The final file (its folder is searched for ``.<stem>.<pid>-<id>.partial<suffix>``).

    Returns:
        The files removed.
    """
    pattern = re.compile(rf"^\.{re.escape(path.stem)}\.(\d+)-[0-9a-f]{{8}}{re.escape(_PARTIAL_MARK + path.suffix)}$")
    removed: list[Path] = []
    with suppress(OSError):
        for entry in os.scandir(path.parent):
            match = pattern.match(entry.name)
            if match and not _pid_alive(int(match.group(1))):
                with suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def write_error(exc: OSError, path: Path) -> DataError:
    """Translate a failure to write ``path`` into a DataError that names it and says how to fix it."""
    if exc.errno in _NOT_WRITABLE_ERRNOS:
        return DataError(
            f"{path} is not writable ({exc.strerror}): choose another output directory "
            "or fix the folder's permissions.",
            path=str(path),
        )
    if exc.errno in _DISK_FULL_ERRNOS:
        return DataError(
            f"Could not write {path}: disk full ({exc.strerror}) in {path.parent}; free some space "
            "or choose another output directory.",
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
    """Flush the file's data (or a folder's entries) to disk so the rename cannot expose an empty file after a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Flush the folder entry (the rename) to disk; best effort (not every filesystem allows it)."""
    with suppress(OSError):
        _fsync_file(folder)


def write_target(path: Path) -> Path:
    """The file a write of ``path`` must replace: the final target of a symlink, else ``path``."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _keep_mode(tmp_path: Path, target: Path) -> None:
    """Give the new file the permission bits of the file it replaces (if there is one)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.chmod(tmp_path, mode)


@contextmanager
def atomic_write_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary file lives in the folder of the file actually replaced (the target of a
    symlink), so the final ``os.replace`` is atomic, and has the same extension. Parent folders
    are created. On success the data and the rename are flushed to disk and the replaced file's
    mode is kept; on any exception the temporary file is removed and ``path`` is left untouched.

    Args:
        path: Final destination of the file (a symlink is written through).

    Yields:
        The temporary path the caller must write completely.

    Raises:
        DataError: Writing failed with an OS error (folder not writable, disk full, a parent
            path is a file, ...); the message names ``path``.
    """
    path = Path(path)
    target = write_target(path)
    tmp_path = _temp_path_for(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(target)
        yield tmp_path
        _keep_mode(tmp_path, target)
        _fsync_file(tmp_path)
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        _remove_quietly(tmp_path)
        raise write_error(exc, path) from exc
    except BaseException:
        _remove_quietly(tmp_path)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines kept as given) to ``path`` atomically.

    Args:
        path: Destination file; parent folders are created; a symlink is written through.
        text: Full file content.

    Raises:
        DataError: Writing failed (folder not writable, disk full, ...); names ``path``.
    """
    with atomic_write_path(path) as tmp_path, open(tmp_path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_path`).

    Raises:
        DataError: Writing failed (folder not writable, disk full, ...); names ``path``.
    """
    with atomic_write_path(path) as tmp_path:
        tmp_path.write_bytes(data)
