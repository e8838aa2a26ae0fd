"""LabeledFramesView: ground truth vs prediction on a run's labelled frames.

A split filter, the image with labels (rings), predictions (dots) and error vectors, a per-keypoint
error plot (box and points per split; clicking a point opens that frame) and a table of frames
sorted by error (clicking a row opens it). Errors and images are read in worker threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pose_gui.models.predictions import LabeledErrors, load_labeled_errors
from pose_gui.style import ERROR_COLOR, keypoint_colors
from pose_gui.views.review.viewer import FrameView, OverlayOptions
from pose_gui.workers.image_loader import read_image_rgb
from pose_gui.workers.latest import LatestRunner

if TYPE_CHECKING:
    from pose_core.project import Project

SPLITS = ("train", "validation", "test")
SPLIT_STYLE = {"train": ("#1e88e5", "o", -0.25), "validation": ("#fb8c00", "t", 0.0), "test": ("#43a047", "s", 0.25)}
_OTHER_STYLE = ("#757575", "d", 0.0)


def _read_labeled_image(path: Path) -> np.ndarray:
    """Read a labelled frame's image as RGB uint8 (runs in a worker thread).

    Raises:
        DataError: The file is missing or not an image.
    """
    return read_image_rgb(path, fix="restore it from the project's labelled data")


class LabeledFramesView(QWidget):
    """The labelled-frames part of the review pane.

    Signals:
        row_opened(int): The frame of this row is now shown.
    """

    row_opened = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors: LabeledErrors | None = None
        self.current_row = -1
        self._tasks = LatestRunner(self)
        self._build()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self.split_combo = QComboBox()
        self.split_combo.addItems(["all", *SPLITS])
        self.split_combo.setToolTip("Show only the frames of this split")
        self.split_combo.currentTextChanged.connect(self._refresh)
        self.message = QLabel("Choose a run to see its errors on the labelled frames.")
        self.message.setWordWrap(True)
        self.frame_label = QLabel("")
        top = QHBoxLayout()
        top.addWidget(QLabel("Split:"))
        top.addWidget(self.split_combo)
        top.addWidget(self.frame_label, 1)
        self.view = FrameView()
        self.error_plot = pg.PlotWidget(background="w")
        self.error_plot.setLabel("bottom", "error (px)")
        self.error_plot.showGrid(x=True, alpha=0.3)
        self.error_plot.getViewBox().invertY(True)  # first keypoint at the top
        self.error_plot.addLegend(offset=(-10, 10))
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Image", "Split", "Mean error (px)", "Max error (px)", "Worst keypoint"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellClicked.connect(lambda table_row, _col: self._open_table_row(table_row))
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.error_plot)
        right.addWidget(self.table)
        right.setSizes([460, 260])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(right)
        split.setSizes([600, 500])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------------ loading

    def load(self, run_dir: Path | None, project: Project | None) -> None:
        """Read the errors of ``run_dir`` on ``project``'s labels in a thread (None clears).

        Whatever was shown (image, errors, frame line) goes at once, and a read still under way for
        the previous run or project is dropped when it arrives.
        """
        self.errors = None
        self.current_row = -1
        self._tasks.invalidate()
        self.view.clear_all()
        self.frame_label.setText("")
        self._refresh()
        if run_dir is None or project is None or not project.csv_paths:
            self._show_message("Choose a run (and open its project) to see its errors on the labelled frames.")
            return
        self._show_message(f"Reading the errors of run {Path(run_dir).name}…", error=False)
        self._tasks.run(
            "errors", load_labeled_errors, Path(run_dir), project.csv_paths[0], project.data_dir,
            on_success=self._on_errors_loaded, on_error=self._on_errors_failed,
        )  # fmt: skip

    def is_loading(self) -> bool:
        """True while errors or an image are being read."""
        return self._tasks.is_running()

    def shutdown(self) -> None:
        """Stop the worker threads."""
        self._tasks.shutdown()

    def _on_errors_loaded(self, errors: LabeledErrors) -> None:
        self.errors = errors
        self.view.set_colors(keypoint_colors(len(errors.keypoint_names)))
        self.message.hide()
        self._refresh()
        order = self.sorted_rows()
        if order:
            self.open_row(order[0])

    def _on_errors_failed(self, error: BaseException) -> None:
        self._show_message(str(error).splitlines()[0])

    def _show_message(self, text: str, error: bool = True) -> None:
        self.message.setText(f"<span style='color:{ERROR_COLOR}'>{text}</span>" if error else text)
        self.message.show()

    # ------------------------------------------------------------------ content

    def sorted_rows(self) -> list[int]:
        """Rows of the current split, worst mean error first."""
        if self.errors is None:
            return []
        rows = self.errors.rows_in_split(self.split_combo.currentText())
        mean = self.errors.frame_error_px()
        return sorted(rows, key=lambda r: -np.nan_to_num(mean[r], nan=-1.0))

    def _refresh(self) -> None:
        self._fill_table()
        self._plot_errors()

    def _fill_table(self) -> None:
        self.table.setSortingEnabled(False)
        rows = self.sorted_rows()
        self.table.setRowCount(len(rows))
        if self.errors is None:
            return
        mean = self.errors.frame_error_px()
        for table_row, row in enumerate(rows):
            err = self.errors.error_px[row]
            worst = int(np.nanargmax(err)) if np.isfinite(err).any() else -1
            cells: list[Any] = [
                self.errors.image_paths[row],
                self.errors.split[row],
                round(float(mean[row]), 2),
                round(float(np.nanmax(err)), 2) if worst >= 0 else float("nan"),
                self.errors.keypoint_names[worst] if worst >= 0 else "",
            ]
            for col, value in enumerate(cells):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value)
                item.setData(Qt.ItemDataRole.UserRole, row)
                self.table.setItem(table_row, col, item)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.resizeColumnsToContents()

    def _plot_errors(self) -> None:
        self.error_plot.clear()
        if self.errors is None:
            return
        names = self.errors.keypoint_names
        self.error_plot.getAxis("left").setTicks([list(enumerate(names))])
        rng = np.random.default_rng(0)
        wanted = self.split_combo.currentText()
        for split in sorted(set(self.errors.split)):
            if wanted not in ("all", split):
                continue
            self._plot_split(split, rng)

    def _plot_split(self, split: str, rng: np.random.Generator) -> None:
        assert self.errors is not None
        color, symbol, offset = SPLIT_STYLE.get(split, _OTHER_STYLE)
        rows = np.array(self.errors.rows_in_split(split))
        err = self.errors.error_px[rows]
        row_idx, k_idx = np.nonzero(np.isfinite(err))
        y = k_idx + offset + rng.uniform(-0.06, 0.06, len(k_idx))
        points = pg.ScatterPlotItem(
            x=err[row_idx, k_idx], y=y, data=rows[row_idx], symbol=symbol, size=7,
            brush=pg.mkBrush(color), pen=pg.mkPen("k", width=0.5), name=split, hoverable=True,
        )  # fmt: skip
        points.sigClicked.connect(self._on_points_clicked)
        self._plot_boxes(err, offset, color)
        self.error_plot.addItem(points)

    def _plot_boxes(self, err: np.ndarray, offset: float, color: str) -> None:
        with np.errstate(all="ignore"):
            q1, med, q3 = (np.nanpercentile(err, q, axis=0) for q in (25, 50, 75))
        ok = np.isfinite(med)
        y = np.flatnonzero(ok) + offset
        brush = pg.mkBrush(pg.mkColor(color).lighter(160))
        box = pg.BarGraphItem(x0=q1[ok], width=q3[ok] - q1[ok], y=y, height=0.2, brush=brush, pen=pg.mkPen(color))
        self.error_plot.addItem(box)
        medians = np.stack([np.stack([med[ok], y - 0.1], 1), np.stack([med[ok], y + 0.1], 1)], 1).reshape(-1, 2)
        self.error_plot.addItem(
            pg.PlotCurveItem(medians[:, 0], medians[:, 1], connect="pairs", pen=pg.mkPen("k", width=2))
        )

    def _on_points_clicked(self, _item: object, points: list[Any], *_args: object) -> None:
        if len(points):
            self.open_row(int(points[0].data()))

    def _open_table_row(self, table_row: int) -> None:
        item = self.table.item(table_row, 0)
        if item is not None:
            self.open_row(int(item.data(Qt.ItemDataRole.UserRole)))

    # ------------------------------------------------------------------ one frame

    def open_row(self, row: int) -> None:
        """Show labelled frame ``row`` (its image is read in a thread)."""
        if self.errors is None or not 0 <= row < len(self.errors.image_paths):
            return
        self.current_row = row
        self._tasks.run(
            "image", _read_labeled_image, self.errors.image_files[row],
            on_success=lambda image: self._on_image_loaded(row, image), on_error=self._on_image_failed,
        )  # fmt: skip

    def _on_image_loaded(self, row: int, image: np.ndarray) -> None:
        if self.errors is None:
            return
        errors = self.errors
        self.view.show_image(image)
        self.view.show_points(errors.pred[row], OverlayOptions(threshold=0.0))
        self.view.show_truth(errors.truth_px[row], errors.pred[row])
        mean = errors.frame_error_px()[row]
        self.frame_label.setText(f"{errors.image_paths[row]}  ·  {errors.split[row]}  ·  mean error {mean:.1f} px")
        self.row_opened.emit(row)

    def _on_image_failed(self, error: BaseException) -> None:
        self.view.clear_all()
        self._show_message(str(error).splitlines()[0])
