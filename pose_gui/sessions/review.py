"""ReviewSession: the one owner of what the Review pane shows about a video besides its pixels.

UI-free (a QObject, no widgets). For AppState's current run and video it owns the predictions
(loaded once, in a thread), their problem scores and the frames flagged at the current threshold,
the comparison run and its predictions, and the ``pose-predict`` job. The Review pane renders what
it announces and forwards the user's intents (choose a comparison run, Predict, Cancel, move the
jump threshold); it holds none of this state.

It follows AppState: another project forgets the comparison run; another run or video reloads;
``runs_changed`` (a training run or a prediction ended, anywhere) reloads when the current run has
no predictions yet and now has some, so predictions written at the end of training appear without
choosing the run again.

An ensemble is shown as a run: :class:`~pose_gui.sessions.review_ensemble.EnsembleReview`
(:attr:`ReviewSession.ensemble`) says which file the keypoints come from (EKS, ensemble mean or a
member) and owns the ensemble's uncertainty traces and its "Predict with EKS" job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from pose_core.errors import DataError
from pose_core.runs.status import RunStatus
from pose_gui.models.predictions import (
    FrameProblems,
    ProblemScores,
    VideoPredictions,
    check_frame_count,
    flag_problems,
    load_video_predictions,
    pca_error_px,
    problem_scores,
    video_predictions_path,
)
from pose_gui.models.state import AppState
from pose_gui.sessions.review_ensemble import EnsembleReview
from pose_gui.workers.latest import LatestRunner
from pose_gui.workers.predict_job import PredictJob

if TYPE_CHECKING:
    from pose_core.project import Project
    from pose_core.video.reader import VideoInfo

DEFAULT_JUMP_PX = 20.0


def load_predictions_and_scores(
    path: Path, names: list[str] | None, run_dir: Path
) -> tuple[VideoPredictions, ProblemScores]:
    """Read predictions and score their frames for the problem strip (worker thread; rows are checked later)."""
    preds = load_video_predictions(path, None, names)
    return preds, problem_scores(preds.xy_lik, pca_error_px(run_dir, preds.xy_lik[:, :, :2]))


def list_review_runs(project: Project | None) -> list[tuple[Path, str, str, bool]]:
    """The project's runs as ``(path, label, status, has_checkpoint)``, newest first (worker thread)."""
    if project is None:
        return []
    from pose_core.runs import list_runs
    from pose_core.runs.layout import find_last_checkpoint

    return [
        (run.path, f"{run.name} ({run.status})", run.status,
         run.source != "PoseDesk" or find_last_checkpoint(run.path) is not None)  # other tools keep theirs elsewhere
        for run in list_runs(project)
    ]  # fmt: skip


