"""ProcessJob: a child's output reaches the log and its file, exit codes are reported, Kill ends the whole tree."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
from pytestqt.qtbot import QtBot

from pose_gui.workers.process_job import ProcessJob


def run_to_end(qtbot: QtBot, job: ProcessJob, timeout_ms: int = 20_000) -> tuple[int, str]:
    with qtbot.waitSignal(job.ended, timeout=timeout_ms) as blocker:
        job.start()
    code, how = blocker.args
    return int(code), str(how)


def test_output_goes_to_the_signal_the_tail_and_the_log_file(qtbot: QtBot, tmp_path: Path) -> None:
    script = "import sys; print('loading data'); sys.stderr.write('something broke\\n'); sys.exit(3)"
    job = ProcessJob(sys.executable, ["-c", script], log_path=tmp_path / "train.log")
    received: list[str] = []
    job.output_received.connect(received.append)
    code, how = run_to_end(qtbot, job)
    assert (code, how) == (3, "normal")
    assert "loading data" in "".join(received) and "something broke" in "".join(received)
    assert job.last_lines() == ["loading data", "something broke"]
    assert (tmp_path / "train.log").read_text(encoding="utf-8") == "loading data\nsomething broke\n"


def test_log_written_once_its_folder_appears(qtbot: QtBot, tmp_path: Path) -> None:
    run_dir = tmp_path / "outputs" / "run"
    script = (
        "import os, sys, time; print('before the folder', flush=True); time.sleep(0.5); "
        f"os.makedirs({str(run_dir)!r}); print('after the folder')"
    )
    job = ProcessJob(sys.executable, ["-c", script], log_path=run_dir / "train.log")
    assert run_to_end(qtbot, job) == (0, "normal")
    assert (run_dir / "train.log").read_text(encoding="utf-8") == "before the folder\nafter the folder\n"


def test_kill_tree_ends_the_child_and_its_grandchild(qtbot: QtBot) -> None:
    script = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(p.pid, flush=True); time.sleep(60)"
    )
    job = ProcessJob(sys.executable, ["-c", script])
    job.start()
    qtbot.waitUntil(lambda: bool(job.last_lines()) and job.last_lines()[0].strip().isdigit(), timeout=20_000)
    grandchild_pid = int(job.last_lines()[0])
    assert psutil.pid_exists(grandchild_pid)
    with qtbot.waitSignal(job.ended, timeout=10_000) as blocker:
        job.kill_tree()
    assert blocker.args[1] == "killed"
    deadline = time.monotonic() + 5.0
    while _alive(grandchild_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild_pid)


def test_missing_program_reports_start_failed(qtbot: QtBot, tmp_path: Path) -> None:
    job = ProcessJob(str(tmp_path / "no-such-program"), [])
    code, how = run_to_end(qtbot, job)
    assert (code, how) == (-1, "start_failed")
    assert "Could not start" in job.last_lines()[-1]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
