"""ThumbnailLoader: decode labelled frames in a thread and draw their keypoints on small copies.

Only QImage and QPainter-on-QImage are used in the thread (both are thread-safe); the view turns
the images into pixmaps in the GUI thread. Results carry a generation number so the view can
drop those of a project it no longer shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, Qt, QThread, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen

if TYPE_CHECKING:  # numpy is not needed to draw: keep its import out of the window's start
    import numpy as np

DOT_RADIUS_PX = 2.6


@dataclass(frozen=True)
class ThumbnailJob:
    """One labelled frame to draw.

    Attributes:
        row_idx: Row of the frame in the labels.
        image_path: The image file.
        keypoints_px: ``[K, 2]`` keypoints in image pixels (NaN = unlabelled).
    """

    row_idx: int
    image_path: Path
    keypoints_px: np.ndarray


def render_thumbnail(
    image: QImage, keypoints_px: np.ndarray, colors: Sequence[QColor], max_width_px: int, max_height_px: int
) -> QImage:
    """Scale ``image`` to fit the box and draw each labelled keypoint as a dot in its colour.

    Args:
        image: The full-size frame.
        keypoints_px: ``[K, 2]`` keypoints in image pixels (integer = pixel centre); NaN = not drawn.
        colors: One colour per keypoint.
        max_width_px: Box width.
        max_height_px: Box height.

    Returns:
        The thumbnail (ARGB32, premultiplied).
    """
    scaled = image.scaled(
        max_width_px, max_height_px, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    ).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    scale_x = scaled.width() / max(1, image.width())
    scale_y = scaled.height() / max(1, image.height())
    painter = QPainter(scaled)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(0, 0, 0, 200), 0.8))
    for (x_px, y_px), color in zip(keypoints_px.tolist(), colors, strict=False):
        if math.isnan(x_px) or math.isnan(y_px):
            continue
        painter.setBrush(color)
        centre = QPointF((x_px + 0.5) * scale_x - 0.5, (y_px + 0.5) * scale_y - 0.5)
        painter.drawEllipse(centre, DOT_RADIUS_PX, DOT_RADIUS_PX)
    painter.end()
    return scaled


class ThumbnailLoader(QThread):
    """Loads and draws thumbnails of labelled frames, in order, until done or interrupted.

    Signals:
        thumbnail_ready(int, int, QImage): generation, row index, thumbnail.
        thumbnail_failed(int, int, str): generation, row index, why (missing or unreadable file).
    """

    thumbnail_ready = Signal(int, int, QImage)
    thumbnail_failed = Signal(int, int, str)

    def __init__(
        self,
        generation: int,
        jobs: Sequence[ThumbnailJob],
        colors: Sequence[QColor],
        max_width_px: int,
        max_height_px: int,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.generation = generation
        self._jobs = list(jobs)
        self._colors = [QColor(c) for c in colors]
        self._size = (max_width_px, max_height_px)

    def run(self) -> None:
        """Draw every job's thumbnail; stop early when interrupted."""
        for job in self._jobs:
            if self.isInterruptionRequested():
                return
            image = QImage(str(job.image_path))
            if image.isNull():
                why = "file missing" if not job.image_path.is_file() else "not a readable image"
                self.thumbnail_failed.emit(self.generation, job.row_idx, f"{job.image_path}: {why}")
                continue
            thumbnail = render_thumbnail(image, job.keypoints_px, self._colors, *self._size)
            self.thumbnail_ready.emit(self.generation, job.row_idx, thumbnail)
