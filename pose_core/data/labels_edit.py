"""LabelsDocument: edit ``CollectedData.csv`` in place, keeping its layout byte for byte.

:func:`pose_core.data.labels.read_labels` turns a label file into arrays; this module is the
editing side. A :class:`LabelsDocument` keeps the file's lines as text: a row the user did not
touch is written back exactly as it was read (number format, quoting, index form, line ends); a
changed row is formatted like its neighbours (same index form, same number of decimals); a new
row is appended at the end. Saving is atomic (temporary file + rename), the first save of an
opening writes ``CollectedData.csv.bak`` (the file as it was opened), and a save refuses to
overwrite a file another program changed since it was read (:class:`LabelsChangedOnDiskError`).

No Qt here: the GUI's label session and scripts use the same object.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_core.data.labels import LabelSet, read_labels
from pose_core.errors import DataError
from pose_core.io.atomic import atomic_write_text

BACKUP_SUFFIX = ".bak"
DEFAULT_DECIMALS = 2  # 0.01 px: finer than any click
_DECIMALS_RE = re.compile(r"^-?\d+\.(\d+)$")
_PLAIN_INT_RE = re.compile(r"^-?\d+$")
_OTHER_NUMBER_RE = re.compile(r"^-?\d*\.?\d+([eE][-+]?\d+)?$")


class LabelsChangedOnDiskError(DataError):
    """Another program changed the label file since PoseDesk read or wrote it."""


@dataclass(frozen=True)
class _DiskState:
    """What the file looked like the last time this document read or wrote it."""

    mtime_ns: int
    size: int
    sha1: str


def _disk_state(path: Path, data: bytes | None = None) -> _DiskState:
    stat = path.stat()
    if data is None:
        data = path.read_bytes()
    return _DiskState(stat.st_mtime_ns, stat.st_size, hashlib.sha1(data).hexdigest())


class LabelsDocument:
    """An open label file that can be edited without disturbing the rows nobody touched.

    Attributes:
        path: The label CSV.
        keypoint_names: Keypoint names in column order (never reordered).
        scorer: The scorer header cell.
    """

    def __init__(self, path: Path, text: str, labels: LabelSet, has_bom: bool) -> None:
        self.path = Path(path)
        self.keypoint_names = list(labels.keypoint_names)
        self.scorer = labels.scorer
        self._has_bom = has_bom
        self._opened_text = text
        self._newline = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
        self._lines = text.splitlines(keepends=True)
        self._row_lines: list[int] = []  # line index of each data row
        self._index_cells: list[list[str]] = []
        self._n_index = 1
        self._parse_rows(labels)
        self._image_paths = list(labels.image_paths)
        self._row_of = {p: i for i, p in enumerate(self._image_paths)}
        self._xy = labels.keypoints_px.copy()
        self._n_opened_rows = len(self._image_paths)
        self._decimals, self._fixed = _number_style(self._lines[3:] if len(self._lines) > 3 else [])
        self._disk: _DiskState | None = None
        self._backup_written = False
        self.revision = 0  # +1 per change; the GUI saves when it differs from saved_revision
        self.saved_revision = 0

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path) -> LabelsDocument:
        """Read a label file for editing.

        Args:
            path: ``CollectedData.csv`` (DLC / Lightning Pose layout, 1 or 3 index columns).

        Returns:
            The document.

        Raises:
            DataError: The file is missing, unreadable or malformed (the message says how to fix it).
        """
        path = Path(path)
        labels = read_labels(path)
        data = _read_bytes(path)
        has_bom = data.startswith(b"\xef\xbb\xbf")
        text = data.decode("utf-8-sig")
        doc = cls(path, text, labels, has_bom)
        doc._disk = _disk_state(path, data)
        return doc

    def _parse_rows(self, labels: LabelSet) -> None:
        """Find the line of every data row (blank lines and header rows are kept as they are)."""
        seen_rows = 0
        for line_idx, line in enumerate(self._lines):
            cells = next(csv.reader([line]), [])
            if not any(c.strip() for c in cells):
                continue
            seen_rows += 1
            if seen_rows == 3:
                self._n_index = next((i for i, c in enumerate(cells) if i > 0 and c.strip()), 1)
            if seen_rows <= 3:
                continue
            self._row_lines.append(line_idx)
            self._index_cells.append([c.strip() for c in cells[: self._n_index]])
        if len(self._row_lines) != labels.n_frames:  # a quoted newline inside a cell: not a label file we can edit
            raise DataError(
                f"Label file {self.path} has cells that span lines; PoseDesk cannot edit it in place. Save it again "
                "from a spreadsheet program as a plain CSV (one line per image).",
                path=str(self.path),
            )

    # ------------------------------------------------------------------ reading

    @property
    def image_paths(self) -> list[str]:
        """Image paths of the rows, in file order."""
        return list(self._image_paths)

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints per row."""
        return len(self.keypoint_names)

    @property
    def decimals(self) -> int:
        """Decimals that new coordinates get (the file's own when it uses a fixed number)."""
        return self._decimals

    def has_row(self, image_path: str) -> bool:
        """True if the file has a row for ``image_path``."""
        return image_path in self._row_of

    def points(self, image_path: str) -> np.ndarray:
        """Keypoints of one image, ``[K, 2]`` float64 in image pixels (NaN = unlabelled; all NaN if no row)."""
        row = self._row_of.get(image_path)
        if row is None:
            return np.full((self.n_keypoints, 2), np.nan)
        return self._xy[row].copy()

    def labels(self) -> LabelSet:
        """All rows as a :class:`LabelSet` (a copy)."""
        return LabelSet(list(self._image_paths), list(self.keypoint_names), self._xy.copy(), scorer=self.scorer)

    def text(self) -> str:
        """The file's content as it would be saved now."""
        return "".join(self._lines)

    @property
    def is_modified(self) -> bool:
        """True while there are changes not yet saved."""
        return self.revision != self.saved_revision

    # ------------------------------------------------------------------ editing

    def round_px(self, value: float) -> float:
        """``value`` rounded to the decimals the file is written with (what reading it back gives)."""
        return round(float(value), self._decimals)

    def set_point(self, image_path: str, keypoint_idx: int, xy: tuple[float, float] | None) -> None:
        """Place (or with None clear) one keypoint of one image; a new image gets a row at the end.

        New coordinates are rounded to the file's decimals, so what is in memory is what the file reads
        back; the row's other coordinates keep the precision the file gave them. A row this opening
        added is removed again when its last keypoint is cleared.

        Raises:
            IndexError: ``keypoint_idx`` is out of range.
            ValueError: A coordinate is not finite.
        """
        if not 0 <= keypoint_idx < self.n_keypoints:
            raise IndexError(f"keypoint index {keypoint_idx} is outside 0..{self.n_keypoints - 1}")
        points = self.points(image_path)
        if xy is None:
            points[keypoint_idx] = np.nan
        else:
            if not all(math.isfinite(v) for v in xy):
                raise ValueError(f"keypoint coordinates must be finite, got {xy}")
            points[keypoint_idx] = [self.round_px(xy[0]), self.round_px(xy[1])]
        self.set_points(image_path, points)

    def as_stored(self, image_path: str, points_px: np.ndarray) -> np.ndarray:
        """The ``[K, 2]`` keypoints :meth:`set_points` would keep for ``points_px`` (what the file reads back).

        Coordinates are rounded to the file's decimals, except that one equal to the current one at
        those decimals is the current one, unrounded: a label file with finer values than its usual
        decimals loses none of them when a row is edited.
        """
        points_px = np.asarray(points_px, dtype=np.float64).reshape(self.n_keypoints, 2)
        points_px = np.where(np.isnan(points_px), np.nan, np.round(points_px, self._decimals))
        row = self._row_of.get(image_path)
        if row is None:
            return points_px
        current = self._xy[row]
        return np.where(np.round(current, self._decimals) == points_px, current, points_px)

    def set_points(self, image_path: str, points_px: np.ndarray) -> None:
        """Replace all keypoints of one image (``[K, 2]``, NaN = unlabelled); see :meth:`set_point` and :meth:`as_stored`."""
        points_px = self.as_stored(image_path, points_px)
        row = self._row_of.get(image_path)
        if row is None:
            if np.isnan(points_px).all():
                return
            row = self._append_row(image_path)
        elif np.array_equal(self._xy[row], points_px, equal_nan=True):
            return
        if row >= self._n_opened_rows and np.isnan(points_px).all():
            self._remove_added_row(row)
        else:
            self._xy[row] = points_px
            self._lines[self._row_lines[row]] = self._format_row(row)
        self.revision += 1

    def _append_row(self, image_path: str) -> int:
        if self._lines and not self._lines[-1].endswith(("\n", "\r")):
            self._lines[-1] += self._newline
        self._image_paths.append(image_path)
        self._row_of[image_path] = len(self._image_paths) - 1
        self._xy = np.concatenate([self._xy, np.full((1, self.n_keypoints, 2), np.nan)])
        self._index_cells.append(_index_cells(image_path, self._n_index))
        self._row_lines.append(len(self._lines))
        self._lines.append("")
        return len(self._image_paths) - 1

    def _remove_added_row(self, row: int) -> None:
        del self._lines[self._row_lines[row]]
        for later in range(row + 1, len(self._row_lines)):
            self._row_lines[later] -= 1
        del self._row_lines[row], self._index_cells[row], self._image_paths[row]
        self._xy = np.delete(self._xy, row, axis=0)
        self._row_of = {p: i for i, p in enumerate(self._image_paths)}

    def _format_row(self, row: int) -> str:
        buffer = io.StringIO()
        cells = [*self._index_cells[row], *(self._format_number(v) for v in self._xy[row].reshape(-1))]
        csv.writer(buffer, lineterminator=self._newline).writerow(cells)
        return buffer.getvalue()

    def _format_number(self, value: float) -> str:
        if math.isnan(value):
            return ""
        if self._fixed:
            return f"{value:.{self._decimals}f}"
        return repr(float(value))  # shortest text that reads back as the value (new values are rounded already)

    # ------------------------------------------------------------------ saving

    def changed_on_disk(self) -> bool:
        """True if another program changed (or removed) the file since this document read or wrote it."""
        return self._disk is not None and _changed(self.path, self._disk)

    def save(self, *, overwrite_external_changes: bool = False) -> bool:
        """Write the file atomically if anything changed; the first save also writes the ``.bak`` backup.

        Args:
            overwrite_external_changes: Save even if another program changed the file ("Keep mine").

        Returns:
            True if the file was written.

        Raises:
            LabelsChangedOnDiskError: Another program changed the file (nothing was written).
            DataError: The folder is not writable or the disk is full (nothing was written).
        """
        snapshot = self.snapshot(overwrite_external_changes=overwrite_external_changes)
        if snapshot is None:
            return False
        self.finish_save(snapshot, snapshot.write())
        return True

    def snapshot(self, *, overwrite_external_changes: bool = False) -> SaveSnapshot | None:
        """What a save would write now (None if nothing changed); write it with :meth:`SaveSnapshot.write`.

        The GUI takes the snapshot in its own thread, writes it in a worker thread, then calls
        :meth:`finish_save`; edits made meanwhile stay unsaved until the next save.
        """
        if not self.is_modified:
            return None
        bom = "\ufeff" if self._has_bom else ""
        backup = None if self._backup_written else bom + self._opened_text
        expected = None if overwrite_external_changes else self._disk
        return SaveSnapshot(self.path, bom + self.text(), self.revision, backup, expected)

    def finish_save(self, snapshot: SaveSnapshot, disk: _DiskState) -> None:
        """Record that ``snapshot`` is on disk (as ``disk``)."""
        self._disk = disk
        self.saved_revision = max(self.saved_revision, snapshot.revision)
        if snapshot.backup_text is not None:
            self._backup_written = True

    def mark_modified(self) -> None:
        """Count the document as changed, so the next save writes it (after "Keep mine")."""
        self.revision += 1

    def forget_disk_state(self) -> None:
        """Accept the file on disk as it is now as the base of the next save ("Keep mine")."""
        self._disk = None


