"""How long the Config pane takes to open its full form (target: under 300 ms).

Builds the pane for a small generated example project several times (off screen) and prints the
time to build the form, to draw it once, and to finish the first validation of the config.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/config_form_open.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 300.0


def _measure(repeats: int) -> tuple[list[float], list[float], list[float]]:
    from PySide6.QtWidgets import QApplication

    from pose_core.example import generate_example_project
    from pose_core.project import Project
    from pose_gui.models.state import AppState
    from pose_gui.views.config_editor import ConfigEditorPane

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = generate_example_project(Path(tmp) / "example", n_labeled=20, n_video_frames=30, n_videos=1)
        state = AppState()
        state.set_project(Project.open(folder))
        build_ms, shown_ms, checked_ms = [], [], []
        for _ in range(repeats):
            start = time.perf_counter()
            pane = ConfigEditorPane(state)
            build_ms.append((time.perf_counter() - start) * 1000)
            pane.resize(1200, 800)
            pane.show()
            app.processEvents()
            shown_ms.append((time.perf_counter() - start) * 1000)
            while pane.is_checking():
                app.processEvents()
                time.sleep(0.002)
            checked_ms.append((time.perf_counter() - start) * 1000)
            pane.shutdown()
            pane.close()
            pane.deleteLater()
            app.processEvents()
    return build_ms, shown_ms, checked_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    build_ms, shown_ms, checked_ms = _measure(args.repeats)
    for name, values in (("form built", build_ms), ("form drawn", shown_ms), ("first check done", checked_ms)):
        print(f"{name:>17}: median {statistics.median(values):6.0f} ms  (min {min(values):.0f}, max {max(values):.0f})")
    median_ms = statistics.median(shown_ms)
    print(f"target: form drawn in under {TARGET_MS:.0f} ms -> ratio {median_ms / TARGET_MS:.2f} "
          f"({'OK' if median_ms < TARGET_MS else 'too slow'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