class ReviewSession(QObject):
    """Predictions, comparison, problems and the prediction job of the current run and video.

    Signals:
        predictions_changed(object): The predictions shown (:class:`VideoPredictions`) or None.
        compare_changed(object): The comparison run's predictions, or None.
        problems_changed(object): The flagged frames (:class:`FrameProblems`) or None.
        message_changed(str, bool): What to say about the predictions (text, is an error); "" = nothing.
        runs_listed(list): The project's runs, ``(path, label, status, has_checkpoint)``, newest first.
        predict_running_changed(bool): A prediction job started (True) or ended.
        predict_progressed(int, int, str): Frames done, frames in all, a text with frames/s and ETA.

    Attributes:
        predictions, scores, problems, compare, compare_run, predict_job: The owned state.
        video_info: The open video (the pane tells it once the video opened; frame counts are checked against it).
        jump_px: Jump threshold of the problem flags (pixels between frames).
    """

    predictions_changed = Signal(object)
    compare_changed = Signal(object)
    problems_changed = Signal(object)
    message_changed = Signal(str, bool)
    runs_listed = Signal(list)
    predict_running_changed = Signal(bool)
    predict_progressed = Signal(int, int, str)

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.video_info: VideoInfo | None = None
        self.predictions: VideoPredictions | None = None
        self.scores: ProblemScores | None = None
        self.problems: FrameProblems | None = None
        self.compare: VideoPredictions | None = None
        self.compare_run: Path | None = None
        self.predict_job: PredictJob | None = None
        self.runs: list[tuple[Path, str, str, bool]] = []
        self.jump_px = DEFAULT_JUMP_PX
        self._pending: tuple[VideoPredictions, ProblemScores] | None = None
        self._predict_job_id: int | None = None
        self._tasks = LatestRunner(self)
        self.ensemble = EnsembleReview(state, self)
        self.ensemble.uncertainty_changed.connect(lambda _uncertainty: self.update_problems())
        state.project_changed.connect(self._on_state_project_changed)
        state.run_changed.connect(lambda _run: self._on_run_or_video_changed())
        state.video_changed.connect(lambda _video: self._on_video_changed())
        state.runs_changed.connect(self._on_state_runs_changed)

    # ------------------------------------------------------------------ reading

    def is_loading(self) -> bool:
        """True while runs, predictions or the ensemble's uncertainty are read."""
        return self._tasks.is_running() or self.ensemble.is_loading()

    def predictions_path(self, run_dir: Path, video: Path) -> Path:
        """The file drawn for ``run_dir`` on ``video``: the ensemble's chosen source, else the run's predictions."""
        return self.ensemble.predictions_path(run_dir, video) or video_predictions_path(run_dir, video)

    def run_has_checkpoint(self, run_dir: Path | None) -> bool:
        """True if ``run_dir`` (as listed) has a checkpoint to predict with (unknown runs count as yes)."""
        row = next((r for r in self.runs if run_dir is not None and r[0] == Path(run_dir)), None)
        return row is None or row[3]

    def default_run(self, video: Path) -> Path | None:
        """The run shown by default for ``video``: the newest finished run with predictions of it, else the newest."""
        with_preds = [r for r in self.runs if video_predictions_path(r[0], video).is_file()]
        finished = [r for r in with_preds if r[2] == RunStatus.FINISHED]
        chosen = finished or with_preds
        return chosen[0][0] if chosen else None

    def hidden_keypoints_text(self, frame_idx: int) -> str:
        """``All 18 keypoints are below the likelihood threshold 0.90…`` when the threshold hides every point, else ""."""
        preds = self.predictions
        if preds is None or not 0 <= frame_idx < preds.n_frames:
            return ""
        likelihood = preds.xy_lik[frame_idx, :, 2]
        threshold = self.state.likelihood_threshold
        finite = np.isfinite(likelihood)
        if not finite.any() or (likelihood[finite] >= threshold).any():
            return ""
        n = int(finite.sum())
        return (
            f"All {n} keypoints are below the likelihood threshold {threshold:.2f} (highest "
            f"{float(np.nanmax(likelihood)):.2f}): lower it, or tick 'Fade'."
        )

    # ------------------------------------------------------------------ intents

    def refresh_runs(self) -> None:
        """List the project's runs again (in a thread)."""
        self._tasks.run(
            "runs", list_review_runs, self.state.project, on_success=self._on_runs_listed,
            on_error=lambda error: self.state.report_error(error, "Cannot list the runs"),
        )  # fmt: skip
        self.ensemble.refresh()

    def set_video_info(self, info: VideoInfo | None) -> None:
        """The video opened (its frame count is known now): take predictions that were waiting for it."""
        self.video_info = info
        if info is None:
            return
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._accept_predictions(pending)
        self._load_compare()

    def reload(self) -> None:
        """Read the current run's predictions of the current video in a thread (while the video opens)."""
        self._set_predictions(None, None)
        self._pending = None
        self._tasks.invalidate("preds")
        run_dir, video = self.state.run_dir, self.state.video_path
        if video is None:
            self.message_changed.emit("", False)
            return
        if run_dir is None:
            self.message_changed.emit("Choose a run to show its predictions on this video.", False)
            return
        path = self.predictions_path(run_dir, video)
        if not path.is_file():
            missing = self.ensemble.missing_text(video) if self.ensemble.group is not None else ""
            self.message_changed.emit(missing or self._no_predictions_text(run_dir, video, path), False)
            return
        self.message_changed.emit(f"Reading {path.name}…", False)
        self._tasks.run(
            "preds", load_predictions_and_scores, path, self._project_keypoints(), run_dir,
            on_success=self._accept_predictions, on_error=lambda error: self.message_changed.emit(str(error), True),
        )  # fmt: skip
        self._load_compare()

    def set_compare_run(self, run_dir: Path | None) -> None:
        """Overlay ``run_dir``'s predictions of this video (None: no comparison)."""
        self.compare_run = Path(run_dir) if run_dir is not None else None
        self._load_compare()

    def set_jump_px(self, jump_px: float) -> None:
        """Flag frames where a keypoint moves more than ``jump_px`` pixels."""
        self.jump_px = float(jump_px)
        self.update_problems()

    def update_problems(self) -> None:
        """Flag the problem frames again (the pane calls it once the threshold slider rests)."""
        if self.predictions is None or self.scores is None:
            return
        uncertainty = self.ensemble.uncertainty if self.ensemble.group is not None else None
        frame_spread = np.fmax.reduce(uncertainty.spread_px, axis=1) if uncertainty is not None else None
        self.problems = flag_problems(self.scores, self.state.likelihood_threshold, self.jump_px, frame_spread)
        self.problems_changed.emit(self.problems)

    def prediction_exists(self) -> Path | None:
        """The predictions file Predict video would overwrite, if there is one."""
        run_dir, video = self.state.run_dir, self.state.video_path
        if run_dir is None or video is None:
            return None
        path = video_predictions_path(run_dir, video)
        return path if path.is_file() else None

    def start_prediction(self) -> bool:
        """Run ``pose-predict`` on the current video with the current run (the caller asked about overwriting).

        Returns:
            False if refused (nothing chosen, no checkpoint, or a prediction runs).
        """
        run_dir, video = self.state.run_dir, self.state.video_path
        if run_dir is None or video is None:
            self.state.report_error(
                DataError("Choose a video and a run first, then click Predict video."), "Cannot predict"
            )
            return False
        if not self.run_has_checkpoint(run_dir):
            self.state.report_error(
                DataError(
                    f"Run {run_dir.parent.name}/{run_dir.name} saved no model (it ended before its first epoch); "
                    "choose another run or train again.",
                    path=str(run_dir),
                ),
                "Cannot predict",
            )
            return False
        if self.predict_job is not None and self.predict_job.is_running():
            return False
        job = PredictJob(run_dir, video, parent=self)
        job.progressed.connect(self.predict_progressed)
        job.ended.connect(self._on_predict_job_ended)
        self.predict_job = job
        self._predict_job_id = self.state.add_job(f"Predicting {video.name} with run {run_dir.name}")
        job.start()
        self.predict_running_changed.emit(True)
        return True

    def cancel_prediction(self) -> None:
        """Cancel the running prediction."""
        if self.predict_job is not None:
            self.predict_job.cancel()

    def shutdown(self) -> None:
        """Stop the threads and the prediction processes."""
        self.ensemble.shutdown()
        self._tasks.shutdown()
        if self.predict_job is not None:
            self.predict_job.shutdown()

    # ------------------------------------------------------------------ following AppState

    def _on_state_project_changed(self, _project: Project | None) -> None:
        """Another project: nothing of the previous one may stay (comparison run, runs, predictions)."""
        self.ensemble.forget()
        self.compare_run = None
        self.runs = []
        self._set_compare(None)
        self._tasks.invalidate()
        self.refresh_runs()

    def _on_run_or_video_changed(self) -> None:
        self.ensemble.follow_run(self.state.run_dir)
        self.reload()

    def _on_video_changed(self) -> None:
        self.video_info = None
        self.reload()
        self.ensemble.load_uncertainty()

    def _on_state_runs_changed(self) -> None:
        self.refresh_runs()
        if self.predictions is None and not self._tasks.is_running("preds") and self.prediction_exists():
            self.reload()  # e.g. the training run just wrote its video predictions

    def _on_runs_listed(self, runs: list[tuple[Path, str, str, bool]]) -> None:
        self.runs = list(runs)
        self.runs_listed.emit(self.runs)

    # ------------------------------------------------------------------ results

    def _no_predictions_text(self, run_dir: Path, video: Path, path: Path) -> str:
        name = f"{run_dir.parent.name}/{run_dir.name}"
        if not self.run_has_checkpoint(run_dir):
            return f"Run {name} has no predictions for {video.name} and saved no model to predict with."
        return f"Run {name} has no predictions for {video.name} (expected {path}): click Predict video."

    def _project_keypoints(self) -> list[str] | None:
        project = self.state.project
        return list(project.keypoint_names) if project is not None else None

    def _accept_predictions(self, result: tuple[VideoPredictions, ProblemScores]) -> None:
        if self.video_info is None:
            self._pending = result  # accepted when the video has opened (its frame count is known)
            return
        predictions, scores = result
        try:
            check_frame_count(predictions, self.video_info.n_frames)
        except DataError as error:
            self.message_changed.emit(str(error), True)
            return
        self.message_changed.emit("", False)
        self._set_predictions(predictions, scores)
        self.update_problems()

    def _set_predictions(self, predictions: VideoPredictions | None, scores: ProblemScores | None) -> None:
        self.predictions, self.scores = predictions, scores
        if predictions is None:
            self.problems = None
            self.problems_changed.emit(None)
        self.predictions_changed.emit(predictions)

    def _load_compare(self) -> None:
        self._set_compare(None)
        self._tasks.invalidate("compare")
        if self.compare_run is None or self.video_info is None:
            return
        path = video_predictions_path(self.compare_run, self.video_info.path)
        self._tasks.run(
            "compare", load_predictions_and_scores, path, self._project_keypoints(), self.compare_run,
            on_success=self._on_compare_loaded, on_error=self._on_compare_failed,
        )  # fmt: skip

    def _on_compare_loaded(self, result: tuple[VideoPredictions, Any]) -> None:
        try:
            check_frame_count(result[0], self.video_info.n_frames if self.video_info is not None else -1)
        except DataError as error:
            self._on_compare_failed(error)
            return
        self._set_compare(result[0])

    def _on_compare_failed(self, error: BaseException) -> None:
        self.message_changed.emit(f"Cannot compare: {error}", True)

    def _set_compare(self, compare: VideoPredictions | None) -> None:
        self.compare = compare
        self.compare_changed.emit(compare)

    def _on_predict_job_ended(self, ok: bool, message: str, _output: Path | None) -> None:
        if self._predict_job_id is not None:
            self.state.remove_job(self._predict_job_id)
            self._predict_job_id = None
        self.predict_running_changed.emit(False)
        self.state.post_message(message, 8000)
        if ok:
            self.reload()
        else:
            self.message_changed.emit(message, True)
        self.state.runs_changed.emit()
