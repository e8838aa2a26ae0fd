"""TrainingJob: run ``pose-train`` in a child process, follow its ``events.jsonl``, stop or kill it.

The child is the same CLI a user would type (``python -m pose_core.cli train ...``), started by a
:class:`~pose_gui.workers.process_job.ProcessJob` (output to the log view and ``run_dir/train.log``).
A :class:`~pose_gui.workers.run_follower.RunFollower` reads the events appended every 250 ms (garbled
lines are skipped and counted) and turns them into typed signals. Stop writes the stop
file (the child finishes its step, saves a checkpoint, evaluates and ends); if the child stays
silent for a grace period after that, it is killed. Kill ends the whole process tree at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from pose_core.events import Event
from pose_core.runs.layout import CONFIG_FILENAME, LOG_FILENAME, STOP_FILENAME, new_run_dir
from pose_core.runs.status import RunStatus
from pose_gui.workers.process_job import ProcessJob
from pose_gui.workers.run_follower import POLL_INTERVAL_MS, RunFollower

__all__ = ["POLL_INTERVAL_MS", "TrainingFailure", "TrainingJob", "new_run_dir", "resume_command", "train_command"]

STOP_GRACE_S = 120.0  # after Stop, the child is killed if it writes no event for this long
CLI_ERROR_PREFIX = "pose-train: error:"


@dataclass(frozen=True)
class TrainingFailure:
    """Why a run failed, for the failure view.

    Attributes:
        error: One sentence.
        traceback: The child's traceback (empty if it died without one).
        exit_code: The child's exit code (None if it was killed or never started).
        log_tail: The last lines of its output.
    """

    error: str
    traceback: str
    exit_code: int | None
    log_tail: str

    def report(self) -> str:
        """Everything as one text (the Copy button)."""
        parts = [self.error]
        if self.exit_code is not None:
            parts.append(f"Exit code: {self.exit_code}")
        if self.traceback:
            parts.append(f"Traceback:\n{self.traceback.rstrip()}")
        if self.log_tail:
            parts.append(f"Last log lines:\n{self.log_tail.rstrip()}")
        return "\n\n".join(parts) + "\n"


def train_command(project_root: Path, run_dir: Path) -> list[str]:
    """The CLI that trains the project's saved ``config.yaml`` into ``run_dir``."""
    return [
        sys.executable, "-m", "pose_core.cli", "train",
        "--config-path", str(project_root), "--config-name", CONFIG_FILENAME, f"hydra.run.dir={run_dir}",
    ]  # fmt: skip


def resume_command(run_dir: Path, max_epochs: int) -> list[str]:
    """The CLI that continues ``run_dir`` (its own config, same folder) until ``max_epochs`` epochs."""
    return [
        sys.executable, "-m", "pose_core.cli", "train",
        f"training.resume_from={run_dir}", f"training.max_epochs={max_epochs}",
    ]  # fmt: skip


