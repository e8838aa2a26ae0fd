"""A labelling session killed with SIGKILL loses at most the last second of edits; the file stays whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pose_core.data.labels import read_labels

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from pose_core.project import Project
    from pose_gui.sessions.label import LabelSession, load_label_data

    app = QApplication([])
    project = Project.open(Path(sys.argv[1]))
    session = LabelSession(project, load_label_data(project))

    def pump(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    for i in range(2):  # two edits, each followed by 1.2 s of normal running
        session.set_point(f"labeled-data/new/img{i:08d}.png", 0, (10.0 + i, 20.0 + i))
        pump(1.2)
    print("SAVED", flush=True)
    session.set_point("labeled-data/new/img00000099.png", 0, (5.0, 5.0))  # the last second: may be lost
    print("EDITED", flush=True)
    pump(60)
    """
)


@pytest.mark.timeout(60)
def test_kill_9_loses_at_most_the_last_second(example_project: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(example_project)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        assert lines == ["SAVED", "EDITED"]
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    labels = read_labels(example_project / "CollectedData.csv")
    for i in range(2):
        row = labels.image_paths.index(f"labeled-data/new/img{i:08d}.png")
        assert labels.keypoints_px[row, 0].tolist() == [10.0 + i, 20.0 + i]
        assert np.isnan(labels.keypoints_px[row, 1:]).all()
    assert not list(example_project.glob(".CollectedData*partial*"))  # no half-written temporary file left