@dataclass(frozen=True)
class SaveSnapshot:
    """The content of one save, safe to write from another thread.

    Attributes:
        path: The label file.
        text: Its new content.
        revision: The document revision it holds.
        backup_text: Content of the ``.bak`` file to write first (None: already written).
        expected_disk: What the file must still look like (None: overwrite whatever is there).
    """

    path: Path
    text: str
    revision: int
    backup_text: str | None
    expected_disk: _DiskState | None

    def write(self) -> _DiskState:
        """Write the backup (if due) and the file, atomically.

        Raises:
            LabelsChangedOnDiskError: The file changed on disk since it was read or last written.
            DataError: Not writable / disk full (the file is unchanged).
        """
        if self.expected_disk is not None and _changed(self.path, self.expected_disk):
            raise LabelsChangedOnDiskError(
                f"Label file {self.path} was changed by another program while PoseDesk had it open; choose Reload "
                "(take the file's labels, drop the edits not yet saved) or Keep mine (overwrite the file).",
                path=str(self.path),
            )
        if self.backup_text is not None:
            atomic_write_text(backup_path(self.path), self.backup_text)
        atomic_write_text(self.path, self.text)
        return _disk_state(self.path, self.text.encode("utf-8"))


def _changed(path: Path, disk: _DiskState) -> bool:
    """True if ``path`` no longer looks like ``disk`` (same size and time, or same content, = unchanged)."""
    try:
        stat = path.stat()
    except OSError:
        return True
    if (stat.st_mtime_ns, stat.st_size) == (disk.mtime_ns, disk.size):
        return False
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest() != disk.sha1
    except OSError:
        return True


