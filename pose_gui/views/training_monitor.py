"""The Training pane: train the project in a child process, watch its curves live, stop, kill, resume, compare.

The pane renders a :class:`~pose_gui.sessions.training.TrainingSession`, the one owner of the run
being trained or followed, and forwards the buttons to it (Train, Resume, Stop, Kill; Attach and
Export through :class:`ClusterControls`). Attach to run follows a run directory another process or
machine writes (``bash train.sh`` in a terminal, a SLURM job on a shared filesystem) with the same
curves and progress, read-only: Stop writes its STOP file after a confirmation, Kill is impossible,
and a run whose files stop growing is reported as stale instead of looking hung.

The session's events feed a :class:`LossHistory` that the plots (:class:`LossPlots`: loss, RMSE in
pixels, learning rate; per step or per epoch, log scale, smoothing, hover values) redraw. The
history table lists the project's runs; selecting one replays its ``events.jsonl``, selecting
several overlays them. A failed run shows its traceback and last log lines with a Copy button.
The progress row (:mod:`~pose_gui.views.training_progress`), the Resume controls
(:mod:`~pose_gui.views.training_resume`) and the history table, failure box and log helpers
(:mod:`~pose_gui.views.training_parts`) live in their own modules, as do the labelling loop's controls
(:mod:`~pose_gui.views.training_loop`: Train ensemble of N, Retrain with new labels, Compare with
parent). The history groups an ensemble's members under one row and names each retrained run's
parent; while an ensemble trains, the progress says which member ("member 2 of 3").
Nothing here blocks the GUI thread: files are read by worker threads or in small timer ticks, and
training runs in its own process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pose_core.errors import DataError
from pose_core.runs.status import RunStatus
from pose_gui import dialogs
from pose_gui.models.loss_history import LossHistory, RunRow, scan_runs
from pose_gui.sessions.training import TrainingSession, run_name
from pose_gui.style import STATUS_COLORS
from pose_gui.views.cluster_controls import ClusterControls
from pose_gui.views.loss_plots import LossPlots
from pose_gui.views.training_loop import LoopControls
from pose_gui.views.training_parts import (
    STALE_COLOR,
    FailureBox,
    HistoryTab,
    fill_history_tree,
    read_log_tail,
    update_live_run_item,
)
from pose_gui.views.training_progress import TrainingProgressRow, phase_text
from pose_gui.views.training_resume import ResumeControls
from pose_gui.workers.ensemble_job import EnsembleTrainingJob
from pose_gui.workers.latest import LatestRunner
from pose_gui.workers.tensorboard import TensorBoardServer
from pose_gui.workers.training import TrainingFailure

if TYPE_CHECKING:
    from pose_gui.models.state import AppState
    from pose_gui.workers.followed_run import FollowedRun

MAX_LOG_LINES = 5000
HOVER_HINT = "Hover over a plot to read its values"
SKIPPED_PREFIXES = ("Skipping", "Video predictions stopped")  # after-training video messages worth keeping
SAVE_AND_TRAIN = "Save and train"
TRAIN_SAVED = "Train the saved config"
KILL_TIP = "End the training process and its children at once (asks first)"
KILL_ATTACHED_TIP = (
    "Kill is not possible for an attached run: its process belongs to another machine or session "
    "(use Stop, or end it there: scancel JOBID / Ctrl-C)"
)


class TrainingMonitorPane(QWidget):
    """Train, watch, stop, kill, resume and compare training runs of the open project.

    The pane renders a :class:`~pose_gui.sessions.training.TrainingSession` (``self.session``,
    the one owner of the followed run) and forwards the buttons to it; it holds no job state.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.session = TrainingSession(state, self)
        self.rows: list[RunRow] = []
        self._shown_run: Path | None = None
        self._context_menu: QMenu | None = None
        self._tasks = LatestRunner(self)
        self._redraw_timer = QTimer(self)  # one redraw per batch of events
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw_live)
        self.tensorboard = TensorBoardServer(self)
        self.tensorboard.failed.connect(lambda error: self.state.report_error(error, "TensorBoard failed"))
        self.tensorboard.ready.connect(lambda url: self.state.post_message(f"TensorBoard serves at {url}", 10000))
        self.cluster = ClusterControls(self.session, state, self)
        self.loop = LoopControls(self.session, state, self)
        self._build()
        self._connect_session()
        state.project_changed.connect(self._on_state_project_changed)
        state.run_changed.connect(self._on_state_run_changed)
        state.runs_changed.connect(self.refresh_history)
        self._on_state_project_changed(state.project)
        if state.run_dir is not None:
            self._on_state_run_changed(state.run_dir)

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_buttons())
        self.progress_row = TrainingProgressRow()
        self.phase_label, self.progress_bar = self.progress_row.phase_label, self.progress_row.progress_bar
        layout.addWidget(self.progress_row)
        self.attach_banner = self.cluster.banner
        layout.addWidget(self.attach_banner)
        self.failure_box = FailureBox(lambda: self.state.post_message("Error report copied to the clipboard", 4000))
        self.failure_title, self.failure_text, self.copy_button = (
            self.failure_box.title, self.failure_box.text, self.failure_box.copy_button,
        )  # fmt: skip
        layout.addWidget(self.failure_box)
        self.video_warning = QLabel()
        self.video_warning.setWordWrap(True)
        self.video_warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.video_warning.setStyleSheet(f"color: {STALE_COLOR};")
        self.video_warning.setVisible(False)
        layout.addWidget(self.video_warning)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_plot_area())
        splitter.addWidget(self._build_side_tabs())
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([480, 800])  # the history's columns fit at the default window width
        layout.addWidget(splitter, 1)
        self.update_buttons()

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a new model with the project's saved config.yaml, in its own run folder")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Finish the current step, save a checkpoint, evaluate and end")
        self.kill_button = QPushButton("Kill")
        self.kill_button.setToolTip(KILL_TIP)
        for button, pixmap in (
            (self.train_button, QStyle.StandardPixmap.SP_MediaPlay),
            (self.stop_button, QStyle.StandardPixmap.SP_MediaStop),
            (self.kill_button, QStyle.StandardPixmap.SP_BrowserStop),
        ):
            button.setIcon(self.style().standardIcon(pixmap))
        self.resume = ResumeControls(self.session, self)
        self.resume.resume_requested.connect(self.resume_training)
        self.resume_button, self.resume_target, self.resume_epochs = (
            self.resume.button, self.resume.target, self.resume.epochs,
        )  # fmt: skip
        self.tensorboard_button = QPushButton("Open in TensorBoard")
        self.status_label = QLabel()
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.kill_button.clicked.connect(self.kill_training)
        self.tensorboard_button.clicked.connect(self.open_tensorboard)
        self.attach_button, self.export_button = self.cluster.attach_button, self.cluster.export_button
        self.ensemble_spin, self.retrain_button, self.compare_button = (
            self.loop.ensemble_spin, self.loop.retrain_button, self.loop.compare_button,
        )  # fmt: skip
        self.ensemble_spin.valueChanged.connect(lambda _n: self.train_button.setText(self.loop.train_text()))
        self.retrain_button.clicked.connect(self.retrain)
        self.compare_button.clicked.connect(self.compare_with_parent)
        for widget in (self.train_button, self.ensemble_spin, self.stop_button, self.kill_button):
            row.addWidget(widget)
        row.addSpacing(16)
        row.addWidget(self.retrain_button)
        row.addSpacing(16)
        row.addWidget(self.attach_button)
        row.addWidget(self.export_button)
        row.addSpacing(16)
        row.addWidget(self.resume_button)
        row.addWidget(self.resume_target)
        row.addWidget(self.resume_epochs)
        row.addSpacing(16)
        row.addWidget(self.tensorboard_button)
        row.addSpacing(16)
        row.addWidget(self.status_label, 1)
        return row

    def _build_plot_area(self) -> QWidget:
        area = QWidget()
        layout = QVBoxLayout(area)
        layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.x_axis_combo = QComboBox()
        self.x_axis_combo.addItems(["Per step", "Per epoch"])
        self.log_scale_check = QCheckBox("Log scale")
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setMaximumWidth(160)
        self.smoothing_label = QLabel("Smoothing 0.00")
        controls.addWidget(QLabel("X axis:"))
        controls.addWidget(self.x_axis_combo)
        controls.addWidget(self.log_scale_check)
        controls.addWidget(self.smoothing_label)
        controls.addWidget(self.smoothing_slider)
        controls.addStretch(1)
        self.plots = LossPlots()
        self.hover_label = QLabel(HOVER_HINT)
        self.hover_label.setStyleSheet("color: #555555;")
        self.plots.on_hover = lambda text: self.hover_label.setText(text or HOVER_HINT)
        self.x_axis_combo.currentIndexChanged.connect(lambda idx: self.plots.set_per_epoch(idx == 1))
        self.log_scale_check.toggled.connect(self.plots.set_log_y)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_slider_value_changed)
        layout.addLayout(controls)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.hover_label)
        return area

    def _build_side_tabs(self) -> QTabWidget:
        self.side_tabs = QTabWidget()
        self.history = history = HistoryTab()
        self.history_tree = history.tree
        self.history_tree.itemSelectionChanged.connect(self._on_history_selection_changed)
        self.history_tree.customContextMenuRequested.connect(self._on_history_tree_context_menu_requested)
        history.refresh_button.clicked.connect(self.refresh_history)
        history.add_button(self.compare_button)  # acts on the selected run
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(MAX_LOG_LINES)
        self.log_view.setFont(QFont("monospace", 9))
        self.log_view.setPlaceholderText("The training process's output appears here (and in the run's train.log).")
        self.side_tabs.addTab(history, "History")
        self.side_tabs.addTab(self.log_view, "Log")
        return self.side_tabs

    def _connect_session(self) -> None:
        session = self.session
        session.preparing.connect(lambda message: self.set_phase(message, busy=True))
        session.prepare_failed.connect(lambda: self.set_phase("Not started", busy=False))
        session.followed.connect(self._on_session_followed)
        session.event_received.connect(self._on_session_event_received)
        session.phase_changed.connect(self._on_session_phase_changed)
        session.progressed.connect(self.show_progress)
        session.log_received.connect(self._on_session_log_received)
        session.failed.connect(self.failure_box.show_failure)
        session.stale_changed.connect(self._on_session_stale_changed)
        session.ended.connect(self._on_session_ended)
        session.member_started.connect(self._on_session_member_started)
        session.refused.connect(self.refuse)
        session.changed.connect(self.update_buttons)

    # ------------------------------------------------------------------ intents (forwarded to the session)

    def is_loading(self) -> bool:
        """True while the history is being read (``--screenshot`` waits for it)."""
        return self._tasks.is_running()

    def start_training(self) -> bool:
        """Train a new run (or an ensemble of N, the spin box) from the project's saved config.

        Asks first when the Config pane has unsaved edits.

        Returns:
            False if refused or cancelled; else the config is checked in a thread and the child starts
            if it validates (an invalid config is reported).
        """
        return self._config_saved_or_kept("starting another one") and self.loop.train()

    def retrain(self) -> bool:
        """Retrain with new labels: a new run from the selected (or newest finished) run's weights.

        Returns:
            False if refused or cancelled; else the parents are checked in a thread (a bad parent is reported).
        """
        if not self._config_saved_or_kept("retraining"):
            return False
        return self.loop.retrain(self.selected_rows(), self.rows)

    def compare_with_parent(self) -> bool:
        """Open the selected run in Review with the run it started from overlaid."""
        selected = self.selected_rows()
        run = selected[0] if len(selected) == 1 else self._row(self._shown_run) if not selected else None
        return self.loop.compare_with_parent(run, self.rows)

    def _config_saved_or_kept(self, what: str) -> bool:
        """False if busy or the user cancels; unsaved Config edits are saved first if the user says so."""
        if self.session.is_busy():
            self.refuse(self.session.busy_reason(what))
            return False
        if self.state.project is not None and self.state.config_has_unsaved_edits:
            choice = dialogs.ask_choice(
                self, "Unsaved config edits",
                "The Config pane has edits that are not saved. Training uses the saved config.yaml.\n\n"
                "Save the edits and train with them, or train with the config as saved?",
                [SAVE_AND_TRAIN, TRAIN_SAVED],
            )  # fmt: skip
            if choice is None:
                return False
            if choice == SAVE_AND_TRAIN and not self.state.request_config_save():
                self.refuse("The config edits could not be saved (see the Config pane); training did not start.")
                return False
        return True

    def resume_training(self, run_dir: Path, max_epochs: int) -> bool:
        """Continue ``run_dir`` (same folder) until it has trained ``max_epochs`` epochs in all.

        Returns:
            False if refused at once (a run is going); else the run is checked in a thread.
        """
        return self.session.resume(run_dir, max_epochs)

    def stop_training(self) -> None:
        """Stop gracefully (the child saves a checkpoint and ends); an attached run is asked about first."""
        job = self.session.job
        if job is None or not self.session.can_stop():
            return
        if job.is_attached and not dialogs.confirm(
            self, "Stop the attached run?",
            f"Ask the run in {job.run_dir} to stop?\n\nPoseDesk writes {job.run_dir}/STOP; the training, on "
            "whichever machine runs it (through the shared filesystem), finishes its current step, saves a "
            "checkpoint, evaluates and ends.",
            "Stop",
        ):  # fmt: skip
            return
        self.session.stop()

    def kill_training(self) -> bool:
        """Kill the training process tree after a confirmation.

        Returns:
            True if it was killed.
        """
        job = self.session.job
        if job is None or not self.session.can_kill():
            return False  # an attached run's process is not ours: the button is disabled and says why
        question = (
            f"Kill the training of {run_name(job.run_dir)} now?\n\nThe current epoch is lost; the run "
            "keeps its last saved checkpoint and can be resumed from it. Stop ends cleanly instead."
        )
        member = self.session.member_text()
        if member:
            question = (
                f"Kill the ensemble's training now ({member}, {run_name(job.run_dir)})?\n\nThe current epoch "
                "is lost and the remaining members are not trained; the members already finished are kept. "
                "Stop ends cleanly instead."
            )
        if not dialogs.confirm(self, "Kill training?", question, "Kill"):
            return False
        return self.session.kill()

    def open_tensorboard(self) -> None:
        """Serve the shown run's ``tb_logs`` with TensorBoard (127.0.0.1, free port) and open the browser."""
        run_dir = self._shown_run
        if run_dir is None:
            self.state.report_error(DataError("No run is selected; pick a run in the history first."), "TensorBoard")
            return
        try:
            self.tensorboard.open_run(run_dir)
        except Exception as error:  # noqa: BLE001 - shown to the user, the pane stays usable
            self.state.report_error(error, "Cannot open TensorBoard")
            return
        self.state.post_message("Starting TensorBoard…", 5000)

    def copy_failure(self) -> None:
        """Copy the failure report (error, traceback, last log lines) to the clipboard."""
        self.failure_box.copy()

    def refresh_history(self) -> None:
        """Re-read the project's runs (in a thread; the latest request wins)."""
        project = self.state.project
        if project is None:
            self._tasks.invalidate("history")
            self._set_rows([])
            return
        self._tasks.run(
            "history", scan_runs, project.root, on_success=self._set_rows,
            on_error=lambda error: self.state.report_error(error, "Cannot list the runs"),
        )  # fmt: skip

    def shutdown(self) -> None:
        """End the training child, TensorBoard and the worker threads (the window is closing)."""
        self.session.shutdown()
        self.cluster.shutdown()
        self.tensorboard.shutdown()
        self._tasks.shutdown()

    # ------------------------------------------------------------------ the followed run

    def _on_session_followed(self, job: FollowedRun) -> None:
        self.failure_box.setVisible(False)
        self.video_warning.setVisible(False)
        self.log_view.setPlainText(self.session.log_text)
        self.show_live()
        history = self.session.history
        if job.is_attached and job.is_running() and history is not None and history.progress.steps_per_epoch:
            self.show_progress()  # where the run is, before its next event

    def _on_session_event_received(self, event: Any) -> None:
        if event.kind == "started":  # the run folder exists now: list it
            self.refresh_history()
        elif event.kind == "phase" and str(event.data.get("message", "")).startswith(SKIPPED_PREFIXES):
            self._show_video_warning(str(event.data["message"]))  # e.g. a corrupt video skipped after training
        if not self._redraw_timer.isActive():  # redraw once per batch of events (the job polls every 250 ms)
            self._redraw_timer.start(0)

    def _show_video_warning(self, message: str) -> None:
        """Keep a skipped video in view (the phase label moves on at once)."""
        shown = self.video_warning.text() if self.video_warning.isVisible() else ""
        self.video_warning.setText("\n".join(filter(None, [shown, f"⚠ {message}"])))
        self.video_warning.setVisible(True)

    def _redraw_live(self) -> None:
        self._redraw_timer.stop()
        job = self.session.job
        if job is not None and self._shown_run == job.run_dir:
            self.plots.redraw()
        if job is not None and self.session.history is not None:
            update_live_run_item(self.history_tree, job.run_dir, self.session.history)
        skipped = job.n_skipped_lines if job is not None else 0
        if skipped:
            self.status_label.setText(f"{skipped} garbled line(s) in events.jsonl skipped")

    def _on_session_phase_changed(self, phase: str, message: str) -> None:
        if phase != "training":
            member = self.session.member_text()
            text = phase_text(phase, message)
            self.set_phase(f"{member.capitalize()}: {text}" if member else text, busy=True)

    def _on_session_member_started(self, index: int, n_members: int) -> None:
        """An ensemble's next member started: show its own curves (the previous member is in the history)."""
        self.show_live()
        self.set_phase(f"{self.session.member_text().capitalize()}: starting", busy=True)
        self.refresh_history()
        self.state.post_message(f"Ensemble: member {index} of {n_members} done, member {index + 1} training", 6000)

    def show_progress(self) -> None:
        """Show the followed run's latest progress (epoch, step, images/s, ETA) in the progress bar."""
        history = self.session.history
        if history is not None:
            job = self.session.job
            self.progress_row.show_progress(
                history.progress, stopping=bool(job and job.stop_requested), member=self.session.member_text()
            )

    def _on_session_log_received(self, text: str) -> None:
        self.log_view.moveCursor(self.log_view.textCursor().MoveOperation.End)
        self.log_view.insertPlainText(text)
        self.log_view.ensureCursorVisible()

    def _on_session_stale_changed(self, stale: bool, _message: str) -> None:
        if stale:
            self.set_phase("No progress", busy=False, color=STALE_COLOR)
        else:
            self.set_phase("Training", busy=False)
        self.refresh_history()

    def _on_session_ended(self, status: str) -> None:
        job = self.session.job
        name = run_name(job.run_dir) if job is not None else ""
        member = self.session.member_text()
        text = f"Run {name} {status}"
        if isinstance(job, EnsembleTrainingJob) and status == RunStatus.FINISHED:
            text = f"Ensemble finished: all {job.n_members} members trained ({name} last)"
        elif member:
            text = f"Ensemble {status} at {member} ({name})"
        self.set_phase(text, busy=False, color=STATUS_COLORS.get(status))
        history = self.session.history
        self.progress_row.show_where_it_ended(status, history.progress if history is not None else None)
        self._redraw_live()

    # ------------------------------------------------------------------ showing runs

    def show_live(self) -> None:
        """Show the followed run's live curves."""
        job, history = self.session.job, self.session.history
        if job is None or history is None:
            return
        self._shown_run = job.run_dir
        self.plots.set_runs([(run_name(job.run_dir), history)])

    def _on_state_run_changed(self, run_dir: Path | None) -> None:
        self.resume.forget_choice()  # each run starts with its own default
        if run_dir is None:
            self._shown_run = None
            self.plots.set_runs([])
        elif self.session.follows(run_dir) and self.session.history is not None:
            self.show_live()
        else:
            self._replay(Path(run_dir))
        self._select_history_row(run_dir)
        self.update_buttons()

    def _replay(self, run_dir: Path) -> None:
        self._shown_run = run_dir
        row = self._row(run_dir)
        if row is not None:
            self._show_replayed(run_dir, row.history)
            return
        self._tasks.run(
            "replay", LossHistory.from_run, run_dir,
            on_success=lambda history: self._show_replayed(run_dir, history),
            on_error=lambda error: self.state.report_error(error, "Cannot read the run"),
        )  # fmt: skip

    def _show_replayed(self, run_dir: Path, history: LossHistory) -> None:
        if self._shown_run != run_dir:
            return
        if not run_dir.is_dir():
            self.state.report_error(
                DataError(
                    f"The run folder {run_dir} no longer exists; press Refresh in the history.", path=str(run_dir)
                ),
                "Cannot show the run",
            )
        self.plots.set_runs([(run_name(run_dir), history)])
        busy = self.session.is_busy()
        if history.status == RunStatus.FAILED and not busy:
            self.failure_box.show_failure(
                TrainingFailure(history.error, history.traceback, None, read_log_tail(run_dir))
            )
        elif not busy:
            self.failure_box.setVisible(False)
        self.update_buttons()

    def selected_rows(self) -> list[RunRow]:
        """The runs selected in the history (an ensemble's row stands for all its members), newest first."""
        paths = self.history.selected_paths()
        return [row for row in self.rows if row.path in paths]

    def _on_history_selection_changed(self) -> None:
        selected = self.selected_rows()
        if len(selected) == 1:
            self.state.set_run_dir(selected[0].path)
            if self._shown_run != selected[0].path:
                self._on_state_run_changed(selected[0].path)
        elif len(selected) > 1:
            self._shown_run = None
            runs = []
            for row in selected:
                live = self.session.follows(row.path) and self.session.history is not None
                runs.append((row.name, self.session.history if live and self.session.history else row.history))
            self.plots.set_runs(runs)
            self.x_axis_combo.setCurrentIndex(1)  # runs are compared per epoch
        self.update_buttons()

    def _on_history_tree_context_menu_requested(self, pos: QPoint) -> None:
        item = self.history_tree.itemAt(pos)
        if item is not None and not item.isSelected():
            self.history_tree.clearSelection()
            item.setSelected(True)
        menu = self.loop.context_menu(self.selected_rows(), self.rows)
        menu.popup(self.history_tree.viewport().mapToGlobal(pos))
        self._context_menu = menu  # kept for tests and until it closes

    def _set_rows(self, rows: list[RunRow]) -> None:
        self.rows = list(rows)
        job = self.session.job
        planned = job.member_dirs if isinstance(job, EnsembleTrainingJob) and job.is_running() else []
        fill_history_tree(self.history_tree, self.rows, self._row_status, planned)
        self._select_history_row(self._shown_run)
        self.update_buttons()

    def _row_status(self, row: RunRow) -> str:
        return self.session.live_status(row.path) or row.status

    def _row(self, run_dir: Path | None) -> RunRow | None:
        return next((r for r in self.rows if run_dir is not None and r.path == Path(run_dir)), None)

    def _select_history_row(self, run_dir: Path | None) -> None:
        self.history.select_run(run_dir)

    def _on_state_project_changed(self, _project: Any) -> None:
        if not self.session.is_running():
            self.failure_box.setVisible(False)
            self.video_warning.setVisible(False)
        self.plots.clear_hover()
        self.refresh_history()
        self.update_buttons()

    # ------------------------------------------------------------------ small helpers

    def _on_smoothing_slider_value_changed(self, value: int) -> None:
        self.smoothing_label.setText(f"Smoothing {value / 100:.2f}")
        self.plots.set_smoothing(value / 100)

    def set_phase(self, text: str, *, busy: bool, color: str | None = None) -> None:
        """Show ``text`` beside the progress bar (a moving bar while ``busy``)."""
        self.progress_row.set_phase(text, busy=busy, color=color)

    def refuse(self, message: str) -> None:
        """Say why an intent was refused (status line and status bar)."""
        self.status_label.setText(message)
        self.state.post_message(message, 8000)

    def update_buttons(self) -> None:
        """Enable what the session and the shown run allow."""
        session = self.session
        busy = session.is_busy()
        attached = session.is_attached()
        self.train_button.setEnabled(self.state.project is not None and not busy)
        self.stop_button.setEnabled(session.can_stop())
        self.kill_button.setEnabled(session.can_kill())
        self.kill_button.setToolTip(KILL_ATTACHED_TIP if attached else KILL_TIP)
        self.cluster.update_buttons()
        self.resume.show_run(self._shown_run, self._row(self._shown_run))
        self.resume.update(busy)
        self.tensorboard_button.setEnabled(self._shown_run is not None)
        selected = self.selected_rows() or ([row] if (row := self._row(self._shown_run)) is not None else [])
        self.loop.update_buttons(selected, busy, self.state.project is not None)
