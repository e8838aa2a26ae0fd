"""AttachedRun: follow a run directory that another process or machine writes (shared filesystem), read-only.

Training progress is plain files, so following a run started elsewhere (``bash train.sh`` in a
terminal, ``sbatch job.sbatch`` on a cluster) is the same as following our own child: a
:class:`~pose_gui.workers.run_follower.RunFollower` reads ``events.jsonl``, and the output log
(``train.log``, else the newest ``slurm-*.out``) is tailed for the Log tab.

There is no process here to watch, so silence is judged from the files: if none of
``events.jsonl``, the log and the tensorboard event files has grown for ``stale_timeout_s`` and no
``finished`` / ``stopped`` / ``failed`` event came, the run is reported as stale (the other machine
may have stopped) instead of looking hung; it recovers as soon as a file grows again. Growth is
measured with this machine's clock (file sizes seen at each check), so clock skew between the
machines does not matter; only the first estimate when attaching uses the files' modification
times. Stop writes ``RUN_DIR/STOP``, which the training sees through the shared filesystem; Kill is
impossible (the process is on another machine).

:func:`prepare_attach` reads what is already there (curves, the end of the log) and runs in a worker
thread; :class:`AttachedRun` then follows what comes next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from pose_core.errors import DataError
from pose_core.events import TERMINAL_EVENTS, Event, EventTail
from pose_core.runs.layout import (
    CONFIG_FILENAME,
    EVENTS_FILENAME,
    LOG_FILENAME,
    STOP_FILENAME,
    TRAIN_SCRIPT,
    RunLayout,
)
from pose_core.runs.status import RunStatus
from pose_gui.models.loss_history import LossHistory
from pose_gui.workers.run_follower import POLL_INTERVAL_MS, RunFollower
from pose_gui.workers.training import CLI_ERROR_PREFIX, TrainingFailure

STALE_TIMEOUT_S = 120.0
ACTIVITY_CHECK_INTERVAL_S = 2.0  # how often the log and tensorboard files are looked at
INITIAL_LOG_BYTES = 16384
ATTACHED_STATUSES = ("attached", RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED, "vanished", "detached")


@dataclass
class AttachPreparation:
    """What a run directory holds when attaching (read in a worker thread).

    Attributes:
        run_dir: The run directory.
        history: Its curves so far.
        tail: ``events.jsonl`` read up to here.
        log_path: The output log followed (None until one exists).
        log_text: The end of that log.
        log_offset: Bytes of the log read.
    """

    run_dir: Path
    history: LossHistory
    tail: EventTail
    log_path: Path | None = None
    log_text: str = ""
    log_offset: int = 0
    events: list[Event] = field(default_factory=list)


def find_log(run_dir: Path) -> Path | None:
    """The run's output log: ``train.log`` (train.sh, the GUI), else the newest ``slurm-*.out`` (sbatch)."""
    if (run_dir / LOG_FILENAME).is_file():
        return run_dir / LOG_FILENAME
    slurm_logs = sorted(run_dir.glob("slurm-*.out"), key=lambda p: p.stat().st_mtime)
    return slurm_logs[-1] if slurm_logs else None


