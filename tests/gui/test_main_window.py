"""The main window: panes, actions and shortcuts, settings, intents, drag and drop, quitting, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from pose_core.errors import DataError
from pose_gui import dialogs
from pose_gui.app import make_excepthook
from pose_gui.main_window import PANES, MainWindow, PaneSpec
from pose_gui.models.state import AppState
from pose_gui.views.project_view import ProjectView

if TYPE_CHECKING:
    from conftest import DialogLog


class RecordingPane(QLabel):
    """A stand-in for the training / review panes: records what it saw when it was built."""

    built: list[RecordingPane] = []

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("recording pane", parent)
        self.seen_at_build = (state.run_dir, state.video_path)
        RecordingPane.built.append(self)


PROJECT_ONLY = tuple(p for p in PANES if p.name == "project")  # other panes are tested by their authors
FAKE_PANES = (
    *PROJECT_ONLY,
    PaneSpec("training", "Training", f"{__name__}:RecordingPane", "Ctrl+3"),
    PaneSpec("review", "Review", f"{__name__}:RecordingPane", "Ctrl+4"),
)


def make_window(qtbot: QtBot, panes: tuple[PaneSpec, ...] = PROJECT_ONLY) -> MainWindow:
    window = MainWindow(AppState(), panes)
    qtbot.addWidget(window)
    return window


def open_and_wait(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    window.open_project(folder)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)


def project_view(window: MainWindow) -> ProjectView:
    pane = window.pane("project")
    assert isinstance(pane, ProjectView)
    return pane


def test_menus_toolbar_and_shortcuts_come_from_the_declared_actions(qtbot: QtBot) -> None:
    window = make_window(qtbot, PANES)
    actions = window.actions_by_id
    assert actions["file.open_project"].shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert actions["file.new_project"].shortcut() == QKeySequence(QKeySequence.StandardKey.New)
    assert actions["view.project"].shortcut() == QKeySequence("Ctrl+1")
    menu_titles = [a.text() for a in window.menuBar().actions()]
    assert menu_titles == ["&File", "&View", "&Help"]
    assert actions["file.open_project"] in window.toolbar.actions()
    assert not actions["file.add_videos"].isEnabled()  # needs a project
    assert window.tabs.count() == len(PANES) and window.pane_names() == [p.name for p in PANES]
    assert window.windowTitle() == "PoseDesk"


def test_the_pane_shortcuts_follow_the_tab_order(qtbot: QtBot) -> None:
    window = make_window(qtbot, PANES)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    titles = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
    assert titles == ["Project", "Label", "Config", "Training", "Review"]
    digits = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5]
    for index in reversed(range(len(PANES))):  # from the last tab back: the first tab, shown at start, proves nothing
        qtbot.keyClick(window, digits[index], Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda i=index: window.tabs.currentIndex() == i, timeout=5000)  # type: ignore[misc]


def test_the_last_project_asked_for_is_the_one_that_opens(
    qtbot: QtBot, example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from pose_gui import main_window

    other = Path(shutil.copytree(example_project, tmp_path / "other-project", symlinks=True))
    read = main_window._open_project_with_problems

    def slow_for_the_first(folder: Path) -> object:
        if folder == example_project:
            time.sleep(1.0)  # the first one asked for finishes last
        return read(folder)

    monkeypatch.setattr(main_window, "_open_project_with_problems", slow_for_the_first)
    window = make_window(qtbot)
    window.open_project(example_project)
    window.open_project(other)  # asked before the first one finished: the first one is dropped
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=20_000)
    assert window.state.project is not None and window.state.project.root == other


def test_open_project_fills_the_project_pane(qtbot: QtBot, example_project: Path) -> None:
    window = make_window(qtbot)
    open_and_wait(qtbot, window, example_project)
    page = project_view(window).page
    assert window.windowTitle() == "example-project — PoseDesk"
    assert "20 labelled frames" in page.summary_label.text() and "1 video" in page.summary_label.text()
    assert page.keypoints_model.rowCount() == 18
    counts = window.state.project.label_counts()
    first = page.keypoints_model.index(0, 1).data()
    assert first == f"{counts['nose_top']} / 20"
    tiles = page.thumbnails.item_model
    assert tiles.rowCount() == 20
    assert all(tiles.item(i).data(Qt.ItemDataRole.UserRole + 2) == "ready" for i in range(20))
    videos = page.videos_model
    assert [videos.index(0, c).data() for c in range(5)] == ["example_0.mp4", "30", "30.00", "256×128", "1.0 s"]
    assert window.actions_by_id["file.add_videos"].isEnabled()
    assert "20 labelled frames" in window.project_status.text()


def test_runs_table_and_double_click_open_the_run_in_the_training_pane(qtbot: QtBot, example_project: Path) -> None:
    run_dir = example_project / "outputs" / "2024-05-01" / "10-00-00"
    run_dir.mkdir(parents=True)
    events = [
        {"event": "started", "time": 1714550400.0, "pid": 999_999_999},
        {"event": "epoch_end", "time": 1714550460.0, "epoch": 0, "metrics": {"val_supervised_loss": 0.125}},
        {"event": "finished", "time": 1714550600.0},
    ]
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (run_dir / "summary.json").write_text(json.dumps({"status": "finished", "pixel_error": {"test": {"mean_px": 3.5}}}))
    RecordingPane.built.clear()
    window = make_window(qtbot, FAKE_PANES)
    open_and_wait(qtbot, window, example_project)
    page = project_view(window).page
    view = page.runs_view
    row = [view.model().index(0, c).data() for c in range(6)]
    assert row[0] == "2024-05-01/10-00-00" and row[1] == "finished" and row[3] == "1"
    assert row[4] == "0.125" and row[5] == "3.50"
    assert not RecordingPane.built  # the training pane is built only when first shown
    with qtbot.waitSignal(window.state.run_open_requested):
        view.doubleClicked.emit(view.model().index(0, 0))
    assert window.current_pane_name() == "training"
    assert window.state.run_dir == run_dir
    assert RecordingPane.built[-1].seen_at_build[0] == run_dir  # a late-built pane reads the state


def test_double_click_video_opens_it_in_the_review_pane(qtbot: QtBot, example_project: Path) -> None:
    window = make_window(qtbot, FAKE_PANES)
    open_and_wait(qtbot, window, example_project)
    view = project_view(window).page.videos_view
    view.doubleClicked.emit(view.model().index(0, 0))
    assert window.current_pane_name() == "review"
    assert window.state.video_path == example_project / "videos" / "example_0.mp4"


def test_without_a_training_pane_the_run_is_selected_and_the_status_bar_says_so(
    qtbot: QtBot, example_project: Path
) -> None:
    window = make_window(qtbot)
    window.state.run_open_requested.emit(example_project / "outputs" / "a" / "b")
    assert window.state.run_dir == example_project / "outputs" / "a" / "b"
    assert "training pane is not part of this version" in window.statusBar().currentMessage()


def test_geometry_pane_and_recent_projects_are_remembered(qtbot: QtBot, example_project: Path) -> None:
    first = make_window(qtbot)
    first.show()
    first.resize(760, 540)  # fits the offscreen 800x600 screen
    open_and_wait(qtbot, first, example_project)
    size = (first.width(), first.height())
    first.close()
    second = make_window(qtbot)
    assert second.state.recent_projects == [example_project]
    assert abs(second.width() - size[0]) <= 2 and abs(second.height() - size[1]) <= 2  # offscreen frame rounding
    assert [a.text() for a in second.recent_menu.actions()] == [str(example_project)]
    welcome = project_view(second).welcome.recent_list
    assert welcome.item(0).data(Qt.ItemDataRole.UserRole) == str(example_project)
    welcome.itemActivated.emit(welcome.item(0))  # opening from the welcome page
    qtbot.waitUntil(lambda: second.state.project is not None, timeout=20_000)


def test_quitting_while_a_job_runs_asks_first(qtbot: QtBot, dialog_log: DialogLog) -> None:
    window = make_window(qtbot)
    window.show()
    job = window.state.add_job("Training run 2024-05-01/10-00-00")
    assert window.jobs_status.text() == "1 job running"
    dialog_log.confirm_answer = False
    assert not window.close()
    assert window.isVisible()
    assert "Training run 2024-05-01/10-00-00" in dialog_log.questions[-1][1]
    dialog_log.confirm_answer = True
    assert window.close()
    window.state.remove_job(job)
    assert window.jobs_status.text() == ""


def test_quitting_without_jobs_does_not_ask(qtbot: QtBot, dialog_log: DialogLog) -> None:
    window = make_window(qtbot)
    window.show()
    assert window.close()
    assert dialog_log.questions == []


def test_unexpected_exceptions_are_shown_in_a_dialog_with_the_traceback(qapp: object, dialog_log: DialogLog) -> None:
    previous_calls: list[object] = []
    hook = make_excepthook(lambda *args: previous_calls.append(args))
    try:
        raise ValueError("boom in a slot")
    except ValueError as error:
        hook(ValueError, error, error.__traceback__)
    ((title, shown),) = dialog_log.take_errors()
    assert isinstance(shown, ValueError) and "unexpected" in title
    message, hint, details = dialogs.error_text(shown)
    assert message == "Unexpected error: ValueError: boom in a slot"
    assert "PoseDesk kept running" in hint
    assert "test_unexpected_exceptions_are_shown" in details  # the traceback
    assert previous_calls == []


def test_user_errors_show_message_and_the_file_as_details() -> None:
    message, hint, details = dialogs.error_text(DataError("Video x.mp4 cannot be opened: re-encode it.", "x.mp4"))
    assert message == "Video x.mp4 cannot be opened: re-encode it." and hint == ""
    assert "File: x.mp4" in details


def test_dropping_a_folder_opens_it_as_a_project(qtbot: QtBot, example_project: Path) -> None:
    window = make_window(qtbot)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(example_project))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.state.project is not None, timeout=20_000)
    assert window.state.project.root == example_project


def test_dropping_videos_adds_them_to_the_project(qtbot: QtBot, example_project: Path, tmp_path: Path) -> None:
    window = make_window(qtbot)
    open_and_wait(qtbot, window, example_project)
    new_video = tmp_path / "session2.mp4"
    shutil.copy(example_project / "videos" / "example_0.mp4", new_video)
    window.handle_dropped_paths([new_video])
    qtbot.waitUntil(lambda: len(window.state.project.videos) == 2 and not window.is_loading(), timeout=20_000)
    assert (example_project / "videos" / "session2.mp4").is_file()
    assert project_view(window).page.videos_model.rowCount() == 2


def test_dropping_videos_without_a_project_explains_what_to_do(
    qtbot: QtBot, example_project: Path, dialog_log: DialogLog
) -> None:
    window = make_window(qtbot)
    window.handle_dropped_paths([example_project / "videos" / "example_0.mp4"])
    ((title, error),) = dialog_log.take_errors()
    assert "open or create a project first" in str(error)


def test_open_example_project_generates_it_once(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, isolated_settings: Path
) -> None:
    import pose_core.example as example

    real = example.generate_example_project
    monkeypatch.setattr(
        example,
        "generate_example_project",
        lambda out_dir, seed=0, **_: real(out_dir, seed=seed, n_labeled=4, n_video_frames=5, n_videos=1),
    )
    window = make_window(qtbot)
    buttons = {b.text(): b for b in project_view(window).welcome.findChildren(QPushButton)}
    buttons["Open Example Project"].click()
    assert window.state.is_busy  # generating counts as a job
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=30_000)
    assert window.state.project.root == isolated_settings / "data" / "example-project"
    assert window.state.project.n_labeled_frames == 4
    assert not window.state.is_busy
