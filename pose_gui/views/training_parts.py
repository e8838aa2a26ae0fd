"""Pieces of the Training pane: the failure box, the history tab and its rows (ensembles grouped), the phase texts.

Kept apart from :mod:`pose_gui.views.training_monitor` (which composes them) so that module stays
about showing the session's run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pose_core.runs.layout import RunLayout
from pose_gui.models.loss_history import LossHistory, RunRow, format_duration
from pose_gui.models.runs import RunGroup, group_runs, group_status, mean_of, min_of, parent_text, parents_text
from pose_gui.style import ERROR_COLOR, STATUS_COLORS
from pose_gui.widgets.run_lists import fit_columns_with_elided_names

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
    "From",
)
HISTORY_COLUMN_TIPS = {
    "Run": "The run folder, outputs/<date>/<time>",
    "Train loss": "Lowest training loss of an epoch",
    "Val loss": "Lowest validation loss of an epoch",
    "Test px": "Mean pixel error on the test frames",
    "From": "The run whose weights this run started from (Retrain with new labels, training.init_from)",
}
RUN_PATH_ROLE = Qt.ItemDataRole.UserRole
DURATION_S_ROLE = Qt.ItemDataRole.UserRole + 1  # a row's training time in seconds (its Duration column)
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
    """The History tab: the project's runs (an ensemble's members under one row, several selectable), a hint and Refresh."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(HISTORY_COLUMNS))
        self.tree.setHeaderLabels(HISTORY_COLUMNS)
        header_item = self.tree.headerItem()
        for col, name in enumerate(HISTORY_COLUMNS):
            if name in HISTORY_COLUMN_TIPS:
                header_item.setToolTip(col, HISTORY_COLUMN_TIPS[name])
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        fit_columns_with_elided_names(self.tree)
        self.refresh_button = QPushButton("Refresh")
        hint = QLabel(
            "Select a run to replay its curves; Ctrl-click several runs (or select an ensemble) to overlay them. "
            "Right-click a run to retrain from it or compare it with its parent."
        )
        hint.setWordWrap(True)
        self._bottom = bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(self.refresh_button)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bottom)

    def add_button(self, button: QPushButton) -> None:
        """Put ``button`` (an action on the selected runs) before Refresh."""
        self._bottom.insertWidget(self._bottom.count() - 1, button)

    def selected_paths(self) -> set[Path]:
        """The run folders selected (an ensemble's row selects all its members)."""
        paths: set[Path] = set()
        for item in self.tree.selectedItems():
            rows = [item] + [item.child(i) for i in range(item.childCount())]
            paths.update(path for row in rows if (path := item_run_path(row)) is not None)
        return paths

    def select_run(self, run_dir: Path | None) -> None:
        """Select the row of ``run_dir`` alone (none for None), without a selection signal."""
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        for item in tree_items(self.tree):
            if run_dir is not None and item_run_path(item) == Path(run_dir):
                item.setSelected(True)
                self.tree.scrollToItem(item)
        self.tree.blockSignals(False)


def fill_history_tree(
    tree: QTreeWidget, rows: list[RunRow], status_of: Callable[[RunRow], str], planned: Sequence[Path] = ()
) -> None:
    """Write ``rows`` into the history tree (signals blocked); ``status_of`` may override a row's status.

    ``planned``: the member folders of the ensemble training now (its row says ``1 of 3 runs``).

    An ensemble is one top-level row (``ensemble <date>/<id> (N runs)``) with its members under it
    (expanded); a run started from another run says ``from <parent>`` in the last column.
    """
    tree.blockSignals(True)
    collapsed = {item.text(0) for item in tree_items(tree) if item.childCount() and not item.isExpanded()}
    tree.clear()
    for group in group_runs(rows):
        if not group.is_ensemble:
            tree.addTopLevelItem(_run_item(group.runs[0], status_of(group.runs[0])))
            continue
        statuses = [status_of(r) for r in group.runs]
        n_planned = len(planned) if any(r.path in planned for r in group.runs) else None
        top = QTreeWidgetItem(_group_values(group, statuses))
        top.setText(0, group.title_of(n_planned))
        font = top.font(0)
        font.setBold(True)
        top.setFont(0, font)
        top.setToolTip(0, "An ensemble (training.ensemble_seeds): one run per seed, same split. Select it to overlay "
                          "its members' curves.")  # fmt: skip
        status = group_status(statuses)
        top.setForeground(1, QColor(ROW_STATUS_COLORS.get(status.split(" ", 1)[-1], "#000000")))
        if top.text(8).startswith("from ensemble"):
            top.setToolTip(
                8, "Retrained from that ensemble: each member started from the parent member of its own seed"
            )
        top.addChildren([_run_item(r, s) for r, s in zip(group.runs, statuses, strict=True)])
        tree.addTopLevelItem(top)
        top.setExpanded(top.text(0) not in collapsed)
    tree.blockSignals(False)


