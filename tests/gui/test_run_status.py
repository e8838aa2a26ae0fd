"""The history table's run status comes from pose_core.runs (one set of rules, reused-pid guard included)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pose_core.events import Event
from pose_core.runs import RunLayout
from pose_gui.models.loss_history import scan_runs


def _write_started(run_dir: Path, started_s: float) -> None:
    run_dir.mkdir(parents=True)
    RunLayout(run_dir).events.write_text(Event("started", started_s, {"pid": os.getpid()}).to_json() + "\n")


def test_a_dead_run_whose_pid_was_reused_shows_killed(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs" / "2026-01-01"
    _write_started(outputs / "09-00-00", time.time() - 3600)  # an hour ago; this pid is a newer process now
    _write_started(outputs / "10-00-00", time.time())  # started by this very process: alive
    statuses = {row.path.name: row.status for row in scan_runs(tmp_path)}
    assert statuses == {"09-00-00": "killed", "10-00-00": "running"}
