"""KeypointCountsModel: each keypoint with its colour and how many labelled frames label it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from pose_gui.models.table import RIGHT_ALIGNED, RowTableModel
from pose_gui.style import ERROR_COLOR, color_swatch

COLUMNS = ("Keypoint", "Labelled frames")


class KeypointCountsModel(RowTableModel):
    """Rows: keypoint name (with a colour swatch, as drawn on the thumbnails) and ``count / frames``."""

    COLUMNS = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._colors: list[QColor] = []
        self._n_frames = 0

    def set_counts(self, counts: dict[str, int], n_frames: int, colors: list[QColor]) -> None:
        """Replace all rows.

        Args:
            counts: Keypoint name -> labelled frames, in keypoint order.
            n_frames: Number of labelled frames.
            colors: One colour per keypoint.
        """
        self._n_frames, self._colors = n_frames, list(colors)
        self.set_rows([(i, name, count) for i, (name, count) in enumerate(counts.items())])

    def cell(self, row: tuple[int, str, int], column: int, role: int) -> Any:
        keypoint_idx, name, count = row
        if role == Qt.ItemDataRole.DisplayRole:
            return name if column == 0 else f"{count} / {self._n_frames}"
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and keypoint_idx < len(self._colors):
            return color_swatch(self._colors[keypoint_idx])
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and count == 0:
            return QColor(ERROR_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return RIGHT_ALIGNED
        if role == Qt.ItemDataRole.ToolTipRole:
            share = 100.0 * count / self._n_frames if self._n_frames else 0.0
            return f"{name}: labelled in {count} of {self._n_frames} frames ({share:.0f}%)"
        return None
