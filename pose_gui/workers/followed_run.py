"""FollowedRun: the one protocol of a training run PoseDesk follows, whether it trains here or elsewhere.

:class:`~pose_gui.workers.training.TrainingJob` (our own child process) and
:class:`~pose_gui.workers.attach.AttachedRun` (a run folder another process or machine writes) both
provide it, so the training session and the panes never ask which kind they have: they read
``can_kill`` and ``is_attached`` instead.

Signals both provide: ``event_received(Event)``, ``phase_changed(str, str)``, ``progress(dict)``,
``epoch_ended(int, dict)``, ``log_received(str)``, ``stale_changed(bool, str)``,
``failed(TrainingFailure)`` and, last, ``ended(str status)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pose_gui.workers.training import TrainingFailure


class FollowedRun(Protocol):
    """A run being followed: its folder, where it is, and what can be done to it.

    Attributes:
        run_dir: The run folder.
        status: ``running`` / ``attached`` while followed, then how it ended.
        stop_requested: Stop was asked for.
        failure: Why it failed (once it did).
        can_kill: Kill is possible (the process is ours).
        is_attached: Written by another process or machine (followed read-only).
    """

    run_dir: Path
    status: str
    stop_requested: bool
    failure: TrainingFailure | None
    can_kill: bool
    is_attached: bool
    event_received: Any
    phase_changed: Any
    progress: Any
    epoch_ended: Any
    log_received: Any
    stale_changed: Any
    failed: Any
    ended: Any

    @property
    def is_stale(self) -> bool:
        """The run has gone silent (only an attached run can)."""

    @property
    def n_events(self) -> int:
        """Events read so far (0 = the run has not written anything yet)."""

    @property
    def n_skipped_lines(self) -> int:
        """Garbled ``events.jsonl`` lines skipped so far."""

    def is_running(self) -> bool:
        """True until :attr:`ended`."""

    def start(self) -> None:
        """Start the process or the following."""

    def request_stop(self) -> None:
        """Ask the run to stop after its current step (raises PoseDeskError if it cannot)."""

    def kill(self) -> None:
        """End the process tree now (does nothing when ``can_kill`` is False)."""

    def detach(self) -> None:
        """Stop following; the run goes on (does nothing for our own child)."""

    def shutdown(self) -> None:
        """The window closes: our child is killed and waited for; an attached run is only no longer followed."""
