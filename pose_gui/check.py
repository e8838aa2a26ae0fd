"""``posedesk --check``: can Qt open a window here, and if not, what exactly to install or set.

Qt aborts with a terse "could not load the Qt platform plugin" when there is no display or a
system library of its xcb plugin is missing. These checks find the cause first and print the
fix (the ``apt-get`` line). This module imports no Qt, so it works where Qt cannot start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

# (shared library the xcb platform plugin of PySide6 loads, Debian/Ubuntu package that has it)
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    ("libxcb-image.so.0", "libxcb-image0"),
    ("libxcb-render-util.so.0", "libxcb-render-util0"),
    ("libxcb-randr.so.0", "libxcb-randr0"),
    ("libxcb-shape.so.0", "libxcb-shape0"),
    ("libxcb-xkb.so.1", "libxcb-xkb1"),
    ("libxcb-util.so.1", "libxcb-util1"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libxkbcommon.so.0", "libxkbcommon0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
    ("libfontconfig.so.1", "libfontconfig1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
)
# Libraries every platform plugin (offscreen included) needs.
COMMON_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("libfontconfig.so.1", "libfontconfig1"),
    ("libEGL.so.1", "libegl1"),
    ("libGL.so.1", "libgl1"),
)
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay", "minimalegl")
_SMOKE_TEST = "from PySide6.QtGui import QGuiApplication; app = QGuiApplication([]); print(app.platformName())"
_SMOKE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Problem:
    """Something that stops the window from opening.

    Attributes:
        message: What is wrong (one sentence).
        fix: What to run or set to fix it.
    """

    message: str
    fix: str


def qt_platform(environ: Mapping[str, str]) -> str:
    """The Qt platform plugin Qt will pick: QT_QPA_PLATFORM, else wayland / xcb from the session, else ''."""
    explicit = environ.get("QT_QPA_PLATFORM", "").strip()
    if explicit:
        return explicit.split(";")[0].split(":")[0]
    if sys.platform != "linux":
        return "native"
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE", "wayland") == "wayland":
        return "wayland"
    if environ.get("DISPLAY"):
        return "xcb"
    if environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return ""


def library_present(soname: str) -> bool:
    """True if the dynamic loader finds ``soname`` (the way Qt's plugin will load it).

    Args:
        soname: Shared library file name, e.g. ``libxcb-cursor.so.0``.
    """
    try:
        ctypes.CDLL(soname)
    except OSError:
        short = soname.removeprefix("lib").split(".so")[0]
        return ctypes.util.find_library(short) == soname
    return True


def missing_libraries(platform: str) -> list[tuple[str, str]]:
    """The system libraries the given Qt platform needs that are not installed.

    Args:
        platform: A Qt platform plugin name (``xcb``, ``offscreen``, ...).

    Returns:
        ``(library, apt package)`` pairs; empty off Linux.
    """
    if sys.platform != "linux":
        return []
    needed = XCB_LIBRARIES if platform == "xcb" else COMMON_LIBRARIES
    return [(soname, package) for soname, package in needed if not library_present(soname)]


def static_problems(environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Fast checks without starting Qt: a display to draw on and the libraries of its Qt plugin.

    Args:
        environ: Environment to judge (default ``os.environ``).

    Returns:
        The problems found (empty = Qt should start).
    """
    environ = os.environ if environ is None else environ
    platform = qt_platform(environ)
    if not platform:
        return [
            Problem(
                "No display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window has nowhere to appear.",
                "Start PoseDesk from a desktop session (or `ssh -X`); on a machine without a screen run "
                "`xvfb-run -a posedesk` (sudo apt-get install -y xvfb). "
                "`posedesk --screenshot out.png PROJECT` works without a display.",
            )
        ]
    missing = missing_libraries(platform)
    if not missing:
        return []
    names = ", ".join(soname for soname, _ in missing)
    packages = " ".join(dict.fromkeys(package for _, package in missing))
    return [
        Problem(
            f"Qt's '{platform}' platform plugin needs system libraries that are not installed: {names}.",
            f"sudo apt-get install -y {packages}   (Debian/Ubuntu; on Fedora: sudo dnf install xcb-util-cursor "
            "xcb-util-wm xcb-util-keysyms libxkbcommon-x11)",
        )
    ]


def smoke_test_problem(environ: Mapping[str, str] | None = None) -> Problem | None:
    """Start a QGuiApplication in a child process; report how it failed, if it did.

    Args:
        environ: Environment of the child (default ``os.environ``).

    Returns:
        None if Qt started, else the problem with Qt's own last error lines.
    """
    env = dict(os.environ if environ is None else environ)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SMOKE_TEST], env=env, capture_output=True, text=True, timeout=_SMOKE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return Problem(
            f"Qt did not start within {_SMOKE_TIMEOUT_S:.0f} s (a display that does not answer?).",
            "Check that DISPLAY / WAYLAND_DISPLAY name a running display server.",
        )
    if done.returncode == 0:
        return None
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()][-4:]
    return Problem(
        f"Qt could not start on platform '{qt_platform(env) or 'default'}': " + " | ".join(lines),
        "Run `QT_DEBUG_PLUGINS=1 posedesk` to see which library fails to load, install its package, and run "
        "`posedesk --check` again.",
    )


def run_check(out: TextIO | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Print whether the window can open here, or each problem with its fix.

    Args:
        out: Where to print (default stdout for success, stderr for problems).
        environ: Environment to judge (default ``os.environ``).

    Returns:
        0 if Qt can start, 1 otherwise (the exit status of ``posedesk --check``).
    """
    environ = os.environ if environ is None else environ
    problems = static_problems(environ)
    if not problems:
        smoke = smoke_test_problem(environ)
        problems = [smoke] if smoke is not None else []
    if problems:
        stream = out if out is not None else sys.stderr
        print("PoseDesk cannot open its window here:", file=stream)
        for problem in problems:
            print(f"  problem: {problem.message}\n  fix:     {problem.fix}", file=stream)
        return 1
    stream = out if out is not None else sys.stdout
    platform = qt_platform(environ)
    where = {"xcb": environ.get("DISPLAY", ""), "wayland": environ.get("WAYLAND_DISPLAY", "")}.get(platform, "")
    print(
        f"PoseDesk can open its window: Qt platform '{platform}'" + (f" on display {where}." if where else "."),
        file=stream,
    )
    if platform in HEADLESS_PLATFORMS:
        print(
            f"  note: QT_QPA_PLATFORM={platform} draws off screen (no window appears); unset it to see the window.",
            file=stream,
        )
    return 0
