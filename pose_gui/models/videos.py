"""VideosTableModel: a project's videos with frame count, fps, size and duration (probed in a thread)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from pose_gui.models.table import RIGHT_ALIGNED, RowTableModel
from pose_gui.style import ERROR_COLOR

COLUMNS = ("Video", "Frames", "FPS", "Size", "Duration")


@dataclass
class _Row:
    path: Path
    info: Any = None  # pose_core.video.reader.VideoInfo once probed
    error: str = ""


class VideosTableModel(RowTableModel):
    """One row per video; cells say "…" until the probe arrives and "cannot open" if it failed."""

    COLUMNS = COLUMNS

    def set_videos(self, videos: list[Path]) -> None:
        """Replace all rows (not yet probed)."""
        self.set_rows([_Row(Path(v)) for v in videos])

    def set_info(self, path: Path, info: Any) -> None:
        """Fill in the probe result (a ``VideoInfo``) of ``path``."""
        self._update(Path(path), info=info, error="")

    def set_error(self, path: Path, message: str) -> None:
        """Mark ``path`` as a video that cannot be opened, with the reason."""
        self._update(Path(path), info=None, error=message)

    def path_at(self, row: int) -> Path:
        """The video file of ``row``."""
        path: Path = self._rows[row].path
        return path

    def is_pending(self) -> bool:
        """True while some video has neither a probe result nor an error."""
        return any(r.info is None and not r.error for r in self._rows)

    def _update(self, path: Path, info: Any, error: str) -> None:
        for row_idx, row in enumerate(self._rows):
            if row.path == path:
                row.info, row.error = info, error
                self.row_changed(row_idx)

    def cell(self, row: _Row, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or str(row.path)
        if role == Qt.ItemDataRole.ForegroundRole and row.error:
            return QColor(ERROR_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return RIGHT_ALIGNED
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
