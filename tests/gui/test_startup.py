"""Starting the app as a user does: fast, without torch/cv2, --screenshot, --timing, --check, no Qt crash."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from pose_gui import check

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY_MODULES = ("torch", "torchvision", "pytorch_lightning", "lightning", "cv2")

SHOW_AND_LIST_MODULES = """
import json, sys, time
from pathlib import Path
from PySide6.QtTest import QTest
from pose_gui.app import create_application
from pose_gui.main_window import MainWindow

heavy = {heavy!r}
app = create_application()
window = MainWindow()
window.show()
assert QTest.qWaitForWindowExposed(window)
app.processEvents()
at_shown = sorted(m for m in heavy if m in sys.modules)
window.open_project(Path(sys.argv[1]))
deadline = time.monotonic() + 60
while (window.state.project is None or window.is_loading()) and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
at_loaded = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({{"at_shown": at_shown, "at_loaded": at_loaded, "opened": window.state.project is not None}}))
window.close()
"""


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell without a display, with private settings and data folders."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["POSEDESK_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def posedesk(tmp_path: Path, *args: str, timeout_s: float = 60.0, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pose_gui", *args],
        cwd=tmp_path,
        env=app_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_no_torch_or_cv2_until_a_feature_needs_them(tmp_path: Path, example_project: Path) -> None:
    script = SHOW_AND_LIST_MODULES.format(heavy=HEAVY_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", script, str(example_project)],
        env=app_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["at_shown"] == []  # window shown: none of torch, lightning, cv2
    assert result["opened"]
    assert "torch" not in result["at_loaded"] and "pytorch_lightning" not in result["at_loaded"]
    assert set(result["at_loaded"]) <= {"cv2"}  # the video probe thread needs OpenCV, nothing else


def test_timing_says_when_the_window_is_drawn(tmp_path: Path) -> None:
    """``--timing`` prints when the window was drawn (how fast that is: benchmarks/window_startup.py)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pose_gui", "--timing"],
        cwd=tmp_path,
        env=app_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
    finally:
        process.kill()
        process.wait(timeout=10)
    match = re.search(r"window drawn (\d+\.\d+)", line)
    assert match, f"no timing line: {line!r}"
    assert float(match.group(1)) > 0


def test_screenshot_draws_the_project_pane_offscreen_without_a_display(tmp_path: Path, example_project: Path) -> None:
    out = tmp_path / "shots" / "project.png"
    start_s = time.monotonic()
    done = posedesk(tmp_path, "--screenshot", str(out), "--pane", "project", "--timing", str(example_project))
    wall_s = time.monotonic() - start_s
    assert done.returncode == 0, done.stderr
    assert "screenshot drawn" in done.stdout
    print(f"--screenshot wall time {wall_s:.2f} s; {done.stdout.splitlines()[0]}")
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 820)
    colors = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 820, 7)}
    assert len(colors) > 200  # thumbnails and text, not a blank window
    assert not (tmp_path / "config" / "PoseDesk" / "posedesk.ini").exists()  # screenshots leave settings alone


def test_screenshot_of_an_unknown_pane_lists_the_panes(tmp_path: Path) -> None:
    done = posedesk(tmp_path, "--screenshot", str(tmp_path / "x.png"), "--pane", "nope")
    assert done.returncode == 2
    assert "unknown pane 'nope'" in done.stderr and "project" in done.stderr


def test_check_without_a_display_says_what_is_missing_and_the_fix(tmp_path: Path) -> None:
    done = posedesk(tmp_path, "--check")
    assert done.returncode == 1
    assert "No display" in done.stderr and "xvfb-run" in done.stderr


def test_starting_without_a_display_prints_the_fix_instead_of_a_qt_crash(tmp_path: Path) -> None:
    done = posedesk(tmp_path)
    assert done.returncode == 1  # not a Qt abort (negative signal number)
    assert "cannot open its window here" in done.stderr and "fix:" in done.stderr


def test_check_passes_offscreen(tmp_path: Path) -> None:
    done = posedesk(tmp_path, "--check", QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    assert "Qt platform 'offscreen'" in done.stdout and "unset it to see the window" in done.stdout


def test_check_names_missing_xcb_libraries_and_the_apt_line(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}
    monkeypatch.setattr(check, "library_present", lambda soname: soname not in missing)
    monkeypatch.setattr(check.sys, "platform", "linux")
    (problem,) = check.static_problems({"DISPLAY": ":0"})
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in problem.message
    assert "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4" in problem.fix
    assert check.static_problems({"QT_QPA_PLATFORM": "offscreen"}) == []  # offscreen needs no xcb
    assert check.qt_platform({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"


def test_thousands_of_signal_emits_do_not_abort_the_app(tmp_path: Path) -> None:
    # PySide6 6.12.0 drops a reference to True per emit and to None per void call; CPython 3.11
    # then aborts (bool_dealloc / none_dealloc). pyproject.toml excludes it; this guards the pin.
    script = (
        "from PySide6.QtCore import QObject, Signal\n"
        "from PySide6.QtWidgets import QLabel\n"
        "from pose_gui.app import create_application\n"
        "class Emitter(QObject):\n"
        "    fired = Signal(int)\n"
        "app = create_application()\n"
        "emitter = Emitter()\n"
        "label = QLabel()\n"
        "for i in range(20000):\n"
        "    emitter.fired.emit(i)\n"
        "    label.setText(str(i))\n"
        "print('still alive')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=app_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "still alive" in done.stdout
