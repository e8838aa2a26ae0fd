"""File > New Project from a SLEAP file, and File > Export NWB…, driven through the real widgets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

pytest.importorskip("sleap_io", reason="sleap-io is not installed (pip install 'posedesk[formats]')")

from pose_gui import dialogs  # noqa: E402
from pose_gui.main_window import PANES, MainWindow  # noqa: E402
from pose_gui.models.state import AppState  # noqa: E402
from tests.core.sleap_fixture import MIRROR_MOUSE_DIR, SleapFixture, make_sleap_project  # noqa: E402

if TYPE_CHECKING:
    from conftest import DialogLog

pytestmark = pytest.mark.skipif(not MIRROR_MOUSE_DIR.is_dir(), reason="../shared/data/mirror-mouse-example is absent")
PROJECT_ONLY = tuple(p for p in PANES if p.name == "project")


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    main = MainWindow(AppState(), PROJECT_ONLY)
    qtbot.addWidget(main)
    return main


@pytest.fixture
def sleap(tmp_path: Path) -> SleapFixture:
    return make_sleap_project(tmp_path / "src", n_images=4, embed=True)


def _labels_page_after_reading(qtbot: QtBot, window: MainWindow, slp: Path, location: Path):  # noqa: ANN202
    wizard = window.new_project()
    wizard.name_page.name_edit.setText("from-sleap")
    wizard.name_page.location_edit.setText(str(location))
    wizard.next()
    page = wizard.labels_page
    assert page.set_source(slp) is False  # read in a thread
    assert not page.isComplete()
    wait_read(qtbot, page)
    return wizard, page


def wait_read(qtbot: QtBot, page) -> None:  # noqa: ANN001
    """Until the file is read and the page has shown the result (or asked, or shown the error)."""
    qtbot.waitUntil(lambda: not page.is_reading() and "Reading the SLEAP" not in page.info_label.text(), timeout=30_000)


def test_new_project_from_a_slp_file_then_export_nwb(
    qtbot: QtBot, window: MainWindow, sleap: SleapFixture, tmp_path: Path, monkeypatch
) -> None:
    wizard, page = _labels_page_after_reading(qtbot, window, sleap.slp, tmp_path / "projects")
    assert page.isComplete()
    assert "SLEAP project: 5 labelled frames, 17 keypoints" in page.info_label.text()
    assert "predictions only" in page.info_label.text()  # the note about the left-out frame
    assert page.keypoints_list.count() == 17
    wizard.next()
    videos_page = wizard.videos_page
    assert [p.name for p in videos_page.videos()] == ["test_vid.mp4"]
    qtbot.waitUntil(lambda: not videos_page.is_probing() and videos_page.isComplete(), timeout=20_000)
    videos_page.link_box.setChecked(True)
    wizard.next()
    with qtbot.waitSignal(wizard.project_created, timeout=60_000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
    root = tmp_path / "projects" / "from-sleap"
    assert window.state.project.root == root and window.state.project.n_labeled_frames == 5
    assert (root / "sleap_import.yaml").is_file() and (root / "videos" / "test_vid.mp4").is_symlink()

    target = tmp_path / "export.nwb"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *args: target)
    action = window.actions_by_id["file.export_nwb"]
    assert action.isEnabled()
    action.trigger()
    qtbot.waitUntil(lambda: target.is_file() and not window.state.busy_jobs, timeout=60_000)
    import pynwb

    with pynwb.NWBHDF5IO(str(target), mode="r") as io:
        behavior = io.read().processing["behavior"]
        assert len(behavior["PoseTraining"].training_frames.training_frames) == 5
        assert behavior["Skeletons"].skeletons["subject"].edges[:].tolist() == [[0, 1], [4, 5], [6, 4]]


def test_missing_videos_of_a_labels_package_offer_its_embedded_frames(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, sleap: SleapFixture, tmp_path: Path
) -> None:
    sleap.video.rename(tmp_path / "moved.mp4")
    assert sleap.pkg_slp is not None
    dialog_log.confirm_answer = False
    wizard, page = _labels_page_after_reading(qtbot, window, sleap.pkg_slp, tmp_path / "projects")
    assert len(dialog_log.questions) == 1 and "test_vid.mp4" in dialog_log.questions[0][1]
    assert not page.isComplete() and "not found" in page.info_label.text()
    dialog_log.confirm_answer = True
    page.set_source(sleap.pkg_slp)
    wait_read(qtbot, page)
    assert page.isComplete()
    assert len(dialog_log.questions) == 2
    assert "SLEAP project: 5 labelled frames" in page.info_label.text() and "embedded frames" in page.info_label.text()
    wizard.next()
    assert wizard.videos_page.videos() == []  # nothing to link


def test_a_corrupt_slp_shows_one_error_dialog(
    qtbot: QtBot, window: MainWindow, dialog_log: DialogLog, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.slp"
    bad.write_bytes(b"not hdf5")
    _, page = _labels_page_after_reading(qtbot, window, bad, tmp_path / "projects")
    errors = dialog_log.take_errors()
    assert len(errors) == 1 and "not a readable SLEAP file" in str(errors[0][1])
    assert not page.isComplete()
