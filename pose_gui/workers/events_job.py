"""EventsJob: a ``pose_core`` command in a child process whose progress comes from its ``--events`` file.

Used by Review's "Predict video" (:class:`~pose_gui.workers.predict_job.PredictJob`), the
ensemble's "Predict with EKS" (``pose-predict RUN... VIDEO --eks``) and "Suggest frames"
(``posedesk suggest-frames ... --events FILE``). The events file lives in a fresh temporary folder
of the job's own (so no earlier job's events are replayed, and the ``STOP`` file the commands poll
next to it concerns this job only; the folder is removed when the job ends), or in a given place
(then tailed from its size at start). It is tailed every 250 ms and each event is re-emitted as
:attr:`EventsJob.event_received`. Cancel writes ``STOP`` (the command stops after its current
batch or video, writing nothing half-done) and kills the process tree after a grace period.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from pose_core.events import Event, EventTail
from pose_core.runs.layout import STOP_FILENAME
from pose_gui.workers.process_job import ProcessJob

POLL_INTERVAL_MS = 250
CANCEL_GRACE_MS = 5000
EVENTS_FILENAME = "job_progress.jsonl"


class EventsJob(QObject):
    """Runs ``python -m MODULE ARGS... --events FILE`` and follows FILE.

    Signals:
        event_received(object): An :class:`~pose_core.events.Event` the command wrote.
        ended(bool, str): Succeeded (exit status 0), and the error line or "" (a cancelled job
            ends with ``False, "cancelled"``).
    """

    event_received = Signal(object)
    ended = Signal(bool, str)

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        parent: QObject | None = None,
        *,
        events_path: Path | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        """Prepare (not start) the job: ``python -m module *args --events <file>``.

        Args:
            module: The ``pose_core`` module to run with ``python -m``.
            args: Its arguments (``--events`` is added).
            parent: Owner.
            events_path: Where the command writes its events (a file kept afterwards, tailed from
                its size at start; ``STOP`` goes beside it); None = a temporary folder of the job's own.
            command: Another command line (program first) to run instead (tests); it must take
                ``--events FILE`` with ``events_path``.
        """
        super().__init__(parent)
        self._owns_folder = events_path is None
        self.events_path = (
            Path(tempfile.mkdtemp(prefix="posedesk-job-")) / EVENTS_FILENAME
            if events_path is None
            else Path(events_path)
        )
        self._folder = self.events_path.parent
        if command is None:
            command = [sys.executable, "-m", module, *map(str, args), "--events", str(self.events_path)]
        self._process = ProcessJob(command[0], list(command[1:]), parent=self)
        self._process.ended.connect(self._on_process_ended)
        self._process.output_received.connect(self._on_process_output)
        self._tail = EventTail(self.events_path)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self.poll)
        self._grace_timer = QTimer(self)
        self._grace_timer.setSingleShot(True)
        self._grace_timer.timeout.connect(self._process.kill_tree)
        self.cancelled = False
        self.events: list[Event] = []
        self._error_line = ""

    @property
    def command(self) -> list[str]:
        """The command line (program first)."""
        return [self._process.program, *self._process.args]

    def start(self) -> None:
        """Start the child process (returns at once)."""
        self._folder.mkdir(parents=True, exist_ok=True)
        (self._folder / STOP_FILENAME).unlink(missing_ok=True)
        self._tail.offset_bytes = self.events_path.stat().st_size if self.events_path.is_file() else 0
        self._process.start()
        self._timer.start()

    def is_running(self) -> bool:
        """True while the child process runs."""
        return self._process.is_running()

    def cancel(self) -> None:
        """Ask the command to stop (``STOP`` file); kill it if it has not ended after a grace period."""
        if not self.is_running():
            return
        self.cancelled = True
        (self._folder / STOP_FILENAME).write_text("stop\n", encoding="utf-8")
        self._grace_timer.start(CANCEL_GRACE_MS)

    def shutdown(self) -> None:
        """Kill the child now and wait for it (window closing)."""
        self._timer.stop()
        self._grace_timer.stop()
        if self.is_running():
            self.cancelled = True
            self._process.shutdown()
        self._clean_up()

    def poll(self) -> None:
        """Read the new events and emit them."""
        for event in self._tail.read_new():
            self.events.append(event)
            if event.kind == "failed" and event.data.get("error"):
                self._error_line = str(event.data["error"])
            self.event_received.emit(event)

    def last_event(self, kind: str, job: str | None = None) -> Event | None:
        """The last event of ``kind`` (and ``data['job'] == job`` if given) received so far."""
        matching = [e for e in self.events if e.kind == kind and (job is None or e.data.get("job") == job)]
        return matching[-1] if matching else None

    def _on_process_output(self, text: str) -> None:
        for line in text.splitlines():
            if "error:" in line:
                self._error_line = line.split("error:", 1)[1].strip()

    def _on_process_ended(self, exit_code: int, how: str) -> None:
        self._timer.stop()
        self._grace_timer.stop()
        self.poll()
        self._clean_up()
        if exit_code == 0 and how == "normal":
            self.ended.emit(True, "")
        elif self.cancelled:
            self.ended.emit(False, "cancelled")
        else:
            tail = " ".join(self._process.last_lines(1)).strip()
            self.ended.emit(False, self._error_line or tail or f"the process ended with status {exit_code} ({how})")

    def _clean_up(self) -> None:
        if self._owns_folder:
            shutil.rmtree(self._folder, ignore_errors=True)
        else:
            (self._folder / STOP_FILENAME).unlink(missing_ok=True)
