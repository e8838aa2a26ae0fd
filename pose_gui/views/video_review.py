"""VideoReviewPane ("review"): predicted keypoints on a video frame by frame, and errors on the labelled frames.

The video tab shows the frame from a :class:`FrameLoader` thread with the keypoints of that same
frame, navigation, a likelihood threshold slider (AppState's threshold), per-keypoint visibility,
trails, a trace plot with a problem strip, the comparison with a second run, export, and
``pose-predict`` as a child process. What is known about the video besides its pixels (the
predictions, loaded once in a thread; problems; the comparison; the prediction job) is owned by a
:class:`~pose_gui.sessions.review.ReviewSession` that the pane renders and forwards intents to. The
labelled frames tab is :class:`LabeledFramesView`. Bad input is shown in the pane; the rest keeps working.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from pose_gui import dialogs
from pose_gui.actions import REVIEW_SHORTCUTS
from pose_gui.models.state import AppState
from pose_gui.sessions.review import ReviewSession
from pose_gui.style import ERROR_COLOR, keypoint_colors
from pose_gui.views.review.inspect_panel import InspectPanel
from pose_gui.views.review.jobs import ReviewExports
from pose_gui.views.review.labeled import LabeledFramesView
from pose_gui.views.review.navigation import NavigationBar
from pose_gui.views.review.sources import SourceBar
from pose_gui.views.review.traces import TracePlot
from pose_gui.views.review.viewer import FrameView, OverlayOptions
from pose_gui.workers.frame_loader import FrameLoader

if TYPE_CHECKING:
    from pose_core.project import Project
    from pose_core.video.reader import VideoInfo
    from pose_gui.models.predictions import FrameProblems, VideoPredictions

PROBLEMS_DELAY_MS = 150  # problems are recomputed this long after the threshold stops moving
FALLBACK_FPS = 30.0
PLAYING_CONTROLS_INTERVAL_S = 0.1
MAX_PROBLEM_FRAMES_SENT = 50  # "Send problem frames to labelling" sends at most this many, spread over the strip


class VideoReviewPane(QWidget):
    """The Review pane (see the module docstring).

    Signals:
        frame_shown(int): A frame and its keypoints were drawn (its index).
        frame_previewed(int): While seeking to this frame, an approximate image was drawn.
    """

    frame_shown = Signal(int)
    frame_previewed = Signal(int)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.session = ReviewSession(state, self)
        self.loader: FrameLoader | None = None
        self.video_info: VideoInfo | None = None
        self.shown_frame_idx = -1
        self.current_image: np.ndarray | None = None
        self._retired: list[FrameLoader] = []
        self._waiting_for_frame = False
        self._controls_moved_s = 0.0
        self._cursor_due = False
        self._default_run: Path | None = None  # the run _choose_defaults chose (its ensemble may be shown instead)
        self._build()
        self.exports = ReviewExports(self.session, self.inspect, self.sources, self)
        self.session.jump_px = self.inspect.jump_px
        self._connect()
        self._on_state_project_changed(state.project)
        self._on_state_threshold_changed(state.likelihood_threshold)
        self.session.refresh_runs()  # a pane built late starts from the current run and video
        self.session.reload()
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
        slots = {
            "review.play": lambda: self.nav.set_playing(not self.nav.play_button.isChecked()),
            "review.next_frame": lambda: self.nav.step(1),
            "review.previous_frame": lambda: self.nav.step(-1),
            "review.forward_10": lambda: self.nav.step(10),
            "review.back_10": lambda: self.nav.step(-10),
            "review.first_frame": lambda: self.nav.step(-self.nav.n_frames),
            "review.last_frame": lambda: self.nav.step(self.nav.n_frames),
            "review.next_problem": lambda: self.go_to_problem(1),
            "review.previous_problem": lambda: self.go_to_problem(-1),
            "review.faster": lambda: self.nav.change_speed(1),
            "review.slower": lambda: self.nav.change_speed(-1),
            "review.go_to_frame": lambda: self.nav.frame_box.setFocus(),
            "review.export_png": self.export_png,
            "review.fit": self.view.reset_zoom,
        }
        for spec in REVIEW_SHORTCUTS:
            shortcut = QShortcut(QKeySequence(spec.keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.setWhatsThis(spec.title)  # Help > Keyboard shortcuts lists it from here
            shortcut.activated.connect(slots[spec.id])

    def _connect(self) -> None:
        state = self.state
        state.project_changed.connect(self._on_state_project_changed)
        state.run_changed.connect(self._on_state_run_changed)
        state.video_changed.connect(self._on_state_video_changed)
        state.frame_changed.connect(self._on_state_frame_changed)
        state.threshold_changed.connect(self._on_state_threshold_changed)
        self.sources.video_chosen.connect(state.set_video)
        self.sources.run_chosen.connect(self._on_sources_run_chosen)
        self.sources.compare_chosen.connect(self.session.set_compare_run)
        self.sources.predict_clicked.connect(self.start_prediction)
        self.sources.cancel_clicked.connect(self.session.cancel_prediction)
        self._connect_ensemble()
        self.nav.frame_requested.connect(state.set_frame_idx)
        self.nav.play_toggled.connect(self._on_nav_play_toggled)
        self.nav.speed_changed.connect(lambda _speed: self._update_play_interval())
        self.play_timer.timeout.connect(self._on_play_timer_timeout)
        self.problems_timer.timeout.connect(self.session.update_problems)
        self.inspect.threshold_moved.connect(state.set_likelihood_threshold)
        self.inspect.overlay_changed.connect(self._redraw)
        self.inspect.traces_changed.connect(self._update_traces)
        self.inspect.problem_requested.connect(self.go_to_problem)
        self.inspect.jump_changed.connect(lambda: self.session.set_jump_px(self.inspect.jump_px))
        self.inspect.export_png_clicked.connect(self.export_png)
        self.inspect.export_clip_clicked.connect(lambda: self.exports.export_clip(self.video_info))
        self.inspect.skeleton_edit.editingFinished.connect(self._on_skeleton_edit_finished)
        self.inspect.label_frame_clicked.connect(self.label_this_frame)
        self.inspect.send_problems_clicked.connect(self.send_problem_frames)
        self.traces.frame_clicked.connect(state.set_frame_idx)
        session = self.session
        session.predictions_changed.connect(self._on_session_predictions_changed)
        session.compare_changed.connect(lambda _compare: self._redraw())
        session.problems_changed.connect(self._on_session_problems_changed)
        session.message_changed.connect(lambda text, error: self._show(self.preds_message, text, error))
        session.runs_listed.connect(self._on_session_runs_listed)
        session.predict_running_changed.connect(self._on_session_predict_running_changed)
        session.predict_progressed.connect(self.sources.set_progress)

    def _connect_ensemble(self) -> None:
        ensemble = self.session.ensemble
        self.sources.ensemble_chosen.connect(ensemble.choose)
        self.sources.source_chosen.connect(ensemble.choose_source)
        self.sources.eks_clicked.connect(self.start_eks_prediction)
        self.sources.cancel_clicked.connect(ensemble.cancel)
        ensemble.ensembles_listed.connect(self._on_ensembles_listed)
        ensemble.ensemble_changed.connect(self._on_ensemble_changed)
        ensemble.uncertainty_changed.connect(lambda _u: self._update_uncertainty())
        ensemble.job_running_changed.connect(self._on_ensemble_job_running_changed)
        ensemble.job_progressed.connect(self.sources.set_progress)
        ensemble.job_ended.connect(lambda ok, text: None if ok else self._show(self.preds_message, text))

    def _on_ensembles_listed(self, _groups: list[object]) -> None:
        self._list_runs_in_bar()
        self._show_default_ensemble()

    def _on_sources_run_chosen(self, run_dir: Path | None) -> None:
        """A run (not an ensemble) chosen in the run chooser: show it alone, even if it is an ensemble's member."""
        self.session.ensemble.leave()
        self.state.set_run_dir(run_dir)

    def _list_runs_in_bar(self) -> None:
        """The run chooser: the ensembles, then the runs; the ensemble shown (or the run) selected."""
        ensemble = self.session.ensemble
        groups = [(g.output_dir, g.label) for g in ensemble.groups]
        current = ensemble.group.output_dir if ensemble.group is not None else None
        runs = [(path, label) for path, label, _status, _ckpt in self.session.runs]
        self.sources.set_runs(runs, self.state.run_dir, self.session.compare_run, groups, current)

    def _on_ensemble_changed(self, group: object, source: str) -> None:
        from pose_gui.models.ensembles import SOURCE_EKS, SOURCE_MEAN, EnsembleGroup
        from pose_gui.sessions.review_ensemble import source_title

        if isinstance(group, EnsembleGroup):
            choices = [SOURCE_EKS, SOURCE_MEAN, *map(str, group.members)]
            self.sources.show_ensemble(group.label, source, [(c, source_title(group, c)) for c in choices])
        else:
            self.sources.show_ensemble(None, "", [])
        self._list_runs_in_bar()

    def _on_ensemble_job_running_changed(self, running: bool) -> None:
        self.sources.set_job_running(running)
        if running:
            self._show(self.preds_message, "Predicting with every member and smoothing (EKS): the points appear here "
                       "when it is done.", error=False)  # fmt: skip
        self._update_predict_button()

    def start_eks_prediction(self) -> None:
        """Predict with the ensemble's members and smooth (EKS); asks first when that replaces the smoothed file."""
        existing = self.session.ensemble.eks_exists()
        if existing is not None and not dialogs.confirm(
            self, "Smooth again?",
            f"{existing} already holds this ensemble's smoothed keypoints of this video. The members' predictions are "
            "reused; the mean, variance and EKS files are written again.",
            "Smooth again",
        ):  # fmt: skip
            return
        self.session.ensemble.start_eks()

    def _update_uncertainty(self) -> None:
        uncertainty = self.session.ensemble.uncertainty
        curves: dict[str, np.ndarray | None] = {"spread": None, "posterior": None}
        if uncertainty is not None:  # shown even before the ensemble's own predictions exist
            curves = {"spread": uncertainty.spread_px, "posterior": uncertainty.posterior_sd_px}
        n = int(uncertainty.spread_px.shape[1]) if uncertainty is not None else 0
        keypoints = [k for k in self.inspect.trace_keypoints() if k < n]
        self.traces.set_uncertainty(curves, keypoints, keypoint_colors(n))

    # ------------------------------------------------------------------ state slots

    def _on_state_project_changed(self, project: Project | None) -> None:
        names = list(project.keypoint_names) if project is not None else []
        if project is not None:
            self.sources.folder = project.video_dir
        self.sources.set_videos(list(project.videos) if project is not None else [], self.state.video_path)
        self.sources.set_runs([], None, None)
        if names and self.predictions is None:
            self.inspect.set_keypoints(names, keypoint_colors(len(names)))
            self.view.set_colors(keypoint_colors(len(names)))
        self.inspect.skeleton_edit.setText(_stored_skeleton(project))
        self.inspect.skeleton_edit.editingFinished.emit()
        self.labeled.load(self.state.run_dir, project)

    def _on_session_runs_listed(self, _runs: list[tuple[Path, str, str, bool]]) -> None:
        self._list_runs_in_bar()
        self._choose_defaults()
        self._update_predict_button()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._choose_defaults()

    def _choose_defaults(self) -> None:
        """When shown with nothing chosen: the project's first video and its newest finished run with predictions of it."""
        project = self.state.project
        if not self.isVisible() or project is None:
            return
        if self.state.video_path is None and project.videos:
            self.state.set_video(project.videos[0])
        video = self.state.video_path
        if self.state.run_dir is None and video is not None:
            default = self.session.default_run(video)
            if default is not None:
                self.state.set_run_dir(default)
                self._default_run = default
        self._show_default_ensemble()

    def _show_default_ensemble(self) -> None:
        """A run chosen by default that is a member of an ensemble smoothed on this video: show the ensemble."""
        ensemble, video = self.session.ensemble, self.state.video_path
        run = self._default_run
        if run is None or run != self.state.run_dir or ensemble.group is not None or video is None:
            return
        group = ensemble.group_of(run)
        if group is not None and group.eks_csv(video).is_file():
            self._default_run = None
            ensemble.choose(group.output_dir)

    def _on_state_run_changed(self, run_dir: Path | None) -> None:
        self._list_runs_in_bar()
        self._update_predict_button()
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
        self.current_image, self.shown_frame_idx = None, -1
        self.view.clear_all()
        self.traces.set_traces(None, [], [])
        self.traces.set_problems(None)
        self.nav.set_range(0, 0.0)
        self._show(self.video_message, "")
        if video_path is None:
            return
        loader = FrameLoader(Path(video_path), parent=self)
        loader.video_opened.connect(self._on_loader_video_opened)
        loader.open_failed.connect(self._on_loader_open_failed)
        loader.frame_ready.connect(self._on_loader_frame_ready)
        loader.frame_preview.connect(self._on_loader_frame_preview)
        loader.frame_failed.connect(self._on_loader_frame_failed)
        self.loader = loader
        self._show(self.video_message, f"Opening {Path(video_path).name}…", error=False)
        loader.start()

    def _retire_loader(self) -> None:
        """Stop the current loader without waiting (it may still be opening a long video)."""
        self._set_playing(False)
        if self.loader is not None:
            loaded = (
                self.loader.video_opened,
                self.loader.frame_ready,
                self.loader.frame_preview,
                self.loader.frame_failed,
            )
            for signal in loaded:
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
        self.session.set_video_info(info)

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

    def _on_loader_frame_preview(self, request_id: int, frame_idx: int, shown_idx: int, image: np.ndarray) -> None:
        """While seeking: a nearby frame's image at once, marked approximate, without keypoints."""
        if self.loader is None or request_id != self.loader.latest_request_id:
            return
        self.current_image, self.shown_frame_idx = image, -1
        info = self.video_info
        self.view.show_image(image, (info.width, info.height) if info is not None else None)  # previews may be smaller
        self._redraw()  # no keypoints: they belong to the exact frame
        self.view.set_approximate(f"≈ frame {shown_idx:,} shown · decoding frame {frame_idx:,}…")
        self.frame_previewed.emit(frame_idx)

    def _show_frame(self, frame_idx: int, image: np.ndarray) -> None:
        """Draw ``image`` (frame ``frame_idx``) and that frame's keypoints together."""
        self._waiting_for_frame = False
        self.view.set_approximate(None)
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
        if self.shown_frame_idx < 0 and self.current_image is not None:  # an approximate image is on screen
            self.view.set_approximate(f"≈ another frame shown · frame {frame_idx:,} cannot be decoded")
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

    @property
    def predictions(self) -> VideoPredictions | None:
        """The predictions drawn (the session's)."""
        return self.session.predictions

    @property
    def problems(self) -> FrameProblems | None:
        """The flagged frames (the session's)."""
        return self.session.problems

    def _on_session_predictions_changed(self, predictions: VideoPredictions | None) -> None:
        if predictions is not None:
            colors = keypoint_colors(len(predictions.keypoint_names))
            self.view.set_colors(colors)
            self.inspect.set_keypoints(predictions.keypoint_names, colors)
        self._update_traces()
        self._redraw()

    def _on_session_problems_changed(self, problems: FrameProblems | None) -> None:
        self.traces.set_problems(problems)
        scores = self.session.scores
        if problems is not None and scores is not None:
            n_flagged = int(np.count_nonzero(problems.flags))
            self.inspect.set_problem_counts(problems.counts(), n_flagged, scores.pca_error_px is not None)
        elif problems is None:
            self.inspect.clear_problem_counts()  # not the counts of the run or video shown before
        self._redraw()

    def start_prediction(self) -> None:
        """Predict the current video with the current run; asks first when that would replace its predictions."""
        existing = self.session.prediction_exists()
        if existing is not None and not dialogs.confirm(
            self, "Replace the predictions?",
            f"{existing} already holds this run's predictions of this video. Predicting again replaces them.",
            "Predict again",
        ):  # fmt: skip
            return
        self.session.start_prediction()

    def cancel_prediction(self) -> None:
        """Cancel the running prediction."""
        self.session.cancel_prediction()

    def _on_session_predict_running_changed(self, running: bool) -> None:
        self.sources.set_job_running(running)
        job = self.session.predict_job
        if running and job is not None:
            self.sources.progress.setFormat("Starting (loading the model)…")
            self._show(self.preds_message, f"Predicting {job.video_path.name} with run {job.run_dir.parent.name}/"
                       f"{job.run_dir.name}: the points appear here when it is done.", error=False)  # fmt: skip
        self._update_predict_button()

    def _update_predict_button(self) -> None:
        job = self.session.predict_job
        running = (job is not None and job.is_running()) or self.session.ensemble.is_job_running()
        has_model = self.session.run_has_checkpoint(self.state.run_dir)
        self.sources.predict_button.setEnabled(not running and self.state.run_dir is not None and has_model)
        self.sources.predict_button.setToolTip(
            "Run pose-predict on this video with the chosen run" if has_model
            else "This run saved no model (it ended before its first epoch): choose another run"
        )  # fmt: skip

    def export_png(self) -> None:
        """Save the frame on screen with its keypoints as a PNG."""
        self.exports.export_png(self.current_image, self.shown_frame_idx, self.video_info)

    def _on_skeleton_edit_finished(self) -> None:
        """Remember the skeleton typed here in the project (``skeleton.txt``), so it comes back next time."""
        project = self.state.project
        if project is None:
            return
        text = self.inspect.skeleton_edit.text().strip()
        if text != _stored_skeleton(project):
            try:
                _store_skeleton(project, text)
            except OSError as error:
                self.state.post_message(f"The skeleton could not be saved in the project ({error}).", 8000)

    def _update_traces(self) -> None:
        if self.predictions is None:
            self.traces.set_traces(None, [], [])  # no stale curves of the run shown before
            self._update_uncertainty()
            return
        colors = keypoint_colors(len(self.predictions.keypoint_names))
        self.traces.set_traces(self.predictions.xy_lik, self.inspect.trace_keypoints(), colors)
        self._update_uncertainty()
        self.traces.set_cursor(self.state.frame_idx)

    def compare_with(self, run_dir: Path | None) -> None:
        """Overlay ``run_dir``'s predictions of the video shown (Training's "Compare with parent")."""
        self.session.set_compare_run(run_dir)
        runs = [(path, label) for path, label, _s, _c in self.session.runs]
        if run_dir is not None and run_dir not in [path for path, _ in runs]:
            runs.append((run_dir, f"{run_dir.parent.name}/{run_dir.name}"))
        self.sources.set_runs(runs, self.state.run_dir, self.session.compare_run)

    def label_this_frame(self) -> None:
        """Queue the current frame in the label pane (the main window routes the intent)."""
        if self.state.video_path is not None:
            reason = self.session.ensemble.frame_reason(self.state.frame_idx)
            self.state.label_frames_requested.emit(
                self.state.video_path, [self.state.frame_idx], f"from Review: {reason}" if reason else "from Review"
            )

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
        problems = self.session.problems
        if problems is None:
            return
        frame_idx = problems.next_problem(self.state.frame_idx, step)
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
        compare = self.session.compare
        self.view.show_compare(compare.frame(frame_idx) if ok and compare is not None else None, options)
        problems = self.session.problems
        problem = problems.describe(frame_idx) if ok and problems is not None else ""
        hidden = self.session.hidden_keypoints_text(frame_idx) if ok and not self.inspect.fade else ""
        self.inspect.set_frame_problem("\n".join(filter(None, [problem, hidden])))

    def _show(self, label: QLabel, text: str, error: bool = True) -> None:
        label.setText(f"<span style='color:{ERROR_COLOR}'>{text}</span>" if error and text else text)
        label.setVisible(bool(text))

    # ------------------------------------------------------------------ tasks and lifecycle

    def is_loading(self) -> bool:
        """True while the video opens, predictions or errors load, or the first frame is being decoded."""
        opening = self.loader is not None and self.video_info is None and self.loader.isRunning()
        tasks = self.session.is_loading() or self.exports.is_running()
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
        self.session.shutdown()
        self.exports.shutdown()
        self.labeled.shutdown()


SKELETON_FILENAME = "skeleton.txt"  # in the project folder: the pairs typed in Review ("nose-paw1, paw1-paw2")


def _stored_skeleton(project: Project | None) -> str:
    """The skeleton stored in ``project`` ("" if none)."""
    if project is None:
        return ""
    try:
        return (project.root / SKELETON_FILENAME).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _store_skeleton(project: Project, text: str) -> None:
    """Store the skeleton in ``project`` (an empty text removes the file)."""
    path = project.root / SKELETON_FILENAME
    if text:
        path.write_text(text + "\n", encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
