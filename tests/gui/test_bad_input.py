"""Bad input: each gives a dialog naming the file and the fix, and the window stays usable afterwards."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pose_gui.main_window import PANES, MainWindow
from pose_gui.models.state import AppState
from pose_gui.views.project_view import ProjectView

if TYPE_CHECKING:
    from conftest import DialogLog

PROJECT_ONLY = tuple(p for p in PANES if p.name == "project")  # other panes are tested by their authors


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    main = MainWindow(AppState(), PROJECT_ONLY)
    qtbot.addWidget(main)
    return main


def wait_for_dialog(qtbot: QtBot, log: DialogLog, kind: str = "errors") -> None:
    qtbot.waitUntil(lambda: bool(getattr(log, kind)), timeout=20_000)


def assert_still_usable(qtbot: QtBot, window: MainWindow, project: Path) -> None:
    """The window opens a good project after the bad one."""
    window.open_project(project)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    assert window.state.project.root == project


def test_folder_that_is_not_a_project(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, tmp_path: Path, example_project: Path
) -> None:
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"jpeg")
    window.open_project(folder)
    wait_for_dialog(qtbot, dialog_log)
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot open the project"
    assert str(folder) in str(error) and "is not a PoseDesk project" in str(error)
    assert "create a new project (File > New Project)" in str(error)
    assert window.state.project is None
    assert_still_usable(qtbot, window, example_project)


def test_csv_with_the_wrong_header(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, example_project: Path
) -> None:
    csv_path = example_project / "CollectedData.csv"
    text = csv_path.read_text(encoding="utf-8")
    csv_path.write_text(text.replace("coords,", "kind,", 1), encoding="utf-8")
    window.open_project(example_project)
    wait_for_dialog(qtbot, dialog_log, "warnings")  # the project opens, to be fixed in place (issue 16.18)
    ((_title, (error,)),) = dialog_log.take_warnings()
    assert str(csv_path) in str(error) and "expected 'coords'" in str(error)
    assert "scorer, bodyparts, coords" in str(error)  # the fix: the expected header rows
    assert window.state.project is not None and window.state.project.open_error is not None
    csv_path.write_text(text, encoding="utf-8")
    assert_still_usable(qtbot, window, example_project)


def test_images_missing_from_disk(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, example_project: Path
) -> None:
    for name in ("img0002.png", "img0007.png"):
        (example_project / "labeled-data" / name).unlink()
    window.open_project(example_project)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    ((title, (problem,)),) = dialog_log.take_warnings()
    assert "opened with problems" in title
    assert "2 of 20 labelled images are missing" in str(problem)
    assert "img0002.png" in str(problem) and "restore the images" in str(problem)
    pane = window.pane("project")
    assert isinstance(pane, ProjectView)
    tiles = pane.page.thumbnails.item_model
    states = [tiles.item(i).data(Qt.ItemDataRole.UserRole + 2) for i in range(tiles.rowCount())]
    assert states.count("failed") == 2 and states[2] == "failed"
    assert "(missing)" in tiles.item(2).text()


def test_video_that_will_not_open(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, example_project: Path
) -> None:
    broken = example_project / "videos" / "broken.mp4"
    broken.write_bytes(b"\x00\x01 definitely not an mp4 " * 50)
    window.open_project(example_project)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    wait_for_dialog(qtbot, dialog_log, "warnings")
    ((title, (problem,)),) = dialog_log.take_warnings()
    assert title == "Some videos cannot be opened"
    assert str(broken) in str(problem) and "re-encode it" in str(problem)
    pane = window.pane("project")
    assert isinstance(pane, ProjectView)
    model = pane.page.videos_model
    rows = {model.index(r, 0).data(): model.index(r, 1).data() for r in range(model.rowCount())}
    assert rows == {"broken.mp4": "cannot open", "example_0.mp4": "30"}


@pytest.fixture
def read_only_project(example_project: Path) -> Iterator[Path]:
    """The example project with every folder marked read-only (like a read-only disk), restored afterwards."""
    folders = [example_project, *[p for p in example_project.rglob("*") if p.is_dir()]]
    for folder in reversed(folders):
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield example_project
    for folder in folders:
        folder.chmod(stat.S_IRWXU)


def test_project_on_a_read_only_disk(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, read_only_project: Path, tmp_path: Path
) -> None:
    window.open_project(read_only_project)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    ((_title, (problem,)),) = dialog_log.take_warnings()
    assert str(read_only_project) in str(problem) and "is read-only" in str(problem)
    assert "copy it to a writable folder" in str(problem)
    pane = window.pane("project")
    assert isinstance(pane, ProjectView)
    assert "read-only" in pane.page.path_label.text()
    new_video = tmp_path / "session2.mp4"
    new_video.write_bytes((read_only_project / "videos" / "example_0.mp4").read_bytes())
    window.add_videos([new_video])
    wait_for_dialog(qtbot, dialog_log)
    ((_title, error),) = dialog_log.take_errors()
    assert "read-only" in str(error)  # adding videos is refused with the reason, nothing crashes
    qtbot.waitUntil(lambda: not window.state.is_busy, timeout=10_000)


def test_dropping_something_unusable(qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, tmp_path: Path) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("x")
    window.handle_dropped_paths([note])
    ((_title, error),) = dialog_log.take_errors()
    assert "notes.txt" in str(error) and "drop one project folder" in str(error)
