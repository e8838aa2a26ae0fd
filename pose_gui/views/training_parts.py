"""Pieces of the Training pane: the failure box, the history tab and its rows, the phase texts.

Kept apart from :mod:`pose_gui.views.training_monitor` (which composes them) so that module stays
about showing the session's run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pose_core.runs.layout import RunLayout
from pose_gui.models.loss_history import RunRow, format_duration
from pose_gui.style import ERROR_COLOR, STATUS_COLORS

if TYPE_CHECKING:
    from pose_gui.workers.training import TrainingFailure

HISTORY_COLUMNS = (
    "Run",
    "Status",
    "Started",
    "Duration",
    "Epochs",
    "Train loss",
    "Val loss",
    "Test px",
)
HISTORY_COLUMN_TIPS = {
    "Run": "The run folder, outputs/<date>/<time>",
    "Train loss": "Lowest training loss of an epoch",
    "Val loss": "Lowest validation loss of an epoch",
    "Test px": "Mean pixel error on the test frames",
}
PHASE_TEXT = {
    "starting": "Starting",
    "waiting": "Waiting for the run to start",
    "loading_data": "Loading data",
    "building_model": "Building the model",
    "first_batch": "Preparing the first batch",
    "training": "Training",
    "stopping": "Stopping",
    "evaluating": "Evaluating",
    "predicting_videos": "Predicting videos",
    "rendering_videos": "Rendering videos",
}
STALE_COLOR = "#b26a00"
ROW_STATUS_COLORS = {**STATUS_COLORS, "stale": STALE_COLOR}


class FailureBox(QFrame):
    """A red-framed box with a failed run's error, traceback and last log lines, and a Copy button."""

    def __init__(self, on_copied: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.failure: TrainingFailure | None = None
        self._on_copied = on_copied
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"QFrame#failure {{ border: 2px solid {ERROR_COLOR}; }}")
        self.setObjectName("failure")
        box = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: bold;")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the error, traceback and last log lines (for a bug report)")
        self.copy_button.clicked.connect(self.copy)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(lambda: self.setVisible(False))
        top.addWidget(self.title, 1)
        top.addWidget(self.copy_button)
        top.addWidget(dismiss)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFont("monospace", 9))
        self.text.setMaximumHeight(180)
        box.addLayout(top)
        box.addWidget(self.text)
        self.setVisible(False)

    def show_failure(self, failure: TrainingFailure) -> None:
        """Show ``failure``."""
        self.failure = failure
        self.title.setText(failure.error)
        self.text.setPlainText(failure.report())
        self.setVisible(True)

    def copy(self) -> None:
        """Copy the failure report (error, traceback, last log lines) to the clipboard."""
        if self.failure is not None:
            QGuiApplication.clipboard().setText(self.failure.report())
            if self._on_copied is not None:
                self._on_copied()


class HistoryTab(QWidget):
    """The History tab: the project's runs (one row each, several selectable), a hint and Refresh."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(HISTORY_COLUMNS))
        self.table.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        for col, name in enumerate(HISTORY_COLUMNS):
            header_item = self.table.horizontalHeaderItem(col)
            if header_item is not None and name in HISTORY_COLUMN_TIPS:
                header_item.setToolTip(HISTORY_COLUMN_TIPS[name])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.refresh_button = QPushButton("Refresh")
        hint = QLabel("Select a run to replay its curves; Ctrl-click several runs to overlay them.")
        hint.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(self.refresh_button)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)


def fill_history_table(table: QTableWidget, rows: list[RunRow], status_of: Callable[[RunRow], str]) -> None:
    """Write ``rows`` into the history table (signals blocked); ``status_of`` may override a row's status."""
    table.blockSignals(True)
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        status = status_of(row)
        values = (
            row.name, status, row.started.strftime("%Y-%m-%d %H:%M") if row.started else "—",
            format_duration(row.duration_s), "—" if row.epochs is None else str(row.epochs),
            _fmt(row.best_train_loss), _fmt(row.best_val_loss), _fmt(row.test_error_px, ".2f"),
        )  # fmt: skip
        for col, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setToolTip(
                f"{row.path}\nTrained with {RunLayout(row.path).config} (the config as saved when it started)"
            )
            if col == 1:
                item.setForeground(QColor(ROW_STATUS_COLORS.get(status, "#000000")))
            table.setItem(i, col, item)
    table.blockSignals(False)


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "—" if value is None else format(value, spec)


def read_log_tail(run_dir: Path, n_lines: int = 40) -> str:
    """The last lines of ``run_dir/train.log`` ('' if there is none)."""
    try:
        with RunLayout(run_dir).log.open("rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-n_lines:])
