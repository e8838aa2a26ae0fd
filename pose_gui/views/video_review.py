"""VideoReviewPane ("review"): predicted keypoints on a video frame by frame, and errors on the labelled frames.

The video tab shows the frame from a :class:`FrameLoader` thread with the keypoints of that same
frame (the predictions are one array, loaded once in a thread), navigation, a likelihood threshold
slider (AppState's threshold), per-keypoint visibility, trails, a trace plot with a problem strip,
the comparison with a second run, export, and ``pose-predict`` as a child process. The labelled
frames tab is :class:`LabeledFramesView`. Bad input is shown in the pane; the rest keeps working.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from pose_core.errors import DataError
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
from pose_gui.style import ERROR_COLOR, keypoint_colors
from pose_gui.views.review.inspect_panel import InspectPanel
from pose_gui.views.review.jobs import ReviewJobsMixin
from pose_gui.views.review.labeled import LabeledFramesView
from pose_gui.views.review.latest_tasks import LatestTasks
from pose_gui.views.review.navigation import NavigationBar
from pose_gui.views.review.sources import SourceBar
from pose_gui.views.review.traces import TracePlot
from pose_gui.views.review.viewer import FrameView, OverlayOptions
from pose_gui.workers.frame_loader import FrameLoader
from pose_gui.workers.tasks import TaskThread

if TYPE_CHECKING:
    from pose_core.project import Project
    from pose_core.video.reader import VideoInfo
    from pose_gui.workers.predict_job import PredictJob

PROBLEMS_DELAY_MS = 150  # problems are recomputed this long after the threshold stops moving
FALLBACK_FPS = 30.0
PLAYING_CONTROLS_INTERVAL_S = 0.1
MAX_PROBLEM_FRAMES_SENT = 50  # "Send problem frames to labelling" sends at most this many, spread over the strip


def _load_predictions(path: Path, names: list[str] | None, run_dir: Path) -> tuple[VideoPredictions, ProblemScores]:
    """Read predictions and score their frames for the problem strip (worker thread; rows are checked later)."""
    preds = load_video_predictions(path, None, names)
    return preds, problem_scores(preds.xy_lik, pca_error_px(run_dir, preds.xy_lik[:, :, :2]))


def _runs_of(project: Project | None) -> list[tuple[Path, str]]:
    """The project's runs as ``(path, label)`` (worker thread)."""
    if project is None:
        return []
    from pose_core.runs import list_runs

    return [(run.path, f"{run.name} ({run.status})") for run in list_runs(project)]


