"""Label pane speed on 1280x1024 frames (not a test: prints numbers).

A generated project (30 PNG frames of 1280x1024 with camera-like noise, 18 keypoints, labels on
every frame) is opened in the real :class:`LabelPane` off screen; then:

* next frame: from the "next frame" shortcut to that frame and its keypoints drawn and painted
  (p50 / p95; goal p95 < 50 ms), stepping through the list twice (the second pass is what
  labelling feels like: the loader reads ahead);
* click: from a mouse click on the canvas to the new point painted (the view repaints the region
  that changed when events are processed; p50 / p95; goal < 16 ms);
* save: from a click to the new value in ``CollectedData.csv`` on disk (goal < 1.5 s; the
  autosave fires at most 1 s after the first unsaved edit).

The reference measured in the same run is the time to decode one of these PNGs with OpenCV
(the work a frame change cannot avoid). Usage: ``python benchmarks/label_canvas.py``
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_FRAMES = 30
N_KEYPOINTS = 18
WIDTH, HEIGHT = 1280, 1024


def make_project(folder: Path) -> Path:
    import cv2

    rng = np.random.default_rng(0)
    (folder / "labeled-data" / "cam").mkdir(parents=True)
    names = [f"kp{k}" for k in range(N_KEYPOINTS)]
    rows = ["scorer," + ",".join(["bench"] * 2 * N_KEYPOINTS)]
    rows.append("bodyparts," + ",".join(n for n in names for _ in "xy"))
    rows.append("coords," + ",".join(["x", "y"] * N_KEYPOINTS))
    base = cv2.GaussianBlur(rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8), (31, 31), 0)
    for i in range(N_FRAMES):
        image = np.clip(base.astype(np.int16) + rng.integers(-12, 12, base.shape), 0, 255).astype(np.uint8)
        rel = f"labeled-data/cam/img{i:08d}.png"
        cv2.imwrite(str(folder / rel), image)
        xy = rng.uniform(50, 1000, size=2 * N_KEYPOINTS)
        rows.append(rel + "," + ",".join(f"{v:.2f}" for v in xy))
    (folder / "CollectedData.csv").write_text("\n".join(rows) + "\n")
    return folder


def percentiles(values_s: list[float]) -> str:
    ms = sorted(v * 1000 for v in values_s)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms (n={len(ms)})"


def main() -> int:
    import cv2
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from pose_core.project import Project
    from pose_gui.models.state import AppState
    from pose_gui.views.label.pane import LabelPane

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = make_project(Path(tmp) / "bench")
        ref = []
        for i in range(10):
            start = time.perf_counter()
            cv2.imread(str(project_dir / f"labeled-data/cam/img{i:08d}.png"))
            ref.append(time.perf_counter() - start)
        state = AppState()
        state.set_project(Project.open(project_dir))
        pane = LabelPane(state)
        pane.resize(1500, 950)
        pane.show()
        wait(app, lambda: pane.session is not None and pane.canvas.image is not None, 20)
        shown: list[str] = []
        pane.frame_shown.connect(shown.append)
        load = os.getloadavg()
        next_s: list[list[float]] = [[], []]
        for sweep in range(2):
            pane.show_frame(pane.frame_list.ordered_paths()[0])
            wait(app, lambda: pane.canvas.image is not None, 5)
            for _ in range(N_FRAMES - 1):
                shown.clear()
                start = time.perf_counter()
                pane.actions_by_id["label.next_frame"].trigger()
                wait(app, lambda: bool(shown), 5)
                pane.canvas.viewport().repaint()
                next_s[sweep].append(time.perf_counter() - start)
        click_s, save_s = [], []
        csv_path = project_dir / "CollectedData.csv"
        for i in range(8):
            path = pane.current_path
            assert path is not None and pane.session is not None
            pos = QPoint(200 + 40 * i, 200 + 20 * i)
            start = time.perf_counter()
            QTest.mouseClick(pane.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
            app.processEvents()  # the view paints the region that changed
            click_s.append(time.perf_counter() - start)
            placed = pane.session.points(path)
            k = int(np.argmax([np.allclose(p, pane.canvas.mapToScene(pos).toTuple(), atol=0.6) for p in placed]))
            text = f"{placed[k, 0]:.2f},{placed[k, 1]:.2f}"
            wait(app, lambda t=text: t in csv_path.read_text(), 10)
            save_s.append(time.perf_counter() - start)
            pane.selected_keypoint = (pane.selected_keypoint + 1) % N_KEYPOINTS
            wait(app, lambda: pane.session is not None and pane.session._save_task is None, 5)
            app.processEvents()
            time.sleep(0.3)
        pane.shutdown()
        pane.deleteLater()
        app.processEvents()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"reference: OpenCV decodes one {WIDTH}x{HEIGHT} PNG: {percentiles(ref)}")
    print(f"next frame -> frame + {N_KEYPOINTS} points painted, first pass: {percentiles(next_s[0])}")
    print(
        f"next frame -> frame + {N_KEYPOINTS} points painted, second pass: {percentiles(next_s[1])} (goal p95 < 50 ms)"
    )
    ratio = statistics.median(next_s[1]) / statistics.median(ref)
    print(f"  ratio next-frame p50 / PNG decode p50: {ratio:.2f}")
    print(f"click -> point painted: {percentiles(click_s)} (goal < 16 ms)")
    print(f"click -> value in CollectedData.csv on disk: {percentiles(save_s)} (goal < 1.5 s)")
    return 0


def wait(app: object, condition: object, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.perf_counter() > deadline:
            raise TimeoutError("the pane did not answer in time")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.0005)


if __name__ == "__main__":
    sys.exit(main())
