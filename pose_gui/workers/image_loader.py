"""ImageFileLoader: the decoding thread of the label pane (labelled images instead of video frames).

It is a :class:`~pose_gui.workers.frame_loader.FrameLoader` (same latest-request-wins queue, LRU
cache and ``frame_ready(request_id, index, image)`` answers) whose "frames" are image files: the
GUI registers each image path once (:meth:`index_of`) and requests it by that index. Reading
ahead serves the next images of the frame list, so "next frame" is usually already decoded.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from pose_core.errors import DataError
from pose_gui.workers.frame_loader import FrameLoader


def read_image_rgb(path: Path, *, fix: str = "restore it (or remove its row from the labels)") -> np.ndarray:
    """Read an image file as RGB uint8 (grey images as RGB); call it in a worker thread.

    Args:
        path: The image file.
        fix: What the user can do when it cannot be read (ends the error message).

    Raises:
        DataError: The file is missing or not an image.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"Image {path} is missing or not an image: {fix}.", path=str(path))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class ImageFileLoader(FrameLoader):
    """Reads image files in a thread; index ``i`` is the ``i``-th path given to :meth:`index_of`."""

    def __init__(self, cache_frames: int = 64, read_ahead_frames: int = 3, parent: QObject | None = None) -> None:
        super().__init__(Path("."), cache_frames=cache_frames, read_ahead_frames=read_ahead_frames, parent=parent)
        self._paths: list[Path] = []
        self._index: dict[Path, int] = {}
        self._paths_lock = threading.Lock()

    def index_of(self, path: Path) -> int:
        """The index that requests ``path`` (registered on first use)."""
        path = Path(path)
        with self._paths_lock:
            if path not in self._index:
                self._index[path] = len(self._paths)
                self._paths.append(path)
                self._n_frames = len(self._paths)
            return self._index[path]

    def run(self) -> None:
        """Serve requests until interrupted (no file to open first)."""
        with self._condition:
            self._n_frames = len(self._paths)
        self._serve(None)  # type: ignore[arg-type]

    def _preview(self, reader: object, request_id: int, frame_idx: int) -> None:
        """No approximate preview: image files have no keyframes (and there is no video reader)."""

    def _frame(self, reader: object, frame_idx: int) -> np.ndarray:
        with self._condition:
            cached = self.cache.get(frame_idx)
        if cached is not None:
            return cached
        with self._paths_lock:
            if not 0 <= frame_idx < len(self._paths):
                raise IndexError(f"no image registered as {frame_idx}")
            path = self._paths[frame_idx]
        image = read_image_rgb(path)
        image.flags.writeable = False
        self.n_decoded += 1
        with self._condition:
            self.cache.put(frame_idx, image)
        return image