class TrainingJob(QObject):
    """One training child process and the events it writes.

    Signals:
        started(object): The child runs (the run directory, ``Path``).
        event_received(object): Every event, in file order (:class:`pose_core.events.Event`).
        phase_changed(str, str): Start-up / end phase and its message.
        progress(object): The ``progress`` event's fields (dict).
        epoch_ended(int, object): Epoch index and its metrics (dict).
        log_received(str): Output text of the child.
        finished(object): The run ended normally (its summary dict).
        stopped(): The run ended after Stop.
        killed(): The run was killed.
        failed(object): The run failed (:class:`TrainingFailure`).
        stale_changed(bool, str): Never emitted: a child of ours is judged by its process, not by silence
            (declared for the :class:`~pose_gui.workers.followed_run.FollowedRun` protocol).
        ended(str): Emitted last: ``finished``, ``stopped``, ``killed`` or ``failed``.
    """

    can_kill = True
    is_attached = False
    is_stale = False

    started = Signal(object)
    event_received = Signal(object)
    phase_changed = Signal(str, str)
    progress = Signal(object)
    epoch_ended = Signal(int, object)
    log_received = Signal(str)
    finished = Signal(object)
    stopped = Signal()
    killed = Signal()
    failed = Signal(object)
    stale_changed = Signal(bool, str)
    ended = Signal(str)

    def __init__(
        self,
        run_dir: Path,
        command: Sequence[str],
        *,
        stop_grace_s: float = STOP_GRACE_S,
        parent: QObject | None = None,
    ) -> None:
        """Prepare (not start) the job.

        Args:
            run_dir: The run directory the child writes (its ``events.jsonl`` is followed).
            command: Program and arguments (see :func:`train_command`, :func:`resume_command`).
            stop_grace_s: After Stop, kill the child if it writes no event for this long.
            parent: Owner.
        """
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.command = list(command)
        self.status: str = RunStatus.NOT_STARTED
        self.failure: TrainingFailure | None = None
        self.stop_requested = False
        self.follower = RunFollower(self.run_dir, parent=self)
        for name in ("event_received", "phase_changed", "progress", "epoch_ended"):
            getattr(self.follower, name).connect(getattr(self, name))
        self.follower.event_received.connect(self._on_follower_event_received)
        self.follower.vanished.connect(self._on_follower_vanished)
        self._vanished = False
        self._stop_without_checkpoint = False
        self._timed_out = False
        self.process = ProcessJob(command[0], command[1:], log_path=self.run_dir / LOG_FILENAME, parent=self)
        self.process.output_received.connect(self.log_received)
        self.process.started.connect(self._on_process_started)
        self.process.ended.connect(self._on_process_ended)
        self._grace_timer = QTimer(self)
        self._grace_timer.setSingleShot(True)
        self._grace_timer.setInterval(int(stop_grace_s * 1000))
        self._grace_timer.timeout.connect(self._on_grace_timer_timeout)

    @property
    def n_skipped_lines(self) -> int:
        """Garbled ``events.jsonl`` lines skipped so far."""
        return self.follower.n_skipped_lines

    @property
    def n_events(self) -> int:
        """Events read so far."""
        return self.follower.n_events

    def is_running(self) -> bool:
        """True from :meth:`start` until :attr:`ended`."""
        return self.status == RunStatus.RUNNING

    def detach(self) -> None:
        """Nothing to do: our own child is followed until it ends (Stop or Kill end it)."""

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        """Start the child; events of an existing run (a resume) are skipped, only new ones are signalled."""
        self.follower.skip_existing()  # a resumed run's old events are already known
        self.status = RunStatus.RUNNING
        self.phase_changed.emit("starting", "Starting Python and loading PyTorch…")
        self.follower.start()
        self.process.start()

    def request_stop(self) -> None:
        """Stop gracefully: the child ends after its current step, with a checkpoint (kill after a silent grace period)."""
        if not self.is_running() or self.stop_requested:
            return
        self.stop_requested = True
        self.poll()
        if not self._has_started_training():
            self._stop_without_checkpoint = True  # nothing to save yet: end it now
            self.process.kill_tree()
            return
        try:
            (self.run_dir / STOP_FILENAME).write_text("stop requested by PoseDesk\n", encoding="utf-8")
        except OSError:
            self.process.kill_tree()
            return
        self.phase_changed.emit("stopping", "Stopping after the current step, then saving a checkpoint…")
        self._grace_timer.start()

    def kill(self) -> None:
        """Kill the child and its descendants now (the run is marked killed)."""
        if self.is_running():
            self.process.kill_tree()

    def shutdown(self) -> None:
        """Kill the child and wait until it has ended (the window is closing)."""
        self.follower.stop()
        self._grace_timer.stop()
        self.process.shutdown()

    # ------------------------------------------------------------------ following the events

    def poll(self) -> None:
        """Read new events now (the timer does it every 250 ms); a vanished run directory ends the child."""
        self.follower.poll()

    @property
    def _terminal(self) -> Event | None:
        return self.follower.terminal

    def _on_follower_event_received(self, _event: Event) -> None:
        if self.stop_requested:
            self._grace_timer.start()  # the child is alive and working: restart the grace period

    def _on_follower_vanished(self) -> None:
        if self.is_running() and not self._vanished:
            self._vanished = True
            self.process.kill_tree()

    def _has_started_training(self) -> bool:
        return self.follower.n_events > 0  # the child removes an old stop file before its first event

    # ------------------------------------------------------------------ the end

    def _on_process_started(self, _pid: int) -> None:
        self.started.emit(self.run_dir)

    def _on_grace_timer_timeout(self) -> None:
        if self.is_running():
            self._timed_out = True
            self.process.kill_tree()

    def _on_process_ended(self, exit_code: int, how: str) -> None:
        self.follower.stop()
        self._grace_timer.stop()
        if not self._vanished:
            self.poll()
        if self.run_dir.is_dir():
            (self.run_dir / STOP_FILENAME).unlink(missing_ok=True)
        status = self._final_status(exit_code, how)
        self.status = status
        if status == RunStatus.FINISHED:
            summary = self._terminal.data.get("summary") if self._terminal is not None else None
            self.finished.emit(summary if isinstance(summary, dict) else {})
        elif status == RunStatus.STOPPED:
            self.stopped.emit()
        elif status == RunStatus.KILLED:
            self.killed.emit()
        else:
            self.failed.emit(self.failure)
        self.ended.emit(status)

    def _final_status(self, exit_code: int, how: str) -> RunStatus:
        log_tail = "\n".join(self.process.last_lines(40))
        if self._vanished:
            self.failure = TrainingFailure(
                f"The run folder {self.run_dir} vanished while training (deleted, moved or its disk was "
                "unmounted), so the training was ended; start a new run.",
                "",
                None,
                log_tail,
            )
            return RunStatus.FAILED
        if self._terminal is not None and self._terminal.kind in (RunStatus.FINISHED, RunStatus.STOPPED):
            return RunStatus(self._terminal.kind)
        if self._terminal is not None:  # failed, with the child's own traceback
            data = self._terminal.data
            self.failure = TrainingFailure(
                str(data.get("error") or "Training failed."), str(data.get("traceback") or ""), exit_code, log_tail
            )
            return RunStatus.FAILED
        if self._stop_without_checkpoint:
            return RunStatus.STOPPED
        if how == "killed":  # how the process ended (ProcessJob), not a run status
            return RunStatus.KILLED
        self.failure = TrainingFailure(self._silent_death_message(exit_code, how), "", exit_code, log_tail)
        return RunStatus.FAILED

    def _silent_death_message(self, exit_code: int, how: str) -> str:
        if how == "start_failed":
            return f"Could not start the training process ({self.command[0]}); check that Python is installed there."
        cli_errors = [line for line in self.process.last_lines(400) if line.startswith(CLI_ERROR_PREFIX)]
        if cli_errors:
            return cli_errors[-1][len(CLI_ERROR_PREFIX) :].strip()
        if how == "crashed":
            return (
                "The training process crashed (killed by a signal, often the system running out of memory); "
                "see the last log lines below, and try a smaller batch size or image size."
            )
        return (
            f"The training process ended with exit code {exit_code} without reporting a result; "
            "see the last log lines below."
        )
