"""VideosTableModel: a project's videos with frame count, fps, size and duration (probed in a thread)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from pose_gui.style import ERROR_COLOR

COLUMNS = ("Video", "Frames", "FPS", "Size", "Duration")
_Index = QModelIndex | QPersistentModelIndex


@dataclass
class _Row:
    path: Path
    info: Any = None  # pose_core.video.reader.VideoInfo once probed
    error: str = ""


class VideosTableModel(QAbstractTableModel):
    """One row per video; cells say "…" until the probe arrives and "cannot open" if it failed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []

    def set_videos(self, videos: list[Path]) -> None:
        """Replace all rows (not yet probed)."""
        self.beginResetModel()
        self._rows = [_Row(Path(v)) for v in videos]
        self.endResetModel()

    def set_info(self, path: Path, info: Any) -> None:
        """Fill in the probe result (a ``VideoInfo``) of ``path``."""
        self._update(Path(path), info=info, error="")

    def set_error(self, path: Path, message: str) -> None:
        """Mark ``path`` as a video that cannot be opened, with the reason."""
        self._update(Path(path), info=None, error=message)

    def path_at(self, row: int) -> Path:
        """The video file of ``row``."""
        return self._rows[row].path

    def is_pending(self) -> bool:
        """True while some video has neither a probe result nor an error."""
        return any(r.info is None and not r.error for r in self._rows)

    def _update(self, path: Path, info: Any, error: str) -> None:
        for row_idx, row in enumerate(self._rows):
            if row.path == path:
                row.info, row.error = info, error
                self.dataChanged.emit(self.index(row_idx, 0), self.index(row_idx, len(COLUMNS) - 1))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or str(row.path)
        if role == Qt.ItemDataRole.ForegroundRole and row.error:
            return QColor(ERROR_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(row: _Row, column: int) -> str:
    if column == 0:
        return row.path.name
    if row.error:
        return "cannot open" if column == 1 else ""
    if row.info is None:
        return "…"
    info = row.info
    if column == 1:
        return f"{info.n_frames:,}"
    if column == 2:
        return f"{info.fps:.2f}" if info.fps > 0 else "?"
    if column == 3:
        return f"{info.width}×{info.height}"
    return format_duration(info.duration_s)


def format_duration(duration_s: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) with tenths under a minute; "?" when unknown."""
    if not math.isfinite(duration_s):
        return "?"
    if duration_s < 60:
        return f"{duration_s:.1f} s"
    minutes, seconds = divmod(round(duration_s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
