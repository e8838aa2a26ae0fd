"""Typed progress events of a training or prediction job, stored as JSON lines.

A job appends one JSON object per line to the run's events file (``events.jsonl``, named by
:mod:`pose_core.runs.layout`) and flushes after each line,
so another process (the GUI, a terminal on another machine) can follow it by tailing the file.
Every event has ``event`` (its kind) and ``time`` (seconds since the epoch); the other fields
depend on the kind:

- ``started``: ``pid``, ``run_dir``, ``job`` ("train" or "predict"), ``max_epochs``,
  ``steps_per_epoch``, ``device``.
- ``phase``: ``phase`` (``loading_data``, ``building_model``, ``first_batch``, ``training``,
  ``evaluating``, ``predicting_videos``, ``rendering_videos``) and ``message``.
- ``progress``: ``epoch``, ``step`` (within the epoch), ``global_step``, ``steps_per_epoch``,
  ``images_per_s``, ``eta_s`` and ``metrics`` (latest step scalars, e.g. ``train_supervised_loss``).
- ``epoch_end``: ``epoch`` and ``metrics`` (epoch scalars, including ``val_*`` when validated).
- ``finished`` / ``stopped``: ``epoch``, ``global_step``, optional ``summary``.
- ``failed``: ``error`` (one line) and ``traceback``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENT_KINDS = ("started", "phase", "progress", "epoch_end", "finished", "stopped", "failed")
TERMINAL_EVENTS = ("finished", "stopped", "failed")


@dataclass
class Event:
    """One progress event.

    Attributes:
        kind: One of :data:`EVENT_KINDS`.
        time: Seconds since the epoch when it happened.
        data: The kind-specific fields.
    """

    kind: str
    time: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialises the event to one JSON line (no newline); NaN and inf become null."""
        payload = {"event": self.kind, "time": self.time, **_json_safe(self.data)}
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Event:
        """Parses one JSON line.

        Raises:
            ValueError: The line is not a JSON object with an ``event`` field.
        """
        obj = json.loads(line)
        if not isinstance(obj, dict) or "event" not in obj:
            raise ValueError("not an event object")
        kind = str(obj.pop("event"))
        t = float(obj.pop("time", 0.0))
        return cls(kind=kind, time=t, data=obj)


def _json_safe(value: Any) -> Any:
    """Replaces NaN/inf floats by None recursively, so the output is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):  # numpy / torch scalars
        try:
            return _json_safe(value.item())
        except (TypeError, ValueError):
            return str(value)
    return value


class EventWriter:
    """Appends events to a JSON-lines file, one flushed line per event.

    Args:
        path: The events file (usually ``run_dir/events.jsonl``); parents are created.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    def emit(self, kind: str, **data: Any) -> Event:
        """Writes one event and flushes it to disk.

        Args:
            kind: One of :data:`EVENT_KINDS`.
            **data: The kind-specific fields.

        Returns:
            The event written.
        """
        event = Event(kind=kind, data=data)
        self._fh.write(event.to_json() + "\n")
        self._fh.flush()
        if kind in TERMINAL_EVENTS:
            os.fsync(self._fh.fileno())
        return event

    def close(self) -> None:
        """Closes the file."""
        if not self._fh.closed:
            self._fh.close()


class EventTail:
    """Reads the events appended to a file since the last call, skipping garbled lines.

    A partial last line (the writer is mid-write) is left for the next call.

    Args:
        path: The events file to follow; it may not exist yet.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset_bytes = 0
        self.n_skipped_lines = 0

    def read_new(self) -> list[Event]:
        """Returns the complete events written since the previous call."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset_bytes)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset_bytes += end + 1
        events = []
        for raw in chunk[: end + 1].splitlines():
            if not raw.strip():
                continue
            try:
                events.append(Event.from_json(raw.decode("utf-8")))
            except (ValueError, UnicodeDecodeError):
                self.n_skipped_lines += 1
        return events


def read_events(path: Path) -> list[Event]:
    """Reads every complete, well-formed event in a file (garbled lines are skipped)."""
    return EventTail(path).read_new()


def iter_metric(events: list[Event], name: str, kind: str = "epoch_end") -> Iterator[tuple[int, float]]:
    """Yields ``(epoch or global_step, value)`` of one metric from events of one kind.

    Args:
        events: Events in file order.
        name: Metric name, e.g. ``val_supervised_loss``.
        kind: ``epoch_end`` (x = epoch) or ``progress`` (x = global step).
    """
    x_key = "epoch" if kind == "epoch_end" else "global_step"
    for event in events:
        if event.kind != kind:
            continue
        value = event.data.get("metrics", {}).get(name)
        if value is not None:
            yield int(event.data.get(x_key, 0)), float(value)


def __getattr__(name: str) -> str:
    """``EVENTS_FILENAME`` / ``STOP_FILENAME`` moved to :mod:`pose_core.runs.layout` (kept importable from here)."""
    if name in ("EVENTS_FILENAME", "STOP_FILENAME"):
        from pose_core.runs import layout

        return str(getattr(layout, name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
