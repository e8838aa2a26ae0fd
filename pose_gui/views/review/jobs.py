"""The review pane's jobs: ``pose-predict`` on the current video, and exporting a frame or a labelled clip.

:class:`ReviewJobsMixin` is mixed into :class:`~pose_gui.views.video_review.VideoReviewPane`; it uses
the pane's state, controls and task runner (declared below for type checkers).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QLabel

from pose_core.errors import DataError
from pose_gui import dialogs
from pose_gui.style import keypoint_colors
from pose_gui.views.review.export import export_clip, export_frame_png
from pose_gui.workers.predict_job import PredictJob

if TYPE_CHECKING:
    from pose_core.video.reader import VideoInfo
    from pose_gui.models.predictions import VideoPredictions
    from pose_gui.models.state import AppState
    from pose_gui.views.review.inspect_panel import InspectPanel
    from pose_gui.views.review.sources import SourceBar
    from pose_gui.workers.tasks import TaskThread


class ReviewJobsMixin:
    """Prediction job and export actions of the review pane."""

    if TYPE_CHECKING:  # provided by the pane
        state: AppState
        sources: SourceBar
        inspect: InspectPanel
        preds_message: QLabel
        predictions: VideoPredictions | None
        video_info: VideoInfo | None
        current_image: np.ndarray | None
        shown_frame_idx: int
        predict_job: PredictJob | None
        _predict_job_id: int | None
        _run_task: Callable[..., TaskThread]
        _show: Callable[..., None]
        load_predictions: Callable[[], None]

    def start_prediction(self) -> None:
        """Run ``pose-predict`` on the current video with the current run."""
        run_dir, video = self.state.run_dir, self.state.video_path
        if run_dir is None or video is None:
            self.state.report_error(
                DataError("Choose a video and a run first, then click Predict video."), "Cannot predict"
            )
            return
        job = PredictJob(run_dir, video, parent=self)  # type: ignore[arg-type]
        job.progressed.connect(self.sources.set_progress)
        job.ended.connect(self._on_predict_job_ended)
        self.predict_job = job
        self._predict_job_id = self.state.add_job(f"Predicting {video.name} with run {run_dir.name}")
        self.sources.set_job_running(True)
        job.start()

    def cancel_prediction(self) -> None:
        """Cancel the running prediction."""
        if self.predict_job is not None:
            self.predict_job.cancel()

    def _on_predict_job_ended(self, ok: bool, message: str, _output: Path | None) -> None:
        self.sources.set_job_running(False)
        if self._predict_job_id is not None:
            self.state.remove_job(self._predict_job_id)
            self._predict_job_id = None
        self.state.post_message(message, 8000)
        if ok:
            self.load_predictions()
        else:
            self._show(self.preds_message, message)
        self.state.runs_changed.emit()

    # ------------------------------------------------------------------ export

    def _colors_bgr(self) -> list[tuple[int, int, int]]:
        names = self.predictions.keypoint_names if self.predictions is not None else []
        return [(c.blue(), c.green(), c.red()) for c in keypoint_colors(len(names))]

    def export_png(self) -> None:
        """Save the frame on screen with its keypoints as a PNG."""
        if self.current_image is None or self.video_info is None:
            return
        suggested = self.video_info.path.with_name(f"{self.video_info.path.stem}_frame{self.shown_frame_idx}.png")
        path = dialogs.ask_save_path(
            self,  # type: ignore[arg-type]
            "Export frame",
            suggested,
            "PNG images (*.png)",
        )
        if path is None:
            return
        points = self.predictions.frame(self.shown_frame_idx) if self.predictions is not None else None
        threshold = -1.0 if self.inspect.fade else self.state.likelihood_threshold
        self._run_task(
            "export", export_frame_png, self.current_image, points, self._colors_bgr(), threshold, path,
            on_success=lambda out: self.state.post_message(f"Saved {out}", 8000), error_title="Cannot export the frame",
        )  # fmt: skip

    def export_clip(self) -> None:
        """Save the chosen frame range with keypoints as an mp4 clip."""
        if self.predictions is None or self.video_info is None:
            self.state.report_error(
                DataError("Load predictions for this video first, then export a clip."), "Cannot export"
            )
            return
        start, stop = self.inspect.clip_range()
        suggested = self.video_info.path.with_name(f"{self.video_info.path.stem}_{start}-{stop - 1}_labeled.mp4")
        path = dialogs.ask_save_path(
            self,  # type: ignore[arg-type]
            "Export labelled clip",
            suggested,
            "MP4 videos (*.mp4)",
        )
        if path is None:
            return
        job_id = self.state.add_job(f"Exporting clip {path.name}")
        task = self._run_task(
            "clip", export_clip, self.video_info.path, self.predictions.xy_lik, (start, stop), self._colors_bgr(),
            self.state.likelihood_threshold, path, on_success=lambda out: self.state.post_message(f"Saved {out}", 8000),
            error_title="Cannot export the clip", report_progress=True,
        )  # fmt: skip
        task.progressed.connect(self.sources.set_progress)
        self.sources.progress.setVisible(True)

        def finish() -> None:
            self.state.remove_job(job_id)
            self.sources.progress.setVisible(False)

        task.finished.connect(finish)
