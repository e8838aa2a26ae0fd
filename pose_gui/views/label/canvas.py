"""LabelCanvas: one image at full resolution with its keypoints, on a QGraphicsView.

The canvas renders and forwards intents; it changes no labels itself. A left click on empty space
asks to place the selected keypoint there; pressing on a keypoint and dragging moves it (the
moves are reported while dragging, the end once); a right click on a keypoint asks to clear it.
Dragging on empty space (or with the middle button) pans; the wheel zooms towards the cursor.
Brightness and contrast change only what is shown. Labelled keypoints are filled discs,
suggestions (a model's predictions not yet accepted) hollow rings; markers keep their size on
screen at every zoom. Scene coordinates are image pixels, as in the labels file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

MARKER_RADIUS_PX = 6
SELECTED_RADIUS_PX = 9
DRAG_START_PX = 4  # a press that moves less than this is a click
ZOOM_STEP = 1.25
MAX_ZOOM = 40.0


class KeypointItem(QGraphicsEllipseItem):
    """One keypoint marker (constant size on screen); its tooltip is the keypoint's name."""

    def __init__(self, keypoint_idx: int, name: str, color: QColor) -> None:
        r = MARKER_RADIUS_PX
        super().__init__(-r, -r, 2 * r, 2 * r)
        self.keypoint_idx = keypoint_idx
        self.name = name
        self.color = QColor(color)
        self.suggested = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptHoverEvents(True)
        self.setToolTip(name)
        self.setZValue(10)
        self.set_style(suggested=False, selected=False)

    def set_style(self, *, suggested: bool, selected: bool) -> None:
        """Filled disc (a label) or hollow ring (a suggestion); bigger when it is the selected keypoint."""
        self.suggested = suggested
        r = SELECTED_RADIUS_PX if selected else MARKER_RADIUS_PX
        self.setRect(-r, -r, 2 * r, 2 * r)
        if suggested:
            self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            self.setPen(QPen(self.color, 2.5, Qt.PenStyle.DashLine if not selected else Qt.PenStyle.SolidLine))
        else:
            self.setBrush(QBrush(self.color))
            self.setPen(QPen(QColor("white") if selected else QColor("black"), 2 if selected else 1))


