"""events.jsonl: written line by line, followed by a tail that skips garbage and partial lines."""

from __future__ import annotations

import math
from pathlib import Path

from pose_core.events import EventTail, EventWriter, iter_metric, read_events
from pose_core.runs.status import RunStatus, segment_status


def test_write_and_tail(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read_new() == []
    writer = EventWriter(path)
    writer.emit("started", pid=1)
    writer.emit("epoch_end", epoch=0, metrics={"val_supervised_loss": 2.0, "x": math.nan})
    events = tail.read_new()
    assert [e.kind for e in events] == ["started", "epoch_end"]
    assert events[1].data["metrics"]["x"] is None
    writer.emit("finished", epoch=1)
    assert [e.kind for e in tail.read_new()] == ["finished"]
    writer.close()
    assert segment_status(read_events(path)) == RunStatus.FINISHED


def test_partial_and_garbled_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"event":"started","time":1}\nnot json\n{"event":"epoch_end","epoch":0,"metrics":{"a":1}}\n{"event":"epo'
    )
    tail = EventTail(path)
    events = tail.read_new()
    assert [e.kind for e in events] == ["started", "epoch_end"]
    assert tail.n_skipped_lines == 1
    with path.open("a") as fh:
        fh.write('ch_end","epoch":1,"metrics":{"a":0.5}}\n')
    more = tail.read_new()
    assert [(e.kind, e.data["epoch"]) for e in more] == [("epoch_end", 1)]
    assert list(iter_metric(events + more, "a")) == [(0, 1.0), (1, 0.5)]
    assert segment_status(events + more) == RunStatus.RUNNING
