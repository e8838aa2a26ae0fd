"""The project pane on its own: welcome page, thumbnails with labels drawn, runs refresh, DeepLabCut projects."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import yaml
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from pose_core.data.labels import LabelSet, read_labels, write_labels
from pose_core.project import Project
from pose_gui.models.state import AppState
from pose_gui.views.project_view import ProjectView
from pose_gui.workers.thumbnails import ThumbnailJob, ThumbnailLoader, render_thumbnail

RED, BLUE = QColor(255, 0, 0), QColor(0, 0, 255)


def make_view(qtbot: QtBot, state: AppState) -> ProjectView:
    view = ProjectView(state)
    qtbot.addWidget(view)
    return view


def test_welcome_page_buttons_ask_the_window_for_a_project(qtbot: QtBot) -> None:
    state = AppState()
    view = make_view(qtbot, state)
    buttons = {b.text(): b for b in view.welcome.findChildren(QPushButton)}
    with qtbot.waitSignal(state.project_create_requested):
        buttons["New Project…"].click()
    with qtbot.waitSignal(state.project_open_requested) as opened:
        buttons["Open Project…"].click()
    assert opened.args == [None]  # None = ask the user for a folder
    with qtbot.waitSignal(state.example_open_requested):
        buttons["Open Example Project"].click()
    assert view.welcome.recent_list.item(0).text() == "No recent projects yet."


def test_thumbnail_draws_each_labelled_keypoint_in_its_colour() -> None:
    frame = QImage(200, 100, QImage.Format.Format_RGB32)
    frame.fill(QColor(0, 0, 0))
    keypoints_px = np.array([[20.0, 30.0], [np.nan, np.nan], [150.0, 70.0]])
    thumb = render_thumbnail(frame, keypoints_px, [RED, QColor(0, 255, 0), BLUE], 100, 100)
    assert (thumb.width(), thumb.height()) == (100, 50)  # aspect kept
    assert QColor(thumb.pixel(10, 15)).red() > 200  # keypoint 0 at half scale
    assert QColor(thumb.pixel(75, 35)).blue() > 200  # keypoint 2
    greens = [QColor(thumb.pixel(x, y)).green() for x in range(100) for y in range(50)]
    assert max(greens) < 100  # the unlabelled keypoint is not drawn


def test_thumbnail_loader_reports_missing_images(qtbot: QtBot, tmp_path: Path) -> None:
    image = QImage(40, 20, QImage.Format.Format_RGB32)
    image.fill(QColor(9, 9, 9))
    image.save(str(tmp_path / "a.png"))
    jobs = [
        ThumbnailJob(0, tmp_path / "a.png", np.array([[5.0, 5.0]])),
        ThumbnailJob(1, tmp_path / "gone.png", np.array([[5.0, 5.0]])),
    ]
    loader = ThumbnailLoader(7, jobs, [RED], 80, 80)
    ready: list[tuple[int, int]] = []
    failed: list[tuple[int, int, str]] = []
    loader.thumbnail_ready.connect(lambda g, row, img: ready.append((g, row)))
    loader.thumbnail_failed.connect(lambda g, row, why: failed.append((g, row, why)))
    with qtbot.waitSignal(loader.finished, timeout=10_000):
        loader.start()
    qtbot.waitUntil(lambda: len(ready) + len(failed) == 2)
    assert ready == [(7, 0)]
    assert failed[0][:2] == (7, 1) and "gone.png: file missing" in failed[0][2]


def test_runs_are_polled_while_one_is_running(qtbot: QtBot, example_project: Path) -> None:
    run_dir = example_project / "outputs" / "2024-06-01" / "12-00-00"
    run_dir.mkdir(parents=True)
    events = run_dir / "events.jsonl"
    events.write_text(json.dumps({"event": "started", "time": time.time(), "pid": os.getpid()}) + "\n")
    state = AppState()
    view = make_view(qtbot, state)
    state.set_project(Project.open(example_project))
    model = view.page.runs_model
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.run_at(0).status == "running", timeout=10_000)
    with events.open("a") as handle:
        handle.write(json.dumps({"event": "epoch_end", "time": time.time(), "epoch": 0, "metrics": {}}) + "\n")
        handle.write(json.dumps({"event": "finished", "time": time.time()}) + "\n")
    qtbot.waitUntil(lambda: model.run_at(0).status == "finished", timeout=10_000)  # no click needed
    assert model.run_at(0).epochs == 1
    assert "1 training run" in view.page.summary_label.text()
    view.page.shutdown()


def test_deeplabcut_project_shows_its_labels(qtbot: QtBot, example_project: Path, tmp_path: Path) -> None:
    labels = read_labels(example_project / "CollectedData.csv")
    root = tmp_path / "dlc-project"
    folder = root / "labeled-data" / "mouse1"
    folder.mkdir(parents=True)
    paths = []
    for image_path in labels.image_paths[:5]:
        shutil.copy(example_project / image_path, folder / Path(image_path).name)
        paths.append(f"labeled-data/mouse1/{Path(image_path).name}")
    write_labels(LabelSet(paths, labels.keypoint_names, labels.keypoints_px[:5], "me"), folder / "CollectedData_me.csv")
    config = {"Task": "mouse", "scorer": "me", "bodyparts": labels.keypoint_names, "video_sets": {}}
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    state = AppState()
    view = make_view(qtbot, state)
    state.set_project(Project.open(root))
    qtbot.waitUntil(lambda: not view.is_loading(), timeout=10_000)
    assert "DeepLabCut project" in view.page.path_label.text()
    assert view.page.frames_heading.text() == "Labelled frames: 5"
    tiles = view.page.thumbnails.item_model
    assert [tiles.item(i).data(Qt.ItemDataRole.UserRole + 2) for i in range(5)] == ["ready"] * 5
    assert view.page.videos_hint.isVisibleTo(view.page)  # no videos: the hint says how to add some