def prepare_attach(run_dir: Path) -> AttachPreparation:
    """Read a run directory's events and the end of its log (worker thread).

    Raises:
        DataError: The folder does not exist, or holds nothing of a run.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(
            f"{run_dir} does not exist; choose the run folder (the one holding events.jsonl).", path=str(run_dir)
        )
    markers = (EVENTS_FILENAME, LOG_FILENAME, CONFIG_FILENAME, TRAIN_SCRIPT)
    if not any((run_dir / name).is_file() for name in markers) and not any(run_dir.glob("slurm-*.out")):
        raise DataError(
            f"{run_dir} is not a run folder (no events.jsonl, train.log or config.yaml); choose the folder a "
            "training writes (hydra.run.dir, or the folder of an exported job).",
            path=str(run_dir),
        )
    tail = EventTail(run_dir / EVENTS_FILENAME)
    events = tail.read_new()
    prep = AttachPreparation(run_dir, LossHistory(events), tail, events=events)
    prep.log_path = find_log(run_dir)
    if prep.log_path is not None:
        prep.log_text, prep.log_offset = _read_log_end(prep.log_path)
    return prep


def _read_log_end(path: Path) -> tuple[str, int]:
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - INITIAL_LOG_BYTES))
            return fh.read().decode("utf-8", errors="replace"), size
    except OSError:
        return "", 0


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _activity_files(run_dir: Path) -> list[Path]:
    files = [run_dir / EVENTS_FILENAME, run_dir / LOG_FILENAME, *run_dir.glob("slurm-*.out")]
    return files + list(RunLayout(run_dir).tb_logs.glob("*/version_*/events.out.tfevents.*"))


def _newest_mtime(files: list[Path]) -> float | None:
    times = []
    for path in files:
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times) if times else None


def last_terminal_event(events: list[Event]) -> Event | None:
    """The ``finished`` / ``stopped`` / ``failed`` event ending the last segment (None if it is still open)."""
    for event in reversed(events):
        if event.kind in TERMINAL_EVENTS:
            return event
        if event.kind == "started":
            return None
    return None


def format_idle(seconds: float) -> str:
    """``45 s`` below two minutes, else ``N min``."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class AttachedRun(QObject):
    """A run directory written by someone else, followed read-only (same signals as a TrainingJob).

    Signals:
        event_received(object), phase_changed(str, str), progress(object), epoch_ended(int, object):
            As :class:`~pose_gui.workers.run_follower.RunFollower`.
        log_received(str): New text of the run's output log.
        stale_changed(bool, str): The run went silent (True, the message) or moves again (False, "").
        finished(object): The run ended normally (its summary dict).
        stopped(): The run ended after Stop.
        failed(object): The run failed, or its folder vanished (:class:`TrainingFailure`).
        ended(str): Emitted last: ``finished``, ``stopped``, ``failed``, ``vanished`` or ``detached``.

    Attributes:
        status: ``attached`` while following, then how it ended (see :attr:`ended`).
        stale_timeout_s: Silence after which the run is reported stale.
    """

    can_kill = False
    is_attached = True

    event_received = Signal(object)
    phase_changed = Signal(str, str)
    progress = Signal(object)
    epoch_ended = Signal(int, object)
    log_received = Signal(str)
    stale_changed = Signal(bool, str)
    finished = Signal(object)
    stopped = Signal()
    failed = Signal(object)
    ended = Signal(str)

    def __init__(
        self, prep: AttachPreparation, *, stale_timeout_s: float = STALE_TIMEOUT_S, parent: QObject | None = None
    ) -> None:
        """Prepare (not start) following the run ``prep`` describes (see :func:`prepare_attach`)."""
        super().__init__(parent)
        self.run_dir = prep.run_dir
        self.status = "attached"
        self.stop_requested = False
        self.failure: TrainingFailure | None = None
        self.stale_timeout_s = float(stale_timeout_s)
        self.is_stale = False
        self.stale_message = ""
        self.last_event_time: float | None = prep.history.last_time
        self.follower = RunFollower(self.run_dir, tail=prep.tail, parent=self)
        for name in ("event_received", "phase_changed", "progress", "epoch_ended"):
            getattr(self.follower, name).connect(getattr(self, name))
        self.follower.vanished.connect(self._on_follower_vanished)
        self.follower.terminal = last_terminal_event(prep.events)
        self._has_events = bool(prep.events)
        self._log_path, self._log_offset = prep.log_path, prep.log_offset
        self._log_lines: list[str] = prep.log_text.splitlines()[-400:]
        self._sizes: dict[Path, int] = {}
        self._last_activity_s = time.monotonic()
        self._last_check_s = -1e9
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)

    # ------------------------------------------------------------------ like TrainingJob

    @property
    def n_skipped_lines(self) -> int:
        """Garbled ``events.jsonl`` lines skipped so far."""
        return self.follower.n_skipped_lines

    @property
    def n_events(self) -> int:
        """Events read since attaching, at least 1 if the run had written any before (0 = nothing yet)."""
        return max(self.follower.n_events, int(self._has_events))

    def is_running(self) -> bool:
        """True while following (until the run ends, vanishes or is detached)."""
        return self.status == "attached"

    def start(self) -> None:
        """Start following; a run that already ended ends at once, an old silent one is stale at once."""
        self._sizes = {path: _file_size(path) for path in _activity_files(self.run_dir)}
        newest = _newest_mtime(list(self._sizes))
        idle_s = min(max(0.0, time.time() - newest), 365 * 86400.0) if newest is not None else 0.0
        self._last_activity_s = time.monotonic() - idle_s
        self._last_check_s = -1e9  # the first poll judges an old silent run at once
        self._timer.start()
        if not self._has_events:
            self.phase_changed.emit("waiting", f"no events in {self.run_dir} yet (a queued job, or one starting)")
        self.poll()

    def request_stop(self) -> None:
        """Ask the run to stop: write ``RUN_DIR/STOP`` (the training sees it through the shared filesystem).

        Raises:
            DataError: The run has not started (its start would delete the file) or the folder is not writable.
        """
        if not self.is_running() or self.stop_requested:
            return
        if not self._has_events:
            raise DataError(
                f"The run in {self.run_dir} has not started yet (no events), and a starting run deletes an old STOP "
                "file; cancel the queued job instead (scancel JOBID on the cluster).",
                path=str(self.run_dir),
            )
        path = self.run_dir / STOP_FILENAME
        try:
            path.write_text(f"stop requested by PoseDesk on {datetime.now():%Y-%m-%d %H:%M:%S}\n", encoding="utf-8")
        except OSError as exc:
            raise DataError(
                f"Cannot write {path} ({exc.strerror}); create that file on the machine running the training "
                "(touch RUN_DIR/STOP) to stop it.",
                path=str(path),
            ) from exc
        self.stop_requested = True
        self.phase_changed.emit("stopping", "Asked the run to stop (wrote STOP); it ends after its current step…")

    def kill(self) -> None:
        """Not possible: the training process belongs to another machine or session (does nothing)."""

    def detach(self) -> None:
        """Stop following (the run itself goes on)."""
        if self.is_running():
            self._end("detached")

    def shutdown(self) -> None:
        """Stop the timer (the window is closing; the run goes on)."""
        self._timer.stop()

    # ------------------------------------------------------------------ following

    def poll(self) -> None:
        """Read new events and log text; judge silence; end on a terminal event (timer tick)."""
        if not self.is_running():
            return
        events = self.follower.poll()
        if not self.is_running():  # vanished
            return
        if events:
            self._has_events = True
            self.last_event_time = events[-1].time
            self._mark_active()
        self._read_log()
        if self.follower.terminal is not None:
            self._end_with(self.follower.terminal)
            return
        if not self._has_events and self._cli_error():
            return
        self._check_activity()

    def _read_log(self) -> None:
        if self._log_path is None:
            self._log_path = find_log(self.run_dir)
            self._log_offset = 0
            if self._log_path is None:
                return
        try:
            with self._log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                data = fh.read()
        except OSError:
            return
        if data:
            self._log_offset += len(data)
            text = data.decode("utf-8", errors="replace")
            self._log_lines = (self._log_lines + text.splitlines())[-400:]
            self.log_received.emit(text)
            self._mark_active()

    def _cli_error(self) -> bool:
        """A run that died before its first event (``pose-train: error: ...`` in the log) fails at once."""
        errors = [line for line in self._log_lines if line.startswith(CLI_ERROR_PREFIX)]
        if not errors:
            return False
        self.failure = TrainingFailure(errors[-1][len(CLI_ERROR_PREFIX) :].strip(), "", None, self._log_tail())
        self._end(RunStatus.FAILED)
        return True

    def _check_activity(self) -> None:
        now = time.monotonic()
        if now - self._last_check_s < min(ACTIVITY_CHECK_INTERVAL_S, self.stale_timeout_s / 4):
            return
        self._last_check_s = now
        sizes = {path: _file_size(path) for path in _activity_files(self.run_dir)}
        if sizes != self._sizes:
            self._sizes = sizes
            self._mark_active()
            return
        idle_s = now - self._last_activity_s
        if self._has_events and idle_s >= self.stale_timeout_s:
            self._set_stale(self._stale_text(idle_s))

    def _stale_text(self, idle_s: float) -> str:
        last = (
            f"last event at {datetime.fromtimestamp(self.last_event_time):%Y-%m-%d %H:%M:%S}"
            if self.last_event_time is not None
            else "no event yet"
        )
        return f"No progress from {self.run_dir} for {format_idle(idle_s)}: the other machine may have stopped ({last})"

    def _mark_active(self) -> None:
        self._last_activity_s = time.monotonic()
        if self.is_stale:
            self.is_stale = False
            self.stale_message = ""
            self.stale_changed.emit(False, "")

    def _set_stale(self, message: str) -> None:
        if message != self.stale_message:
            self.is_stale = True
            self.stale_message = message
            self.stale_changed.emit(True, message)

    def _log_tail(self) -> str:
        return "\n".join(self._log_lines[-40:])

    # ------------------------------------------------------------------ the end

    def _on_follower_vanished(self) -> None:
        if not self.is_running():
            return
        self.failure = TrainingFailure(
            f"The run folder {self.run_dir} vanished (deleted, moved, or its shared filesystem was unmounted); "
            "PoseDesk stopped following it. The training elsewhere may still run: attach again when the folder is back.",
            "",
            None,
            self._log_tail(),
        )
        self._end("vanished")

    def _end_with(self, terminal: Event) -> None:
        data = terminal.data
        if terminal.kind == RunStatus.FAILED:
            self.failure = TrainingFailure(
                str(data.get("error") or "Training failed."), str(data.get("traceback") or ""), None, self._log_tail()
            )
        self._end(terminal.kind)

    def _end(self, status: str) -> None:
        self._timer.stop()
        self.follower.stop()
        self.status = status
        if self.is_stale:
            self.is_stale = False
            self.stale_changed.emit(False, "")
        if status == RunStatus.FINISHED:
            terminal = self.follower.terminal
            summary = terminal.data.get("summary") if terminal is not None else None
            self.finished.emit(summary if isinstance(summary, dict) else {})
        elif status == RunStatus.STOPPED:
            self.stopped.emit()
        elif status in (RunStatus.FAILED, "vanished") and self.failure is not None:
            self.failed.emit(self.failure)
        self.ended.emit(status)
