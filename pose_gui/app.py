"""The QApplication: creation, the excepthook that turns any error into a dialog, screenshots, timing.

:func:`run` is what ``posedesk`` does after parsing its arguments: build the application and the
window, open the project given on the command line, then either show the window (``--timing``
prints when it was first drawn) or draw it off screen into a PNG (``--screenshot``) and exit.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from pose_gui import __version__, dialogs
from pose_gui.gc_guard import MainThreadCollector
from pose_gui.main_window import MainWindow
from pose_gui.models.state import AppState
from pose_gui.style import app_icon

SCREENSHOT_SIZE = (1280, 820)
SCREENSHOT_TIMEOUT_S = 60.0
ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


@dataclass
class RunOptions:
    """What ``posedesk`` was asked to do.

    Attributes:
        project: Project folder to open, if any.
        pane: Pane to show first, if any.
        screenshot: Draw the window into this PNG and exit.
        timing: Print when the window was first drawn.
    """

    project: Path | None = None
    pane: str | None = None
    screenshot: Path | None = None
    timing: bool = False


def process_age_s() -> float:
    """Seconds since this process started (from /proc on Linux, else from psutil)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        return uptime_s - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        import psutil

        return time.time() - psutil.Process().create_time()


def create_application(argv: list[str] | None = None) -> QApplication:
    """Return the QApplication (creating it with PoseDesk's names, icon and style if needed)."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(argv if argv is not None else [sys.argv[0]])
    app.setApplicationName("PoseDesk")
    app.setOrganizationName("PoseDesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("posedesk")
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    MainThreadCollector(app)  # garbage with Qt objects is freed in this thread, not in a worker
    return app


def _active_window() -> QWidget | None:
    app = QApplication.instance()
    return app.activeWindow() if isinstance(app, QApplication) else None


def make_excepthook(previous: ExceptHook) -> ExceptHook:
    """An excepthook that prints the traceback and shows the error in a dialog (never a crash).

    Args:
        previous: The hook to hand ``KeyboardInterrupt`` (and errors without a QApplication) to.
    """
    showing = {"now": False}

    def excepthook(exc_type: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt) or QApplication.instance() is None:
            previous(exc_type, error, tb)
            return
        traceback.print_exception(exc_type, error, tb, file=sys.stderr)
        if showing["now"]:  # an error while showing an error: stderr only
            return
        showing["now"] = True
        try:
            dialogs.show_error(_active_window(), error.with_traceback(tb), "PoseDesk: unexpected error")
        finally:
            showing["now"] = False

    return excepthook


def install_excepthook() -> None:
    """Route uncaught exceptions (in slots, timers, event handlers) to the error dialog."""
    sys.excepthook = make_excepthook(sys.excepthook)


class _FirstPaintTimer(QObject):
    """Records when the window is first painted and prints the timing line then."""

    def __init__(self, window: QWidget, marks: dict[str, float]) -> None:
        super().__init__(window)
        self._marks = marks
        self._done = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._done and event.type() == QEvent.Type.Paint:
            self._done = True
            self._marks["window drawn"] = process_age_s()
            QTimer.singleShot(0, lambda: print(format_timing(self._marks), flush=True))
        return False


def format_timing(marks: dict[str, float]) -> str:
    """One line with every mark in order, in seconds since process start (the last is the window drawn)."""
    steps = ", ".join(f"{name} {value:.2f}" for name, value in marks.items())
    return f"posedesk timing (seconds after process start): {steps}"


def run(options: RunOptions) -> int:
    """Build the window for ``options`` and run the event loop (or take the screenshot).

    Returns:
        The process exit status.
    """
    marks = {"imports done": process_age_s()}
    app = create_application()
    interactive = options.screenshot is None
    dialogs.set_interactive(interactive)
    if interactive:
        install_excepthook()
    state = AppState()
    window = MainWindow(state, remember=interactive)
    marks["window built"] = process_age_s()
    if options.project is not None:
        timing_marks = marks if options.timing and options.screenshot is None else None
        _open_initial_project(window, options.project, timing_marks, deferred=options.screenshot is None)
    if options.pane is not None and not window.show_pane(options.pane):
        print(f"error: unknown pane {options.pane!r}; choose one of: {', '.join(window.pane_names())}", file=sys.stderr)
        window.close()  # stops the project loader's thread (Qt aborts on a running QThread at exit)
        return 2
    if options.screenshot is not None:
        status = take_screenshot(window, options.screenshot, marks if options.timing else None)
        project = state.project
        if status == 0 and project is not None and project.open_error is not None:
            print(f"error: {project.open_error}", file=sys.stderr)
            return 2  # drawn, but the project is broken (the picture shows where)
        return status
    if options.timing:
        _FirstPaintTimer(window, marks)
    _close_on_interrupt(window)
    window.show()
    return app.exec()


def _close_on_interrupt(window: MainWindow) -> None:
    """Ctrl+C in the terminal (SIGINT) or SIGTERM closes the window like File > Quit (settings saved).

    A timer wakes the interpreter four times a second, so Python sees the signal while Qt waits.
    """
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda _number, _frame: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def _open_initial_project(window: MainWindow, folder: Path, marks: dict[str, float] | None, deferred: bool) -> None:
    """Open the command-line project: after the first paint (the window appears at once) or now.

    With ``marks``, prints the timing line again when the project is shown.
    """

    def on_project_changed(project: object) -> None:
        if project is not None and marks is not None and "project shown" not in marks:
            marks["project shown"] = process_age_s()
            print(format_timing(marks), flush=True)

    def start() -> None:
        window.state.project_changed.connect(on_project_changed)
        window.open_project(folder)

    if deferred:
        window.call_after_first_paint(start)
    else:
        window.open_project(folder)


def take_screenshot(window: MainWindow, out: Path, marks: dict[str, float] | None = None) -> int:
    """Draw ``window`` (off screen if there is no display) once it has loaded; save it as PNG.

    Args:
        window: The window, with its project open.
        out: PNG file to write (folders are created).
        marks: Timing marks; when given, the timing line is printed.

    Returns:
        0 on success, 1 if the PNG cannot be written.
    """
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    app = QApplication.instance()
    assert app is not None
    deadline = time.monotonic() + SCREENSHOT_TIMEOUT_S
    app.processEvents()
    while window.is_loading() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()
    pixmap = window.grab()
    if marks is not None:
        marks["screenshot drawn"] = process_age_s()
        print(format_timing(marks), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = pixmap.save(str(out), "PNG")
    window.close()
    if not ok:
        print(f"error: cannot write the screenshot {out}; choose a writable path ending in .png", file=sys.stderr)
        return 1
    print(out)
    return 0
