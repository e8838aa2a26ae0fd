"""Prediction-assisted labelling: a chosen run's predictions start as hollow suggestions; only accepted ones are labels."""

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
from pose_core.project import Project
from pose_gui.models.state import AppState
from pose_gui.views.label.pane import LabelPane
from tests.core.conftest import make_run_dir, save_tiny_checkpoint

pytestmark = pytest.mark.slow  # loads torch and a model (5-35 s on a loaded 2-core machine)


@pytest.fixture
def assisted(qtbot: QtBot, example_project: Path, tmp_path: Path) -> Iterator[tuple[LabelPane, str]]:
    project = Project.open(example_project)
    names = list(project.keypoint_names)
    run_dir = make_run_dir(tmp_path / "run", save_tiny_checkpoint(tmp_path / "tiny.ckpt", names), names)
    state = AppState()
    state.set_project(project)
    pane = LabelPane(state)
    qtbot.addWidget(pane)
    pane.resize(1000, 700)
    pane.show()
    qtbot.waitUntil(lambda: pane.session is not None and pane.canvas.image is not None, timeout=10000)
    video = next((example_project / "videos").glob("*.mp4"))
    path = f"labeled-data/{video.stem}/img00000009.png"
    task = pane.queue_frames(video, [9], "")
    assert task is not None
    qtbot.waitUntil(lambda: pane.current_path == path and pane.canvas.image is not None, timeout=10000)
    state.set_run_dir(run_dir)
    qtbot.waitUntil(lambda: pane.suggestions.get(path) is not None, timeout=60000)
    yield pane, path
    pane.shutdown()


def test_suggestions_are_hollow_and_not_labels_until_accepted(qtbot: QtBot, assisted: tuple[LabelPane, str]) -> None:
    pane, path = assisted
    markers = pane.canvas.marker_positions()
    assert len(markers) == len(pane.session.keypoint_names)  # type: ignore[union-attr]
    assert all(suggested for _, _, suggested in markers.values())
    assert np.isnan(pane.session.points(path)).all()  # type: ignore[union-attr]
    x, y, _ = markers[3]
    qtbot.mouseClick(pane.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pane.canvas.view_pos_of(x, y))
    points = pane.session.points(path)  # type: ignore[union-attr]
    (k,) = np.flatnonzero(~np.isnan(points).any(axis=1))  # the marker on top was accepted where it was
    assert points[k] == pytest.approx(markers[k][:2], abs=0.01)
    assert not pane.canvas.marker_positions()[k][2]


def test_moving_a_suggestion_accepts_it_there_and_a_accepts_the_rest_in_one_undo_step(
    qtbot: QtBot, assisted: tuple[LabelPane, str]
) -> None:
    pane, path = assisted
    session = pane.session
    assert session is not None
    x, y, _ = pane.canvas.marker_positions()[0]
    viewport = pane.canvas.viewport()
    start = pane.canvas.view_pos_of(x, y)
    end = start + QPoint(25, 10)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    move = QMouseEvent(
        QMouseEvent.Type.MouseMove, end, viewport.mapToGlobal(end), Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(viewport, move)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    moved = pane.canvas.mapToScene(end)
    (k,) = np.flatnonzero(~np.isnan(session.points(path)).any(axis=1))  # the marker on top (suggestions may overlap)
    assert session.points(path)[k] == pytest.approx([moved.x(), moved.y()], abs=0.6)
    pane.canvas.setFocus()
    qtbot.keyClick(pane.canvas, Qt.Key.Key_A)
    assert not np.isnan(session.points(path)).any()
    assert session.points(path)[k] == pytest.approx([moved.x(), moved.y()], abs=0.6)  # the moved one stays
    qtbot.waitUntil(lambda: not session.document.is_modified and session._save_task is None, timeout=5000)  # type: ignore[union-attr]
    labels = read_labels(session.document.path)  # type: ignore[union-attr]
    assert not np.isnan(labels.keypoints_px[labels.image_paths.index(path)]).any()
    qtbot.keyClick(pane.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert int((~np.isnan(session.points(path)).any(axis=1)).sum()) == 1
