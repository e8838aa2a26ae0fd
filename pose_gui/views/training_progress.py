"""The Training pane's progress row: the phase label and the progress bar (epoch, step, images/s, ETA, where a run ended).

:class:`TrainingProgressRow` renders what the pane gives it (a phase text, a run's
:class:`~pose_gui.models.loss_history.LossHistory` progress); it holds no job state.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from pose_core.runs.status import RunStatus
from pose_gui.models.loss_history import format_duration
from pose_gui.views.training_parts import PHASE_TEXT


def phase_text(phase: str, message: str) -> str:
    """``Phase: message`` for the phase label, without saying the same thing twice."""
    title = PHASE_TEXT.get(phase, phase)
    if not message or message.rstrip("…. ").lower() == title.lower():
        return title
    if message.lower().startswith(title.lower()):
        return message  # "Stopping after the current step…" already says "Stopping"
    return f"{title}: {message}"


def position_text(p: Any, with_step: bool = True) -> str:
    """``epoch 3/12 · step 5/24`` of a run's progress (``?`` for an unknown epoch count)."""
    where = f"epoch {p.epoch + 1}/{p.max_epochs or '?'}"
    return f"{where} · step {p.step}/{p.steps_per_epoch}" if with_step else where


class TrainingProgressRow(QWidget):
    """Phase label and progress bar of the Training pane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.phase_label = QLabel("No training running")
        self.phase_label.setMinimumWidth(220)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        self.progress_bar.setValue(0)
        row.addWidget(self.phase_label)
        row.addWidget(self.progress_bar, 1)

    def set_phase(self, text: str, *, busy: bool, color: str | None = None) -> None:
        """Show ``text`` beside the progress bar (a moving bar while ``busy``)."""
        self.phase_label.setText(text)
        self.phase_label.setStyleSheet(f"color: {color};" if color else "")
        if busy:
            self.progress_bar.setRange(0, 0)  # moving bar: a slow start never looks hung
            self.progress_bar.setFormat("")
        elif self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)

    def show_progress(self, p: Any, stopping: bool, member: str = "") -> None:
        """Show a running run's progress ``p`` (epoch, step, images/s, ETA); ``member``: ``member 2 of 3 (seed 1)``."""
        phase = "Stopping after this step…" if stopping else "Training"
        self.phase_label.setText(f"{phase} {member}" if member and not stopping else phase)
        total_steps = (p.max_epochs or 0) * p.steps_per_epoch
        self.progress_bar.setRange(0, max(total_steps, 1))
        self.progress_bar.setValue(min(p.epoch * p.steps_per_epoch + p.step, max(total_steps, 1)))
        rate = f"{p.images_per_s:.1f} images/s" if p.images_per_s else "— images/s"
        eta = format_duration(p.eta_s) if p.eta_s is not None else "—"
        where = position_text(p).capitalize()
        self.progress_bar.setFormat(
            f"{member.capitalize()} · {where} · {rate} · ETA {eta}" if member else f"{where} · {rate} · ETA {eta}"
        )

    def show_where_it_ended(self, status: str, p: Any | None) -> None:
        """Replace the running figures (rate, ETA) with where the run ended (``p``: its progress, if known)."""
        if status == RunStatus.FINISHED:
            self.progress_bar.setValue(self.progress_bar.maximum())
        if p is None or self.progress_bar.maximum() == 0:
            self.progress_bar.setFormat("")
            return
        where = position_text(p, with_step=status != RunStatus.FINISHED and bool(p.steps_per_epoch))
        self.progress_bar.setFormat(f"{status.capitalize()} at {where}")
