"""GUI event-loop latency while a real training child runs (not a test: prints the figure).

Opens the Training pane offscreen on a small generated example project, presses Train, and measures
the longest extra delay of a 20 ms timer over a few seconds while the child trains. The goal is
< 100 ms (the window never blocks on training); a figure over that is printed as a miss.

    python benchmarks/gui_latency_training.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOAL_MS = 100.0


def tiny_config(project: Path) -> None:
    """Make the project's saved config train in seconds (64x128 input, 2 epochs, no video prediction)."""
    path = project / "config.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg["data"]["image_resize_dims"] = {"height": 64, "width": 128}
    cfg.setdefault("training", {}).update({"max_epochs": 2, "train_prob": 0.7, "imgaug": "none"})
    cfg.setdefault("eval", {})["predict_vids_after_training"] = False
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to measure while training runs")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from pose_core.example import generate_example_project
    from pose_core.project import Project
    from pose_gui.models.state import AppState
    from pose_gui.views.training_monitor import TrainingMonitorPane

    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory(prefix="gui_latency_") as tmp:
        project_dir = generate_example_project(
            Path(tmp) / "example-project", n_labeled=20, n_video_frames=30, n_videos=1
        )
        tiny_config(project_dir)
        state = AppState()
        state.set_project(Project.open(project_dir))
        pane = TrainingMonitorPane(state)
        pane.show()
        deadline = time.monotonic() + 60
        while pane.is_loading() and time.monotonic() < deadline:
            app.processEvents()
        pane.train_button.click()
        while not (pane.session.job is not None and pane.session.job.process.is_running()):
            if time.monotonic() > deadline:
                print("training did not start within 60 s", file=sys.stderr)
                pane.shutdown()
                return 1
            app.processEvents()
            time.sleep(0.01)

        clock, worst_ms, last_ms = QElapsedTimer(), [0.0], [0]

        def tick() -> None:
            now = clock.elapsed()
            worst_ms[0] = max(worst_ms[0], now - last_ms[0] - 20)
            last_ms[0] = now

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(tick)
        clock.start()
        timer.start()
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)
        timer.stop()
        pane.session.kill()
        pane.shutdown()
    verdict = "met" if worst_ms[0] < GOAL_MS else "MISSED"
    load = os.getloadavg()[0]
    print(
        f"GUI event-loop latency while training runs: {worst_ms[0]:.1f} ms (goal < {GOAL_MS:.0f} ms: {verdict}; load {load:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
