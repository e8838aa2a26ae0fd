"""RunFollower: a run folder that is deleted, even one recreated at once under the same path, is reported."""

from __future__ import annotations

import shutil
from pathlib import Path

from pytestqt.qtbot import QtBot

from pose_core.events import EventWriter
from pose_gui.workers.run_follower import RunFollower


def _write_started(run_dir: Path) -> None:
    writer = EventWriter(run_dir / "events.jsonl")
    writer.emit("started", pid=0, max_epochs=2, start_epoch=0)
    writer.close()


def test_a_deleted_run_folder_is_reported_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _write_started(run_dir)
    follower = RunFollower(run_dir)
    reports: list[bool] = []
    follower.vanished.connect(lambda: reports.append(True))
    assert [e.kind for e in follower.poll()] == ["started"]
    shutil.rmtree(run_dir)
    assert follower.poll() == [] and follower.poll() == []
    assert reports == [True] and follower.is_vanished


def test_a_run_folder_deleted_and_made_again_counts_as_vanished(tmp_path: Path) -> None:
    """What a training run does: Lightning's logger writes tb_logs/ again into the path."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _write_started(run_dir)
    follower = RunFollower(run_dir)
    follower.poll()
    shutil.rmtree(run_dir)
    (run_dir / "tb_logs" / "example").mkdir(parents=True)
    follower.poll()
    assert follower.is_vanished


def test_a_folder_created_after_following_started_is_not_vanished(qtbot: QtBot, tmp_path: Path) -> None:
    run_dir = tmp_path / "queued"
    follower = RunFollower(run_dir)
    assert follower.poll() == []  # not there yet: a queued job, not a vanished one
    run_dir.mkdir()
    _write_started(run_dir)
    assert [e.kind for e in follower.poll()] == ["started"] and not follower.is_vanished
