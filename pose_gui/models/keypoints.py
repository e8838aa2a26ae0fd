"""KeypointCountsModel: each keypoint with its colour and how many labelled frames label it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from pose_gui.style import ERROR_COLOR, color_swatch

COLUMNS = ("Keypoint", "Labelled frames")
_Index = QModelIndex | QPersistentModelIndex


class KeypointCountsModel(QAbstractTableModel):
    """Rows: keypoint name (with a colour swatch, as drawn on the thumbnails) and ``count / frames``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._counts: list[tuple[str, int]] = []
        self._colors: list[QColor] = []
        self._n_frames = 0

    def set_counts(self, counts: dict[str, int], n_frames: int, colors: list[QColor]) -> None:
        """Replace all rows.

        Args:
            counts: Keypoint name -> labelled frames, in keypoint order.
            n_frames: Number of labelled frames.
            colors: One colour per keypoint.
        """
        self.beginResetModel()
        self._counts, self._n_frames, self._colors = list(counts.items()), n_frames, list(colors)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._counts)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        name, count = self._counts[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return name if index.column() == 0 else f"{count} / {self._n_frames}"
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0 and index.row() < len(self._colors):
            return color_swatch(self._colors[index.row()])
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1 and count == 0:
            return QColor(ERROR_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            share = 100.0 * count / self._n_frames if self._n_frames else 0.0
            return f"{name}: labelled in {count} of {self._n_frames} frames ({share:.0f}%)"
        return None
