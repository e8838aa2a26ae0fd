"""The labelling loop's controls in the Training pane: ensemble size, Retrain with new labels, Compare with parent.

:class:`LoopControls` holds no job state: it reads the history's selection (given by the pane) and
forwards the user's intents to the :class:`~pose_gui.sessions.training.TrainingSession` (train an
ensemble, retrain) or to AppState (``compare_open_requested``: the main window opens Review with
the child's predictions and its parent's as the comparison).

- **Ensemble of N** (a spin box beside Train): N = 1 trains one run; N > 1 turns Train into
  "Train ensemble of N": one child trains N runs, one after another, seeds from the config's
  ``training.rng_seed_model_pt`` on.
- **Retrain with new labels**: a new run from the weights of the selected run (or ensemble), else
  of the newest finished run (or ensemble), on the labels as they are now. An ensemble is retrained
  as a new ensemble with the same seeds, each member from its own parent member.
- **Compare with parent**: the selected run started from another run (``from ...`` in the
  history) opens in Review with its parent overlaid, on the same video and frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu, QPushButton, QSpinBox, QWidget

from pose_core.errors import DataError
from pose_core.runs.status import RunStatus
from pose_gui.models.runs import RunGroup, group_runs, run_label
from pose_gui.sessions.retrain import MAX_ENSEMBLE_SIZE

if TYPE_CHECKING:
    from pose_gui.models.loss_history import RunRow
    from pose_gui.models.state import AppState
    from pose_gui.sessions.training import TrainingSession

RETRAIN_TIP = (
    "Train a new run from the weights of the selected run (or ensemble) -- or, with nothing selected, of the "
    "newest finished one -- on the project's labels as they are now (training.init_from; new run folder, new "
    "optimiser). An ensemble is retrained as a new ensemble: each member from its own weights."
)
COMPARE_TIP = "Open the selected run in Review with the run it was started from overlaid (same video, same frames)"
ENSEMBLE_TIP = (
    "How many models to train: 1 = one run; N > 1 = an ensemble of N runs (one per seed, one after another, same "
    "split), used to find the frames the models disagree on and to smooth predictions (EKS)"
)


class LoopControls(QObject):
    """Ensemble size, Retrain and Compare controls of the Training pane (see the module docstring)."""

    def __init__(self, session: TrainingSession, state: AppState, parent: QWidget) -> None:
        super().__init__(parent)
        self.session = session
        self.state = state
        self._parent_widget = parent
        self.ensemble_spin = QSpinBox()
        self.ensemble_spin.setRange(1, MAX_ENSEMBLE_SIZE)
        self.ensemble_spin.setSuffix(" model")
        self.ensemble_spin.setToolTip(ENSEMBLE_TIP)
        self.ensemble_spin.valueChanged.connect(
            lambda n: self.ensemble_spin.setSuffix(" model" if n == 1 else " models")
        )
        self.retrain_button = QPushButton("Retrain with new labels")
        self.retrain_button.setToolTip(RETRAIN_TIP)
        self.compare_button = QPushButton("Compare with parent")
        self.compare_button.setToolTip(COMPARE_TIP)

    @property
    def ensemble_size(self) -> int:
        """The N of "Train ensemble of N"."""
        return int(self.ensemble_spin.value())

    def train_text(self) -> str:
        """``Train`` or ``Train ensemble of 3``."""
        return "Train" if self.ensemble_size == 1 else f"Train ensemble of {self.ensemble_size}"

    # ------------------------------------------------------------------ intents

    def train(self) -> bool:
        """Forward Train with the chosen ensemble size."""
        return self.session.train(self.ensemble_size)

    def retrain(self, selected: list[RunRow], rows: list[RunRow]) -> bool:
        """Retrain from the selection (a run or an ensemble), else from the newest finished run or ensemble.

        Returns:
            False if refused (nothing fits, or several runs selected that are not one ensemble).
        """
        parents = retrain_parents(selected, rows)
        if parents is None:
            self.state.report_error(
                DataError(
                    "Several runs are selected; select one run or one ensemble (its row) to retrain from, "
                    "or none to retrain from the newest finished run."
                ),
                "Cannot retrain",
            )
            return False
        return self.session.retrain(parents, self.ensemble_size)

    def compare_with_parent(self, run: RunRow | None, rows: list[RunRow] | None = None) -> bool:
        """Open ``run`` in Review with its parent overlaid; the status bar gives both runs' test errors (from ``rows``).

        Returns:
            False (with a message) when ``run`` is not a run started from another one.
        """
        if run is None or run.parent is None:
            what = "No run is selected" if run is None else f"Run {run.name} was not started from another run"
            self.state.report_error(
                DataError(f"{what}; select a run whose 'From' column names its parent (a retrained run)."),
                "Cannot compare",
            )
            return False
        self.state.compare_open_requested.emit(run.path, run.parent)
        parent_row = next((r for r in rows or [] if r.path == run.parent), None)
        self.state.post_message(
            f"Review: {run.name} (dots, test error {_px(run.test_error_px)}) compared with its parent "
            f"{run_label(run.parent)} (crosses, test error {_px(parent_row.test_error_px if parent_row else None)})",
            15000,
        )
        return True

    def context_menu(self, selected: list[RunRow], rows: list[RunRow]) -> QMenu:
        """The history's right-click menu for ``selected``."""
        menu = QMenu(self._parent_widget)
        single = selected[0] if len(selected) == 1 else None
        compare = menu.addAction("Compare with parent in Review", lambda: self.compare_with_parent(single, rows))
        compare.setEnabled(single is not None and single.parent is not None)
        parents = retrain_parents(selected, rows)
        what = "this ensemble" if parents and len(parents) > 1 else "this run"
        retrain = menu.addAction(f"Retrain from {what} with new labels", lambda: self.retrain(selected, rows))
        retrain.setEnabled(bool(parents) and not self.session.is_busy())
        return menu

    def update_buttons(self, selected: list[RunRow], busy: bool, has_project: bool) -> None:
        """Enable what the selection and the session allow."""
        single = selected[0] if len(selected) == 1 else None
        self.compare_button.setEnabled(single is not None and single.parent is not None)
        self.retrain_button.setEnabled(has_project and not busy)
        self.ensemble_spin.setEnabled(not busy)


def retrain_parents(selected: list[RunRow], rows: list[RunRow]) -> list[Path] | None:
    """The runs a retrain starts from.

    Args:
        selected: The selected history rows (an ensemble's row selects its members).
        rows: Every listed run, newest first.

    Returns:
        The one selected run, or the members of the one selected ensemble; with nothing selected, the
        newest finished run or ensemble (all members finished); [] when there is none; None when the
        selection is several runs that are not one ensemble.
    """
    if selected:
        groups = group_runs(selected)
        if len(selected) == 1:
            return [selected[0].path]
        if len(groups) == 1 and groups[0].is_ensemble:
            return [r.path for r in groups[0].runs]
        return None
    for group in group_runs(rows):
        if _all_finished(group):
            return [r.path for r in group.runs]
    return []


def _px(error_px: float | None) -> str:
    return "unknown" if error_px is None else f"{error_px:.2f} px"


def _all_finished(group: RunGroup[RunRow]) -> bool:
    return all(r.status == RunStatus.FINISHED for r in group.runs)
