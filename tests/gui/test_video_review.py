"""The Review pane as a user drives it: video + keypoints frame by frame, navigation, threshold, traces,
problems, labelled frames, compare, export, prediction job, and bad input shown in the pane."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

from pose_core.errors import DataError
from pose_core.io.predictions import write_predictions_csv
from pose_core.project import Project
from pose_gui import dialogs
from pose_gui.models.state import AppState
from pose_gui.views.video_review import VideoReviewPane
from tests.gui.conftest import DialogLog

LOW_FRAME, JUMP_FRAME = 10, 20
TIMEOUT_MS = 20_000


@dataclass
class Setup:
    project: Project
    run_dir: Path
    video: Path
    n_frames: int
    preds: np.ndarray
    other_run: Path
    other_preds: np.ndarray


def synthetic_preds(n_frames: int, n_keypoints: int, seed: int = 0) -> np.ndarray:
    """Smooth tracks with likelihood 0.95, one low-likelihood keypoint at LOW_FRAME and a jump at JUMP_FRAME."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(40, 200, size=(n_keypoints, 2))
    t = np.arange(n_frames)[:, None, None]
    xy = start[None] + np.concatenate([np.cos(t / 5.0), np.sin(t / 5.0)], axis=2) * 3
    xy[JUMP_FRAME] += 60.0
    preds = np.concatenate([xy, np.full((n_frames, n_keypoints, 1), 0.95)], axis=2)
    preds[LOW_FRAME, 0, 2] = 0.2
    return preds


