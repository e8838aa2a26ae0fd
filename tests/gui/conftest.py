"""Fixtures of the GUI tests: offscreen Qt, isolated settings, recorded dialogs, no leftover threads.

Every GUI test runs with:
- its own QSettings folder and POSEDESK_DATA_DIR (the user's real settings are never touched);
- the message dialogs replaced by :class:`DialogLog` (no modal dialog ever waits; an error or
  warning dialog the test did not take with ``take_errors`` / ``take_warnings`` fails the test);
- a check after the test that no QThread or QProcess is still running (fails the test).
"""

from __future__ import annotations

import gc
import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import QCoreApplication, QProcess, QSettings, QThread  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from pose_gui import dialogs  # noqa: E402
from pose_gui.gc_guard import MainThreadCollector  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
MIRROR_MOUSE_DIR = REPO_ROOT / ".." / "shared" / "data" / "mirror-mouse-example"


@dataclass
class DialogLog:
    """What the dialogs would have shown; ``confirm_answer`` is what :func:`dialogs.confirm` returns."""

    errors: list[tuple[str, BaseException]] = field(default_factory=list)
    warnings: list[tuple[str, list[BaseException]]] = field(default_factory=list)
    infos: list[tuple[str, str]] = field(default_factory=list)
    questions: list[tuple[str, str]] = field(default_factory=list)
    confirm_answer: bool = False

    def take_errors(self) -> list[tuple[str, BaseException]]:
        """Return and forget the error dialogs shown so far (the test expected them)."""
        taken, self.errors = self.errors, []
        return taken

    def take_warnings(self) -> list[tuple[str, list[BaseException]]]:
        """Return and forget the warning dialogs shown so far."""
        taken, self.warnings = self.warnings, []
        return taken


@pytest.fixture(scope="session", autouse=True)
def collect_garbage_in_the_gui_thread(qapp: QApplication) -> Iterator[MainThreadCollector]:
    """As the app does (pose_gui.app.create_application): no garbage collection in worker threads."""
    collector = MainThreadCollector(qapp)
    yield collector
    collector.stop()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point QSettings and the example-project folder at a fresh temporary folder."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.setenv("POSEDESK_DATA_DIR", str(folder / "data"))
    return folder


@pytest.fixture(autouse=True)
def dialog_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[DialogLog]:
    """Record dialogs instead of showing them; fail on error or warning dialogs the test did not take."""
    log = DialogLog()
    monkeypatch.setattr(dialogs, "show_error", lambda parent, error, title="": log.errors.append((title, error)))
    monkeypatch.setattr(
        dialogs, "show_warnings", lambda parent, title, errors: log.warnings.append((title, list(errors)))
    )
    monkeypatch.setattr(dialogs, "show_info", lambda parent, title, text: log.infos.append((title, text)))

    def confirm(parent: object, title: str, question: str, accept_text: str = "OK") -> bool:
        log.questions.append((title, question))
        return log.confirm_answer

    monkeypatch.setattr(dialogs, "confirm", confirm)
    yield log
    if log.errors:
        pytest.fail(f"unexpected error dialog(s): {[f'{title}: {error}' for title, error in log.errors]}")
    if log.warnings:
        pytest.fail(f"unexpected warning dialog(s): {[f'{title}: {errors}' for title, errors in log.warnings]}")


def _is_main_thread(thread: QThread) -> bool:
    app = QCoreApplication.instance()
    return app is not None and shiboken6.getCppPointer(thread) == shiboken6.getCppPointer(app.thread())


def _is_running(obj: object) -> bool:
    if isinstance(obj, QThread):
        return shiboken6.isValid(obj) and obj.isRunning() and not _is_main_thread(obj)
    if isinstance(obj, QProcess):
        return shiboken6.isValid(obj) and obj.state() != QProcess.ProcessState.NotRunning
    return False


def _still_running() -> list[QThread | QProcess]:
    running: list[QThread | QProcess] = []
    with warnings.catch_warnings():  # isinstance() on every object touches deprecated module attributes (torch)
        warnings.simplefilter("ignore", FutureWarning)
        for obj in gc.get_objects():
            try:
                if _is_running(obj):
                    running.append(obj)  # type: ignore[arg-type]
            except (RuntimeError, ReferenceError):
                continue
    return running


@pytest.fixture(autouse=True)
def no_thread_or_process_left() -> Iterator[None]:
    """Fail the test if a QThread or QProcess still runs after it (and stop them for the next test)."""
    yield
    running = _still_running()
    for obj in running:
        if isinstance(obj, QThread):
            obj.requestInterruption()
            obj.wait(10_000)
        else:
            obj.kill()
            obj.waitForFinished(5_000)
    if running:
        pytest.fail(f"left running after the test: {[type(o).__name__ for o in running]}")


@pytest.fixture(scope="session")
def example_project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated example project (20 labelled frames, one 30-frame video); do not modify it."""
    from pose_core.example import generate_example_project

    folder = tmp_path_factory.mktemp("example") / "example-project"
    return generate_example_project(folder, n_labeled=20, n_video_frames=30, n_videos=1)


@pytest.fixture
def example_project(example_project_template: Path, tmp_path: Path) -> Path:
    """A private copy of the small example project (tests may change it)."""
    return Path(shutil.copytree(example_project_template, tmp_path / "example-project", symlinks=True))


@pytest.fixture
def mirror_mouse() -> Path:
    """The real mirror-mouse data (read-only); skips the test when it is not there."""
    if not (MIRROR_MOUSE_DIR / "CollectedData.csv").is_file():
        pytest.skip(f"real data not found at {MIRROR_MOUSE_DIR.resolve()} (shared data folder absent)")
    return MIRROR_MOUSE_DIR.resolve()
