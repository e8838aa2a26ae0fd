"""FrameView: one video frame or image with keypoint markers, skeleton, trails, a second run and error vectors.

A pyqtgraph view box (zoom with the wheel, pan by dragging, right-click menu to reset) holding
an image item in row-major order and overlay items drawn in image pixels. Markers below the
likelihood threshold are hidden or faded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

FADED_ALPHA = 70
MARKER_SIZE_PX = 11


@dataclass
class OverlayOptions:
    """How keypoints are drawn.

    Attributes:
        threshold: Likelihood threshold.
        fade: Fade low-likelihood markers instead of hiding them.
        visible: K booleans, per-keypoint visibility.
        skeleton: Pairs of keypoint indices joined by a line.
        show_skeleton: Draw the skeleton.
    """

    threshold: float = 0.9
    fade: bool = False
    visible: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    skeleton: list[tuple[int, int]] = field(default_factory=list)
    show_skeleton: bool = True


class FrameView(pg.GraphicsLayoutWidget):
    """Image plus overlays; :meth:`show_frame` replaces everything in one call (same frame for all)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("#202020")
        self.view_box = self.addViewBox(lockAspect=True, invertY=True, enableMenu=True)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self.skeleton_item = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((255, 255, 255, 160), width=1.5))
        self.error_item = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((255, 60, 60), width=1.5))
        self.trail_item = pg.ScatterPlotItem(size=4, pen=None)
        self.points_item = pg.ScatterPlotItem(size=MARKER_SIZE_PX, pen=pg.mkPen("k", width=1))
        self.truth_item = pg.ScatterPlotItem(size=MARKER_SIZE_PX + 3, symbol="o", brush=None)
        self.compare_item = pg.ScatterPlotItem(size=MARKER_SIZE_PX + 2, symbol="x", pen=None)
        for item in (
            self.skeleton_item,
            self.error_item,
            self.trail_item,
            self.truth_item,
            self.points_item,
            self.compare_item,
        ):
            self.view_box.addItem(item)
        self.approx_item = pg.TextItem(color=(255, 230, 120), fill=pg.mkBrush(0, 0, 0, 170), anchor=(0, 0))
        self.approx_item.setZValue(10)
        self.approx_item.hide()
        self.view_box.addItem(self.approx_item)
        self._colors: list[QColor] = []
        self._brushes: list[pg.QtGui.QBrush] = []
        self._faded: list[pg.QtGui.QBrush] = []
        self._image_shape: tuple[int, ...] | None = None
        self.shown_points = np.zeros((0, 2))  # markers drawn at the last call (tests)

    def set_colors(self, colors: Sequence[QColor]) -> None:
        """Keypoint colours, in keypoint order."""
        self._colors = list(colors)
        self._brushes = [pg.mkBrush(c) for c in self._colors]
        self._faded = [pg.mkBrush(QColor(c.red(), c.green(), c.blue(), FADED_ALPHA)) for c in self._colors]

    def show_image(self, image: np.ndarray, size_wh: tuple[int, int] | None = None) -> None:
        """Show an image (RGB or grey); the view fits it when its size changes.

        Args:
            image: The image.
            size_wh: The frame size ``(width, height)`` in video pixels when ``image`` is a scaled-down
                copy of the frame (a keyframe preview): it is stretched over the frame, so zoom and
                overlays stay in video pixels. None = the image's own size.
        """
        # uint8 without levels: pyqtgraph wraps the array in a QImage as it is; levels=(0, 255) would
        # rescale every pixel on each paint (a third of the time of playback at 1280x1024)
        self.image_item.setImage(image, autoLevels=False, levels=None)
        shape = image.shape[:2] if size_wh is None else (size_wh[1], size_wh[0])
        self.image_item.setRect(0, 0, shape[1], shape[0])
        if self._image_shape != shape:
            self._image_shape = shape
            self.reset_zoom()

    def set_approximate(self, text: str | None) -> None:
        """Mark the image as approximate with ``text`` in its top-left corner (None removes the mark)."""
        if text is None:
            self.approx_item.hide()
            return
        self.approx_item.setText(text)
        self.approx_item.setPos(0, 0)
        self.approx_item.show()

    def reset_zoom(self) -> None:
        """Fit the image in the view."""
        if self._image_shape is not None:
            height, width = self._image_shape
            self.view_box.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)

    def show_points(self, xy_lik: np.ndarray | None, options: OverlayOptions) -> None:
        """Draw markers (and skeleton) for ``[K, 3]`` predictions; None clears them."""
        if xy_lik is None or not self._brushes:
            self.points_item.clear()
            self.skeleton_item.setData([], [])
            self.shown_points = np.zeros((0, 2))
            return
        keep, brushes = self._marker_style(xy_lik, options)
        idx = np.flatnonzero(keep)
        self.points_item.setData(x=xy_lik[idx, 0], y=xy_lik[idx, 1], brush=[brushes[i] for i in idx])
        self.shown_points = xy_lik[idx, :2]
        self._draw_skeleton(xy_lik, keep, options)

    def _marker_style(self, xy_lik: np.ndarray, options: OverlayOptions) -> tuple[np.ndarray, list]:
        n = min(len(xy_lik), len(self._brushes))
        visible = options.visible if len(options.visible) == n else np.ones(n, dtype=bool)
        finite = np.isfinite(xy_lik[:n, 0]) & np.isfinite(xy_lik[:n, 1])
        confident = ~(xy_lik[:n, 2] < options.threshold)  # NaN likelihood (x, y only files) counts as confident
        keep = visible & finite & (confident | options.fade)
        brushes = [self._brushes[k] if confident[k] else self._faded[k] for k in range(n)]
        return keep, brushes

    def _draw_skeleton(self, xy_lik: np.ndarray, keep: np.ndarray, options: OverlayOptions) -> None:
        pairs = [(a, b) for a, b in options.skeleton if a < len(keep) and b < len(keep) and keep[a] and keep[b]]
        if not options.show_skeleton or not pairs:
            self.skeleton_item.setData([], [])
            return
        ends = np.array(pairs).reshape(-1)
        self.skeleton_item.setData(xy_lik[ends, 0], xy_lik[ends, 1])

    def show_trail(self, trail: np.ndarray | None, options: OverlayOptions) -> None:
        """Draw the keypoints of earlier frames, ``[T, K, 3]`` oldest first (None clears)."""
        if trail is None or len(trail) == 0 or not self._colors:
            self.trail_item.clear()
            return
        n_steps, n_keypoints = trail.shape[:2]
        visible = options.visible if len(options.visible) == n_keypoints else np.ones(n_keypoints, dtype=bool)
        keep = np.isfinite(trail[:, :, 0]) & ~(trail[:, :, 2] < options.threshold) & visible[None, :]
        t_idx, k_idx = np.nonzero(keep)
        alpha = (40 + 160 * (t_idx + 1) / n_steps).astype(int)
        brushes = [
            pg.mkBrush(self._colors[k].red(), self._colors[k].green(), self._colors[k].blue(), a)
            for k, a in zip(k_idx.tolist(), alpha.tolist(), strict=True)
        ]
        self.trail_item.setData(x=trail[t_idx, k_idx, 0], y=trail[t_idx, k_idx, 1], brush=brushes)

    def show_compare(self, xy_lik: np.ndarray | None, options: OverlayOptions) -> None:
        """Draw a second run's ``[K, 3]`` predictions as crosses (None clears)."""
        if xy_lik is None or not self._colors:
            self.compare_item.clear()
            return
        keep, _ = self._marker_style(xy_lik, options)
        idx = np.flatnonzero(keep)
        pens = [pg.mkPen(self._colors[k], width=2.5) for k in idx.tolist()]
        self.compare_item.setData(x=xy_lik[idx, 0], y=xy_lik[idx, 1], pen=pens, brush=None)

    def show_truth(self, truth_px: np.ndarray | None, pred: np.ndarray | None) -> None:
        """Draw ground truth ``[K, 2]`` as rings and the error vectors to ``pred [K, 3]`` (None clears)."""
        if truth_px is None or not self._colors:
            self.truth_item.clear()
            self.error_item.setData([], [])
            return
        idx = np.flatnonzero(np.isfinite(truth_px[:, 0]))
        pens = [pg.mkPen(self._colors[k], width=2) for k in idx.tolist()]
        self.truth_item.setData(x=truth_px[idx, 0], y=truth_px[idx, 1], pen=pens, brush=None)
        if pred is None:
            self.error_item.setData([], [])
            return
        both = idx[np.isfinite(pred[idx, 0])]
        segments = np.stack([truth_px[both, :2], pred[both, :2]], axis=1).reshape(-1, 2)
        self.error_item.setData(segments[:, 0], segments[:, 1])

    def clear_all(self) -> None:
        """Remove the image and all overlays."""
        self.image_item.clear()
        self._image_shape = None
        for item in (self.points_item, self.trail_item, self.compare_item, self.truth_item):
            item.clear()
        self.skeleton_item.setData([], [])
        self.error_item.setData([], [])
        self.shown_points = np.zeros((0, 2))
