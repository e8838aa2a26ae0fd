"""The Training pane's cluster controls: "Attach to run…" / "Detach" and "Export job…".

Attach reads the chosen run folder in a worker thread (:func:`pose_gui.workers.attach.prepare_attach`)
and the training session follows the :class:`~pose_gui.workers.attach.AttachedRun` like its
own training (same curves, progress bar and Log tab). A banner under the progress bar says the run
is followed read-only, and turns into the stale message when its files stop growing. Stop asks for
a confirmation and writes the run's STOP file; Kill stays disabled (the pane says why). The controls
hold no job state: they observe the pane's :class:`~pose_gui.sessions.training.TrainingSession`.

Export opens :class:`~pose_gui.views.export_job_dialog.ExportJobDialog` on the project; after the
files are written the pane can attach to the new run folder at once, so a job started from a
terminal or a cluster shows up as soon as it writes its first event.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from pose_core.errors import DataError
from pose_gui import dialogs
from pose_gui.views.training_parts import STALE_COLOR
from pose_gui.workers.training import new_run_dir

if TYPE_CHECKING:
    from pose_core.jobs import JobFiles
    from pose_gui.models.state import AppState
    from pose_gui.sessions.training import TrainingSession
    from pose_gui.views.export_job_dialog import ExportJobDialog
    from pose_gui.workers.followed_run import FollowedRun

ATTACH_TIP = (
    "Follow a run folder that another process or machine writes (bash train.sh, a SLURM job on a shared "
    "filesystem): live curves and progress, read-only"
)
BANNER_STYLE = "padding: 4px; border-radius: 3px; background: {bg}; color: {fg};"


class ClusterControls(QObject):
    """Attach / Detach, the attached run's banner, and Export job; they observe a :class:`TrainingSession`.

    Attributes:
        attach_button: Attach to run… / Detach.
        export_button: Export job….
        banner: Says which run is attached, and when it went silent.
        export_dialog: The open Export job dialog, if any.
    """

    def __init__(self, session: TrainingSession, state: AppState, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.state = state
        self._parent = parent
        self.export_dialog: ExportJobDialog | None = None
        self.attach_button = QPushButton("Attach to run…")
        self.attach_button.setToolTip(ATTACH_TIP)
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.export_button = QPushButton("Export job…")
        self.export_button.setToolTip(
            "Write a run folder that trains elsewhere: train.sh for a terminal, job.sbatch for a SLURM cluster"
        )
        self.export_button.clicked.connect(self.open_export_dialog)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setVisible(False)
        session.followed.connect(self._on_session_followed)
        session.stale_changed.connect(self._on_session_stale_changed)
        session.ended.connect(lambda _status: self.banner.setVisible(False))

    @property
    def stale_timeout_s(self) -> float:
        """Silence after which an attached run is reported stale (the session's; tests shrink it)."""
        return self.session.stale_timeout_s

    @stale_timeout_s.setter
    def stale_timeout_s(self, value: float) -> None:
        self.session.stale_timeout_s = value

    # ------------------------------------------------------------------ attach

    def ask_attach(self) -> None:
        """Ask for a run folder, then attach to it."""
        project = self.state.project
        start = self.state.run_dir or (project.outputs_dir if project is not None else None)
        folder = dialogs.ask_directory(
            self._parent, "Attach to a run folder (written by another process or machine)", start
        )
        if folder is not None:
            self.attach_run(folder)

    def attach_run(self, run_dir: Path) -> bool:
        """Follow ``run_dir`` read-only (see :meth:`TrainingSession.attach`)."""
        return self.session.attach(Path(run_dir))

    def detach(self) -> None:
        """Stop following the attached run (the run goes on)."""
        self.session.detach()

    def _on_session_followed(self, run: FollowedRun) -> None:
        if not run.is_attached:
            return
        self._show_banner(
            f"Attached to {run.run_dir}: written by another process or machine, followed read-only "
            "(Stop writes its STOP file; Detach stops following).",
            stale=False,
        )

    def _on_session_stale_changed(self, stale: bool, message: str) -> None:
        run = self.session.job
        if run is None or not self.session.is_attached():
            return
        self._show_banner(message if stale else f"Attached to {run.run_dir}: moving again.", stale=stale)

    def _show_banner(self, text: str, *, stale: bool) -> None:
        colors = {"bg": "#fff3e0", "fg": STALE_COLOR} if stale else {"bg": "#e3f2fd", "fg": "#0d47a1"}
        self.banner.setStyleSheet(BANNER_STYLE.format(**colors))
        self.banner.setText(("⚠ " if stale else "") + text)
        self.banner.setVisible(True)

    def update_buttons(self) -> None:
        """Attach becomes Detach while attached; both wait while a local run trains."""
        attached = self.session.is_attached()
        self.attach_button.setText("Detach" if attached else "Attach to run…")
        self.attach_button.setToolTip("Stop following this run (it goes on)" if attached else ATTACH_TIP)
        self.attach_button.setEnabled(attached or not self.session.is_busy())
        self.export_button.setEnabled(self.state.project is not None)

    def _on_attach_button_clicked(self) -> None:
        if self.session.is_attached():
            self.detach()
        else:
            self.ask_attach()

    # ------------------------------------------------------------------ export

    def open_export_dialog(self) -> ExportJobDialog | None:
        """Open the Export job dialog on the project's config (None without a project)."""
        from pose_gui.views.export_job_dialog import ExportJobDialog

        project = self.state.project
        if project is None:
            self.state.report_error(DataError("No project is open; open a project first."), "Cannot export a job")
            return None
        if self.export_dialog is not None:
            self.export_dialog.raise_()
            return self.export_dialog
        dialog = ExportJobDialog(project.root, new_run_dir(project.root), parent=self._parent)
        dialog.exported.connect(self._on_dialog_exported)
        dialog.finished.connect(self._on_dialog_finished)
        self.export_dialog = dialog
        dialog.show()
        return dialog

    def _on_dialog_exported(self, files: JobFiles) -> None:
        dialog = self.export_dialog
        self.state.post_message(
            f"Job written to {files.run_dir}: run bash train.sh there, or sbatch job.sbatch on the cluster", 15000
        )
        self.state.runs_changed.emit()
        if dialog is not None and dialog.attach_after and not self.session.is_busy():
            self.attach_run(files.run_dir)

    def _on_dialog_finished(self, _result: Any) -> None:
        if self.export_dialog is not None:
            self.export_dialog.deleteLater()
        self.export_dialog = None

    def shutdown(self) -> None:
        """Close the export dialog (its loader thread ends first)."""
        if self.export_dialog is not None:
            self.export_dialog.reject()
