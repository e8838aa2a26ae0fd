"""How long the window takes to be drawn after ``posedesk`` starts (goal: under 1.5 s), against bare Qt.

Starts ``python -m pose_gui --timing`` off screen several times and reads the "window drawn" time
it prints; the reference, measured in the same run, is a process that only imports PySide6's
widgets and shows an empty window. Prints medians, their ratio and the machine's load. Was a timed
assertion in tests/gui/test_startup.py.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/window_startup.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 1.5
BARE_QT = (
    "import time; t0 = time.time()\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication([]); w = QMainWindow(); w.show(); app.processEvents()\n"
)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"), POSEDESK_DATA_DIR=str(tmp / "data"))
    return env


def posedesk_drawn_s(tmp: Path) -> float:
    """The "window drawn" time ``posedesk --timing`` prints (seconds after the process started)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pose_gui", "--timing"], cwd=tmp, env=_env(tmp), stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
    finally:
        process.kill()
        process.wait(timeout=10)
    match = re.search(r"window drawn (\d+\.\d+)", line)
    if not match:
        sys.exit(f"no timing line from posedesk --timing: {line!r}")
    return float(match.group(1))


def bare_qt_s(tmp: Path) -> float:
    """Wall time of a process that shows an empty Qt window (the reference)."""
    start_s = time.monotonic()
    subprocess.run([sys.executable, "-c", BARE_QT], cwd=tmp, env=_env(tmp), check=True)
    return time.monotonic() - start_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        posedesk = [posedesk_drawn_s(tmp) for _ in range(args.repeats)]
        bare = [bare_qt_s(tmp) for _ in range(args.repeats)]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    p, b = statistics.median(posedesk), statistics.median(bare)
    print(f"load average {load}; medians of {args.repeats} starts")
    print(f"empty Qt window (reference)  {b:5.2f} s")
    print(f"posedesk window drawn        {p:5.2f} s  = {p / b:.2f} x reference")
    print(f"goal < {GOAL_S} s: {'within' if p < GOAL_S else 'OVER'}")


if __name__ == "__main__":
    main()
