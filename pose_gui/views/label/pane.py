"""LabelPane ("label"): place and correct keypoints, with undo, shortcuts, suggestions and autosave.

Left: the frames (labelled and queued, grouped by video, filter "unfinished only"); middle: the
canvas (:class:`~pose_gui.views.label.canvas.LabelCanvas`) with zoom, pan, brightness/contrast;
right: the keypoints. The pane renders the :class:`~pose_gui.sessions.label.LabelSession`
and forwards the canvas's intents to it; images are decoded by an
:class:`~pose_gui.workers.image_loader.ImageFileLoader` thread, model suggestions computed in a
worker thread. Shortcuts are the declared :data:`~pose_gui.views.label.actions.LABEL_ACTIONS`.

Other panes queue frames with :meth:`LabelPane.queue_frames` (a video, frame indices, a reason);
"Suggest frames…" (:class:`~pose_gui.views.label.suggest_dialog.SuggestFramesDialog`) ranks the
frames by the runs' uncertainty and queues the picks with :meth:`LabelPane.queue_picks`, each with
its own reason, shown in the frame list and in a line above the canvas.
When the pane is left, the other panes get the project with the new labels (AppState), so the
project pane's counts and the review pane follow; the file on disk is never more than a second
behind, so the next training run reads them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from pose_core.errors import DataError, PoseDeskError
from pose_gui.actions import ActionSpec
from pose_gui.models.state import AppState
from pose_gui.sessions.label import LabelData, LabelSession, load_label_data
from pose_gui.style import ERROR_COLOR, keypoint_colors
from pose_gui.views.label.actions import LABEL_ACTIONS
from pose_gui.views.label.canvas import LabelCanvas
from pose_gui.views.label.commands import LabelCommandsMixin
from pose_gui.views.label.lists import FrameList, KeypointList
from pose_gui.views.label.suggestions import Suggestions
from pose_gui.workers.image_loader import ImageFileLoader
from pose_gui.workers.tasks import TaskThread, stop_thread

if TYPE_CHECKING:
    from pose_core.project import Project

EXTRA_SHORTCUTS = {"label.zoom_in": ["="], "label.clear_keypoint": ["Backspace"]}
WARNING_STYLE = "background:#fff3cd; color:#5c4400; padding:4px;"


class LabelPane(LabelCommandsMixin, QWidget):
    """The Label pane (see the module docstring).

    Signals:
        frame_shown(str): A frame and its keypoints were drawn (its image path).
        frames_queued(list): Frames were added to the list (their image paths).
    """

    frame_shown = Signal(str)
    frames_queued = Signal(list)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.session: LabelSession | None = None
        self.loader: ImageFileLoader | None = None
        self.current_path: str | None = None
        self.selected_keypoint = 0
        self.suggestions = Suggestions(self)
        self.actions_by_id: dict[str, QAction] = {}
        self._tasks: list[TaskThread] = []
        self._load_request = 0
        self._queued_while_opening: list[tuple[Path, list[int] | None, int, str, str]] = []
        self._published_revision = -1
        self._image_failed = False
        self.suggest_dialog: Any = None
        self._build()
        self._build_actions()
        self._connect()
        self._on_state_project_changed(state.project)

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(WARNING_STYLE)
        self.notice.hide()
        self.banner = QFrame()
        self.banner.setStyleSheet(WARNING_STYLE)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip(
            "Take the labels file as the other program left it (edits not yet saved are dropped)"
        )
        self.keep_button = QPushButton("Keep mine")
        self.keep_button.setToolTip("Overwrite the file with the labels shown here")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(self.banner_text, 1)
        banner_layout.addWidget(self.reload_button)
        banner_layout.addWidget(self.keep_button)
        self.banner.hide()
        self.canvas = LabelCanvas()
        self.frame_list = FrameList()
        self.keypoint_list = KeypointList()
        self.add_button = QPushButton("Add frames from video…")
        self.suggest_button = QPushButton("Suggest frames…")
        self.suggest_button.setToolTip(
            "Rank the frames of the videos by how unsure the runs (an ensemble) are and queue the N to label next"
        )
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet("color:#1a4d8f; padding:2px;")
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason_label.hide()
        self.accept_button = QPushButton("Accept suggestions (A)")
        self.accept_button.setToolTip("Make the hollow points (the chosen run's predictions) labels on this frame")
        self.fit_button = QPushButton("Fit (F)")
        self.brightness = self._slider(-100, 100, 0, "Brightness")
        self.contrast = self._slider(25, 300, 100, "Contrast (%)")
        self.status = QLabel()
        toolbar = QHBoxLayout()
        for widget in (self.add_button, self.suggest_button, self.accept_button, self.fit_button):
            toolbar.addWidget(widget)
        toolbar.addStretch(1)
        toolbar.addWidget(QLabel("Brightness"))
        toolbar.addWidget(self.brightness)
        toolbar.addWidget(QLabel("Contrast"))
        toolbar.addWidget(self.contrast)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("Keypoints (click places the selected one)"))
        right_layout.addWidget(self.keypoint_list, 1)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.setSpacing(0)
        middle_layout.addWidget(self.reason_label)
        middle_layout.addWidget(self.canvas, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.frame_list)
        splitter.addWidget(middle)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([270, 800, 220])  # the frame list shows its Frame and Keypoints columns whole
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.banner)
        layout.addLayout(toolbar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    def _slider(self, low: int, high: int, value: int, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setFixedWidth(110)
        slider.setToolTip(f"{tip}; double-click the canvas area's Fit to reset the view")
        slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return slider

    def _build_actions(self) -> None:
        for spec in LABEL_ACTIONS:
            action = QAction(spec.title.replace("&", ""), self)
            keys = _key_sequences(spec)
            keys += [QKeySequence(k) for k in EXTRA_SHORTCUTS.get(spec.id, [])]
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(spec.tip)
            action.triggered.connect(lambda _checked=False, s=spec: s.callback(self))
            self.addAction(action)
            self.actions_by_id[spec.id] = action

    def _connect(self) -> None:
        self.state.project_changed.connect(self._on_state_project_changed)
        self.state.run_changed.connect(self._on_state_run_changed)
        self.canvas.place_requested.connect(self._on_canvas_place_requested)
        self.canvas.drag_started.connect(self._on_canvas_drag_started)
        self.canvas.drag_moved.connect(self._on_canvas_drag_moved)
        self.canvas.drag_finished.connect(self._on_canvas_drag_finished)
        self.canvas.clear_requested.connect(self._on_canvas_clear_requested)
        self.frame_list.frame_chosen.connect(self.show_frame)
        self.keypoint_list.keypoint_chosen.connect(self._select_keypoint)
        self.add_button.clicked.connect(self.add_frames_from_video)
        self.suggest_button.clicked.connect(self.suggest_frames)
        self.accept_button.clicked.connect(self.accept_suggestions)
        self.fit_button.clicked.connect(self.zoom_fit)
        self.brightness.valueChanged.connect(self._on_levels_changed)
        self.contrast.valueChanged.connect(self._on_levels_changed)
        self.suggestions.ready.connect(self._on_suggestions_ready)
        self.suggestions.failed.connect(self._on_suggestions_failed)
        self.reload_button.clicked.connect(self._on_reload_button_clicked)
        self.keep_button.clicked.connect(self._on_keep_button_clicked)

    # ------------------------------------------------------------------ opening a project

    def _on_state_project_changed(self, project: Project | None) -> None:
        if self.session is not None and project is not None and project.root == self.session.project.root:
            self.session.project = project  # our own publication, or a reload: the document stays the truth
            return
        self._close_session()
        self._queued_while_opening.clear()  # frames asked for in the project closed
        if project is None:
            self.notice.setText("Open a project to label its frames.")
            self.notice.show()
            return
        self._load_request += 1
        request = self._load_request
        self.status.setText(f"Opening the labels of {project.name}…")
        self._run_task(load_label_data, project, on_success=lambda data: self._on_loaded(request, project, data))

    def _on_loaded(self, request: int, project: Project, data: LabelData) -> None:
        if request != self._load_request:
            return
        session = LabelSession(project, data, self)
        self.session = session
        self._published_revision = session.document.revision if session.document is not None else -1
        session.points_changed.connect(self._on_session_points_changed)
        session.frames_changed.connect(self._refill_frames)
        session.saved.connect(self._on_session_saved)
        session.save_failed.connect(self._on_session_save_failed)
        session.external_change_detected.connect(self._on_session_external_change_detected)
        session.undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)
        self.loader = ImageFileLoader(parent=self)
        self.loader.frame_ready.connect(self._on_loader_frame_ready)
        self.loader.frame_failed.connect(self._on_loader_frame_failed)
        self.loader.set_playing(True)  # reads the next images of the list ahead
        self.loader.start()
        names = session.keypoint_names
        colors = keypoint_colors(len(names))
        self.keypoint_list.set_keypoints(names, colors)
        self.canvas.set_keypoints(names, colors, data.skeleton)
        self._show_notice(session.read_only_reason, [str(p) for p in session.problems])
        self._refill_frames()
        self._update_undo_actions()
        paths = self.frame_list.ordered_paths()
        first = next((p for p in paths if not self.frame_list.is_done(p)), paths[0] if paths else None)
        if first is not None:
            self.show_frame(first)
        self.status.setText(f"{len(paths)} frames · labels file {session.document.path if session.document else '-'}")
        waiting, self._queued_while_opening = self._queued_while_opening, []
        for request_args in waiting:  # frames sent here (e.g. from Review) while the labels were opening
            self._start_queueing(*request_args)

    def _refill_frames(self) -> None:
        session = self.session
        if session is None:
            return
        notes = {
            p: ("missing" if p in session.missing else ("queued" + (f": {r}" if r else "")))
            for p, r in session.queued.items()
        }
        notes.update({p: "missing" for p in session.missing})
        paths = session.image_paths()
        self.frame_list.set_frames(paths, len(session.keypoint_names), session.n_labelled, notes)
        if self.loader is not None:
            for path in self.frame_list.ordered_paths():
                self.loader.index_of(session.image_file(path))
        if self.current_path is not None:
            self.frame_list.select(self.current_path)
            self._show_reason(self.current_path)
            self._draw_points()

    def _show_notice(self, reason: str, problems: Sequence[str] = ()) -> None:
        lines = ([f"Read-only: {reason}"] if reason else []) + list(problems)
        self.notice.setText("\n".join(lines))
        self.notice.setVisible(bool(lines))

    def _close_session(self) -> None:
        if self.loader is not None:
            self.loader.stop()
            self.loader.deleteLater()
            self.loader = None
        if self.session is not None:
            self._publish()
            self._end_session()
        self.current_path = None
        self.suggestions.clear()
        self.canvas.show_image(None, "")
        self.frame_list.set_frames([], 0, lambda _p: 0, {})
        self.banner.hide()

    # ------------------------------------------------------------------ showing a frame

    def show_frame(self, image_path: str) -> None:
        """Show a frame of the list (image decoded in the loader thread; points drawn with it)."""
        if self.session is None or self.loader is None:
            return
        self.current_path = image_path
        self.frame_list.select(image_path)
        self._show_reason(image_path)
        file = self.session.image_file(image_path)
        index = self.loader.index_of(file)
        cached = self.loader.take_cached(index)
        if cached is not None:
            self._show_image(image_path, cached)
        else:
            self.loader.request(index)
        self._request_suggestions(image_path)
        self.selected_keypoint = self._first_unlabelled(0, include_current=True)
        self.keypoint_list.select(self.selected_keypoint)

    def _show_reason(self, image_path: str | None) -> None:
        """The line above the canvas: why this frame was queued (nothing for a labelled frame)."""
        reason = self.session.queue_reason(image_path) if self.session is not None and image_path else ""
        self.reason_label.setText(f"Why this frame: {reason}" if reason else "")
        self.reason_label.setVisible(bool(reason))

    def _on_loader_frame_ready(self, request_id: int, _index: int, image: np.ndarray) -> None:
        if self.loader is not None and request_id == self.loader.latest_request_id and self.current_path:
            self._show_image(self.current_path, image)

    def _on_loader_frame_failed(self, request_id: int, _index: int, error: PoseDeskError) -> None:
        if self.loader is not None and request_id == self.loader.latest_request_id:
            self._image_failed = True
            self.canvas.show_image(None, str(error))
            self._draw_points()
            self.frame_shown.emit(self.current_path or "")

    def _show_image(self, image_path: str, image: np.ndarray) -> None:
        self._image_failed = False
        self.canvas.show_image(image)
        self._draw_points()
        self.frame_shown.emit(image_path)

    def _draw_points(self) -> None:
        if self.session is None or self.current_path is None:
            return
        points = self.session.points(self.current_path)
        suggestions = self.suggestions.get(self.current_path)
        self.canvas.show_points(points, suggestions, self.selected_keypoint)
        labelled = ~np.isnan(points).any(axis=1)
        suggested = (
            ~labelled & ~np.isnan(suggestions).any(axis=1) if suggestions is not None else np.zeros_like(labelled)
        )
        self.keypoint_list.set_labelled(labelled.tolist(), suggested.tolist())
        self.accept_button.setEnabled(bool(suggested.any()) and self.session.is_editable)

    # ------------------------------------------------------------------ edits from the canvas

    def _inside_image(self, x: float, y: float) -> bool:
        image = self.canvas.image
        return image is not None and 0 <= x < image.shape[1] and 0 <= y < image.shape[0]

    def _on_canvas_place_requested(self, x: float, y: float) -> None:
        if self.session is None or self.current_path is None or not self._inside_image(x, y):
            return
        if not self._edit(lambda s, p: s.set_point(p, self.selected_keypoint, (x, y))):
            return
        self._select_keypoint(self._first_unlabelled(self.selected_keypoint + 1, include_current=True))

    def _on_canvas_drag_started(self, keypoint_idx: int) -> None:
        self._drag = self.session.begin_drag() if self.session is not None else 0
        self._select_keypoint(keypoint_idx)

    def _on_canvas_drag_moved(self, keypoint_idx: int, x: float, y: float) -> None:
        image = self.canvas.image
        if image is not None:
            x, y = min(max(x, 0.0), image.shape[1] - 0.01), min(max(y, 0.0), image.shape[0] - 0.01)
        self._edit(lambda s, p: s.drag_point(p, keypoint_idx, (x, y), self._drag))

    def _on_canvas_drag_finished(self, keypoint_idx: int, moved: bool) -> None:
        self._select_keypoint(keypoint_idx)
        if moved or self.session is None or self.current_path is None:
            return
        suggestion = self.suggestions.get(self.current_path)
        labelled = not np.isnan(self.session.points(self.current_path)[keypoint_idx]).any()
        if suggestion is not None and not labelled:  # a click on a hollow point accepts it where it is
            xy = (float(suggestion[keypoint_idx, 0]), float(suggestion[keypoint_idx, 1]))
            self._edit(lambda s, p: s.set_point(p, keypoint_idx, xy, f"Accept {s.keypoint_names[keypoint_idx]}"))

    def _on_canvas_clear_requested(self, keypoint_idx: int) -> None:
        self._edit(lambda s, p: s.set_point(p, keypoint_idx, None))

    def _edit(self, change: Any) -> bool:
        if self.session is None or self.current_path is None:
            return False
        if not self.session.is_editable:
            self.state.post_message(f"Labels are read-only: {self.session.read_only_reason}", 8000)
            return False
        return bool(change(self.session, self.current_path))

    def _on_session_points_changed(self, image_path: str) -> None:
        self.frame_list.update_frame(image_path)
        if image_path == self.current_path:
            self._draw_points()

    def _names(self) -> list[str]:
        return self.session.keypoint_names if self.session is not None else []

    def _select_keypoint(self, keypoint_idx: int) -> None:
        self.selected_keypoint = int(keypoint_idx)
        self.keypoint_list.select(self.selected_keypoint)
        self._draw_points()

    def _first_unlabelled(self, start: int, *, include_current: bool) -> int:
        """The first unlabelled keypoint from ``start`` on (wrapping); ``start`` itself if all are labelled."""
        if self.session is None or self.current_path is None or not self._names():
            return 0
        n = len(self._names())
        labelled = ~np.isnan(self.session.points(self.current_path)).any(axis=1)
        for offset in range(0 if include_current else 1, n):
            k = (start + offset) % n
            if not labelled[k]:
                return k
        return min(max(start, 0), n - 1) if start < n else n - 1

    # ------------------------------------------------------------------ suggestions

    def _on_state_run_changed(self, _run_dir: Path | None) -> None:
        self.suggestions.clear()
        if self.current_path is not None:
            self._request_suggestions(self.current_path)
            self._draw_points()

    def _request_suggestions(self, image_path: str) -> None:
        run_dir, session = self.state.run_dir, self.session
        if run_dir is None or session is None or image_path in session.missing:
            return
        from pose_core.runs.layout import find_best_checkpoint

        if find_best_checkpoint(Path(run_dir)) is None:
            return  # a run that has just started (no folder or no model yet): nothing to suggest, nothing wrong
        if session.n_labelled(image_path) < len(self._names()):
            self.suggestions.request(Path(run_dir), image_path, session.image_file(image_path), self._names())

    def _on_suggestions_ready(self, image_path: str) -> None:
        if image_path == self.current_path:
            self._draw_points()

    def _on_suggestions_failed(self, error: BaseException) -> None:
        self.state.post_message(f"No suggestions: {error}", 10000)

    # ------------------------------------------------------------------ queueing frames

    def queue_frames(self, video_path: Path, frame_indices: Sequence[int], reason: str) -> TaskThread | None:
        """Extract these frames of a video and add them to the list to label (the public way in).

        Args:
            video_path: The video.
            frame_indices: 0-based frame indices (exactly these frames are extracted).
            reason: Why they are queued (shown in the frame list), e.g. "problem frame (review)".

        Returns:
            The extraction thread; None when no project is open (one message), or while the labels
            are still opening (the frames are extracted once they are open).
        """
        return self._start_queueing(Path(video_path), list(frame_indices), 0, "", reason)

    def add_frames(self, video_path: Path, n: int, method: str) -> TaskThread | None:
        """Choose ``n`` new frames of a video (``uniform`` or ``kmeans``), extract and queue them."""
        return self._start_queueing(Path(video_path), None, n, method, f"added ({method})")

    def add_frames_from_video(self) -> None:
        """Ask for a video, a count and a method, then :meth:`add_frames`."""
        from pose_gui.views.label.add_frames_dialog import AddFramesDialog

        if self.session is None:
            self.state.post_message("Open a project first.", 5000)
            return
        dialog = AddFramesDialog(list(self.session.project.videos), self)
        if dialog.exec() and (choice := dialog.choice()) is not None:
            self.add_frames(*choice)

    def suggest_frames(self) -> None:
        """Ask which runs, videos and how many (:class:`SuggestFramesDialog`), rank, then :meth:`queue_picks`."""
        if self.session is None:
            self.state.post_message("Open a project first.", 5000)
            return
        project = self.session.project
        self.status.setText("Listing the runs…")
        self._run_task(_list_runs_and_ensembles, project.root,
                       on_success=lambda result: self._open_suggest_dialog(project, *result),
                       on_failure=lambda error: self.state.report_error(error, "Cannot list the runs"))  # fmt: skip

    def _open_suggest_dialog(self, project: Project, runs: list[Any], groups: list[Any]) -> None:
        from pose_gui.views.label.suggest_dialog import SuggestFramesDialog

        self.status.setText("")
        if self.session is None or self.session.project.root != project.root:
            return
        if not runs:
            self.state.report_error(
                DataError(f"Project {project.name} has no trained run yet: train one (better: an ensemble of 3 in the "
                          "Training pane), then suggest frames."), "Cannot suggest frames")  # fmt: skip
            return
        dialog = SuggestFramesDialog(project.root, runs, groups, list(project.videos), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.picks_ready.connect(self.queue_picks)
        self.suggest_dialog = dialog
        dialog.finished.connect(lambda _result: setattr(self, "suggest_dialog", None))
        dialog.open()

    def queue_picks(self, picks: Sequence[Any]) -> TaskThread | None:
        """Extract the frames "Suggest frames" picked and queue them, each with its reason.

        Args:
            picks: :class:`~pose_core.ensemble.ranking.Pick` s (video, frame index, reason).

        Returns:
            The extraction thread, or None when no project is open.
        """
        session = self.session
        if session is None:
            self.state.report_error(DataError("No project is open; open a project, then suggest frames to label."))
            return None
        from pose_gui.sessions.label import extract_picks

        job = self.state.add_job(f"Extracting {len(picks)} suggested frames")
        task = self._run_task(
            extract_picks, list(picks), session.project.data_dir, session.image_paths(),
            on_success=lambda reasons: self._on_frames_extracted(list(reasons), "suggested", reasons),
            on_failure=lambda error: self.state.report_error(error, "Cannot queue the suggested frames"),
        )  # fmt: skip
        task.finished.connect(lambda: self.state.remove_job(job))
        self.status.setText(f"Extracting {len(picks)} suggested frames…")
        return task

    def _start_queueing(
        self, video: Path, frames: list[int] | None, n: int, method: str, reason: str
    ) -> TaskThread | None:
        session = self.session
        if session is None and self.state.project is not None:  # the labels are still opening: queue them after
            self._queued_while_opening.append((video, frames, n, method, reason))
            self.status.setText(f"Opening the labels; then {video.name}'s frames are added…")
            return None
        if session is None:
            self.state.report_error(DataError("No project is open; open a project, then queue frames to label."))
            return None
        job = self.state.add_job(f"Extracting frames of {video.name}")
        known = session.image_paths()
        from pose_core.frames import frames_to_label

        task = self._run_task(
            frames_to_label, video, session.project.data_dir, known, frames, n, method or "kmeans",
            on_success=lambda paths: self._on_frames_extracted(paths, reason),
            on_failure=lambda error: self.state.report_error(error, f"Cannot add frames of {video.name}"),
        )  # fmt: skip
        task.finished.connect(lambda: self.state.remove_job(job))
        self.status.setText(f"Extracting frames of {video.name}…")
        return task

    def _on_frames_extracted(self, paths: list[str], reason: str, reasons: dict[str, str] | None = None) -> None:
        if self.session is None:
            return
        added = self.session.add_queued(paths, reason, reasons)
        self.status.setText(f"{len(added)} frame(s) added to label" + (f" ({reason})" if reason else ""))
        self.frames_queued.emit(list(paths))
        if paths:
            self.show_frame(paths[0])

    # ------------------------------------------------------------------ saving and the file on disk

    def _on_session_saved(self, _revision: int) -> None:
        self.status.setText(
            f"Saved {QTime.currentTime().toString('HH:mm:ss')} · {self.session.document.path if self.session and self.session.document else ''}"
        )
        self.status.setStyleSheet("")
        if not self.isVisible():
            self._publish()

    def _on_session_save_failed(self, error: BaseException) -> None:
        self.status.setText(f"Not saved: {error} (the labels are kept here; saving is retried)")
        self.status.setStyleSheet(f"color:{ERROR_COLOR}")

    def _on_session_external_change_detected(self) -> None:
        path = self.session.document.path if self.session and self.session.document else ""
        self.banner_text.setText(
            f"{path} was changed by another program. Reload takes its labels (edits not yet saved are dropped); "
            "Keep mine overwrites it with the labels shown here. Nothing is saved until you choose."
        )
        self.banner.show()

    def _on_reload_button_clicked(self) -> None:
        if self.session is None:
            return
        try:
            self.session.reload_from_disk()
        except PoseDeskError as error:
            self.state.report_error(error, "Cannot reload the labels")
            return
        self.banner.hide()

    def _on_keep_button_clicked(self) -> None:
        if self.session is not None:
            self.session.keep_mine()
        self.banner.hide()

    def _publish(self) -> None:
        """Give the other panes the project with the labels as edited (one source of truth)."""
        session = self.session
        if session is None or session.document is None or session.document.revision == self._published_revision:
            return
        self._published_revision = session.document.revision
        self.state.set_project(session.project_with_labels())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.canvas.setFocus()  # the pane's shortcuts work at once (the focus may have been in another pane)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self.session is not None:
            self.session.save_now()
            self._publish()

    def _on_levels_changed(self, _value: int) -> None:
        self.canvas.set_brightness_contrast(self.brightness.value(), self.contrast.value() / 100.0)

    # ------------------------------------------------------------------ threads

    def _run_task(self, fn: Any, *args: Any, on_success: Any, on_failure: Any = None) -> TaskThread:
        task = TaskThread(fn, *args, parent=self)
        task.succeeded.connect(on_success)
        task.failed.connect(on_failure or (lambda error: self.state.report_error(error, "Label pane")))
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)
        self._tasks.append(task)
        task.start()
        return task

    def is_loading(self) -> bool:
        """True while the labels are being opened, a frame extracted, or the frame shown is still decoding."""
        waiting_image = self.current_path is not None and self.canvas.image is None and not self._image_failed
        return bool(self._tasks) or waiting_image or self.suggestions.is_busy()

    def shutdown(self) -> None:
        """Save unsaved labels and stop every thread (the window is closing)."""
        if self.suggest_dialog is not None:
            self.suggest_dialog.shutdown()
        for task in list(self._tasks):
            stop_thread(task)
        self._tasks.clear()
        self.suggestions.shutdown()
        if self.loader is not None:
            self.loader.stop()
            self.loader = None
        self._end_session()

    def _end_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.undo_stack.indexChanged.disconnect(self._on_undo_stack_index_changed)
            session.shutdown()
            session.deleteLater()


def _list_runs_and_ensembles(project_root: Path) -> tuple[list[Any], list[Any]]:
    """The project's runs (newest first) and its ensembles (worker thread)."""
    from pose_core.runs import list_runs
    from pose_gui.models.ensembles import group_ensembles

    runs = list_runs(project_root)
    return runs, group_ensembles(runs, project_root)


def _key_sequences(spec: ActionSpec) -> list[QKeySequence]:
    if spec.shortcut is None:
        return []
    if isinstance(spec.shortcut, QKeySequence.StandardKey):
        return list(QKeySequence.keyBindings(spec.shortcut))
    return [QKeySequence(spec.shortcut)]
