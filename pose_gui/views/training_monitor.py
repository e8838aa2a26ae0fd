"""The Training pane: train the project in a child process, watch its curves live, stop, kill, resume, compare.

Attach to run follows a run directory another process or machine writes (``bash train.sh`` in a
terminal, a SLURM job on a shared filesystem) with the same curves and progress, read-only: Stop
writes its STOP file after a confirmation, Kill is impossible, and a run whose files stop growing
is reported as stale instead of looking hung. Export job writes a run directory that trains
elsewhere (:mod:`pose_gui.views.export_job_dialog`).

Train validates the project's saved ``config.yaml`` (in a thread) and starts a
:class:`~pose_gui.workers.training.TrainingJob`; its events feed a :class:`LossHistory` that the
plots (:class:`LossPlots`: loss, RMSE in pixels, learning rate; per step or per epoch, log scale,
smoothing, hover values) redraw. The history table lists the project's runs; selecting one replays
its ``events.jsonl``, selecting several overlays them. A failed run shows its traceback and last
log lines with a Copy button. Nothing here blocks the GUI thread: files are read by worker threads
or in small timer ticks, and training runs in its own process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from pose_core.errors import DataError
from pose_core.runs.layout import CONFIG_FILENAME, RunLayout
from pose_gui import dialogs
from pose_gui.models.loss_history import LossHistory, RunRow, format_duration, scan_runs
from pose_gui.style import STATUS_COLORS
from pose_gui.views.cluster_controls import ClusterControls
from pose_gui.views.loss_plots import LossPlots
from pose_gui.views.training_parts import (
    HISTORY_COLUMNS,
    PHASE_TEXT,
    FailureBox,
    check_resumable,
    fill_history_table,
    read_log_tail,
    validate_project_config,
)
from pose_gui.workers.attach import AttachedRun
from pose_gui.workers.tasks import TaskThread, stop_thread
from pose_gui.workers.tensorboard import TensorBoardServer
from pose_gui.workers.training import TrainingFailure, TrainingJob, new_run_dir, resume_command, train_command

if TYPE_CHECKING:
    from pose_gui.models.state import AppState

MAX_LOG_LINES = 5000
CommandFactory = Callable[[Path, Path], list[str]]
KILL_TIP = "End the training process and its children at once (asks first)"
KILL_ATTACHED_TIP = (
    "Kill is not possible for an attached run: its process belongs to another machine or session "
    "(use Stop, or end it there: scancel JOBID / Ctrl-C)"
)


class TrainingMonitorPane(QWidget):
    """Train, watch, stop, kill, resume and compare training runs of the open project.

    Attributes:
        command_factory: ``(project_root, run_dir) -> argv`` of a new run (tests inject a child
            that fails); the default trains the project's saved config with ``pose-train``.
        stop_grace_s: After Stop, a child silent for this long is killed.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.command_factory: CommandFactory = train_command
        self.stop_grace_s = 120.0
        self.job: TrainingJob | AttachedRun | None = None
        self.live_history: LossHistory | None = None
        self.failure: TrainingFailure | None = None
        self.rows: list[RunRow] = []
        self._job_id: int | None = None
        self._preparing: TaskThread | None = None
        self._tasks: list[TaskThread] = []
        self._shown_run: Path | None = None
        self._replay_request = 0
        self._redraw_timer = QTimer(self)  # one redraw per batch of events
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw_live)
        self.tensorboard = TensorBoardServer(self)
        self.tensorboard.failed.connect(lambda error: self.state.report_error(error, "TensorBoard failed"))
        self.tensorboard.ready.connect(lambda url: self.state.post_message(f"TensorBoard serves at {url}", 10000))
        self.cluster = ClusterControls(self)
        self._build()
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
        layout.addLayout(self._build_progress())
        self.attach_banner = QLabel()
        self.attach_banner.setWordWrap(True)
        self.attach_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.attach_banner.setVisible(False)
        layout.addWidget(self.attach_banner)
        self.failure_box = FailureBox(lambda: self.state.post_message("Error report copied to the clipboard", 4000))
        self.failure_title, self.failure_text, self.copy_button = (
            self.failure_box.title, self.failure_box.text, self.failure_box.copy_button,
        )  # fmt: skip
        layout.addWidget(self.failure_box)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_plot_area())
        splitter.addWidget(self._build_side_tabs())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
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
        self.resume_epochs = QSpinBox()
        self.resume_epochs.setRange(1, 10000)
        self.resume_epochs.setValue(10)
        self.resume_epochs.setPrefix("+")
        self.resume_epochs.setSuffix(" epochs")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected run (same folder, its curves continue) for more epochs")
        self.tensorboard_button = QPushButton("Open in TensorBoard")
        self.status_label = QLabel()
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.kill_button.clicked.connect(self.kill_training)
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.tensorboard_button.clicked.connect(self.open_tensorboard)
        self.attach_button, self.export_button = self.cluster.attach_button, self.cluster.export_button
        for widget in (self.train_button, self.stop_button, self.kill_button):
            row.addWidget(widget)
        row.addSpacing(16)
        row.addWidget(self.attach_button)
        row.addWidget(self.export_button)
        row.addSpacing(16)
        row.addWidget(self.resume_epochs)
        row.addWidget(self.resume_button)
        row.addSpacing(16)
        row.addWidget(self.tensorboard_button)
        row.addSpacing(16)
        row.addWidget(self.status_label, 1)
        return row

    def _build_progress(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.phase_label = QLabel("No training running")
        self.phase_label.setMinimumWidth(220)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        self.progress_bar.setValue(0)
        row.addWidget(self.phase_label)
        row.addWidget(self.progress_bar, 1)
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
        self.hover_label = QLabel("Hover over a plot to read its values")
        self.hover_label.setStyleSheet("color: #555555;")
        self.plots.on_hover = self.hover_label.setText
        self.x_axis_combo.currentIndexChanged.connect(lambda idx: self.plots.set_per_epoch(idx == 1))
        self.log_scale_check.toggled.connect(self.plots.set_log_y)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing_slider_value_changed)
        layout.addLayout(controls)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.hover_label)
        return area

    def _build_side_tabs(self) -> QTabWidget:
        self.side_tabs = QTabWidget()
        history = QWidget()
        layout = QVBoxLayout(history)
        self.history_table = QTableWidget(0, len(HISTORY_COLUMNS))
        self.history_table.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.history_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.history_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history_table.verticalHeader().setVisible(False)
        self.history_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.history_table.itemSelectionChanged.connect(self._on_history_selection_changed)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_history)
        hint = QLabel("Select a run to replay its curves; Ctrl-click several runs to overlay them.")
        hint.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(refresh)
        layout.addWidget(self.history_table, 1)
        layout.addLayout(bottom)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(MAX_LOG_LINES)
        self.log_view.setFont(QFont("monospace", 9))
        self.log_view.setPlaceholderText("The training process's output appears here (and in the run's train.log).")
        self.side_tabs.addTab(history, "History")
        self.side_tabs.addTab(self.log_view, "Log")
        return self.side_tabs

    # ------------------------------------------------------------------ public API

    def is_training(self) -> bool:
        """True while a training child runs (or is being prepared)."""
        return (self.job is not None and self.job.is_running()) or self._preparing is not None

    def is_loading(self) -> bool:
        """True while the history is being read (``--screenshot`` waits for it)."""
        return bool(self._tasks)

    def start_training(self) -> bool:
        """Train a new run from the project's saved config; refused while a run is going.

        Returns:
            False if refused at once (no project, or a run is going); else the config is checked
            in a thread and the child starts if it validates (an invalid config is reported).
        """
        if self.is_training():
            self.refuse(self.busy_reason("starting another one"))
            return False
        project = self.state.project
        if project is None:
            self.state.report_error(DataError("No project is open; open a project, then press Train."), "Cannot train")
            return False
        root = project.root
        on_success = lambda _loaded: self._start_new_run(root)  # noqa: E731
        self.prepare(
            validate_project_config,
            root / CONFIG_FILENAME,
            on_success,
            "Cannot start training",
            "Checking config.yaml…",
        )
        return True

    def resume_training(self, run_dir: Path, extra_epochs: int) -> bool:
        """Continue ``run_dir`` (same folder) for ``extra_epochs`` more epochs.

        Returns:
            False if refused at once (a run is going); else the run is checked in a thread.
        """
        if self.is_training():
            self.refuse(self.busy_reason("resuming another one"))
            return False
        run_dir = Path(run_dir)
        row = next((r for r in self.rows if r.path == run_dir), None)
        if self.job is not None and self.job.run_dir == run_dir and self.live_history is not None:
            done = self.live_history.epochs_completed  # fresher than a row listed while it trained
        else:
            done = row.history.epochs_completed if row is not None else LossHistory.from_run(run_dir).epochs_completed
        command = resume_command(run_dir, done + extra_epochs)
        on_success = lambda _ckpt: self._launch(run_dir, command)  # noqa: E731
        self.prepare(check_resumable, run_dir, on_success, "Cannot resume", "Checking the run's checkpoint…")
        return True

    def prepare(self, fn: Any, arg: Any, on_success: Any, error_title: str, message: str) -> None:
        """Check something in a thread before a job starts (Train, Train and Attach wait for it)."""
        self._preparing = self.run_task(fn, arg, on_success=on_success, error_title=error_title)
        self.set_phase(message, busy=True)
        self.update_buttons()

    def busy_reason(self, what: str) -> str:
        if isinstance(self.job, AttachedRun) and self.job.is_running():
            return f"PoseDesk is attached to {self.run_name(self.job.run_dir)}; detach before {what}."
        return f"A training run is already going; stop it before {what}."

    def stop_training(self) -> None:
        """Stop gracefully (the child saves a checkpoint and ends); an attached run is asked first."""
        if isinstance(self.job, AttachedRun):
            self.cluster.stop_attached(self.job)
        elif self.job is not None and self.job.is_running():
            self.job.request_stop()
        self.update_buttons()

    def kill_training(self) -> bool:
        """Kill the training process tree after a confirmation.

        Returns:
            True if it was killed.
        """
        if self.job is None or not self.job.is_running() or isinstance(self.job, AttachedRun):
            return False  # an attached run's process is not ours: the button is disabled and says why
        question = (
            f"Kill the training of {self.run_name(self.job.run_dir)} now?\n\nThe current epoch is lost; the run "
            "keeps its last saved checkpoint and can be resumed from it. Stop ends cleanly instead."
        )
        if not dialogs.confirm(self, "Kill training?", question, "Kill"):
            return False
        self.job.kill()
        return True

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
        """Re-read the project's runs (in a thread)."""
        project = self.state.project
        if project is None:
            self._set_rows([])
            return
        self.run_task(scan_runs, project.root, on_success=self._set_rows, error_title="Cannot list the runs")

    def shutdown(self) -> None:
        """End the training child, TensorBoard and the worker threads (the window is closing)."""
        if self.job is not None:
            self.job.shutdown()
        self.cluster.shutdown()
        self.tensorboard.shutdown()
        for task in list(self._tasks):
            stop_thread(task)

    # ------------------------------------------------------------------ the job

    def _start_new_run(self, project_root: Path) -> None:
        run_dir = new_run_dir(project_root)
        self._launch(run_dir, self.command_factory(project_root, run_dir))

    def _launch(self, run_dir: Path, command: list[str]) -> None:
        self._preparing = None
        if self.state.project is None:
            self.update_buttons()
            return
        job = TrainingJob(run_dir, command, stop_grace_s=self.stop_grace_s, parent=self)
        self.follow(job, LossHistory.from_run(run_dir) if RunLayout(run_dir).events.is_file() else LossHistory())
        self._job_id = self.state.add_job(f"Training run {self.run_name(run_dir)}")
        job.start()
        self.state.set_run_dir(run_dir)
        self.show_live()
        self.state.post_message(f"Training started in {run_dir}", 5000)
        self.update_buttons()

    def follow(self, job: TrainingJob | AttachedRun, history: LossHistory, log_text: str = "") -> None:
        """Make ``job`` the followed run: its events feed ``history``, the plots and the progress bar."""
        self._preparing = None
        self.job = job
        self.live_history = history
        self.failure_box.setVisible(False)
        self.log_view.setPlainText(log_text)
        job.event_received.connect(self._on_job_event_received)
        job.phase_changed.connect(self._on_job_phase_changed)
        job.progress.connect(self._on_job_progress)
        job.log_received.connect(self._on_job_log_received)
        job.failed.connect(self._on_job_failed)
        job.ended.connect(self._on_job_ended)

    def _on_job_event_received(self, event: Any) -> None:
        if self.live_history is not None:
            self.live_history.add_event(event)
        if event.kind == "started":  # the run folder exists now: list it
            self.refresh_history()
        if not self._redraw_timer.isActive():  # redraw once per batch of events (the job polls every 250 ms)
            self._redraw_timer.start(0)

    def _redraw_live(self) -> None:
        self._redraw_timer.stop()
        if self.job is not None and self._shown_run == self.job.run_dir:
            self.plots.redraw()
        skipped = self.job.n_skipped_lines if self.job is not None else 0
        if skipped:
            self.status_label.setText(f"{skipped} garbled line(s) in events.jsonl skipped")

    def _on_job_phase_changed(self, phase: str, message: str) -> None:
        if phase != "training":
            self.set_phase(
                f"{PHASE_TEXT.get(phase, phase)}: {message}" if message else PHASE_TEXT.get(phase, phase), busy=True
            )

    def _on_job_progress(self, _data: dict[str, Any]) -> None:
        self.show_progress()

    def show_progress(self) -> None:
        """Show the followed run's latest progress (epoch, step, images/s, ETA) in the progress bar."""
        history = self.live_history
        if history is None:
            return
        p = history.progress
        self.phase_label.setText("Stopping after this step…" if self.job and self.job.stop_requested else "Training")
        total_steps = (p.max_epochs or 0) * p.steps_per_epoch
        self.progress_bar.setRange(0, max(total_steps, 1))
        self.progress_bar.setValue(min(p.epoch * p.steps_per_epoch + p.step, max(total_steps, 1)))
        rate = f"{p.images_per_s:.1f} images/s" if p.images_per_s else "— images/s"
        eta = format_duration(p.eta_s) if p.eta_s is not None else "—"
        self.progress_bar.setFormat(f"{_position(p).capitalize()} · {rate} · ETA {eta}")

    def _show_where_it_ended(self, status: str) -> None:
        """Replace the running figures (rate, ETA) with where the run ended."""
        history = self.live_history
        if history is None or self.progress_bar.maximum() == 0:
            self.progress_bar.setFormat("")
            return
        p = history.progress
        where = _position(p, with_step=status != "finished" and bool(p.steps_per_epoch))
        self.progress_bar.setFormat(f"{status.capitalize()} at {where}")

    def _on_job_log_received(self, text: str) -> None:
        self.log_view.moveCursor(self.log_view.textCursor().MoveOperation.End)
        self.log_view.insertPlainText(text)
        self.log_view.ensureCursorVisible()

    def _on_job_failed(self, failure: TrainingFailure) -> None:
        self._show_failure(failure)

    def _on_job_ended(self, status: str) -> None:
        if self._job_id is not None:
            self.state.remove_job(self._job_id)
            self._job_id = None
        job = self.job
        name = self.run_name(job.run_dir) if job is not None else ""
        self.set_phase(f"Run {name} {status}", busy=False, color=STATUS_COLORS.get(status))
        if status == "finished":
            self.progress_bar.setValue(self.progress_bar.maximum())
        self._show_where_it_ended(status)
        self._redraw_live()
        self.state.post_message(f"Training run {name} {status}", 8000)
        self.cluster.on_job_ended()
        self.update_buttons()
        self.state.runs_changed.emit()

    # ------------------------------------------------------------------ showing runs

    def show_live(self) -> None:
        if self.job is None or self.live_history is None:
            return
        self._shown_run = self.job.run_dir
        self.plots.set_runs([(self.run_name(self.job.run_dir), self.live_history)])

    def _on_state_run_changed(self, run_dir: Path | None) -> None:
        if run_dir is None:
            self._shown_run = None
            self.plots.set_runs([])
        elif self.job is not None and Path(run_dir) == self.job.run_dir and self.live_history is not None:
            self.show_live()
        else:
            self._replay(Path(run_dir))
        self._select_history_row(run_dir)
        self.update_buttons()

    def _replay(self, run_dir: Path) -> None:
        self._shown_run = run_dir
        row = next((r for r in self.rows if r.path == run_dir), None)
        if row is not None:
            self._show_replayed(run_dir, row.history)
            return
        self._replay_request += 1
        request = self._replay_request
        self.run_task(
            LossHistory.from_run,
            run_dir,
            on_success=lambda history: (
                self._show_replayed(run_dir, history) if request == self._replay_request else None
            ),
            error_title="Cannot read the run",
        )

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
        self.plots.set_runs([(self.run_name(run_dir), history)])
        if history.status == "failed" and not self.is_training():
            self._show_failure(TrainingFailure(history.error, history.traceback, None, read_log_tail(run_dir)))
        elif not self.is_training():
            self.failure_box.setVisible(False)

    def _on_history_selection_changed(self) -> None:
        rows = sorted({index.row() for index in self.history_table.selectionModel().selectedRows()})
        selected = [self.rows[i] for i in rows if i < len(self.rows)]
        if len(selected) == 1:
            self.state.set_run_dir(selected[0].path)
            if self._shown_run != selected[0].path:
                self._on_state_run_changed(selected[0].path)
        elif len(selected) > 1:
            self._shown_run = None
            runs = []
            for row in selected:
                live = self.job is not None and row.path == self.job.run_dir and self.live_history is not None
                runs.append((row.name, self.live_history if live and self.live_history else row.history))
            self.plots.set_runs(runs)
            self.x_axis_combo.setCurrentIndex(1)  # runs are compared per epoch
        self.update_buttons()

    def _set_rows(self, rows: list[RunRow]) -> None:
        self.rows = list(rows)
        fill_history_table(self.history_table, self.rows, self._row_status)
        self._select_history_row(self._shown_run)
        self.update_buttons()

    def _row_status(self, row: RunRow) -> str:
        job = self.job
        if job is not None and job.is_running() and row.path == job.run_dir:
            if isinstance(job, AttachedRun) and job.is_stale:
                return "stale"
            if isinstance(job, AttachedRun) and not job.follower.n_events:
                return "waiting"  # a queued job (or one starting) has written nothing yet
            return "running"
        return row.status

    def _select_history_row(self, run_dir: Path | None) -> None:
        table = self.history_table
        table.blockSignals(True)
        table.clearSelection()
        for i, row in enumerate(self.rows):
            if run_dir is not None and row.path == Path(run_dir):
                table.selectRow(i)
        table.blockSignals(False)

    def _on_state_project_changed(self, project: Any) -> None:
        if self.job is None or not self.job.is_running():
            self.failure_box.setVisible(False)
        self.refresh_history()
        self.update_buttons()

    # ------------------------------------------------------------------ small helpers

    def _on_resume_button_clicked(self) -> None:
        if self._shown_run is not None:
            self.resume_training(self._shown_run, self.resume_epochs.value())

    def _on_smoothing_slider_value_changed(self, value: int) -> None:
        self.smoothing_label.setText(f"Smoothing {value / 100:.2f}")
        self.plots.set_smoothing(value / 100)

    def _show_failure(self, failure: TrainingFailure) -> None:
        self.failure = failure
        self.failure_box.show_failure(failure)

    def set_phase(self, text: str, *, busy: bool, color: str | None = None) -> None:
        self.phase_label.setText(text)
        self.phase_label.setStyleSheet(f"color: {color};" if color else "")
        if busy:
            self.progress_bar.setRange(0, 0)  # moving bar: a slow start never looks hung
            self.progress_bar.setFormat("")
        elif self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)

    def refuse(self, message: str) -> None:
        self.status_label.setText(message)
        self.state.post_message(message, 8000)

    def update_buttons(self) -> None:
        training = self.is_training()
        running = self.job is not None and self.job.is_running()
        self.train_button.setEnabled(self.state.project is not None and not training)
        attached = running and isinstance(self.job, AttachedRun)
        self.stop_button.setEnabled(running and not (self.job is not None and self.job.stop_requested))
        self.kill_button.setEnabled(running and not attached)
        self.kill_button.setToolTip(KILL_ATTACHED_TIP if attached else KILL_TIP)
        self.cluster.update_buttons(attached=attached, busy=training)
        resumable = self._shown_run is not None and self._shown_status() in ("finished", "stopped", "killed")
        self.resume_button.setEnabled(resumable and not training)
        self.resume_epochs.setEnabled(resumable and not training)
        self.tensorboard_button.setEnabled(self._shown_run is not None)

    def _shown_status(self) -> str:
        if self.job is not None and self._shown_run == self.job.run_dir:
            return self.job.status
        row = next((r for r in self.rows if r.path == self._shown_run), None)
        return row.status if row is not None else ""

    def run_task(self, fn: Any, *args: Any, on_success: Any, error_title: str) -> TaskThread:
        task = TaskThread(fn, *args, parent=self)

        def on_failed(error: BaseException) -> None:
            if task is self._preparing:
                self._preparing = None
                self.set_phase("Not started", busy=False)
            self.state.report_error(error, error_title)
            self.update_buttons()

        def on_finished() -> None:
            if task in self._tasks:
                self._tasks.remove(task)
            task.deleteLater()

        task.succeeded.connect(on_success)
        task.failed.connect(on_failed)
        task.finished.connect(on_finished)
        self._tasks.append(task)
        task.start()
        return task

    @staticmethod
    def run_name(run_dir: Path) -> str:
        return f"{run_dir.parent.name}/{run_dir.name}"


def _position(p: Any, with_step: bool = True) -> str:
    """``epoch 3/12 · step 5/24`` of a run's progress (``?`` for an unknown epoch count)."""
    where = f"epoch {p.epoch + 1}/{p.max_epochs or '?'}"
    return f"{where} · step {p.step}/{p.steps_per_epoch}" if with_step else where
