"""RunsTableModel: the training runs of a project (status, date, epochs, best val loss, test error)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from pose_gui.style import STATUS_COLORS

if TYPE_CHECKING:
    from pose_core.project import RunInfo

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Run", "Status", "Started", "Epochs", "Best val loss", "Test error (px)")
_Index = QModelIndex | QPersistentModelIndex


class RunsTableModel(QAbstractTableModel):
    """Read-only table of :class:`pose_core.project.RunInfo`; ``SORT_ROLE`` gives sortable values."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runs: list[RunInfo] = []

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Replace all rows."""
        self.beginResetModel()
        self._runs = list(runs)
        self.endResetModel()

    def run_at(self, row: int) -> RunInfo:
        """The run shown in ``row``."""
        return self._runs[row]

    def runs(self) -> list[RunInfo]:
        """All runs, in model order."""
        return list(self._runs)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run, column = self._runs[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(run, column)
        if role == SORT_ROLE:
            return _sort_value(run, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QColor(STATUS_COLORS.get(run.status.split(" · ")[0], "#000000"))  # "finished · Lightning Pose"
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(run.path) if run.source == "PoseDesk" else f"{run.path}\n(trained with {run.source})"
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _display(run: RunInfo, column: int) -> str:
    if column == 0:
        return run.name
    if column == 1:
        return run.status
    if column == 2:
        return run.started.strftime("%Y-%m-%d %H:%M") if run.started else "—"
    if column == 3:
        return str(run.epochs) if run.epochs is not None else "—"
    if column == 4:
        return f"{run.best_val_loss:.4g}" if run.best_val_loss is not None else "—"
    return f"{run.test_error_px:.2f}" if run.test_error_px is not None else "—"


def _sort_value(run: RunInfo, column: int) -> Any:
    values: tuple[Any, ...] = (
        run.name,
        run.status,
        run.started.timestamp() if run.started else 0.0,
        run.epochs if run.epochs is not None else -1,
        run.best_val_loss if run.best_val_loss is not None else float("inf"),
        run.test_error_px if run.test_error_px is not None else float("inf"),
    )
    return values[column]