class LabelCanvas(QGraphicsView):
    """The image and its keypoints (see the module docstring).

    Signals:
        place_requested(float, float): Left click on empty space at these image pixels.
        drag_started(int): A keypoint is being dragged.
        drag_moved(int, float, float): The dragged keypoint is now here.
        drag_finished(int, bool): The drag ended (``moved``: False for a click on the keypoint).
        clear_requested(int): Right click on a keypoint.
    """

    place_requested = Signal(float, float)
    drag_started = Signal(int)
    drag_moved = Signal(int, float, float)
    drag_finished = Signal(int, bool)
    clear_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor("#202020"))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.scene().addItem(self.pixmap_item)
        self.message_item = QGraphicsSimpleTextItem()
        self.message_item.setBrush(QColor("#e0e0e0"))
        self.scene().addItem(self.message_item)
        self.markers: list[KeypointItem] = []
        self.edges: list[tuple[int, int, QGraphicsLineItem]] = []
        self._image: np.ndarray | None = None
        self._shown: np.ndarray | None = None  # keeps the QImage's memory alive
        self._brightness = 0
        self._contrast = 1.0
        self._labels_visible = True
        self._press: tuple[QPoint, int | None, Qt.MouseButton] | None = None
        self._dragging = False
        self._panning = False
        self._pan_last = QPoint()
        self._fit_pending = True
        self._fitted = False  # the view shows the whole image and follows its size until the user zooms or pans

    # ------------------------------------------------------------------ content

    def set_keypoints(
        self, names: Sequence[str], colors: Sequence[QColor], skeleton: Sequence[tuple[int, int]]
    ) -> None:
        """Create one marker per keypoint and the skeleton's lines (hidden until points are shown)."""
        for item in [*self.markers, *(line for _, _, line in self.edges)]:
            self.scene().removeItem(item)
        self.markers = [KeypointItem(k, name, colors[k]) for k, name in enumerate(names)]
        self.edges = []
        for a, b in skeleton:
            if 0 <= a < len(names) and 0 <= b < len(names):
                line = QGraphicsLineItem()
                line.setPen(QPen(QColor(255, 255, 255, 150), 1.5))
                line.pen().setCosmetic(True)
                line.setZValue(5)
                self.scene().addItem(line)
                self.edges.append((a, b, line))
        for marker in self.markers:
            marker.setVisible(False)
            self.scene().addItem(marker)

    def show_image(self, image: np.ndarray | None, message: str = "") -> None:
        """Show an RGB ``uint8`` image (None: only ``message``); the view fits the first image and new sizes."""
        old_size = None if self._image is None else self._image.shape[:2]
        self._image = image
        self.message_item.setText(message)
        if image is None:
            self.pixmap_item.setPixmap(QPixmap())
            self.message_item.setVisible(True)
            return
        self.message_item.setVisible(bool(message))
        self._render_pixmap()
        height, width = image.shape[:2]
        self.scene().setSceneRect(QRectF(-20 * width, -20 * height, 41 * width, 41 * height))  # room to pan
        if self._fit_pending or old_size != image.shape[:2]:
            self.fit()

    def _render_pixmap(self) -> None:
        if self._image is None:
            return
        image = self._image
        if self._brightness != 0 or self._contrast != 1.0:
            lut = np.clip((np.arange(256) - 128.0) * self._contrast + 128.0 + self._brightness, 0, 255).astype(np.uint8)
            image = lut[image]
        image = np.ascontiguousarray(image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2))
        height, width = image.shape[:2]
        self._shown = image
        qimage = QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        self.pixmap_item.setPixmap(QPixmap.fromImage(qimage))

    def show_points(self, points_px: np.ndarray, suggestions_px: np.ndarray | None, selected: int) -> None:
        """Place the markers: labels ``[K, 2]`` filled, suggestions ``[K, 2]`` (where unlabelled) hollow."""
        for k, marker in enumerate(self.markers):
            xy = points_px[k] if k < len(points_px) else (np.nan, np.nan)
            suggested = False
            if np.isnan(xy).any() and suggestions_px is not None and k < len(suggestions_px):
                xy, suggested = suggestions_px[k], True
            visible = self._labels_visible and not np.isnan(xy).any()
            marker.setVisible(bool(visible))
            if visible:
                marker.setPos(float(xy[0]), float(xy[1]))
                marker.set_style(suggested=suggested, selected=k == selected)
        for a, b, line in self.edges:
            ma, mb = self.markers[a], self.markers[b]
            show = ma.isVisible() and mb.isVisible() and not ma.suggested and not mb.suggested
            line.setVisible(show)
            if show:
                line.setLine(ma.pos().x(), ma.pos().y(), mb.pos().x(), mb.pos().y())

    @property
    def image(self) -> np.ndarray | None:
        """The image shown (RGB, before brightness/contrast), or None."""
        return self._image

    def marker_positions(self) -> dict[int, tuple[float, float, bool]]:
        """Keypoint index -> (x, y, suggested) of every visible marker (tests, benchmarks)."""
        return {m.keypoint_idx: (m.pos().x(), m.pos().y(), m.suggested) for m in self.markers if m.isVisible()}

    def set_labels_visible(self, visible: bool) -> None:
        """Show or hide all markers and the skeleton (the labels are unchanged; call :meth:`show_points` after)."""
        self._labels_visible = visible
        if not visible:
            for item in [*self.markers, *(line for _, _, line in self.edges)]:
                item.setVisible(False)

    @property
    def labels_visible(self) -> bool:
        """True while markers are shown."""
        return self._labels_visible

    def set_brightness_contrast(self, brightness: int, contrast: float) -> None:
        """Brightness offset (-128..128) and contrast factor (1 = unchanged) of the image shown."""
        self._brightness, self._contrast = int(brightness), float(contrast)
        self._render_pixmap()

    # ------------------------------------------------------------------ zoom

    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return float(self.transform().m11())

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``anchor`` (view pixels; default: centre) in place."""
        self._fitted = False
        new = min(MAX_ZOOM, max(0.02, self.zoom() * factor))
        factor = new / self.zoom()
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(anchor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        after = self.mapToScene(anchor)
        delta = after - before
        self.translate(delta.x(), delta.y())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def fit(self) -> None:
        """Show the whole image, and keep showing it whole as the view is resized (until a zoom or pan)."""
        self._fit_pending = self.viewport().width() < 10
        self._fitted = True
        if self._image is not None:
            height, width = self._image.shape[:2]
            self.fitInView(QRectF(0, 0, width, height), Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(ZOOM_STEP**steps, event.position().toPoint())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_pending or self._fitted:  # e.g. fitted while the pane was hidden, at another size
            self.fit()

    # ------------------------------------------------------------------ mouse

    def _marker_at(self, pos: QPoint) -> KeypointItem | None:
        for item in self.items(pos):
            if isinstance(item, KeypointItem) and item.isVisible():
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.MiddleButton:
            self._panning, self._pan_last = True, pos
            return
        marker = self._marker_at(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if marker is not None and not marker.suggested:
                self.clear_requested.emit(marker.keypoint_idx)
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = (pos, marker.keypoint_idx if marker is not None else None, event.button())
            self._pan_last = pos
            self._dragging = False

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # A second click soon after the first and near it arrives as a double-click instead of a
        # press: it is a click all the same (placing two nearby keypoints quickly must not lose one).
        self.mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._panning:
            self._pan_by(pos)
            return
        if self._press is None:
            super().mouseMoveEvent(event)  # hover tooltips
            return
        start, keypoint_idx, _ = self._press
        if not self._dragging and (pos - start).manhattanLength() >= DRAG_START_PX:
            self._dragging = True
            if keypoint_idx is not None:
                self.drag_started.emit(keypoint_idx)
            else:
                self._panning = True
        if self._panning:
            self._pan_by(pos)
        elif self._dragging and keypoint_idx is not None:
            scene = self.mapToScene(pos)
            self.drag_moved.emit(keypoint_idx, scene.x(), scene.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        press, dragging, panning = self._press, self._dragging, self._panning
        self._press, self._dragging, self._panning = None, False, False
        if press is None or panning:
            return
        _, keypoint_idx, _ = press
        if keypoint_idx is not None:
            if dragging:
                scene = self.mapToScene(pos)
                self.drag_moved.emit(keypoint_idx, scene.x(), scene.y())
            self.drag_finished.emit(keypoint_idx, dragging)
        elif self._image is not None:
            scene = self.mapToScene(pos)
            self.place_requested.emit(scene.x(), scene.y())

    def _pan_by(self, pos: QPoint) -> None:
        self._fitted = False
        delta = pos - self._pan_last
        self._pan_last = pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())

    def view_pos_of(self, x_px: float, y_px: float) -> QPoint:
        """Where image pixel ``(x_px, y_px)`` is in the view (tests drive the mouse with it)."""
        return self.mapFromScene(QPointF(x_px, y_px))
