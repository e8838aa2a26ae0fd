"""RunStatus: the one set of rules that says whether a run is running, finished, stopped, failed or killed.

A run's status comes from its ``events.jsonl`` (:func:`segment_status`: the last ``started``
segment ended with ``finished``/``stopped``/``failed``, or is still open), its ``summary.json``
(when the last segment ended between writing it and its final event) and, for an open segment,
whether the process that started it still lives (:func:`process_alive`, which refuses a newer
process that reused the pid). :func:`run_status` combines them; the project listing, the GUI's
history table and the training pane all take their status from here.

No Qt, OpenCV or torch here: the GUI lists runs on a timer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from pose_core.runs.layout import EVENTS_FILENAME, SUMMARY_FILENAME

if TYPE_CHECKING:
    from pose_core.events import Event

SILENT_RUN_S = 300.0
"""A run whose ``started`` event has no pid and whose events are older than this is taken as killed."""
PID_START_TOLERANCE_S = 5.0
"""A process created more than this after the run's ``started`` event is another process reusing the pid."""


class RunStatus(StrEnum):
    """What a run is doing or how it ended (the value is what the GUI shows)."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    KILLED = "killed"
    """Started, never ended, and its process is gone (``kill -9``, a crash of the machine)."""
    NOT_STARTED = "not started"
    """No event yet."""
    INCOMPLETE = "incomplete"
    """A Lightning Pose model folder whose training stopped before writing its predictions."""

    @property
    def is_terminal(self) -> bool:
        """True when the run will not change any more by itself (everything but running / not started)."""
        return self not in (RunStatus.RUNNING, RunStatus.NOT_STARTED)


ENDED_BY_EVENT = (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED)
"""Statuses a run's last event (or ``summary.json``) can state."""


def segment_status(events: Sequence[Event]) -> RunStatus:
    """The status the events alone give: how the last segment ended, or ``running`` when it is open.

    A resumed run has several segments, one ``started`` event each; a ``running`` answer still
    needs the process check of :func:`open_segment_status`.

    Args:
        events: The run's events in file order.

    Returns:
        ``finished``, ``stopped`` or ``failed`` (the last segment's final event), ``running``
        (started and not ended), ``not started`` (no event).
    """
    if not events:
        return RunStatus.NOT_STARTED
    for event in reversed(events):
        if event.kind in ENDED_BY_EVENT:
            return RunStatus(event.kind)
        if event.kind == "started":
            return RunStatus.RUNNING
    return RunStatus.RUNNING


def process_alive(pid: int, started_time_s: float) -> bool:
    """True if process ``pid`` exists, is not a zombie and is not a newer process that reused the number.

    Args:
        pid: The pid the run's ``started`` event recorded.
        started_time_s: When that event was written (seconds since the epoch).
    """
    try:
        process = psutil.Process(pid)
        return (
            process.create_time() <= started_time_s + PID_START_TOLERANCE_S and process.status() != psutil.STATUS_ZOMBIE
        )
    except (psutil.Error, OSError):
        return False


def open_segment_status(pid: int | None, started_time_s: float, events_mtime_s: float | None) -> RunStatus:
    """``running`` or ``killed`` for a run whose last segment started and has not ended.

    Args:
        pid: The pid of the segment's ``started`` event, if it recorded one.
        started_time_s: When that event was written.
        events_mtime_s: When ``events.jsonl`` was last written (None if unknown): without a pid, a
            run silent for :data:`SILENT_RUN_S` is taken as killed.
    """
    if pid is not None:
        return RunStatus.RUNNING if process_alive(pid, started_time_s) else RunStatus.KILLED
    if events_mtime_s is None:
        return RunStatus.KILLED
    return RunStatus.RUNNING if time.time() - events_mtime_s < SILENT_RUN_S else RunStatus.KILLED


def run_status(run_dir: Path, events: Sequence[Event], summary: dict[str, Any]) -> RunStatus:
    """Status of a PoseDesk run's last segment; ``running`` only if its process lives.

    The events decide: ``summary.json`` is the one of the latest segment that finished, so a
    resumed run that was then killed still has the previous segment's summary. It is used only
    when there are no events, or when the last segment ended between writing it and its final event.

    Args:
        run_dir: The run directory.
        events: Its events (``events.jsonl``) in file order.
        summary: Its ``summary.json`` ({} when missing or unreadable).
    """
    status = segment_status(events)
    summary_status = _summary_status(summary)
    if status == RunStatus.NOT_STARTED:
        return summary_status or RunStatus.NOT_STARTED
    if status != RunStatus.RUNNING:
        return status
    started = next((e for e in reversed(events) if e.kind == "started"), None)
    if summary_status is not None and _written_after(run_dir / SUMMARY_FILENAME, started):
        return summary_status
    pid = started.data.get("pid") if started else None
    return open_segment_status(
        pid if isinstance(pid, int) else None, started.time if started else 0.0, _mtime(run_dir / EVENTS_FILENAME)
    )


def _summary_status(summary: dict[str, Any]) -> RunStatus | None:
    value = str(summary.get("status", ""))
    return RunStatus(value) if value in ENDED_BY_EVENT else None


def _written_after(path: Path, event: Event | None) -> bool:
    """Whether ``path`` was last written after ``event`` (or there is no event)."""
    try:
        return event is None or path.stat().st_mtime >= float(event.time)
    except OSError:
        return False


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
