"""ThumbnailGrid: the labelled frames of a project as a grid of small images with their labels drawn.

Tiles appear at once with a grey placeholder; a :class:`ThumbnailLoader` thread fills them in.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QListView, QWidget

from pose_gui.workers.tasks import stop_thread
from pose_gui.workers.thumbnails import ThumbnailJob, ThumbnailLoader

if TYPE_CHECKING:
    from pose_core.project import Project

THUMB_WIDTH_PX = 168
THUMB_HEIGHT_PX = 126
MAX_THUMBNAILS = 600
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # "pending", "ready" or "failed"


def _placeholder(color: str, size: QSize) -> QIcon:
    pixmap = QPixmap(size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class ThumbnailGrid(QListView):
    """Grid of labelled-frame thumbnails (at most :data:`MAX_THUMBNAILS`).

    Signals:
        loading_finished(): Every tile has its thumbnail or its error.
    """

    loading_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSpacing(4)
        self.setIconSize(QSize(THUMB_WIDTH_PX, THUMB_HEIGHT_PX))
        self.setGridSize(QSize(THUMB_WIDTH_PX + 12, THUMB_HEIGHT_PX + 30))
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self._model = QStandardItemModel(self)
        self.setModel(self._model)
        self._loader: ThumbnailLoader | None = None
        self._generation = 0
        self._n_pending = 0

    @property
    def item_model(self) -> QStandardItemModel:
        """The tiles: one item per shown frame (``ROW_ROLE`` = labels row, ``STATE_ROLE`` = load state)."""
        return self._model

    def is_loading(self) -> bool:
        """True while thumbnails are still being drawn."""
        return self._n_pending > 0

    def set_project(self, project: Project | None, colors: list[QColor]) -> None:
        """Show the labelled frames of ``project`` (None = empty grid) and start drawing them."""
        self.shutdown()
        self._generation += 1
        self._model.clear()
        if project is None or project.n_labeled_frames == 0:
            self._n_pending = 0
            return
        n_shown = min(project.n_labeled_frames, MAX_THUMBNAILS)
        jobs = [ThumbnailJob(i, project.image_path(i), project.labels.keypoints_px[i]) for i in range(n_shown)]
        self._fit_tiles_to(jobs)
        self._add_tiles(project, jobs)
        self._n_pending = len(jobs)
        self._loader = ThumbnailLoader(self._generation, jobs, colors, THUMB_WIDTH_PX, THUMB_HEIGHT_PX, self)
        self._loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)
        self._loader.thumbnail_failed.connect(self._on_loader_thumbnail_failed)
        self._loader.start()

    def _fit_tiles_to(self, jobs: list[ThumbnailJob]) -> None:
        """Size the tiles for the frames' aspect ratio (read from the first image's header only)."""
        frame_size = next((s for s in (QImageReader(str(j.image_path)).size() for j in jobs[:5]) if s.isValid()), None)
        icon = QSize(THUMB_WIDTH_PX, THUMB_HEIGHT_PX)
        if frame_size is not None:
            icon = frame_size.scaled(icon, Qt.AspectRatioMode.KeepAspectRatio)
        self.setIconSize(icon)
        text_height_px = 2 * self.fontMetrics().height()
        self.setGridSize(QSize(icon.width() + 14, icon.height() + text_height_px + 8))

    def _add_tiles(self, project: Project, jobs: list[ThumbnailJob]) -> None:
        placeholder = _placeholder("#d0d0d0", self.iconSize())
        n_keypoints = project.labels.n_keypoints
        for job in jobs:
            n_labelled = sum(
                1 for x_px, y_px in job.keypoints_px.tolist() if not (math.isnan(x_px) or math.isnan(y_px))
            )
            rel_path = project.labels.image_paths[job.row_idx]
            item = QStandardItem(placeholder, Path(rel_path).name)
            item.setEditable(False)
            item.setData(job.row_idx, ROW_ROLE)
            item.setData("pending", STATE_ROLE)
            item.setToolTip(f"{rel_path}\n{n_labelled} of {n_keypoints} keypoints labelled")
            self._model.appendRow(item)

    def _on_loader_thumbnail_ready(self, generation: int, row_idx: int, image: QImage) -> None:
        if generation != self._generation:
            return
        item = self._model.item(row_idx)
        if item is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))
            item.setData("ready", STATE_ROLE)
        self._count_done()

    def _on_loader_thumbnail_failed(self, generation: int, row_idx: int, message: str) -> None:
        if generation != self._generation:
            return
        item = self._model.item(row_idx)
        if item is not None:
            item.setIcon(_placeholder("#f2b8b5", self.iconSize()))
            item.setText(f"{item.text()}\n(missing)")
            item.setToolTip(message)
            item.setData("failed", STATE_ROLE)
        self._count_done()

    def _count_done(self) -> None:
        self._n_pending = max(0, self._n_pending - 1)
        if self._n_pending == 0:
            self.loading_finished.emit()

    def shutdown(self) -> None:
        """Stop drawing (the thread ends before this returns)."""
        stop_thread(self._loader)
        self._loader = None
        self._n_pending = 0
