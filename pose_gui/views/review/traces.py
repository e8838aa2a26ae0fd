"""TracePlot: x, y and likelihood over time for chosen keypoints, a problem strip, a cursor at the current frame.

With an ensemble shown, two more plots appear above the strip: the members' spread (px) and the
Ensemble Kalman Smoother's posterior standard deviation (px), each for the chosen keypoints and,
in black, the largest over all keypoints (the frame's uncertainty).

Clicking anywhere in the plots emits :attr:`TracePlot.frame_clicked` with the frame under the
mouse. Long curves are downsampled and clipped to the visible range by pyqtgraph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QWidget

from pose_gui.models.predictions import (
    PROBLEM_JUMP,
    PROBLEM_LOW_LIKELIHOOD,
    PROBLEM_PCA,
    PROBLEM_SPREAD,
    FrameProblems,
)

PROBLEM_COLORS = {  # RGBA per flag; drawn in this order, so a jump shows over the others
    PROBLEM_PCA: (150, 60, 220, 255),
    PROBLEM_LOW_LIKELIHOOD: (230, 160, 0, 255),
    PROBLEM_SPREAD: (30, 110, 230, 255),
    PROBLEM_JUMP: (220, 40, 40, 255),
}


UNCERTAINTY_PLOTS = {"spread": "spread (px)", "posterior": "EKS σ (px)"}
AXIS_TITLE_STYLE = {"font-size": "8pt"}
"""The plots' axis titles: small enough that a rotated "likelihood" fits the height a plot has when
five share the trace area (at the default size they overlapped their neighbours')."""
UNCERTAINTY_TIPS = {
    "spread": "Ensemble spread: how far the members are from their mean (root mean square, px). Black: the "
    "largest over all keypoints. Click a peak, then Label this frame.",
    "posterior": "Ensemble Kalman Smoother's posterior standard deviation (px, from x and y posterior variance). "
    "Black: the largest over all keypoints.",
}
UNCERTAINTY_ROW_PX = 100  # the trace area grows by this per uncertainty plot shown
MAX_STRIP_COLUMNS = 4096  # longer videos: each column ORs the flags of several frames


def problem_strip_rgba(problems: FrameProblems) -> tuple[np.ndarray, int]:
    """The problem strip as a ``[1, C, 4]`` uint8 image and the number of frames per column.

    A column is coloured when any of its frames has a problem (transparent elsewhere); at most
    :data:`MAX_STRIP_COLUMNS` columns, so the image stays small for long videos.
    """
    n_frames = len(problems.flags)
    frames_per_column = max(1, -(-n_frames // MAX_STRIP_COLUMNS))
    n_columns = -(-n_frames // frames_per_column)
    padded = np.zeros(n_columns * frames_per_column, dtype=np.uint8)
    padded[:n_frames] = problems.flags
    column_flags = np.bitwise_or.reduce(padded.reshape(n_columns, frames_per_column), axis=1)
    rgba = np.zeros((1, n_columns, 4), dtype=np.uint8)
    for flag, color in PROBLEM_COLORS.items():
        rgba[0, (column_flags & flag) > 0] = color
    return rgba, frames_per_column


def _trace_plot(plot: pg.PlotItem, label: str) -> pg.PlotItem:
    """Style one of the stacked traces: its title, peak downsampling, a grid, no frame axis of its own."""
    plot.setLabel("left", label, **AXIS_TITLE_STYLE)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.hideAxis("bottom")
    plot.setMouseEnabled(x=True, y=False)
    return plot


class TracePlot(pg.GraphicsLayoutWidget):
    """Stacked x / y / likelihood plots and a problem strip sharing the frame axis.

    Signals:
        frame_clicked(int): The user clicked at this frame.
    """

    frame_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}
        for row, (name, label) in enumerate((("x", "x (px)"), ("y", "y (px)"), ("likelihood", "likelihood"))):
            plot = _trace_plot(self.addPlot(row=row, col=0), label)
            if self.plots:
                plot.setXLink(self.plots["x"])
            self.plots[name] = plot
        self.plots["likelihood"].setYRange(0, 1.05)
        self.strip = self.addPlot(row=3, col=0)
        self.strip.setLabel("left", "problems")
        self.strip.setLabel("bottom", "frame", **AXIS_TITLE_STYLE)
        self.strip.hideAxis("left")
        self.strip.setXLink(self.plots["x"])
        self.strip.setMouseEnabled(x=True, y=False)
        self.strip.setYRange(0, 1)
        self.strip.setMaximumHeight(60)
        self.setToolTip(
            "Click to go to a frame. Problem strip: orange = low likelihood, red = jump, purple = PCA error, "
            "blue = the ensemble's members spread"
        )
        self.strip_item = pg.ImageItem(axisOrder="row-major")
        self.strip.addItem(self.strip_item)
        self.cursors = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#d32f2f", width=1.5)) for _ in range(4)]
        for plot, cursor in zip([*self.plots.values(), self.strip], self.cursors, strict=True):
            plot.addItem(cursor, ignoreBounds=True)
        self.threshold_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#777", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.plots["likelihood"].addItem(self.threshold_line, ignoreBounds=True)
        for plot in [*self.plots.values(), self.strip]:
            for name in ("left", "bottom"):
                # a moving cursor would otherwise replay each axis's drawing on every frame
                plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.n_frames = 0
        self.uncertainty_plots: dict[str, pg.PlotItem] = {}
        for name, label in UNCERTAINTY_PLOTS.items():
            plot = _trace_plot(pg.PlotItem(), label)
            plot.setXLink(self.plots["x"])
            plot.setToolTip(UNCERTAINTY_TIPS[name])
            plot.getAxis("left").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d32f2f", width=1.5))
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
            self.uncertainty_plots[name] = plot
        self.shown_uncertainty: list[str] = []
        self.base_height_px = 220

    def set_traces(self, xy_lik: np.ndarray | None, keypoints: Sequence[int], colors: Sequence[QColor]) -> None:
        """Plot the chosen keypoints of ``[N, K, 3]`` predictions (None clears)."""
        for plot in self.plots.values():
            for item in [i for i in plot.listDataItems()]:
                plot.removeItem(item)
        if xy_lik is None:
            self.n_frames = 0
            return
        self.n_frames = len(xy_lik)
        frames = np.arange(self.n_frames)
        for k in keypoints:
            pen = pg.mkPen(colors[k], width=1.2)
            for coord, plot in enumerate(self.plots.values()):
                item = plot.plot(frames, xy_lik[:, k, coord], pen=pen, connect="finite")
                item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # the moving cursor
                # then repaints a cached pixmap instead of every line segment
        self.plots["x"].setXRange(0, max(1, self.n_frames - 1), padding=0.01)

    def set_uncertainty(
        self,
        curves: dict[str, np.ndarray | None],
        keypoints: Sequence[int],
        colors: Sequence[QColor],
    ) -> None:
        """Show the uncertainty plots that have ``[N, K]`` values (``spread``, ``posterior``); the others are hidden.

        Args:
            curves: Plot name -> per-frame, per-keypoint values in px, or None (not shown).
            keypoints: The chosen keypoints (one coloured curve each).
            colors: The keypoints' colours.
        """
        shown = [name for name in UNCERTAINTY_PLOTS if curves.get(name) is not None]
        for name, plot in self.uncertainty_plots.items():
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
            values = curves.get(name)
            if values is None:
                continue
            frames = np.arange(len(values))
            self.n_frames = max(self.n_frames, len(values))  # clickable even before x / y traces exist
            for k in keypoints:
                plot.plot(frames, values[:, k], pen=pg.mkPen(colors[k], width=1.0), connect="finite")
            largest = np.fmax.reduce(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)
            plot.plot(frames, largest, pen=pg.mkPen("#222", width=1.4), connect="finite")
        if shown != self.shown_uncertainty:
            self._arrange(shown)

    def _arrange(self, shown: list[str]) -> None:
        """Put the shown uncertainty plots under the likelihood plot and the strip last."""
        for plot in [*(self.uncertainty_plots[n] for n in self.shown_uncertainty), self.strip]:
            self.ci.removeItem(plot)
        for row, name in enumerate(shown, start=3):
            self.ci.addItem(self.uncertainty_plots[name], row=row, col=0)
        self.ci.addItem(self.strip, row=3 + len(shown), col=0)
        self.shown_uncertainty = shown
        self.setMinimumHeight(self.base_height_px + UNCERTAINTY_ROW_PX * len(shown))

    def set_problems(self, problems: FrameProblems | None) -> None:
        """Show the problem strip (None clears it)."""
        if problems is None:
            self.strip_item.clear()
            return
        rgba, frames_per_column = problem_strip_rgba(problems)
        self.strip_item.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.strip_item.setRect(pg.QtCore.QRectF(-0.5, 0, rgba.shape[1] * frames_per_column, 1))

    def set_cursor(self, frame_idx: int) -> None:
        """Move the cursor to ``frame_idx``."""
        for cursor in self.cursors:
            cursor.setValue(frame_idx)

    def set_threshold(self, threshold: float) -> None:
        """Move the dashed threshold line of the likelihood plot."""
        self.threshold_line.setValue(threshold)

    def _on_scene_mouse_clicked(self, event: object) -> None:
        if self.n_frames == 0:
            return
        pos = event.scenePos()  # type: ignore[attr-defined]
        shown = [self.uncertainty_plots[n] for n in self.shown_uncertainty]
        for plot in [*self.plots.values(), *shown, self.strip]:
            if plot.sceneBoundingRect().contains(pos):
                frame_idx = round(plot.vb.mapSceneToView(pos).x())
                self.frame_clicked.emit(int(min(max(frame_idx, 0), self.n_frames - 1)))
                return
