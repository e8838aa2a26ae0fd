"""The Review pane's exports: the frame on screen as a PNG, a frame range as a labelled mp4 clip.

:class:`ReviewExports` asks where to save (in the project's ``exports/`` folder by default: a clip
saved in ``videos/`` would become a project video, predicted after every training run) and writes in
a thread. It reads what it needs from the :class:`~pose_gui.sessions.review.ReviewSession` and the
pane's controls; it holds no review state of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from pose_core.errors import DataError
from pose_core.video.formats import labeled_clip_name
from pose_gui import dialogs
from pose_gui.style import keypoint_colors
from pose_gui.views.review.export import export_clip, export_frame_png
from pose_gui.workers.latest import LatestRunner

if TYPE_CHECKING:
    from pose_core.video.reader import VideoInfo
    from pose_gui.sessions.review import ReviewSession
    from pose_gui.views.review.inspect_panel import InspectPanel
    from pose_gui.views.review.sources import SourceBar

EXPORTS_DIRNAME = "exports"


class ReviewExports(QObject):
    """Export PNG / Export clip of the Review pane."""

    def __init__(self, session: ReviewSession, inspect: InspectPanel, sources: SourceBar, parent: QWidget) -> None:
        super().__init__(parent)
        self.session, self.state = session, session.state
        self.inspect, self.sources = inspect, sources
        self._parent = parent
        self._tasks = LatestRunner(self)

    def is_running(self) -> bool:
        """True while an export is written."""
        return self._tasks.is_running()

    def shutdown(self) -> None:
        """Wait for a running export."""
        self._tasks.shutdown()

    def export_folder(self, video_path: Path) -> Path:
        """Where exports are suggested: ``<project>/exports/``, or the video's folder without a project."""
        project = self.state.project
        return project.root / EXPORTS_DIRNAME if project is not None else video_path.parent

    def _colors_bgr(self) -> list[tuple[int, int, int]]:
        preds = self.session.predictions
        names = preds.keypoint_names if preds is not None else []
        return [(c.blue(), c.green(), c.red()) for c in keypoint_colors(len(names))]

    def export_png(self, image: np.ndarray | None, frame_idx: int, video_info: VideoInfo | None) -> None:
        """Save the frame on screen with its keypoints as a PNG."""
        if image is None or video_info is None:
            return
        name = f"{video_info.path.stem}_frame{frame_idx}.png"
        path = dialogs.ask_save_path(
            self._parent, "Export frame", self.export_folder(video_info.path) / name, "PNG images (*.png)"
        )
        if path is None:
            return
        preds = self.session.predictions
        points = preds.frame(frame_idx) if preds is not None else None
        threshold = -1.0 if self.inspect.fade else self.state.likelihood_threshold
        self._tasks.run(
            "png", export_frame_png, image, points, self._colors_bgr(), threshold, path,
            on_success=lambda out: self.state.post_message(f"Saved {out}", 8000),
            on_error=lambda error: self.state.report_error(error, "Cannot export the frame"),
        )  # fmt: skip

    def export_clip(self, video_info: VideoInfo | None) -> None:
        """Save the chosen frame range with keypoints as an mp4 clip."""
        preds = self.session.predictions
        if preds is None or video_info is None:
            self.state.report_error(
                DataError("Load predictions for this video first, then export a clip."), "Cannot export"
            )
            return
        start, stop = self.inspect.clip_range()
        name = labeled_clip_name(video_info.path, start, stop - 1)  # never listed as a project video
        path = dialogs.ask_save_path(
            self._parent, "Export labelled clip", self.export_folder(video_info.path) / name, "MP4 videos (*.mp4)"
        )
        if path is None:
            return
        job_id = self.state.add_job(f"Exporting clip {path.name}")

        def finish() -> None:
            self.state.remove_job(job_id)
            self.sources.progress.setVisible(False)

        task = self._tasks.run(
            "clip", export_clip, video_info.path, preds.xy_lik, (start, stop), self._colors_bgr(),
            self.state.likelihood_threshold, path, on_success=lambda out: self.state.post_message(f"Saved {out}", 8000),
            on_error=lambda error: self.state.report_error(error, "Cannot export the clip"), report_progress=True,
        )  # fmt: skip
        task.progressed.connect(self.sources.set_progress)
        task.finished.connect(finish)
        self.sources.progress.setVisible(True)
