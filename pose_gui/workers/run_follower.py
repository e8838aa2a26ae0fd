"""RunFollower: follow a run directory's ``events.jsonl`` on a timer and turn new events into typed signals.

Used by :class:`~pose_gui.workers.training.TrainingJob` (a child process this window started) and by
:class:`~pose_gui.workers.attach.AttachedRun` (a run another process or machine writes). Every tick
reads the complete lines appended since the last one with :class:`pose_core.events.EventTail`
(garbled lines are skipped and counted, a partial last line waits for the next tick). Whoever owns
the follower decides what a vanished run directory means; the follower only reports it, once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from pose_core.events import TERMINAL_EVENTS, Event, EventTail
from pose_core.runs.layout import EVENTS_FILENAME

POLL_INTERVAL_MS = 250


class RunFollower(QObject):
    """Reads a run directory's new events every :data:`POLL_INTERVAL_MS` and signals them.

    Signals:
        event_received(object): Every event, in file order (:class:`pose_core.events.Event`).
        phase_changed(str, str): A ``phase`` event's phase and message.
        progress(object): A ``progress`` event's fields (dict).
        epoch_ended(int, object): An ``epoch_end`` event's epoch and metrics (dict).
        vanished(): The run directory existed and is gone (emitted once).

    Attributes:
        run_dir: The run directory.
        terminal: The last ``finished`` / ``stopped`` / ``failed`` event seen (None while running).
        n_events: Events signalled so far.
    """

    event_received = Signal(object)
    phase_changed = Signal(str, str)
    progress = Signal(object)
    epoch_ended = Signal(int, object)
    vanished = Signal()

    def __init__(self, run_dir: Path, *, tail: EventTail | None = None, parent: QObject | None = None) -> None:
        """Prepare (not start) following.

        Args:
            run_dir: The run directory.
            tail: A tail already advanced past the events the caller has read (None = from the start).
            parent: Owner.
        """
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.terminal: Event | None = None
        self.n_events = 0
        self.is_vanished = False
        self._tail = tail if tail is not None else EventTail(self.run_dir / EVENTS_FILENAME)
        self._saw_run_dir = self.run_dir.is_dir() or self._tail.offset_bytes > 0
        self._saw_events_file = self._tail.offset_bytes > 0 or (self.run_dir / EVENTS_FILENAME).is_file()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)

    @property
    def n_skipped_lines(self) -> int:
        """Garbled ``events.jsonl`` lines skipped so far."""
        return self._tail.n_skipped_lines

    @property
    def offset_bytes(self) -> int:
        """How far ``events.jsonl`` has been read (complete lines)."""
        return self._tail.offset_bytes

    def skip_existing(self) -> None:
        """Read past the events already in the file without signalling them (a resumed run's old events)."""
        self._tail.read_new()
        self._tail.n_skipped_lines = 0

    def start(self) -> None:
        """Poll on the timer from now on."""
        self._timer.start()

    def stop(self) -> None:
        """Stop polling."""
        self._timer.stop()

    def is_active(self) -> bool:
        """True while the timer polls."""
        return self._timer.isActive()

    def poll(self) -> list[Event]:
        """Read and signal the new events (timer tick); report a vanished run directory once.

        Returns:
            The new events.
        """
        folder_there = self.run_dir.is_dir()
        events_there = folder_there and (self.run_dir / EVENTS_FILENAME).is_file()
        self._saw_run_dir = self._saw_run_dir or folder_there
        self._saw_events_file = self._saw_events_file or events_there
        # A deleted folder can be back at once under the same path (Lightning's logger writes tb_logs/
        # again), but the events file the run had open is gone for good: its absence says it.
        if (self._saw_run_dir and not folder_there) or (self._saw_events_file and not events_there):
            if not self.is_vanished:
                self.is_vanished = True
                self.vanished.emit()
            return []
        events = self._tail.read_new()
        for event in events:
            self._dispatch(event)
        return events

    def _dispatch(self, event: Event) -> None:
        self.n_events += 1
        self._saw_run_dir = True
        self.event_received.emit(event)
        data = event.data
        if event.kind == "phase":
            self.phase_changed.emit(str(data.get("phase", "")), str(data.get("message", "")))
        elif event.kind == "progress":
            self.progress.emit(dict(data))
        elif event.kind == "epoch_end":
            metrics = data.get("metrics")
            self.epoch_ended.emit(int(data.get("epoch") or 0), dict(metrics) if isinstance(metrics, dict) else {})
        elif event.kind in TERMINAL_EVENTS:
            self.terminal = event
        elif event.kind == "started":
            self.terminal = None  # a resumed run: the previous segment's end is history
