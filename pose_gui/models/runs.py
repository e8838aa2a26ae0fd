"""RunsTableModel: the training runs of a project (status, date, epochs, best val loss, test error)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from pose_gui.models.table import RIGHT_ALIGNED, RowTableModel
from pose_gui.style import STATUS_COLORS

if TYPE_CHECKING:
    from pose_core.runs import RunInfo

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Run", "Status", "Started", "Epochs", "Best val loss", "Test error (px)")


class RunsTableModel(RowTableModel):
    """Read-only table of :class:`pose_core.runs.RunInfo`; ``SORT_ROLE`` gives sortable values."""

    COLUMNS = COLUMNS

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Replace all rows."""
        self.set_rows(runs)

    def run_at(self, row: int) -> RunInfo:
        """The run shown in ``row``."""
        run: RunInfo = self._rows[row]
        return run

    def runs(self) -> list[RunInfo]:
        """All runs, in model order."""
        return list(self._rows)

    def cell(self, run: RunInfo, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(run, column)
        if role == SORT_ROLE:
            return _sort_value(run, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QColor(STATUS_COLORS.get(run.status.split(" · ")[0], "#000000"))  # "finished · Lightning Pose"
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(run.path) if run.source == "PoseDesk" else f"{run.path}\n(trained with {run.source})"
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 3:
            return RIGHT_ALIGNED
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
