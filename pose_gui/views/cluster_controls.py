"""The Training pane's cluster controls: "Attach to run…" / "Detach" and "Export job…".

Attach reads the chosen run folder in a worker thread (:func:`pose_gui.workers.attach.prepare_attach`)
and hands an :class:`~pose_gui.workers.attach.AttachedRun` to the pane, which follows it like its
own training (same curves, progress bar and Log tab). A banner under the progress bar says the run
is followed read-only, and turns into the stale message when its files stop growing. Stop asks for
a confirmation and writes the run's STOP file; Kill stays disabled (the pane says why).

Export opens :class:`~pose_gui.views.export_job_dialog.ExportJobDialog` on the project; after the
files are written the pane can attach to the new run folder at once, so a job started from a
terminal or a cluster shows up as soon as it writes its first event.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton

from pose_core.errors import DataError, PoseDeskError
from pose_gui import dialogs
from pose_gui.views.training_parts import STALE_COLOR
from pose_gui.workers.attach import STALE_TIMEOUT_S, AttachedRun, AttachPreparation, prepare_attach
from pose_gui.workers.training import new_run_dir

if TYPE_CHECKING:
    from pose_core.jobs import JobFiles
    from pose_gui.views.export_job_dialog import ExportJobDialog
    from pose_gui.views.training_monitor import TrainingMonitorPane

ATTACH_TIP = (
    "Follow a run folder that another process or machine writes (bash train.sh, a SLURM job on a shared "
    "filesystem): live curves and progress, read-only"
)
BANNER_STYLE = "padding: 4px; border-radius: 3px; background: {bg}; color: {fg};"


class ClusterControls(QObject):
    """Attach / Detach and Export job, for one :class:`TrainingMonitorPane`.

    Attributes:
        stale_timeout_s: Silence after which an attached run is reported stale (tests shrink it).
        export_dialog: The open Export job dialog, if any.
    """

    def __init__(self, pane: TrainingMonitorPane) -> None:
        super().__init__(pane)
        self.pane = pane
        self.stale_timeout_s = STALE_TIMEOUT_S
        self.export_dialog: ExportJobDialog | None = None
        self.attach_button = QPushButton("Attach to run…")
        self.attach_button.setToolTip(ATTACH_TIP)
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.export_button = QPushButton("Export job…")
        self.export_button.setToolTip(
            "Write a run folder that trains elsewhere: train.sh for a terminal, job.sbatch for a SLURM cluster"
        )
        self.export_button.clicked.connect(self.open_export_dialog)

    # ------------------------------------------------------------------ attach

    def attached_run(self) -> AttachedRun | None:
        """The run being followed read-only, if any."""
        job = self.pane.job
        return job if isinstance(job, AttachedRun) and job.is_running() else None

    def ask_attach(self) -> None:
        """Ask for a run folder, then attach to it."""
        from pose_gui import actions

        project = self.pane.state.project
        start = self.pane.state.run_dir or (project.outputs_dir if project is not None else None)
        folder = actions.ask_directory(
            self.pane, "Attach to a run folder (written by another process or machine)", start
        )
        if folder is not None:
            self.attach_run(folder)

    def attach_run(self, run_dir: Path) -> bool:
        """Follow ``run_dir`` read-only (its files are read in a thread first).

        Returns:
            False if refused at once (a run is being trained or followed).
        """
        pane = self.pane
        if pane.is_training():
            pane.refuse(pane.busy_reason("attaching to another run"))
            return False
        pane.prepare(
            prepare_attach, Path(run_dir), self._on_prepared, "Cannot attach to the run", "Reading the run folder…"
        )
        return True

    def _on_prepared(self, prep: AttachPreparation) -> None:
        pane = self.pane
        run = AttachedRun(prep, stale_timeout_s=self.stale_timeout_s, parent=pane)
        run.stale_changed.connect(self._on_run_stale_changed)
        pane.follow(run, prep.history, prep.log_text)
        name = pane.run_name(run.run_dir)
        pane.set_phase(f"Attached to {name}", busy=False)
        self._show_banner(
            f"Attached to {run.run_dir}: written by another process or machine, followed read-only "
            "(Stop writes its STOP file; Detach stops following).",
            stale=False,
        )
        run.start()
        pane.state.set_run_dir(run.run_dir)
        pane.show_live()
        if run.is_running() and prep.history.progress.steps_per_epoch:
            pane.show_progress()  # where the run is, before its next event
        pane.state.post_message(f"Attached to {run.run_dir}", 5000)
        pane.update_buttons()

    def detach(self) -> None:
        """Stop following the attached run (the run goes on)."""
        run = self.attached_run()
        if run is not None:
            run.detach()

    def stop_attached(self, run: AttachedRun) -> None:
        """Ask, then write the attached run's STOP file."""
        if not run.is_running() or run.stop_requested:
            return
        question = (
            f"Ask the run in {run.run_dir} to stop?\n\nPoseDesk writes {run.run_dir}/STOP; the training, on whichever "
            "machine runs it (through the shared filesystem), finishes its current step, saves a checkpoint, "
            "evaluates and ends."
        )
        if not dialogs.confirm(self.pane, "Stop the attached run?", question, "Stop"):
            return
        try:
            run.request_stop()
        except PoseDeskError as error:
            self.pane.state.report_error(error, "Cannot stop the run")

    def _on_run_stale_changed(self, stale: bool, message: str) -> None:
        pane = self.pane
        run = self.attached_run()
        if run is None:
            return
        if stale:
            self._show_banner(message, stale=True)
            pane.set_phase("No progress", busy=False, color=STALE_COLOR)
        else:
            self._show_banner(f"Attached to {run.run_dir}: moving again.", stale=False)
            pane.set_phase("Training", busy=False)
        pane.refresh_history()

    def _show_banner(self, text: str, *, stale: bool) -> None:
        banner = self.pane.attach_banner
        colors = {"bg": "#fff3e0", "fg": STALE_COLOR} if stale else {"bg": "#e3f2fd", "fg": "#0d47a1"}
        banner.setStyleSheet(BANNER_STYLE.format(**colors))
        banner.setText(("⚠ " if stale else "") + text)
        banner.setVisible(True)

    def on_job_ended(self) -> None:
        """The followed run ended (or was detached): the banner goes."""
        self.pane.attach_banner.setVisible(False)

    def update_buttons(self, *, attached: bool, busy: bool) -> None:
        """Attach becomes Detach while attached; both wait while a local run trains."""
        self.attach_button.setText("Detach" if attached else "Attach to run…")
        self.attach_button.setToolTip("Stop following this run (it goes on)" if attached else ATTACH_TIP)
        self.attach_button.setEnabled(attached or not busy)
        self.export_button.setEnabled(self.pane.state.project is not None)

    def _on_attach_button_clicked(self) -> None:
        if self.attached_run() is not None:
            self.detach()
        else:
            self.ask_attach()

    # ------------------------------------------------------------------ export

    def open_export_dialog(self) -> ExportJobDialog | None:
        """Open the Export job dialog on the project's config (None without a project)."""
        from pose_gui.views.export_job_dialog import ExportJobDialog

        project = self.pane.state.project
        if project is None:
            self.pane.state.report_error(DataError("No project is open; open a project first."), "Cannot export a job")
            return None
        if self.export_dialog is not None:
            self.export_dialog.raise_()
            return self.export_dialog
        dialog = ExportJobDialog(project.root, new_run_dir(project.root), parent=self.pane)
        dialog.exported.connect(self._on_dialog_exported)
        dialog.finished.connect(self._on_dialog_finished)
        self.export_dialog = dialog
        dialog.show()
        return dialog

    def _on_dialog_exported(self, files: JobFiles) -> None:
        dialog = self.export_dialog
        self.pane.state.post_message(
            f"Job written to {files.run_dir}: run bash train.sh there, or sbatch job.sbatch on the cluster", 15000
        )
        self.pane.state.runs_changed.emit()
        if dialog is not None and dialog.attach_after and not self.pane.is_training():
            self.attach_run(files.run_dir)

    def _on_dialog_finished(self, _result: Any) -> None:
        if self.export_dialog is not None:
            self.export_dialog.deleteLater()
        self.export_dialog = None

    def shutdown(self) -> None:
        """Close the export dialog (its loader thread ends first)."""
        if self.export_dialog is not None:
            self.export_dialog.reject()
