"""Queueing frames to label: Review's buttons through the main window, "Add frames from video", bad videos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from pose_core.frames import parse_frame_image_path
from pose_core.project import Project
from pose_gui.main_window import MainWindow
from pose_gui.views.label.pane import LabelPane
from tests.gui.conftest import DialogLog


@pytest.fixture
def window(qtbot: QtBot, example_project: Path) -> Iterator[MainWindow]:
    win = MainWindow(remember=False)
    qtbot.addWidget(win)
    win.state.set_project(Project.open(example_project))
    win.show()
    yield win
    win.shutdown()


def _label_pane(qtbot: QtBot, window: MainWindow) -> LabelPane:
    window.show_pane("label")
    pane = window.pane("label")
    assert isinstance(pane, LabelPane)
    qtbot.waitUntil(lambda: pane.session is not None, timeout=10000)
    return pane


def _video(example_project: Path) -> Path:
    return next((example_project / "videos").glob("*.mp4"))


def test_review_label_this_frame_queues_exactly_that_frame(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    _label_pane(qtbot, window)
    window.show_pane("review")
    review = window.pane("review")
    video = _video(example_project)
    window.state.set_video(video)
    window.state.set_frame_idx(11)
    qtbot.mouseClick(review.inspect.label_frame_button, Qt.MouseButton.LeftButton)  # type: ignore[union-attr]
    pane = window.pane("label")
    assert isinstance(pane, LabelPane)
    assert window.current_pane_name() == "label"
    expected = f"labeled-data/{video.stem}/img00000011.png"
    qtbot.waitUntil(lambda: pane.current_path == expected, timeout=10000)
    assert (example_project / expected).is_file()
    assert pane.session is not None and pane.session.queued[expected] == "from Review"
    reader = cv2.VideoCapture(str(video))
    for _ in range(12):
        ok, frame = reader.read()
    reader.release()
    assert ok
    extracted = cv2.imread(str(example_project / expected))
    assert abs(extracted.astype(int) - frame.astype(int)).max() == 0  # lossless, that very frame


def test_problem_frames_are_sent_with_their_reason(qtbot: QtBot, window: MainWindow, example_project: Path) -> None:
    pane = _label_pane(qtbot, window)
    video = _video(example_project)
    window.state.label_frames_requested.emit(video, [2, 20], "problem frame (Review)")
    qtbot.waitUntil(lambda: pane.current_path is not None and "img00000002" in pane.current_path, timeout=10000)
    assert pane.session is not None
    for idx in (2, 20):
        path = f"labeled-data/{video.stem}/img{idx:08d}.png"
        assert pane.session.queued[path] == "problem frame (Review)"
        assert path in pane.frame_list.paths()
    assert "posedesk_queue.json" in {p.name for p in (example_project / "labeled-data").iterdir()}


def test_frames_sent_while_the_labels_are_still_opening_are_queued_once_they_are(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    window.show_pane("label")
    pane = window.pane("label")
    assert isinstance(pane, LabelPane) and pane.session is None  # the labels open in a worker thread
    assert pane.queue_frames(_video(example_project), [12], "problem frame (review)") is None
    expected = f"labeled-data/{_video(example_project).stem}/img00000012.png"
    qtbot.waitUntil(lambda: pane.session is not None and expected in pane.session.queued, timeout=15000)
    assert pane.session is not None and pane.session.queued[expected] == "problem frame (review)"
    assert (example_project / expected).is_file()


def test_add_frames_uniform_never_takes_a_frame_near_a_queued_one(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    pane = _label_pane(qtbot, window)
    video = _video(example_project)
    with qtbot.waitSignal(pane.frames_queued, timeout=10000):  # frame 15 queued (its signal handled) first
        assert pane.queue_frames(video, [15], "") is not None
    with qtbot.waitSignal(pane.frames_queued, timeout=15000) as blocker:
        assert pane.add_frames(video, 4, "uniform") is not None
    chosen = [parse_frame_image_path(p)[1] for p in blocker.args[0]]  # type: ignore[index]
    assert len(chosen) == 4 and all(abs(c - 15) > 2 for c in chosen)
    assert all((example_project / p).is_file() for p in blocker.args[0])


def test_frame_beyond_the_end_and_a_corrupt_video_are_one_clear_message(
    qtbot: QtBot, window: MainWindow, example_project: Path, dialog_log: DialogLog, tmp_path: Path
) -> None:
    pane = _label_pane(qtbot, window)
    task = pane.queue_frames(_video(example_project), [10_000], "")
    assert task is not None
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=10000)
    ((title, error),) = dialog_log.take_errors()
    assert "beyond the end" in str(error) and "Cannot add frames" in title
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 4096)
    pane.add_frames(bad, 3, "kmeans")
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=20000)
    ((_, error),) = dialog_log.take_errors()
    assert "broken.mp4" in str(error)
    QApplication.processEvents()


def test_a_video_of_another_size_than_its_earlier_frames_is_refused_naming_both_sizes(
    qtbot: QtBot, window: MainWindow, example_project: Path, dialog_log: DialogLog, tmp_path: Path
) -> None:
    pane = _label_pane(qtbot, window)
    video = _video(example_project)
    with qtbot.waitSignal(pane.frames_queued, timeout=10000):
        assert pane.queue_frames(video, [5], "") is not None
    first = cv2.imread(str(example_project / "labeled-data" / video.stem / "img00000005.png"))
    height, width = first.shape[:2]
    cropped = tmp_path / "cropped" / video.name  # same stem: the same recording, cropped
    cropped.parent.mkdir()
    writer = cv2.VideoWriter(str(cropped), cv2.VideoWriter.fourcc(*"mp4v"), 30, (width // 2, height // 2))
    for _ in range(20):
        writer.write(cv2.resize(first, (width // 2, height // 2)))
    writer.release()
    before = sorted((example_project / "labeled-data" / video.stem).iterdir())
    pane.add_frames(cropped, 3, "uniform")
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=10000)
    ((title, error),) = dialog_log.take_errors()
    assert "Cannot add frames" in title
    assert f"{width}x{height}" in str(error) and f"{width // 2}x{height // 2}" in str(error)
    assert sorted((example_project / "labeled-data" / video.stem).iterdir()) == before  # nothing written


def test_new_labels_reach_the_project_pane_counts_when_the_pane_is_left(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    pane = _label_pane(qtbot, window)
    before = window.state.project.n_labeled_frames  # type: ignore[union-attr]
    video = _video(example_project)
    task = pane.queue_frames(video, [5], "")
    assert task is not None
    qtbot.waitUntil(lambda: pane.current_path is not None and "img00000005" in pane.current_path, timeout=10000)
    qtbot.waitUntil(lambda: pane.canvas.image is not None)
    qtbot.mouseClick(pane.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pane.canvas.view_pos_of(30, 30))
    window.show_pane("project")
    assert window.state.project.n_labeled_frames == before + 1  # type: ignore[union-attr]
    assert str(before + 1) in window.project_status.text()
