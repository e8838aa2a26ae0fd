"""The new-project wizard: importing labels and videos, and refusing bad choices with a clear dialog."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from pose_core.config.io import load_config
from pose_gui.main_window import PANES, MainWindow
from pose_gui.models.state import AppState
from pose_gui.views.project_wizard import ProjectWizard

if TYPE_CHECKING:
    from conftest import DialogLog

PROJECT_ONLY = tuple(p for p in PANES if p.name == "project")  # other panes are tested by their authors


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    main = MainWindow(AppState(), PROJECT_ONLY)
    qtbot.addWidget(main)
    return main


def start_wizard(window: MainWindow, name: str, location: Path) -> ProjectWizard:
    wizard = window.new_project()
    wizard.name_page.name_edit.setText(name)
    wizard.name_page.location_edit.setText(str(location))
    return wizard


def finish(qtbot: QtBot, wizard: ProjectWizard) -> None:
    with qtbot.waitSignal(wizard.project_created, timeout=60_000):
        wizard.button(QWizard.WizardButton.FinishButton).click()


def test_create_project_from_the_mirror_mouse_folder(
    qtbot: QtBot, window: MainWindow, mirror_mouse: Path, tmp_path: Path
) -> None:
    wizard = start_wizard(window, "mirror-mouse", tmp_path / "projects")
    wizard.next()
    assert wizard.currentPage() is wizard.labels_page
    assert wizard.labels_page.set_source(mirror_mouse)
    assert "90 labelled frames, 17 keypoints" in wizard.labels_page.info_label.text()
    names = [wizard.labels_page.keypoints_list.item(i).text() for i in range(17)]
    assert names[0] == "paw1LH_top" and names[-1] == "obsLow_bot"
    wizard.next()
    videos_page = wizard.videos_page
    assert [p.name for p in videos_page.videos()] == ["test_vid.mp4"]  # offered from the source's videos/
    qtbot.waitUntil(lambda: not videos_page.is_probing() and videos_page.isComplete(), timeout=20_000)
    assert "994 frames, 396×406" in videos_page.video_list.item(0).text()
    videos_page.link_box.setChecked(True)
    wizard.next()
    assert wizard.currentPage() is wizard.create_page
    assert "Labels: 90 labelled frames" in wizard.create_page.summary_label.text()
    finish(qtbot, wizard)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    root = tmp_path / "projects" / "mirror-mouse"
    project = window.state.project
    assert project.root == root and project.n_labeled_frames == 90
    assert (root / "videos" / "test_vid.mp4").is_symlink()
    assert len(list((root / "labeled-data").glob("*.png"))) == 90
    cfg = load_config(root / "config.yaml").cfg
    assert list(cfg.data.keypoint_names) == names
    assert [list(m) for m in cfg.data.mirrored_column_matches] == [list(range(7)), list(range(8, 15))]
    assert window.state.recent_projects[0] == root
    assert not any(w.isVisible() for w in window.findChildren(ProjectWizard))  # the wizard closed itself


def test_name_page_refuses_an_existing_folder_and_a_read_only_location(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, tmp_path: Path, read_only_location: Path
) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("x")
    wizard = start_wizard(window, "taken", tmp_path)
    wizard.next()
    assert wizard.currentPage() is wizard.name_page
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot create the project there" and "already exists and is not empty" in str(error)
    wizard.name_page.location_edit.setText(str(read_only_location))
    wizard.next()
    ((_title, error),) = dialog_log.take_errors()
    assert str(read_only_location) in str(error) and "choose a writable location" in str(error)
    assert wizard.currentPage() is wizard.name_page
    wizard.reject()


@pytest.fixture
def read_only_location(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield folder
    folder.chmod(stat.S_IRWXU)


def test_labels_page_refuses_a_csv_with_the_wrong_header(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, tmp_path: Path
) -> None:
    bad_csv = tmp_path / "CollectedData.csv"
    bad_csv.write_text("frame,x,y\nimg0.png,1,2\n", encoding="utf-8")
    wizard = start_wizard(window, "p", tmp_path / "projects")
    wizard.next()
    assert not wizard.labels_page.set_source(bad_csv)
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot import these labels"
    assert str(bad_csv) in str(error) and "expected 'scorer'" in str(error)
    assert not wizard.labels_page.isComplete()
    assert wizard.labels_page.keypoints_list.count() == 0
    wizard.reject()


def test_a_typed_path_is_read_on_enter_and_a_wrong_one_is_one_dialog(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, example_project: Path, tmp_path: Path
) -> None:
    wizard = start_wizard(window, "p", tmp_path / "projects")
    window.show()
    wizard.next()
    page = wizard.labels_page
    qtbot.keyClicks(page.source_edit, str(tmp_path / "nowhere"))
    qtbot.keyClick(page.source_edit, Qt.Key.Key_Return)
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot import these labels" and "nowhere does not exist" in str(error)
    page.source_edit.clearFocus()  # leaving the field does not read the same path again
    assert not dialog_log.take_errors() and not page.isComplete()

    page.source_edit.selectAll()
    qtbot.keyClicks(page.source_edit, f"{example_project}/")
    qtbot.keyClick(page.source_edit, Qt.Key.Key_Return)
    assert page.isComplete() and not dialog_log.take_errors()
    assert "20 labelled frames" in page.info_label.text() and page.keypoints_list.count() > 0
    assert wizard.currentPage() is page  # Enter read the path; it did not also press Next
    wizard.reject()


def test_labels_page_refuses_labels_whose_images_are_missing(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, example_project: Path, tmp_path: Path
) -> None:
    (example_project / "labeled-data" / "img0004.png").unlink()
    wizard = start_wizard(window, "p", tmp_path / "projects")
    wizard.next()
    assert not wizard.labels_page.set_source(example_project)
    ((_title, error),) = dialog_log.take_errors()
    assert "1 of 20 labelled images are missing" in str(error) and "img0004.png" in str(error)
    wizard.reject()


def test_videos_page_flags_a_video_that_will_not_open_until_it_is_removed(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, example_project: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF not really an avi" * 20)
    wizard = start_wizard(window, "from-example", tmp_path / "projects")
    wizard.next()
    assert wizard.labels_page.set_source(example_project)
    wizard.next()
    page = wizard.videos_page
    page.add_videos([broken])
    qtbot.waitUntil(lambda: not page.is_probing() and bool(dialog_log.errors), timeout=20_000)
    ((title, error),) = dialog_log.take_errors()
    assert title == "A video cannot be opened" and str(broken) in str(error) and "re-encode" in str(error)
    assert not page.isComplete()
    row = [p.name for p in page.videos()].index("broken.avi")
    assert "cannot be opened" in page.video_list.item(row).text()
    page.video_list.item(row).setSelected(True)
    page._on_remove_clicked()
    assert page.isComplete()
    wizard.next()
    finish(qtbot, wizard)
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    assert [v.name for v in window.state.project.videos] == ["example_0.mp4"]
