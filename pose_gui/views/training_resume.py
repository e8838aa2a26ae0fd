"""The Training pane's Resume controls: whether the shown run can continue, for how long, and what happens to its epoch.

:class:`ResumeControls` holds the Resume button, the target box ("to the configured N epochs" /
"by more epochs") and the "+N epochs" box; :func:`resume_advice` says whether a listed run can be
resumed and what the resumed run does with an epoch that was interrupted (a stopped run trains its
remaining steps; a killed run trains it again from its last checkpoint). The pane tells the controls
which run is shown and forwards their request to the training session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QPushButton, QSpinBox, QWidget

from pose_core.runs.status import RunStatus

if TYPE_CHECKING:
    from pose_gui.models.loss_history import RunRow
    from pose_gui.sessions.training import TrainingSession

RESUMABLE_STATUSES = (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.KILLED)  # runs that may have a checkpoint
DEFAULT_MORE_EPOCHS = 10


def resume_advice(run_dir: Path | None, row: RunRow | None, live_status: str | None) -> tuple[bool, str]:
    """Whether a run can be resumed, and the Resume button's tooltip saying why (not) and what happens.

    Args:
        run_dir: The run shown (None: none is).
        row: Its row in the history (None while it is being read).
        live_status: Its status if the session follows it now, else None.
    """
    if run_dir is None:
        return False, "Select a run in the history to resume it"
    if live_status is not None:
        return False, "This run is training now"
    if row is None:
        return False, "Reading the run…"
    if row.status not in RESUMABLE_STATUSES:
        return False, f"A {row.status} run cannot be resumed; start a new run instead"
    if not row.has_checkpoint:
        return False, "This run saved no checkpoint (it never finished an epoch); start a new run instead"
    p = row.history.progress
    interrupted = bool(p.steps_per_epoch) and 0 < p.step < p.steps_per_epoch
    if row.status == RunStatus.KILLED and interrupted:
        return True, (
            f"Continue the selected run from its last checkpoint. It was killed in epoch {p.epoch + 1} at step "
            f"{p.step}/{p.steps_per_epoch}, after its last checkpoint (saved when epoch {p.epoch} ended): the "
            f"resumed run trains epoch {p.epoch + 1} again from its start."
        )
    if row.status == RunStatus.STOPPED and interrupted:
        return True, (
            f"Continue the selected run from its last checkpoint. It stopped in epoch {p.epoch + 1} at step "
            f"{p.step}/{p.steps_per_epoch}: the resumed run first trains the remaining "
            f"{p.steps_per_epoch - p.step} steps of that epoch (on a new shuffle of the frames), then the next epochs."
        )
    return True, "Continue the selected run (same folder, its curves continue) from its last checkpoint"


class ResumeControls(QObject):
    """Resume button, target box and "+N epochs" box for the run the pane shows.

    Signals:
        resume_requested(Path, int): Resume this run until this many epochs in all.
    """

    resume_requested = Signal(Path, int)

    def __init__(self, session: TrainingSession, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self._run_dir: Path | None = None
        self._row: RunRow | None = None
        self._choice: str | None = None  # "configured" / "more" once the user picked one
        self.target = QComboBox(parent)
        self.target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.target.setToolTip("How long the resumed run trains")
        self.epochs = QSpinBox(parent)
        self.epochs.setRange(1, 10000)
        self.epochs.setValue(DEFAULT_MORE_EPOCHS)
        self.epochs.setPrefix("+")
        self.epochs.setToolTip("Epochs to add when resuming by more epochs")
        self.epochs.valueChanged.connect(self._on_epochs_value_changed)
        self.target.currentIndexChanged.connect(self._on_target_current_index_changed)
        self.button = QPushButton("Resume", parent)
        self.button.setToolTip("Continue the selected run (same folder, its curves continue)")
        self.button.clicked.connect(self._on_button_clicked)

    def show_run(self, run_dir: Path | None, row: RunRow | None) -> None:
        """The run the pane shows now and its history row (None while it is read)."""
        self._run_dir, self._row = run_dir, row

    def forget_choice(self) -> None:
        """Offer the default target again (another run was chosen)."""
        self._choice = None

    def max_epochs(self) -> int | None:
        """The epoch count the resumed run trains to (None: nothing to add)."""
        if self._run_dir is None:
            return None
        row = self._row
        done = self.session.epochs_completed(self._run_dir, row.history if row is not None else None)
        if self.target.currentData() == "configured":
            configured = row.configured_epochs if row is not None else None
            return configured if configured is not None and configured > done else None
        return done + self.epochs.value()

    def update(self, busy: bool) -> None:
        """Enable the controls as the shown run allows; the tooltip says why (not) and what happens."""
        live = self.session.live_status(self._run_dir) if self._run_dir is not None else None
        resumable, why = resume_advice(self._run_dir, self._row, live)
        self._update_target()
        self.button.setEnabled(resumable and not busy)
        self.button.setToolTip(why)
        self.target.setEnabled(resumable and not busy)
        self.epochs.setEnabled(resumable and not busy)

    def _on_button_clicked(self) -> None:
        max_epochs = self.max_epochs()
        if self._run_dir is not None and max_epochs is not None:
            self.resume_requested.emit(self._run_dir, max_epochs)

    def _on_target_current_index_changed(self, _index: int) -> None:
        self._choice = self.target.currentData()
        self._update_target()

    def _on_epochs_value_changed(self, value: int) -> None:
        self.epochs.setSuffix(" epoch" if value == 1 else " epochs")
        self._update_target()

    def _update_target(self) -> None:
        """The target list names the configured count first; the +N box shows only for "more epochs"."""
        row = self._row
        configured = row.configured_epochs if row is not None else None
        done = row.epochs if row is not None and row.epochs is not None else 0
        wanted = self._choice or ("configured" if configured and configured > done else "more")
        self.target.blockSignals(True)
        self.target.clear()
        if configured is not None and configured > done:
            self.target.addItem(f"to the configured {configured} epochs", "configured")
        self.target.addItem("by more epochs", "more")
        index = self.target.findData(wanted)
        self.target.setCurrentIndex(max(index, 0))
        self.target.blockSignals(False)
        self.epochs.setVisible(self.target.currentData() == "more")
