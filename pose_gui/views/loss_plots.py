"""LossPlots: the training pane's pyqtgraph plots of loss, RMSE in pixels and learning rate.

Per step or per epoch, log scale, smoothing and hover values; several runs can be overlaid.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QWidget

from pose_gui.models.loss_history import GROUP_TITLES, PLOT_GROUPS, LossHistory, metric_group, smooth_ema

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


class LossPlots(pg.GraphicsLayoutWidget):
    """Three stacked plots (loss, RMSE in pixels, learning rate) of one or more runs' curves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.per_epoch = False
        self.log_y = False
        self.smoothing = 0.0
        self.runs: list[tuple[str, LossHistory]] = []
        self.plots: dict[str, pg.PlotItem] = {}
        self._curves: dict[tuple[str, str, str], pg.PlotDataItem] = {}
        self._cursor_lines: dict[str, pg.InfiniteLine] = {}
        self._flat_groups: set[str] = set()  # plots framed by hand around one value
        self.hover_text = ""
        self.on_hover: Callable[[str], None] | None = None
        for row, group in enumerate(PLOT_GROUPS):
            plot = self.addPlot(row=row, col=0, title=GROUP_TITLES[group])
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#999999", style=Qt.PenStyle.DotLine))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._cursor_lines[group] = line
            if row:
                plot.setXLink(self.plots[PLOT_GROUPS[0]])
            self.plots[group] = plot
        self._update_axis_labels()
        self.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

    def set_runs(self, runs: list[tuple[str, LossHistory]]) -> None:
        """Show these runs (label, history); one run = one colour per metric, several = one colour per run.

        Other runs than before clear the hover readout (it described the old ones).
        """
        if [label for label, _ in runs] != [label for label, _ in self.runs]:
            self.clear_hover()
        self.runs = list(runs)
        self.redraw()

    def clear_hover(self) -> None:
        """Forget the hover readout and hide the cursor line."""
        for line in self._cursor_lines.values():
            line.setVisible(False)
        self.hover_text = ""
        if self.on_hover is not None:
            self.on_hover("")

    def set_per_epoch(self, per_epoch: bool) -> None:
        """X axis: epochs (True) or global steps."""
        self.per_epoch = per_epoch
        self._update_axis_labels()
        self.redraw()

    def set_log_y(self, log_y: bool) -> None:
        """Logarithmic y axes."""
        self.log_y = log_y
        for plot in self.plots.values():
            plot.setLogMode(False, log_y)
        for group in PLOT_GROUPS:
            self._frame_flat_data(group)

    def set_smoothing(self, weight: float) -> None:
        """Exponential-moving-average smoothing weight (0 = raw values)."""
        self.smoothing = weight
        self.redraw()

    def curve_count(self) -> int:
        """Number of curves with at least one point (tests, screenshots)."""
        return sum(1 for curve in self._curves.values() if curve.xData is not None and len(curve.xData))

    def curve_points(self, run_label: str, metric: str) -> tuple[list[float], list[float]]:
        """The points drawn for one run's metric (empty if not drawn)."""
        group = metric_group(metric) or ""
        curve = self._curves.get((run_label, group, metric))
        if curve is None or curve.xData is None:
            return [], []
        return list(curve.xData), list(curve.yData)

    def redraw(self) -> None:
        """Update every curve from the runs' histories (cheap: ``setData`` on existing items)."""
        wanted: set[tuple[str, str, str]] = set()
        overlay = len(self.runs) > 1
        for run_idx, (label, history) in enumerate(self.runs):
            for metric_idx, metric in enumerate(history.metric_names(self.per_epoch)):
                group = metric_group(metric)
                if group is None:
                    continue
                key = (label, group, metric)
                wanted.add(key)
                series = history.series(metric, self.per_epoch)
                ys = smooth_ema(series.ys, self.smoothing)
                curve = self._curves.get(key) or self._new_curve(key, run_idx if overlay else metric_idx, overlay)
                curve.setData(series.xs, ys)
                curve.setSymbol("o" if self.per_epoch or len(series.xs) == 1 else None)  # one point: a dot
        for key in [k for k in self._curves if k not in wanted]:
            self.plots[key[1]].removeItem(self._curves.pop(key))
        for group in PLOT_GROUPS:
            self._frame_flat_data(group)

    def _frame_flat_data(self, group: str) -> None:
        """Centre a plot whose curves are all one value on that value (a constant learning rate).

        pyqtgraph frames a zero-height range as about -0.5..0.5 around zero, so 0.001 read as 0.
        The automatic range comes back as soon as the values differ.
        """
        plot = self.plots[group]
        ys = [float(y) for curve in plot.listDataItems() if curve.yData is not None for y in curve.yData]
        finite = [y for y in ys if math.isfinite(y)]
        flat = bool(finite) and max(finite) == min(finite) and not self.log_y
        if flat:
            value = finite[0]
            half = abs(value) * 0.5 or 1.0
            plot.setYRange(value - half, value + half, padding=0)
            self._flat_groups.add(group)
        elif group in self._flat_groups:
            self._flat_groups.discard(group)
            plot.enableAutoRange(axis="y")

    def _new_curve(self, key: tuple[str, str, str], color_idx: int, overlay: bool) -> pg.PlotDataItem:
        label, group, metric = key
        style = Qt.PenStyle.DashLine if metric.startswith("val_") else Qt.PenStyle.SolidLine
        pen = pg.mkPen(PALETTE[color_idx % len(PALETTE)], width=2, style=style)
        name = f"{label} · {metric}" if overlay else metric
        symbol = "o" if self.per_epoch else None
        curve = self.plots[group].plot([], [], pen=pen, name=name, symbol=symbol, symbolSize=5,
                                       symbolBrush=pen.color())  # fmt: skip
        self._curves[key] = curve
        return curve

    def _update_axis_labels(self) -> None:
        for plot in self.plots.values():
            plot.setLabel("bottom", "epoch" if self.per_epoch else "step")
        for key in list(self._curves):  # symbols differ per mode: rebuild the curves
            self.plots[key[1]].removeItem(self._curves.pop(key))

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        for group, plot in self.plots.items():
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self._show_hover(group, x)
                return

    def _show_hover(self, group: str, x: float) -> None:
        """Show the values of every curve of plot ``group`` nearest to ``x``, each at its own step or epoch.

        Per step, validation values exist only at each epoch's last step: a curve's value is named
        with its own x when that differs from the x under the mouse.
        """
        unit = "epoch" if self.per_epoch else "step"
        points = []
        for (label, g, metric), curve in self._curves.items():
            if g != group or curve.xData is None or not len(curve.xData):
                continue
            idx = min(range(len(curve.xData)), key=lambda i: abs(curve.xData[i] - x))
            name = f"{label} · {metric}" if len(self.runs) > 1 else metric
            points.append((float(curve.xData[idx]), name, float(curve.yData[idx])))
        if not points:
            return
        nearest_x = min(points, key=lambda p: abs(p[0] - x))[0]
        parts = [
            f"{name} = {y:.4g}" if px == nearest_x else f"{name} = {y:.4g} ({unit} {px:g})" for px, name, y in points
        ]
        for g, line in self._cursor_lines.items():
            line.setVisible(g == group)
        self._cursor_lines[group].setValue(nearest_x)
        self.hover_text = f"{unit} {nearest_x:g}: " + ", ".join(parts)
        if self.on_hover is not None:
            self.on_hover(self.hover_text)
