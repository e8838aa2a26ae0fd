"""The Label pane driven like a user: mouse on the canvas, keys, undo; the labels file on disk is checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from pose_core.data.labels import read_labels
from pose_core.data.labels_edit import backup_path
from pose_core.project import Project
from pose_gui.models.state import AppState
from pose_gui.views.label.pane import LabelPane

SAVE_TIMEOUT_MS = 5000


@pytest.fixture
def pane(qtbot: QtBot, example_project: Path) -> Iterator[LabelPane]:
    state = AppState()
    state.set_project(Project.open(example_project))
    widget = LabelPane(state)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    qtbot.waitUntil(lambda: widget.session is not None and widget.current_path is not None, timeout=10000)
    qtbot.waitUntil(lambda: widget.canvas.image is not None, timeout=5000)
    yield widget
    widget.shutdown()


def _csv(pane: LabelPane) -> Path:
    assert pane.session is not None and pane.session.document is not None
    return pane.session.document.path


def _wait_saved(qtbot: QtBot, pane: LabelPane) -> None:
    doc = pane.session.document if pane.session is not None else None
    assert doc is not None
    qtbot.waitUntil(lambda: not doc.is_modified and pane.session._save_task is None, timeout=SAVE_TIMEOUT_MS)


def _click(
    qtbot: QtBot, pane: LabelPane, x: float, y: float, button: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    qtbot.mouseClick(pane.canvas.viewport(), button, pos=pane.canvas.view_pos_of(x, y))


def _drag(qtbot: QtBot, pane: LabelPane, start: tuple[float, float], end: tuple[float, float]) -> None:
    viewport = pane.canvas.viewport()
    a, b = pane.canvas.view_pos_of(*start), pane.canvas.view_pos_of(*end)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    for t in np.linspace(0.2, 1.0, 5):
        p = QPoint(int(a.x() + (b.x() - a.x()) * t), int(a.y() + (b.y() - a.y()) * t))
        event = QMouseEvent(
            QMouseEvent.Type.MouseMove, p, viewport.mapToGlobal(p), Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        QApplication.sendEvent(viewport, event)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)


def _new_frame(pane: LabelPane, example_project: Path) -> str:
    """Queue frame 7 of the example video and show it (no labels yet)."""
    video = next((example_project / "videos").glob("*.mp4"))
    task = pane.queue_frames(video, [7], "test")
    assert task is not None
    task.wait()
    QApplication.processEvents()
    return f"labeled-data/{video.stem}/img00000007.png"


def test_click_places_the_selected_keypoint_then_selects_the_next_and_saves(
    qtbot: QtBot, pane: LabelPane, example_project: Path
) -> None:
    original = _csv(pane).read_bytes()
    path = _new_frame(pane, example_project)
    qtbot.waitUntil(lambda: pane.current_path == path and pane.canvas.image is not None)
    assert pane.frame_list.current_path() == path
    assert pane.selected_keypoint == 0
    _click(qtbot, pane, 40.0, 30.0)
    assert pane.selected_keypoint == 1
    _click(qtbot, pane, 60.0, 35.0)
    assert pane.canvas.marker_positions()[0][:2] == pytest.approx((40.0, 30.0), abs=0.6)
    _wait_saved(qtbot, pane)
    labels = read_labels(_csv(pane))
    row = labels.image_paths.index(path)
    assert labels.keypoints_px[row, 0] == pytest.approx([40.0, 30.0], abs=0.6)
    assert labels.keypoints_px[row, 1] == pytest.approx([60.0, 35.0], abs=0.6)
    assert np.isnan(labels.keypoints_px[row, 2:]).all()
    text = _csv(pane).read_bytes()
    assert text.startswith(original)  # every other row byte for byte
    assert backup_path(_csv(pane)).read_bytes() == original
    flags = Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchStartsWith
    item = pane.frame_list.tree.findItems("img00000007.png", flags)[0]
    assert item.text(1) == f"2 / {len(pane.session.keypoint_names)}"


def test_a_quick_second_click_near_the_first_places_the_next_keypoint(
    qtbot: QtBot, pane: LabelPane, example_project: Path
) -> None:
    # Two clicks within the double-click time and distance: Qt delivers the second as press, release,
    # *double-click*, release. The second must place the next keypoint, not be lost (it shifted every
    # later point of the frame onto the wrong keypoint).
    path = _new_frame(pane, example_project)
    qtbot.waitUntil(lambda: pane.current_path == path and pane.canvas.image is not None)
    viewport = pane.canvas.viewport()
    qtbot.keyClick(pane, Qt.Key.Key_H)  # markers hidden (to see the animal): clicks never hit one
    assert not pane.canvas.labels_visible
    _click(qtbot, pane, 40.0, 30.0)
    p = pane.canvas.view_pos_of(40.5, 30.5)
    for kind in (QMouseEvent.Type.MouseButtonDblClick, QMouseEvent.Type.MouseButtonRelease):
        buttons = Qt.MouseButton.LeftButton if kind == QMouseEvent.Type.MouseButtonDblClick else Qt.MouseButton.NoButton
        event = QMouseEvent(
            kind, p, viewport.mapToGlobal(p), Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(viewport, event)
    assert pane.selected_keypoint == 2
    points = pane.session.points(path)
    assert points[1] == pytest.approx([40.5, 30.5], abs=0.6)


def test_drag_moves_a_point_as_one_undo_step_and_keys_undo_and_redo(qtbot: QtBot, pane: LabelPane) -> None:
    path = pane.current_path
    assert path is not None
    before = pane.session.points(path).copy()
    k = int(np.flatnonzero(~np.isnan(before).any(axis=1))[0])
    start = (float(before[k, 0]), float(before[k, 1]))
    end = (start[0] + 9.0, start[1] + 4.0)
    _drag(qtbot, pane, start, end)
    after = pane.session.points(path)
    assert after[k] == pytest.approx(end, abs=0.6)
    assert pane.session.undo_stack.count() == 1  # the moves merged
    pane.canvas.setFocus()
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(pane.session.points(path), before, equal_nan=True)
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert pane.session.points(path)[k] == pytest.approx(end, abs=0.6)
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    _wait_saved(qtbot, pane)
    assert read_labels(_csv(pane)).keypoints_px[read_labels(_csv(pane)).image_paths.index(path), k] == pytest.approx(
        end, abs=0.6
    )


def test_right_click_and_delete_clear_points_and_undo_goes_back_across_frames(qtbot: QtBot, pane: LabelPane) -> None:
    first = pane.current_path
    assert first is not None
    points = pane.session.points(first)
    labelled = np.flatnonzero(~np.isnan(points).any(axis=1))
    k = int(labelled[0])
    _click(qtbot, pane, float(points[k, 0]), float(points[k, 1]), Qt.MouseButton.RightButton)
    assert np.isnan(pane.session.points(first)[k]).all()
    pane.canvas.setFocus()
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Right)
    second = pane.current_path
    assert second != first
    pane.selected_keypoint = int(np.flatnonzero(~np.isnan(pane.session.points(second)).any(axis=1))[0])
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Delete)
    assert np.isnan(pane.session.points(second)[pane.selected_keypoint]).all()
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert pane.current_path == first  # undo showed the frame it changed
    assert np.array_equal(pane.session.points(first), points, equal_nan=True)
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Left)
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Down)
    assert pane.keypoint_list.currentRow() == pane.selected_keypoint


def test_another_program_changing_the_file_shows_reload_and_keep_mine(qtbot: QtBot, pane: LabelPane) -> None:
    csv_path = _csv(pane)
    path = pane.current_path
    assert path is not None
    outside = csv_path.read_text().replace("\n", "\n", 1) + ""
    lines = outside.splitlines(keepends=True)
    lines[4] = lines[4].split(",", 1)[0] + "," + ",".join(["1.0"] * (len(lines[4].split(",")) - 1)) + "\n"
    csv_path.write_text("".join(lines))
    qtbot.waitUntil(lambda: pane.banner.isVisible(), timeout=5000)
    _click(qtbot, pane, 20.0, 20.0)  # an edit made now is not saved over the other program's file
    qtbot.wait(1500)
    assert csv_path.read_text() == "".join(lines)
    qtbot.mouseClick(pane.keep_button, Qt.MouseButton.LeftButton)
    _wait_saved(qtbot, pane)
    assert not pane.banner.isVisible()
    assert csv_path.read_text() != "".join(lines)
    csv_path.write_text("".join(lines))
    qtbot.waitUntil(lambda: pane.banner.isVisible(), timeout=5000)
    qtbot.mouseClick(pane.reload_button, Qt.MouseButton.LeftButton)
    assert not pane.banner.isVisible()
    second = read_labels(csv_path).image_paths[1]
    assert pane.session.points(second) == pytest.approx(np.ones((len(pane.session.keypoint_names), 2)))


def test_read_only_project_opens_read_only_and_says_why(qtbot: QtBot, example_project: Path) -> None:
    example_project.chmod(0o555)
    try:
        state = AppState()
        state.set_project(Project.open(example_project))
        widget = LabelPane(state)
        qtbot.addWidget(widget)
        widget.show()
        qtbot.waitUntil(lambda: widget.session is not None and widget.canvas.image is not None, timeout=10000)
        assert "read-only" in widget.notice.text() and widget.notice.isVisible()
        before = widget.session.points(widget.current_path)
        _click(qtbot, widget, 10.0, 10.0)
        assert np.array_equal(widget.session.points(widget.current_path), before, equal_nan=True)
        widget.shutdown()
    finally:
        example_project.chmod(0o755)


def test_a_run_that_has_just_started_training_gives_no_suggestions_and_no_error(
    qtbot: QtBot, pane: LabelPane, example_project: Path
) -> None:
    messages: list[str] = []
    pane.state.message_posted.connect(lambda text, _timeout: messages.append(text))
    path = _new_frame(pane, example_project)  # no labels: suggestions would be asked for
    qtbot.waitUntil(lambda: pane.current_path == path, timeout=5000)
    run_dir = example_project / "outputs" / "2026-12-03" / "10-00-00"
    pane.state.set_run_dir(run_dir)  # the Training pane selects a new run before pose-train makes its folder
    qtbot.waitUntil(lambda: not pane.suggestions.is_busy(), timeout=30000)
    run_dir.mkdir(parents=True)  # then the folder and config come; the first checkpoint only after an epoch
    (run_dir / "config.yaml").write_text("data: {}\n", encoding="utf-8")
    pane.state.set_run_dir(None)
    pane.state.set_run_dir(run_dir)
    qtbot.waitUntil(lambda: not pane.suggestions.is_busy(), timeout=30000)
    QApplication.processEvents()
    assert pane.suggestions.get(path) is None
    assert not [m for m in messages if "suggestion" in m.lower()], messages


def _image_rect_in_view(pane: LabelPane) -> tuple[int, int]:
    image = pane.canvas.image
    assert image is not None
    top_left = pane.canvas.view_pos_of(0, 0)
    bottom_right = pane.canvas.view_pos_of(image.shape[1], image.shape[0])
    return bottom_right.x() - top_left.x(), bottom_right.y() - top_left.y()


def _fits(pane: LabelPane) -> bool:
    width, height = _image_rect_in_view(pane)
    viewport = pane.canvas.viewport().size()
    inside = width <= viewport.width() and height <= viewport.height()
    return inside and (viewport.width() - width <= 6 or viewport.height() - height <= 6)  # fitInView's margin


def test_the_fitted_frame_follows_the_window_size_until_the_user_zooms(qtbot: QtBot, pane: LabelPane) -> None:
    assert _fits(pane)
    small = _image_rect_in_view(pane)
    pane.resize(1500, 950)  # e.g. the window maximised, or the pane first shown after fitting while hidden
    qtbot.waitUntil(lambda: _fits(pane) and _image_rect_in_view(pane)[0] > small[0], timeout=5000)

    pane.canvas.setFocus()
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Plus)
    zoom = pane.canvas.zoom()
    pane.resize(1100, 700)
    qtbot.wait(50)
    assert pane.canvas.zoom() == pytest.approx(zoom)  # the user's zoom stays
    qtbot.keyClick(pane.canvas, Qt.Key.Key_F)
    assert _fits(pane)