def make_run(project: Project, name: str, video: Path, n_frames: int, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A run folder with video predictions and labelled-frame predictions (as training + pose-predict write them)."""
    run_dir = project.root / "outputs" / "2026-01-01" / name
    (run_dir / "video_preds").mkdir(parents=True)
    (run_dir / "summary.json").write_text("{}", encoding="utf-8")
    names = project.keypoint_names
    preds = synthetic_preds(n_frames, len(names), seed)
    write_predictions_csv(run_dir / "video_preds" / f"{video.stem}.csv", names, preds, list(range(n_frames)))
    labels = project.labels
    n = labels.n_frames
    offsets = np.linspace(0.0, 12.0, n)[:, None, None] * np.ones((1, len(names), 2)) / np.sqrt(2)
    labelled = np.concatenate([labels.keypoints_px + offsets, np.full((n, len(names), 1), 0.9)], axis=2)
    split = ["train" if i % 3 else "test" for i in range(n)]
    write_predictions_csv(run_dir / "predictions.csv", names, labelled, labels.image_paths, split)
    return run_dir, preds


def build_setup(root: Path) -> Setup:
    from pose_core.video.reader import probe_video

    project = Project.open(root)
    video = project.videos[0]
    n_frames = probe_video(video).n_frames
    run_dir, preds = make_run(project, "10-00-00", video, n_frames)
    other_run, other_preds = make_run(project, "11-00-00", video, n_frames, seed=1)
    return Setup(project, run_dir, video, n_frames, preds, other_run, other_preds)


@pytest.fixture(scope="module")
def shared(example_project_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """A project with two runs for the tests that change no file (built once: the machine is slow)."""
    root = tmp_path_factory.mktemp("review") / "example-project"
    return build_setup(Path(shutil.copytree(example_project_template, root, symlinks=True)))


@pytest.fixture
def pane(qtbot: QtBot) -> Iterator[VideoReviewPane]:
    widget = VideoReviewPane(AppState())
    widget.resize(1200, 800)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def open_all(qtbot: QtBot, pane: VideoReviewPane, setup: Setup) -> None:
    pane.state.set_project(setup.project)
    pane.state.set_run_dir(setup.run_dir)
    pane.state.set_video(setup.video)
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.shown_frame_idx == 0, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not pane.is_loading(), timeout=TIMEOUT_MS)


def go_to(qtbot: QtBot, pane: VideoReviewPane, frame_idx: int) -> None:
    pane.state.set_frame_idx(frame_idx)
    qtbot.waitUntil(lambda: pane.shown_frame_idx == frame_idx, timeout=TIMEOUT_MS)


def visible_text(label: object) -> str:
    return label.text() if label.isVisible() else ""  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------- video


def test_frame_and_its_keypoints_are_shown_together(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    from pose_core.video.reader import VideoReader

    open_all(qtbot, pane, shared)
    n_keypoints = len(shared.project.keypoint_names)
    assert pane.inspect.keypoint_list.count() == n_keypoints
    for frame_idx in (5, 17, 3):
        go_to(qtbot, pane, frame_idx)
        np.testing.assert_allclose(pane.view.shown_points, shared.preds[frame_idx, :, :2], atol=1e-3)
        with VideoReader(shared.video) as reader:
            np.testing.assert_array_equal(pane.current_image, reader.read(frame_idx))
    assert "frame 3 /" in pane.nav.counter.text() and "00:00.10" in pane.nav.counter.text()


def test_navigation_buttons_shortcuts_slider_and_box(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    open_all(qtbot, pane, shared)
    qtbot.mouseClick(pane.nav.step_buttons[3], Qt.MouseButton.LeftButton)  # +10
    assert pane.state.frame_idx == 10
    qtbot.mouseClick(pane.nav.step_buttons[1], Qt.MouseButton.LeftButton)  # -1
    assert pane.state.frame_idx == 9
    pane.view.setFocus()
    qtbot.keyClick(pane.view, Qt.Key.Key_Right)
    assert pane.state.frame_idx == 10
    qtbot.keyClick(pane.view, Qt.Key.Key_End)
    assert pane.state.frame_idx == shared.n_frames - 1
    pane.nav.slider.setValue(4)
    assert pane.state.frame_idx == 4
    pane.nav.frame_box.setValue(12)
    assert pane.state.frame_idx == 12
    qtbot.waitUntil(lambda: pane.shown_frame_idx == 12, timeout=TIMEOUT_MS)


def test_play_advances_frames_and_stops_at_the_end(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    open_all(qtbot, pane, shared)
    pane.nav.speed_combo.setCurrentIndex(4)  # 4x
    qtbot.mouseClick(pane.nav.play_button, Qt.MouseButton.LeftButton)
    assert pane.is_playing
    qtbot.waitUntil(lambda: not pane.is_playing, timeout=TIMEOUT_MS)
    assert pane.state.frame_idx == shared.n_frames - 1
    assert not pane.nav.play_button.isChecked()


def test_threshold_slider_hides_or_fades_low_likelihood_points(
    qtbot: QtBot, pane: VideoReviewPane, shared: Setup
) -> None:
    open_all(qtbot, pane, shared)
    go_to(qtbot, pane, LOW_FRAME)
    n_keypoints = len(shared.project.keypoint_names)
    pane.inspect.threshold_slider.setValue(50)
    assert pane.state.likelihood_threshold == pytest.approx(0.5)
    assert len(pane.view.shown_points) == n_keypoints - 1
    pane.inspect.threshold_slider.setValue(10)
    assert len(pane.view.shown_points) == n_keypoints
    pane.inspect.threshold_slider.setValue(50)
    pane.inspect.fade_check.setChecked(True)
    assert len(pane.view.shown_points) == n_keypoints


def test_unticked_keypoints_are_hidden_and_trails_drawn(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    open_all(qtbot, pane, shared)
    go_to(qtbot, pane, 5)
    n_keypoints = len(shared.project.keypoint_names)
    pane.inspect.keypoint_list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert len(pane.view.shown_points) == n_keypoints - 1
    pane.inspect.trail_spin.setValue(3)
    assert len(pane.view.trail_item.data) == 3 * (n_keypoints - 1)
    names = shared.project.keypoint_names
    pane.inspect.skeleton_edit.setText(f"{names[0]}-{names[2]}, nose-tail")
    pane.inspect.skeleton_edit.editingFinished.emit()
    assert pane.inspect.skeleton_pairs() == [(0, 2)]
    assert "Not understood: nose-tail" in pane.inspect.skeleton_edit.toolTip()
    assert len(pane.view.skeleton_item.getData()[0]) == 2


def test_clicking_the_trace_jumps_to_that_frame(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    open_all(qtbot, pane, shared)
    plot = pane.traces.plots["x"]
    qtbot.waitUntil(lambda: plot.listDataItems() != [], timeout=TIMEOUT_MS)
    scene_pos = plot.vb.mapViewToScene(QPointF(JUMP_FRAME, float(shared.preds[JUMP_FRAME, 0, 0])))
    view_pos = pane.traces.mapFromScene(scene_pos)
    qtbot.mouseClick(pane.traces.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    qtbot.waitUntil(lambda: pane.shown_frame_idx == JUMP_FRAME, timeout=TIMEOUT_MS)
    assert pane.traces.cursors[0].value() == JUMP_FRAME


def test_next_and_previous_problem(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    open_all(qtbot, pane, shared)
    pane.inspect.threshold_slider.setValue(50)
    qtbot.waitUntil(lambda: pane.problems is not None, timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.inspect.next_problem_button, Qt.MouseButton.LeftButton)
    assert pane.state.frame_idx == LOW_FRAME
    qtbot.waitUntil(lambda: "low likelihood" in pane.inspect.frame_problem_label.text(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.inspect.next_problem_button, Qt.MouseButton.LeftButton)
    assert pane.state.frame_idx == JUMP_FRAME  # the jump into the frame
    qtbot.waitUntil(lambda: "jump of" in pane.inspect.frame_problem_label.text(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.inspect.prev_problem_button, Qt.MouseButton.LeftButton)
    assert pane.state.frame_idx == LOW_FRAME


def test_problem_counts_are_cleared_for_a_run_without_predictions(
    qtbot: QtBot, pane: VideoReviewPane, example_project_template: Path, tmp_path: Path
) -> None:
    setup = build_setup(Path(shutil.copytree(example_project_template, tmp_path / "p", symlinks=True)))
    open_all(qtbot, pane, setup)
    qtbot.waitUntil(lambda: "with problems" in pane.inspect.problem_count_label.text(), timeout=TIMEOUT_MS)
    young = setup.project.root / "outputs" / "2026-01-01" / "12-00-00"  # a run that has not predicted the video
    young.mkdir()
    (young / "summary.json").write_text("{}", encoding="utf-8")
    pane.state.set_run_dir(young)
    qtbot.waitUntil(lambda: pane.predictions is None and not pane.is_loading(), timeout=TIMEOUT_MS)
    assert "with problems" not in pane.inspect.problem_count_label.text()  # not the previous run's counts
    assert pane.inspect.problem_count_label.text() == "No predictions"


def test_compare_two_runs(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    other, other_preds = shared.other_run, shared.other_preds
    open_all(qtbot, pane, shared)
    pane.state.runs_changed.emit()
    qtbot.waitUntil(lambda: pane.sources.compare_combo.findData(str(other)) >= 0, timeout=TIMEOUT_MS)
    index = pane.sources.compare_combo.findData(str(other))
    pane.sources.compare_combo.setCurrentIndex(index)
    pane.sources.compare_combo.activated.emit(index)
    qtbot.waitUntil(lambda: pane.session.compare is not None, timeout=TIMEOUT_MS)
    go_to(qtbot, pane, 7)
    x, y = pane.view.compare_item.getData()
    np.testing.assert_allclose(np.column_stack([x, y]), other_preds[7, :, :2], atol=1e-3)


def test_export_frame_png_with_overlays(
    qtbot: QtBot, pane: VideoReviewPane, shared: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cv2

    open_all(qtbot, pane, shared)
    go_to(qtbot, pane, 6)
    out = tmp_path / "frame6.png"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *args: out)
    qtbot.mouseClick(pane.inspect.export_png_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(out.is_file, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not pane.is_loading(), timeout=TIMEOUT_MS)
    saved = cv2.imread(str(out))
    x, y = np.round(shared.preds[6, 0, :2]).astype(int)
    color = pane.exports._colors_bgr()[0]
    assert np.abs(saved[y, x].astype(int) - np.array(color)).max() < 40  # keypoint 0 drawn in its colour


def test_export_clip_of_a_frame_range(
    qtbot: QtBot, pane: VideoReviewPane, shared: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_core.video.reader import probe_video

    open_all(qtbot, pane, shared)
    pane.inspect.clip_start.setValue(5)
    pane.inspect.clip_stop.setValue(14)
    out = tmp_path / "clip.mp4"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *args: out)
    qtbot.mouseClick(pane.inspect.export_clip_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: out.is_file() and not pane.is_loading() and not pane.state.is_busy, timeout=TIMEOUT_MS)
    assert probe_video(out).n_frames == 10


# ---------------------------------------------------------------------------------- labelled frames


def test_labelled_frames_sorted_by_error_and_click_opens_the_frame(
    qtbot: QtBot, pane: VideoReviewPane, shared: Setup
) -> None:
    open_all(qtbot, pane, shared)
    pane.tabs.setCurrentWidget(pane.labeled)
    view = pane.labeled
    qtbot.waitUntil(lambda: view.errors is not None and view.current_row >= 0, timeout=TIMEOUT_MS)
    n = shared.project.labels.n_frames
    assert view.table.rowCount() == n
    assert view.table.item(0, 0).text() == shared.project.labels.image_paths[n - 1]  # largest offset = worst
    assert float(view.table.item(0, 2).text()) == pytest.approx(12.0, abs=0.01)
    qtbot.waitUntil(
        lambda: view.current_row == n - 1 and "mean error 12.0 px" in view.frame_label.text(), timeout=TIMEOUT_MS
    )
    view.table.cellClicked.emit(3, 0)
    row = int(view.table.item(3, 0).data(Qt.ItemDataRole.UserRole))
    qtbot.waitUntil(lambda: shared.project.labels.image_paths[row] in view.frame_label.text(), timeout=TIMEOUT_MS)
    assert len(view.view.error_item.getData()[0]) > 0  # error vectors drawn
    view.split_combo.setCurrentText("test")
    assert view.table.rowCount() == len([i for i in range(n) if i % 3 == 0])
    scatter = next(item for item in view.error_plot.listDataItems() if hasattr(item, "points"))
    point = scatter.points()[0]
    scatter.sigClicked.emit(scatter, [point], None)
    qtbot.waitUntil(lambda: view.current_row == int(point.data()), timeout=TIMEOUT_MS)


def test_labelled_frames_without_predictions_csv_say_so(qtbot: QtBot, pane: VideoReviewPane, shared: Setup) -> None:
    run_dir, _ = make_run(shared.project, "12-00-00", shared.video, shared.n_frames)
    (run_dir / "predictions.csv").unlink()
    pane.state.set_project(shared.project)
    pane.state.set_run_dir(run_dir)
    qtbot.waitUntil(lambda: "has no predictions.csv" in pane.labeled.message.text(), timeout=TIMEOUT_MS)
    assert pane.labeled.table.rowCount() == 0


# ---------------------------------------------------------------------------------- bad input


def test_undecodable_video_is_reported_and_a_good_one_still_opens(
    qtbot: QtBot, pane: VideoReviewPane, shared: Setup, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00garbage" * 500)
    pane.state.set_project(shared.project)
    pane.state.set_video(bad)
    qtbot.waitUntil(lambda: "Cannot show this video" in visible_text(pane.video_message), timeout=TIMEOUT_MS)
    assert str(bad) in pane.video_message.text()
    assert not pane.nav.isEnabled()
    pane.state.set_run_dir(shared.run_dir)
    pane.state.set_video(shared.video)
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.shown_frame_idx == 0, timeout=TIMEOUT_MS)
    assert not pane.video_message.isVisible()


@pytest.mark.parametrize("problem", ["rows", "keypoints", "truncated", "missing"])
def test_bad_predictions_are_reported_and_the_video_still_plays(
    qtbot: QtBot, pane: VideoReviewPane, shared: Setup, problem: str
) -> None:
    run_dir, preds = make_run(shared.project, f"bad-{problem}", shared.video, shared.n_frames)
    path = run_dir / "video_preds" / f"{shared.video.stem}.csv"
    names, n_frames = shared.project.keypoint_names, shared.n_frames
    expected = {
        "rows": "rows but the video has",
        "keypoints": "but the project has",
        "truncated": "truncated",
        "missing": "has no predictions for",
    }[problem]
    if problem == "rows":
        write_predictions_csv(path, names, preds[:-5], list(range(n_frames - 5)))
    elif problem == "keypoints":
        write_predictions_csv(path, [f"{n}_x" for n in names], preds, list(range(n_frames)))
    elif problem == "truncated":
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: len(text) * 2 // 3].rstrip("\n").rsplit(",", 3)[0], encoding="utf-8")
    else:
        path.unlink()
    pane.state.set_project(shared.project)
    pane.state.set_run_dir(run_dir)
    pane.state.set_video(shared.video)
    qtbot.waitUntil(lambda: expected in visible_text(pane.preds_message), timeout=TIMEOUT_MS)
    if problem != "missing":
        assert str(path) in pane.preds_message.text()
    assert pane.predictions is None
    go_to(qtbot, pane, 8)  # the video itself still works
    assert len(pane.view.shown_points) == 0


def test_video_deleted_while_open(qtbot: QtBot, pane: VideoReviewPane, shared: Setup, tmp_path: Path) -> None:
    video = Path(shutil.copy(shared.video, tmp_path / shared.video.name))  # same stem: the run's predictions fit
    pane.state.set_project(shared.project)
    pane.state.set_run_dir(shared.run_dir)
    pane.state.set_video(video)
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.shown_frame_idx == 0, timeout=TIMEOUT_MS)
    video.unlink()
    pane.state.set_frame_idx(25)
    qtbot.waitUntil(lambda: "deleted or moved" in visible_text(pane.video_message), timeout=TIMEOUT_MS)
    assert str(video) in pane.video_message.text()
    pane.inspect.threshold_slider.setValue(30)  # the rest keeps working
    assert pane.state.likelihood_threshold == pytest.approx(0.3)
    go_to(qtbot, pane, 0)  # frames decoded before are still shown


FAKE_PREDICT = """
import json, sys, time
from pathlib import Path
events = Path(sys.argv[sys.argv.index("--events") + 1])
for done in range(0, 1000, 10):
    if (events.parent / "STOP").exists():
        with events.open("a") as f:
            f.write(json.dumps({"event": "stopped", "time": time.time(), "job": "predict"}) + "\\n")
        sys.exit(130)
    with events.open("a") as f:
        f.write(json.dumps({"event": "progress", "time": time.time(), "job": "predict", "stage": "predict",
                            "frames_done": done, "n_frames": 1000, "frames_per_s": 50.0}) + "\\n")
    time.sleep(0.05)
"""


def test_predict_job_reports_progress_and_cancels(qtbot: QtBot, shared: Setup) -> None:
    import sys

    from pose_gui.workers.predict_job import PredictJob

    run_dir, _ = make_run(shared.project, "13-00-00", shared.video, shared.n_frames)
    events = run_dir / "video_preds" / "predict_events.jsonl"
    events.write_text('{"event": "progress", "frames_done": 999, "n_frames": 1000}\n', encoding="utf-8")  # old job
    command = [sys.executable, "-c", FAKE_PREDICT, "--events", str(events)]
    job = PredictJob(run_dir, shared.video, command=command)
    progress: list[tuple[int, int]] = []
    job.progressed.connect(lambda done, total, _text: progress.append((done, total)))
    job.start()
    qtbot.waitUntil(lambda: len(progress) >= 2, timeout=TIMEOUT_MS)
    assert (999, 1000) not in progress and all(total == 1000 for _, total in progress)
    with qtbot.waitSignal(job.ended, timeout=TIMEOUT_MS) as blocker:
        job.cancel()
    ok, message, output = blocker.args
    assert not ok and "cancelled" in message and output is None
    assert not (events.parent / "STOP").exists()


@pytest.mark.slow
def test_predict_job_failure_is_shown_in_the_pane(
    qtbot: QtBot, pane: VideoReviewPane, example_project: Path, dialog_log: DialogLog
) -> None:
    setup = build_setup(example_project)
    checkpoint = setup.run_dir / "tb_logs" / "test" / "version_0" / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"not a checkpoint")  # Predict is offered (the run has a model file) and then fails
    open_all(qtbot, pane, setup)
    dialog_log.confirm_answer = True  # "Replace the predictions?": this run already predicted the video
    qtbot.mouseClick(pane.sources.predict_button, Qt.MouseButton.LeftButton)
    assert [title for title, _ in dialog_log.questions] == ["Replace the predictions?"]
    assert pane.state.is_busy and pane.sources.cancel_button.isVisibleTo(pane)
    qtbot.waitUntil(lambda: not pane.state.is_busy, timeout=60_000)
    assert "Prediction of" in pane.preds_message.text() and "failed" in pane.preds_message.text()
    assert pane.sources.predict_button.isEnabled()


def test_pca_error_flags_a_deformed_pose_that_neither_likelihood_nor_jumps_catch(tmp_path: Path) -> None:
    from pose_core.pca import fit_pca
    from pose_gui.models.predictions import PROBLEM_PCA, find_problems, pca_error_px

    rng = np.random.default_rng(0)
    shape = np.array([[0.0, 0.0], [30.0, 0.0], [30.0, 20.0], [0.0, 20.0]])
    xy = 100 + shape[None] + np.cumsum(rng.normal(0, 0.3, (200, 1, 2)), axis=0)  # rigid random walk
    fit_pca(xy, "singleview", [[0, 1, 2, 3]], 2).save(tmp_path / "pca_singleview.npz")
    xy[120, 2] += 12.0  # one keypoint off the body, less than a jump
    preds = np.concatenate([xy, np.full((200, 4, 1), 0.99)], axis=2)
    problems = find_problems(preds, threshold=0.9, jump_px=20.0, pca=pca_error_px(tmp_path, xy))
    assert np.flatnonzero(problems.flags).tolist() == [120]
    assert problems.flags[120] == PROBLEM_PCA and "PCA error" in problems.describe(120)
    assert problems.next_problem(0, 1) == 120 and problems.next_problem(120, 1) is None
    assert pca_error_px(tmp_path / "no-run", xy) is None


def test_predictions_are_read_again_when_the_csv_changes(tmp_path: Path) -> None:
    from pose_gui.models.predictions import cache_dir, load_video_predictions

    path = tmp_path / "video.csv"
    preds = synthetic_preds(30, 3)
    write_predictions_csv(path, ["a", "b", "c"], preds, list(range(30)))
    first = load_video_predictions(path, 30, ["a", "b", "c"])
    assert len(list(cache_dir().glob("*.npz"))) == 1  # a binary copy for the next opening
    np.testing.assert_allclose(load_video_predictions(path, 30).xy_lik, first.xy_lik)
    write_predictions_csv(path, ["a", "b", "c"], preds + 1.0, list(range(30)))  # predicted again
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    np.testing.assert_allclose(load_video_predictions(path, 30).xy_lik[:, :, :2], preds[:, :, :2] + 1.0, atol=1e-3)
    with pytest.raises(DataError, match="has 30 rows but the video has 31 frames"):
        load_video_predictions(path, 31)
