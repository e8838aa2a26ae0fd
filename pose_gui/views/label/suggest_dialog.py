"""SuggestFramesDialog: "Suggest frames" in the Label pane: which runs, which videos, how many; then the ranking.

The ranking is ``posedesk suggest-frames`` in a child process (:class:`~pose_gui.workers.events_job.EventsJob`):
it predicts the videos a run has not predicted yet, reads the saved predictions, smooths them with
the Ensemble Kalman Smoother (2+ runs; it reuses ``<stem>_eks.csv`` when "Predict with EKS" wrote
it), scores every frame and picks N, each with its reason. The dialog shows the progress and can
cancel (nothing is queued then); when it ends, :attr:`SuggestFramesDialog.picks_ready` hands the
picks to the pane, which extracts and queues them. Bad input (no run or video chosen, runs with
other keypoints, a run still training...) is one message in the dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pose_core.events import Event
from pose_core.runs.listing import RunInfo
from pose_gui.models.ensembles import USABLE_STATUSES, EnsembleGroup, default_suggest_runs
from pose_gui.style import ERROR_COLOR
from pose_gui.workers.events_job import EventsJob

PATH_ROLE = Qt.ItemDataRole.UserRole
SUGGEST_MODULE = "pose_core.ensemble.suggest"
DEFAULT_N_FRAMES = 10


def suggest_arguments(project_root: Path, runs: Sequence[Path], videos: Sequence[Path], n: int, eks: bool) -> list[str]:
    """The ``posedesk suggest-frames`` arguments (without ``--events``)."""
    args = [str(project_root), "--runs", *map(str, runs), "--videos", *map(str, videos), "--n", str(n)]
    return args + ([] if eks else ["--no-eks"])


def _checkable(text: str, data: str, checked: bool, tip: str = "", enabled: bool = True) -> QListWidgetItem:
    item = QListWidgetItem(text)
    item.setData(PATH_ROLE, data)
    flags = Qt.ItemFlag.ItemIsUserCheckable | (Qt.ItemFlag.ItemIsEnabled if enabled else Qt.ItemFlag.NoItemFlags)
    item.setFlags(flags)
    item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
    item.setToolTip(tip or data)
    return item


def _checked(widget: QListWidget) -> list[Path]:
    items = (widget.item(i) for i in range(widget.count()))
    return [
        Path(str(it.data(PATH_ROLE))) for it in items if it is not None and it.checkState() == Qt.CheckState.Checked
    ]


class SuggestFramesDialog(QDialog):
    """Runs, videos and N; Suggest runs the ranking with a progress bar and Cancel.

    Signals:
        picks_ready(list): The picks (:class:`~pose_core.ensemble.ranking.Pick`), best first.
    """

    picks_ready = Signal(list)

    def __init__(
        self,
        project_root: Path,
        runs: Sequence[RunInfo],
        groups: Sequence[EnsembleGroup],
        videos: Sequence[Path],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Suggest frames to label")
        self.setMinimumWidth(560)
        self.project_root = Path(project_root)
        self.job: EventsJob | None = None
        self.picks: list[object] | None = None
        self._build(runs, groups, videos)

    # ------------------------------------------------------------------ construction

    def _build(self, runs: Sequence[RunInfo], groups: Sequence[EnsembleGroup], videos: Sequence[Path]) -> None:
        member_of = {m: g for g in groups for m in g.members}
        chosen = set(default_suggest_runs(runs, groups))
        self.run_list = QListWidget()
        for run in runs:
            group = member_of.get(run.path)
            note = f" · {group.label}" if group is not None else ""
            usable = run.status in USABLE_STATUSES
            tip = (
                str(run.path) if usable else f"{run.path}: {run.status}; only finished or stopped runs can rank frames"
            )
            self.run_list.addItem(_checkable(f"{run.name} ({run.status}){note}", str(run.path), run.path in chosen,
                                             tip, enabled=usable))  # fmt: skip
        self.video_list = QListWidget()
        for video in videos:
            self.video_list.addItem(_checkable(video.name, str(video), True))
        for widget in (self.run_list, self.video_list):
            widget.setMaximumHeight(150)
            widget.itemChanged.connect(lambda _item: self._update_controls())
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 500)
        self.n_spin.setValue(DEFAULT_N_FRAMES)
        self.n_spin.setSuffix(" frames")
        self.eks_check = QCheckBox("Smooth with the Ensemble Kalman Smoother (2+ runs; slower the first time)")
        self.eks_check.setChecked(True)
        self.eks_check.setToolTip(
            "Adds the smoother's uncertainty to the scores; reuses <video>_eks.csv written by Predict with EKS"
        )
        self.explain = QLabel(
            "Frames are ranked by how unsure the runs are (disagreement between runs, the smoother's uncertainty, low "
            "likelihood, jumps, poses unlike any label), never near a labelled or queued frame. Videos a run has not "
            "predicted are predicted first."
        )
        self.explain.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(420)
        self.progress.hide()
        self.buttons = QDialogButtonBox()
        self.suggest_button = QPushButton("Suggest")
        self.suggest_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.buttons.addButton(self.suggest_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.suggest_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        form = QFormLayout()
        form.addRow("Runs", self.run_list)
        form.addRow("Videos", self.video_list)
        form.addRow("How many", self.n_spin)
        form.addRow("", self.eks_check)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self._update_controls()

    def chosen_runs(self) -> list[Path]:
        """The ticked runs."""
        return _checked(self.run_list)

    def chosen_videos(self) -> list[Path]:
        """The ticked videos."""
        return _checked(self.video_list)

    def _update_controls(self) -> None:
        running = self.job is not None and self.job.is_running()
        self.eks_check.setEnabled(len(self.chosen_runs()) >= 2 and not running)
        for widget in (self.run_list, self.video_list, self.n_spin):
            widget.setEnabled(not running)
        self.suggest_button.setEnabled(not running)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(f"<span style='color:{ERROR_COLOR}'>{text}</span>" if error and text else text)
        self.message.setVisible(bool(text))

    # ------------------------------------------------------------------ running

    def start(self) -> EventsJob | None:
        """Check the choice and start ranking (None when the choice is incomplete: the dialog says why)."""
        runs, videos = self.chosen_runs(), self.chosen_videos()
        if not runs:
            self._say("Tick at least one run (a finished run; an ensemble's runs give better suggestions).", True)
            return None
        if not videos:
            self._say("Tick at least one video to take the frames from.", True)
            return None
        eks = self.eks_check.isChecked() and len(runs) >= 2
        job = EventsJob(SUGGEST_MODULE, suggest_arguments(self.project_root, runs, videos, self.n_spin.value(), eks),
                        parent=self)  # fmt: skip
        job.event_received.connect(self._on_job_event_received)
        job.ended.connect(self._on_job_ended)
        self.job = job
        self.progress.setRange(0, 0)
        self.progress.setFormat("Starting…")
        self.progress.show()
        self._say("")
        job.start()
        self._update_controls()
        return job

    def _on_job_event_received(self, event: Event) -> None:
        data = event.data
        if event.kind == "progress" and data.get("job") == "predict":
            done, total = int(data.get("frames_done", 0)), max(int(data.get("n_frames", 0)), 1)
            name = Path(str(data.get("video", ""))).name
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"Predicting {name} first: {done}/{total} frames")
        elif event.kind == "progress" and data.get("job") == "suggest":
            self.progress.setRange(0, max(int(data.get("total", 1)), 1))
            self.progress.setValue(int(data.get("done", 0)))
            self.progress.setFormat(str(data.get("message", "")))
        elif event.kind == "started" and data.get("job") == "predict":
            self.progress.setRange(0, 0)
            self.progress.setFormat("Loading a model to predict a video first…")

    def _on_job_ended(self, ok: bool, error: str) -> None:
        job = self.job
        self.progress.hide()
        self._update_controls()
        if job is None:
            return
        if ok:
            self._accept_result(job)
        elif job.cancelled:
            self._say("Cancelled: nothing was queued.")
        else:
            self._say(f"No frames suggested: {error}", True)
        self.job = None
        self._update_controls()

    def _accept_result(self, job: EventsJob) -> None:
        from pose_core.ensemble.suggest import pick_from_record
        from pose_core.errors import PoseDeskError

        finished = job.last_event("finished", job="suggest")
        records = finished.data.get("picks") if finished is not None else None
        if not isinstance(records, list):
            self._say("No frames suggested: the ranking ended without a result; try again.", True)
            return
        try:
            picks = [pick_from_record(r) for r in records]
        except PoseDeskError as error:
            self._say(str(error), True)
            return
        if not picks:
            self._say("No frame is far enough from the labelled and queued frames: choose more videos.", True)
            return
        self.picks = list(picks)
        self.picks_ready.emit(list(picks))
        self.accept()

    def _on_cancel_button_clicked(self) -> None:
        if self.job is not None and self.job.is_running():
            self.progress.setFormat("Stopping…")
            self.job.cancel()
        else:
            self.reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def reject(self) -> None:
        """Close; a running ranking is stopped first (nothing is queued)."""
        if self.job is not None and self.job.is_running():
            self.job.cancel()
            return
        super().reject()

    def shutdown(self) -> None:
        """Kill a running ranking now (the pane or window is closing)."""
        if self.job is not None:
            self.job.shutdown()