def _group_values(group: RunGroup[RunRow], statuses: list[str]) -> list[str]:
    runs = group.runs
    started = min((r.started for r in runs if r.started), default=None)
    return [
        group.title, group_status(statuses), started.strftime("%Y-%m-%d %H:%M") if started else "—",
        format_duration(sum(r.duration_s for r in runs)), "",
        _fmt(min_of([r.best_train_loss for r in runs])), _fmt(min_of([r.best_val_loss for r in runs])),
        _fmt(mean_of([r.test_error_px for r in runs]), ".2f") + (" (mean)" if len(runs) > 1 else ""),
        parents_text(runs),
    ]  # fmt: skip


def _run_item(row: RunRow, status: str) -> QTreeWidgetItem:
    values = [
        row.name, status, row.started.strftime("%Y-%m-%d %H:%M") if row.started else "—",
        format_duration(row.duration_s), "—" if row.epochs is None else str(row.epochs),
        _fmt(row.best_train_loss), _fmt(row.best_val_loss), _fmt(row.test_error_px, ".2f"), parent_text(row),
    ]  # fmt: skip
    item = QTreeWidgetItem(values)
    item.setData(0, RUN_PATH_ROLE, str(row.path))
    item.setData(3, DURATION_S_ROLE, float(row.duration_s))
    tip = f"{row.path}\nTrained with {RunLayout(row.path).config} (the config as saved when it started)"
    if row.parent is not None:
        tip += f"\nStarted from the weights of {row.parent}"
    for col in range(len(values)):
        item.setToolTip(col, tip)
    item.setForeground(1, QColor(ROW_STATUS_COLORS.get(status, "#000000")))
    return item


def item_run_path(item: QTreeWidgetItem | None) -> Path | None:
    """The run folder a history row shows (None for an ensemble's row)."""
    value = item.data(0, RUN_PATH_ROLE) if item is not None else None
    return Path(value) if value else None


def tree_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    """Every row of the history tree, in display order: top-level rows and, after each ensemble, its members."""
    items: list[QTreeWidgetItem] = []
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        if top is None:
            continue
        items.append(top)
        items.extend(child for j in range(top.childCount()) if (child := top.child(j)) is not None)
    return items


def update_live_run_item(tree: QTreeWidget, run_dir: Path, history: LossHistory) -> None:
    """Bring the followed run's row up to date while it trains (duration, epochs, best losses).

    The rows are read from the run folders when the history is refreshed; between refreshes the
    running run's row follows its live events instead of showing the values of its first second,
    and so does the summed duration of its ensemble's row.
    """
    target = str(run_dir)
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    items += [top.child(j) for top in items if top is not None for j in range(top.childCount())]
    item = next((it for it in items if it is not None and it.data(0, RUN_PATH_ROLE) == target), None)
    if item is None:
        return
    epochs = history.epochs_completed
    item.setData(3, DURATION_S_ROLE, history.running_duration_s)
    group = item.parent()
    if group is not None:  # an ensemble's row sums its members' times, the running one's included
        members = [group.child(j) for j in range(group.childCount())]
        total_s = sum(float(m.data(3, DURATION_S_ROLE) or 0.0) for m in members if m is not None)
        if group.text(3) != format_duration(total_s):
            group.setText(3, format_duration(total_s))
    values = {
        3: format_duration(history.running_duration_s),
        4: str(epochs) if epochs else "—",
        5: _fmt(history.best("train_supervised_loss")),
        6: _fmt(history.best("val_supervised_loss")),
    }
    for column, text in values.items():
        if item.text(column) != text:
            item.setText(column, text)


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