class VideoReviewPane(ReviewJobsMixin, QWidget):
    """The Review pane (see the module docstring).

    Signals:
        frame_shown(int): A frame and its keypoints were drawn (its index).
    """

    frame_shown = Signal(int)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.loader: FrameLoader | None = None
        self.video_info: VideoInfo | None = None
        self.predictions: VideoPredictions | None = None
        self.compare: VideoPredictions | None = None
        self.compare_run: Path | None = None
        self.problems: FrameProblems | None = None
        self.predict_job: PredictJob | None = None
        self.shown_frame_idx = -1
        self.current_image: np.ndarray | None = None
        self._scores: ProblemScores | None = None
        self._pending_preds: tuple[VideoPredictions, ProblemScores] | None = None
        self._retired: list[FrameLoader] = []
        self._tasks = LatestTasks(self)
        self._predict_job_id: int | None = None
        self._waiting_for_frame = False
        self._runs: list[tuple[Path, str]] = []
        self._controls_moved_s = 0.0
        self._cursor_due = False
        self._build()
        self._connect()
        self._on_state_project_changed(state.project)
        self._on_state_threshold_changed(state.likelihood_threshold)
        if state.video_path is not None:
            self.open_video(state.video_path)

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self.sources = SourceBar()
        self.video_message = QLabel()
        self.preds_message = QLabel()
        for label in (self.video_message, self.preds_message):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.hide()
        self.view = FrameView()
        self.view.setToolTip("Wheel: zoom · drag: pan · F: fit the frame · right-click: view menu")
        self.nav = NavigationBar()
        self.inspect = InspectPanel()
        self.traces = TracePlot()
        self.labeled = LabeledFramesView()
        self.traces.setMinimumHeight(220)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.view)
        left.addWidget(self.traces)
        left.setStretchFactor(0, 1)
        left.setSizes([520, 260])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.inspect)
        split.setStretchFactor(0, 1)
        split.setSizes([950, 300])
        video_tab = QWidget()
        video_layout = QVBoxLayout(video_tab)
        video_layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.video_message, self.preds_message):
            video_layout.addWidget(widget)
        video_layout.addWidget(split, 1)
        video_layout.addWidget(self.nav)
        self.tabs = QTabWidget()
        self.tabs.addTab(video_tab, "Video")
        self.tabs.addTab(self.labeled, "Labelled frames")
        layout = QVBoxLayout(self)
        layout.addWidget(self.sources)
        layout.addWidget(self.tabs, 1)
        self.play_timer = QTimer(self)
        self.play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.problems_timer = QTimer(self)
        self.problems_timer.setSingleShot(True)
        self.problems_timer.setInterval(PROBLEMS_DELAY_MS)
        self._build_shortcuts()

    def _build_shortcuts(self) -> None:
        keys = {
            "Space": lambda: self.nav.set_playing(not self.nav.play_button.isChecked()),
            "Right": lambda: self.nav.step(1),
            "Left": lambda: self.nav.step(-1),
            "Shift+Right": lambda: self.nav.step(10),
            "Shift+Left": lambda: self.nav.step(-10),
            "Home": lambda: self.nav.step(-self.nav.n_frames),
            "End": lambda: self.nav.step(self.nav.n_frames),
            "N": lambda: self.go_to_problem(1),
            "P": lambda: self.go_to_problem(-1),
            "]": lambda: self.nav.change_speed(1),
            "[": lambda: self.nav.change_speed(-1),
            "Ctrl+G": lambda: self.nav.frame_box.setFocus(),
            "Ctrl+Shift+S": self.export_png,
            "F": self.view.reset_zoom,
        }
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _connect(self) -> None:
        state = self.state
        state.project_changed.connect(self._on_state_project_changed)
        state.runs_changed.connect(self._refresh_runs)
        state.run_changed.connect(self._on_state_run_changed)
        state.video_changed.connect(self._on_state_video_changed)
        state.frame_changed.connect(self._on_state_frame_changed)
        state.threshold_changed.connect(self._on_state_threshold_changed)
        self.sources.video_chosen.connect(state.set_video)
        self.sources.run_chosen.connect(state.set_run_dir)
        self.sources.compare_chosen.connect(self._on_sources_compare_chosen)
        self.sources.predict_clicked.connect(self.start_prediction)
        self.sources.cancel_clicked.connect(self.cancel_prediction)
        self.nav.frame_requested.connect(state.set_frame_idx)
        self.nav.play_toggled.connect(self._on_nav_play_toggled)
        self.nav.speed_changed.connect(lambda _speed: self._update_play_interval())
        self.play_timer.timeout.connect(self._on_play_timer_timeout)
        self.problems_timer.timeout.connect(self._update_problems)
        self.inspect.threshold_moved.connect(state.set_likelihood_threshold)
        self.inspect.overlay_changed.connect(self._redraw)
        self.inspect.traces_changed.connect(self._update_traces)
        self.inspect.problem_requested.connect(self.go_to_problem)
        self.inspect.jump_changed.connect(self._update_problems)
        self.inspect.export_png_clicked.connect(self.export_png)
        self.inspect.label_frame_clicked.connect(self.label_this_frame)
        self.inspect.send_problems_clicked.connect(self.send_problem_frames)
        self.inspect.export_clip_clicked.connect(self.export_clip)
        self.traces.frame_clicked.connect(state.set_frame_idx)

    # ------------------------------------------------------------------ state slots

    def _on_state_project_changed(self, project: Project | None) -> None:
        names = list(project.keypoint_names) if project is not None else []
        if project is not None:
            self.sources.folder = project.video_dir
        self.sources.set_videos(list(project.videos) if project is not None else [], self.state.video_path)
        if names and self.predictions is None:
            self.inspect.set_keypoints(names, keypoint_colors(len(names)))
            self.view.set_colors(keypoint_colors(len(names)))
        self._refresh_runs()
        self.labeled.load(self.state.run_dir, project)

    def _refresh_runs(self) -> None:
        self._run_task("runs", _runs_of, self.state.project, on_success=self._on_runs_listed)

    def _on_runs_listed(self, runs: list[tuple[Path, str]]) -> None:
        self.sources.set_runs(runs, self.state.run_dir, self.compare_run)
        self._runs = runs
        self._choose_defaults()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._choose_defaults()

    def _choose_defaults(self) -> None:
        """When shown with nothing chosen: the project's first video and its newest run with predictions of it."""
        project = self.state.project
        if not self.isVisible() or project is None:
            return
        if self.state.video_path is None and project.videos:
            self.state.set_video(project.videos[0])
        video = self.state.video_path
        if self.state.run_dir is None and video is not None:
            with_preds = [path for path, _ in self._runs if video_predictions_path(path, video).is_file()]
            if with_preds:
                self.state.set_run_dir(with_preds[0])

    def _on_state_run_changed(self, run_dir: Path | None) -> None:
        self._refresh_runs()
        self.load_predictions()
        self.labeled.load(run_dir, self.state.project)

    def _on_state_video_changed(self, video_path: Path | None) -> None:
        project = self.state.project
        self.sources.set_videos(list(project.videos) if project is not None else [], video_path)
        self.open_video(video_path)

    def _on_state_frame_changed(self, frame_idx: int) -> None:
        due = self._controls_due()
        self._cursor_due = self._cursor_due or due  # the trace cursor follows when the frame is drawn
        # (painting the traces while the frame decodes would delay it)
        self._request_frame(frame_idx)
        if due:
            self.nav.show_frame(min(frame_idx, max(0, self.nav.n_frames - 1)))

    def _controls_due(self) -> bool:
        """While playing, slider, counter and trace cursor move at 10 Hz (repainting them costs more than a frame)."""
        now = time.perf_counter()
        if self.is_playing and now - self._controls_moved_s < PLAYING_CONTROLS_INTERVAL_S:
            return False
        self._controls_moved_s = now
        return True

    def _move_controls(self, frame_idx: int) -> None:
        self.nav.show_frame(min(frame_idx, max(0, self.nav.n_frames - 1)))
        self.traces.set_cursor(frame_idx)

    def _on_state_threshold_changed(self, threshold: float) -> None:
        self.inspect.set_threshold(threshold)
        self.traces.set_threshold(threshold)
        self._redraw()
        self.problems_timer.start()

    # ------------------------------------------------------------------ video

    def open_video(self, video_path: Path | None) -> None:
        """Open ``video_path`` in a new loader thread (None closes the video)."""
        self._retire_loader()
        self.video_info = None
        self.predictions = self.compare = self.problems = None
        self.current_image, self.shown_frame_idx = None, -1
        self.view.clear_all()
        self.traces.set_traces(None, [], [])
        self.traces.set_problems(None)
        self.nav.set_range(0, 0.0)
        self._show(self.video_message, "")
        self._show(self.preds_message, "")
        if video_path is None:
            return
        loader = FrameLoader(Path(video_path), parent=self)
        loader.video_opened.connect(self._on_loader_video_opened)
        loader.open_failed.connect(self._on_loader_open_failed)
        loader.frame_ready.connect(self._on_loader_frame_ready)
        loader.frame_failed.connect(self._on_loader_frame_failed)
        self.loader = loader
        self._show(self.video_message, f"Opening {Path(video_path).name}…", error=False)
        loader.start()
        self.load_predictions()

    def _retire_loader(self) -> None:
        """Stop the current loader without waiting (it may still be opening a long video)."""
        self._set_playing(False)
        if self.loader is not None:
            for signal in (self.loader.video_opened, self.loader.frame_ready, self.loader.frame_failed):
                signal.disconnect()
            self.loader.open_failed.disconnect()
            self.loader.requestInterruption()
            self._retired.append(self.loader)
            self.loader = None
        for loader in [lo for lo in self._retired if lo.isFinished()]:
            self._retired.remove(loader)
            loader.deleteLater()

    def _on_loader_video_opened(self, info: VideoInfo) -> None:
        self.video_info = info
        self._show(self.video_message, "")
        self.nav.set_range(info.n_frames, info.fps)
        self._update_play_interval()
        self.inspect.set_clip_range(info.n_frames)
        self._request_frame(self.state.frame_idx)
        if self._pending_preds is not None:
            self._on_preds_loaded(self._pending_preds)
            self._pending_preds = None
        self._load_compare()

    def _on_loader_open_failed(self, error: BaseException) -> None:
        self._show(self.video_message, f"Cannot show this video: {error}")
        self.loader = None

    def _request_frame(self, frame_idx: int) -> None:
        if self.loader is None or self.video_info is None:
            return
        frame_idx = min(frame_idx, self.video_info.n_frames - 1)
        cached = self.loader.take_cached(frame_idx)
        if cached is not None:
            self._show_frame(frame_idx, cached)
            return
        self._waiting_for_frame = True
        self.loader.request(frame_idx)

    def _on_loader_frame_ready(self, request_id: int, frame_idx: int, image: np.ndarray) -> None:
        if self.loader is None or request_id != self.loader.latest_request_id:
            return  # a newer request is on its way
        self._show_frame(frame_idx, image)

    def _show_frame(self, frame_idx: int, image: np.ndarray) -> None:
        """Draw ``image`` (frame ``frame_idx``) and that frame's keypoints together."""
        self._waiting_for_frame = False
        self.current_image, self.shown_frame_idx = image, frame_idx
        if self._cursor_due:
            self._cursor_due = False
            self.traces.set_cursor(frame_idx)
        self.view.show_image(image)
        self._redraw()
        if self.video_message.isVisible() and not self.video_message.text().startswith("Opening"):
            self._show(self.video_message, "")
        self.frame_shown.emit(frame_idx)

    def _on_loader_frame_failed(self, request_id: int, frame_idx: int, error: BaseException) -> None:
        self._waiting_for_frame = False
        self.traces.set_cursor(frame_idx)
        self._set_playing(False)
        self._show(self.video_message, f"Cannot show frame {frame_idx}: {error}")

    # ------------------------------------------------------------------ playback

    def _on_nav_play_toggled(self, playing: bool) -> None:
        self._set_playing(playing)

    def _set_playing(self, playing: bool) -> None:
        playing = playing and self.video_info is not None
        if self.loader is not None:
            self.loader.set_playing(playing)
        if playing:
            if self.state.frame_idx >= self.nav.n_frames - 1:
                self.state.set_frame_idx(0)
            self._update_play_interval()
            self.play_timer.start()
        else:
            self.play_timer.stop()
            self._move_controls(self.state.frame_idx)
        if self.nav.play_button.isChecked() != playing:
            self.nav.set_playing(playing)

    @property
    def is_playing(self) -> bool:
        """True while the video plays."""
        return self.play_timer.isActive()

    def _update_play_interval(self) -> None:
        fps = self.video_info.fps if self.video_info is not None and self.video_info.fps > 0 else FALLBACK_FPS
        self.play_timer.setInterval(max(1, round(1000.0 / (fps * self.nav.speed))))

    def _on_play_timer_timeout(self) -> None:
        if self._waiting_for_frame:
            return  # decoding is slower than the frame rate: skip this tick rather than queue
        if self.state.frame_idx >= self.nav.n_frames - 1:
            self._set_playing(False)
            return
        self.state.set_frame_idx(self.state.frame_idx + 1)

    # ------------------------------------------------------------------ predictions

    def load_predictions(self) -> None:
        """Read the current run's predictions of the current video in a thread (while the video opens)."""
        self.predictions, self.problems, self._scores, self._pending_preds = None, None, None, None
        self.traces.set_traces(None, [], [])
        self.traces.set_problems(None)
        self._redraw()
        run_dir, video = self.state.run_dir, self.state.video_path
        if video is None or (self.loader is None and self.video_info is None):
            return  # no video, or it failed to open
        if run_dir is None:
            self._show(self.preds_message, "Choose a run to show its predictions on this video.", error=False)
            return
        path = video_predictions_path(run_dir, video)
        if not path.is_file():
            self._show(
                self.preds_message,
                f"Run {run_dir.parent.name}/{run_dir.name} has no predictions for {video.name} "
                f"(expected {path}): click Predict video.",
                error=False,
            )
            return
        self._show(self.preds_message, f"Reading {path.name}…", error=False)
        names = self._project_keypoints()
        self._run_task("preds", _load_predictions, path, names, run_dir, on_success=self._on_preds_loaded)
        self._load_compare()

    def _project_keypoints(self) -> list[str] | None:
        return list(self.state.project.keypoint_names) if self.state.project is not None else None

    def _on_preds_loaded(self, result: tuple[VideoPredictions, ProblemScores]) -> None:
        if self.video_info is None:
            self._pending_preds = result  # accepted when the video has opened (its frame count is known)
            return
        predictions, scores = result
        try:
            check_frame_count(predictions, self.video_info.n_frames)
        except DataError as error:
            self._show(self.preds_message, str(error))
            return
        self.predictions, self._scores = predictions, scores
        self._show(self.preds_message, "")
        colors = keypoint_colors(len(predictions.keypoint_names))
        self.view.set_colors(colors)
        self.inspect.set_keypoints(predictions.keypoint_names, colors)
        self._update_problems()
        self._update_traces()

    def _on_sources_compare_chosen(self, run_dir: Path | None) -> None:
        self.compare_run = Path(run_dir) if run_dir is not None else None
        self._load_compare()

    def _load_compare(self) -> None:
        self.compare = None
        self._redraw()
        if self.compare_run is None or self.video_info is None:
            return
        path = video_predictions_path(self.compare_run, self.video_info.path)
        names = self._project_keypoints()
        self._run_task(
            "compare", _load_predictions, path, names, self.compare_run,
            on_success=self._on_compare_loaded, on_error=self._on_compare_failed,
        )  # fmt: skip

    def _on_compare_loaded(self, result: tuple[VideoPredictions, Any]) -> None:
        try:
            check_frame_count(result[0], self.video_info.n_frames if self.video_info is not None else -1)
        except DataError as error:
            self._on_compare_failed(error)
            return
        self.compare = result[0]
        self._redraw()

    def _on_compare_failed(self, error: BaseException) -> None:
        self._show(self.preds_message, f"Cannot compare: {error}")

    def _update_problems(self) -> None:
        if self.predictions is None or self._scores is None:
            return
        self.problems = flag_problems(self._scores, self.state.likelihood_threshold, self.inspect.jump_px)
        self.traces.set_problems(self.problems)
        n_flagged = int(np.count_nonzero(self.problems.flags))
        self.inspect.set_problem_counts(self.problems.counts(), n_flagged, self._scores.pca_error_px is not None)
        self._redraw()

    def _update_traces(self) -> None:
        if self.predictions is None:
            return
        colors = keypoint_colors(len(self.predictions.keypoint_names))
        self.traces.set_traces(self.predictions.xy_lik, self.inspect.trace_keypoints(), colors)
        self.traces.set_cursor(self.state.frame_idx)

    def label_this_frame(self) -> None:
        """Queue the current frame in the label pane (the main window routes the intent)."""
        if self.state.video_path is not None:
            self.state.label_frames_requested.emit(self.state.video_path, [self.state.frame_idx], "from Review")

    def send_problem_frames(self) -> None:
        """Queue the problem strip's frames (at most :data:`MAX_PROBLEM_FRAMES_SENT`, spread) in the label pane."""
        if self.state.video_path is None or self.problems is None or not self.problems.flags.any():
            self.state.post_message("No problem frames to send: predict this video first.", 5000)
            return
        flagged = np.flatnonzero(self.problems.flags)
        if len(flagged) > MAX_PROBLEM_FRAMES_SENT:
            flagged = flagged[np.linspace(0, len(flagged) - 1, MAX_PROBLEM_FRAMES_SENT).round().astype(int)]
        self.state.label_frames_requested.emit(self.state.video_path, flagged.tolist(), "problem frame (Review)")

    def go_to_problem(self, step: int) -> None:
        """Jump to the next (+1) or previous (-1) frame with a problem."""
        if self.problems is None:
            return
        frame_idx = self.problems.next_problem(self.state.frame_idx, step)
        if frame_idx is None:
            self.state.post_message("No more problem frames in that direction.", 3000)
            return
        self.state.set_frame_idx(frame_idx)

    # ------------------------------------------------------------------ drawing

    def overlay_options(self) -> OverlayOptions:
        """The current drawing options."""
        return OverlayOptions(
            threshold=self.state.likelihood_threshold,
            fade=self.inspect.fade,
            visible=self.inspect.visible_mask(),
            skeleton=self.inspect.skeleton_pairs(),
            show_skeleton=self.inspect.show_skeleton,
        )

    def _redraw(self) -> None:
        """Draw the overlays of the frame on screen (the image's own frame, never another)."""
        frame_idx = self.shown_frame_idx
        ok = frame_idx >= 0 and self.predictions is not None and frame_idx < self.predictions.n_frames
        options = self.overlay_options()
        self.view.show_points(self.predictions.frame(frame_idx) if ok else None, options)  # type: ignore[union-attr]
        n_trail = self.inspect.trail_frames
        trail = self.predictions.xy_lik[max(0, frame_idx - n_trail) : frame_idx] if ok and n_trail else None  # type: ignore[union-attr]
        self.view.show_trail(trail, options)
        compare_ok = ok and self.compare is not None
        self.view.show_compare(self.compare.frame(frame_idx) if compare_ok else None, options)  # type: ignore[union-attr]
        problem = self.problems.describe(frame_idx) if ok and self.problems is not None else ""
        self.inspect.set_frame_problem(problem)

    def _show(self, label: QLabel, text: str, error: bool = True) -> None:
        label.setText(f"<span style='color:{ERROR_COLOR}'>{text}</span>" if error and text else text)
        label.setVisible(bool(text))

    # ------------------------------------------------------------------ tasks and lifecycle

    def _run_task(
        self, key: str, fn: Any, *args: Any, on_success: Any, on_error: Any = None, error_title: str = "",
        report_progress: bool = False,
    ) -> TaskThread:  # fmt: skip
        """Run ``fn(*args)`` in a thread; errors go to ``on_error``, the error dialog, or the pane's message."""

        def fail(error: BaseException) -> None:
            if on_error is not None:
                on_error(error)
            elif error_title:
                self.state.report_error(error, error_title)
            else:
                self._show(self.preds_message if key in ("preds", "compare") else self.video_message, str(error))

        return self._tasks.run(key, fn, *args, on_success=on_success, on_error=fail, report_progress=report_progress)

    def is_loading(self) -> bool:
        """True while the video opens, predictions or errors load, or the first frame is being decoded."""
        opening = self.loader is not None and self.video_info is None and self.loader.isRunning()
        tasks = self._tasks.is_running()
        return opening or tasks or self._waiting_for_frame or self.labeled.is_loading()

    def shutdown(self) -> None:
        """Stop the loader threads, tasks and the prediction process."""
        self.play_timer.stop()
        self.problems_timer.stop()
        if self.loader is not None:
            self._retired.append(self.loader)
            self.loader = None
        for loader in self._retired:
            loader.stop()
        self._tasks.shutdown()
        if self.predict_job is not None:
            self.predict_job.shutdown()
        self.labeled.shutdown()