def backup_path(csv_path: Path) -> Path:
    """Where the backup of ``csv_path`` goes: ``CollectedData.csv.bak``."""
    return Path(csv_path).with_name(Path(csv_path).name + BACKUP_SUFFIX)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"Cannot read the label file {path} ({exc.strerror}); check its permissions.", path=str(path)
        ) from None


def _index_cells(image_path: str, n_index: int) -> list[str]:
    """The index cells of a new row: the path, or its parts for the 3-column DeepLabCut form."""
    if n_index == 1:
        return [image_path]
    parts = image_path.split("/")
    if len(parts) < n_index:
        return parts + [""] * (n_index - len(parts))
    return [*parts[: n_index - 1], "/".join(parts[n_index - 1 :])]


def _number_style(data_lines: list[str]) -> tuple[int, bool]:
    """(decimals, fixed): the file writes every number with ``decimals`` decimals (fixed) or shortest floats."""
    found: set[int] = set()
    for line in data_lines[:200]:
        for cell in (c.strip() for c in line.strip().split(",")):
            match = _DECIMALS_RE.match(cell)
            if match:
                found.add(len(match.group(1)))
            elif _OTHER_NUMBER_RE.match(cell) and not _PLAIN_INT_RE.match(cell):
                found.add(-1)  # exponent form: shortest floats
    if len(found) == 1 and -1 not in found:
        return found.pop(), True
    return DEFAULT_DECIMALS, False
