"""Opening a Lightning Pose model folder: its curves in the Training pane, its predictions in the Review pane.

The model folder is written as Lightning Pose leaves it (config, Lightning's tensorboard file with
LP's tags, ``predictions.csv``, ``video_preds/<video>.csv``; no ``events.jsonl``), once inside the
example project's ``outputs/`` and once elsewhere with its data missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import yaml
from pytestqt.qtbot import QtBot

from pose_core.data.labels import read_labels
from pose_core.io.predictions import write_predictions_csv
from pose_core.project import Project
from pose_gui import dialogs
from pose_gui.main_window import MainWindow
from pose_gui.models.state import AppState
from pose_gui.views.training_parts import tree_items

if TYPE_CHECKING:
    from conftest import DialogLog

VAL_LOSS = [0.9, 0.5, 0.6]
RUN_NAME = "2024-05-01/10-00-00"


def write_tensorboard(folder: Path, scalars: list[tuple[str, float, int]]) -> None:
    """A tensorboard event file with these scalars (tensorboard's own writer: no torch in the GUI tests)."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for tag, value, step in scalars:
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
        writer.add_event(Event(wall_time=1_700_000_000.0 + step, step=step, summary=summary))
    writer.close()


def write_lp_model_dir(run_dir: Path, project: Project | None, data_dir: Path, model_type: str = "heatmap") -> Path:
    """An LP model folder: config, 3 epochs of tensorboard scalars, predictions of the project's frames and video."""
    names = project.keypoint_names if project is not None else ["nose", "tail"]
    config = {
        "data": {"data_dir": str(data_dir), "video_dir": "videos", "csv_file": "CollectedData.csv",
                 "image_resize_dims": {"height": 64, "width": 64}, "keypoint_names": names},
        "model": {"model_type": model_type, "backbone": "resnet18", "model_name": "lp"},
        "training": {"max_epochs": 3},
    }  # fmt: skip
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    scalars = []  # (tag, value, step) as Lightning writes LP's: LR at each epoch's start, validation at its end
    for epoch, val in enumerate(VAL_LOSS):
        scalars.append(("lr-Adam/upsampling", 1e-3, 4 * epoch))
        for step in (4 * epoch + 2, 4 * epoch + 4):
            scalars += [("train_supervised_loss", 2.0 / step, step), ("epoch", float(epoch), step)]
        scalars += [("val_supervised_loss", val, 4 * epoch + 4), ("val_supervised_rmse", 10 * val, 4 * epoch + 4)]
    write_tensorboard(run_dir / "tb_logs" / "lp" / "version_0", scalars)
    if project is not None:
        labels = read_labels(project.csv_paths[0])
        preds = np.concatenate([labels.keypoints_px + 1.0, np.ones((*labels.keypoints_px.shape[:2], 1))], axis=2)
        split = ["train"] * (labels.n_frames - 2) + ["test", "test"]
        write_predictions_csv(run_dir / "predictions.csv", names, preds, labels.image_paths, split)
        video = project.videos[0]
        rows = np.tile(np.array([[20.0, 30.0, 0.95]]), (30, len(names), 1))
        write_predictions_csv(run_dir / "video_preds" / f"{video.stem}.csv", names, rows, range(30))
    return run_dir


@pytest.fixture
def window(qtbot: QtBot) -> MainWindow:
    win = MainWindow(AppState(), remember=False)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    yield win
    win.shutdown()


def test_model_folder_in_a_project_shows_its_curves_and_predictions(
    qtbot: QtBot, window: MainWindow, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.open(example_project)
    lp_dir = write_lp_model_dir(example_project / "outputs" / "2024-05-01" / "10-00-00", project, example_project)
    monkeypatch.setattr(dialogs, "ask_directory", lambda *_args: lp_dir)
    window.actions_by_id["file.open_model_folder"].trigger()
    qtbot.waitUntil(lambda: window.state.run_dir == lp_dir and not window.is_loading(), timeout=30_000)
    assert window.state.project is not None and window.state.project.root == example_project
    assert window.current_pane_name() == "training"
    training = window.pane("training")
    qtbot.waitUntil(lambda: len(tree_items(training.history_tree)) == 1 and not training.is_loading(), timeout=30_000)
    assert tree_items(training.history_tree)[0].text(0) == RUN_NAME
    assert tree_items(training.history_tree)[0].text(1) == "finished · Lightning Pose"
    assert not training.resume_button.isEnabled()  # PoseDesk does not resume a Lightning Pose run
    xs, ys = training.plots.curve_points(RUN_NAME, "val_supervised_loss")
    assert (xs, ys) == ([4.0, 8.0, 12.0], pytest.approx(VAL_LOSS))
    training.x_axis_combo.setCurrentIndex(1)  # per epoch
    assert training.plots.curve_points(RUN_NAME, "val_supervised_rmse") == ([0.0, 1.0, 2.0], pytest.approx([9, 5, 6]))
    assert training.plots.curve_points(RUN_NAME, "learning_rate")[1] == pytest.approx([1e-3] * 3)

    window.show_pane("review")
    review = window.pane("review")
    qtbot.waitUntil(lambda: review.predictions is not None and not review.is_loading(), timeout=30_000)
    combo = review.sources.run_combo
    assert combo.currentData() == str(lp_dir) and RUN_NAME in combo.currentText()
    assert review.predictions.path == lp_dir / "video_preds" / f"{project.videos[0].stem}.csv"
    assert review.predictions.n_frames == 30 and review.predictions.frame(7)[0].tolist() == pytest.approx(
        [20, 30, 0.95]
    )


def test_model_folder_elsewhere_says_what_is_missing_and_still_shows_curves(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, dialog_log: DialogLog
) -> None:
    lp_dir = write_lp_model_dir(tmp_path / "laptop" / "10-00-00", None, tmp_path / "cluster-only", "heatmap_mhcrnn")
    window.handle_dropped_paths([lp_dir])  # a dropped model folder opens like File > Open Model Folder
    qtbot.waitUntil(lambda: bool(dialog_log.warnings) and not window.is_loading(), timeout=30_000)
    ((title, problems),) = dialog_log.take_warnings()
    assert "Lightning Pose model laptop/10-00-00" in title
    text = "\n".join(str(p) for p in problems)
    assert "data.data_dir" in text and "not on this machine" in text and "data.video_dir" in text
    assert "cannot run its checkpoint: model type heatmap_mhcrnn is not supported; supported:" in text
    assert window.state.project is None and window.state.run_dir == lp_dir
    training = window.pane("training")
    qtbot.waitUntil(lambda: training.plots.curve_count() > 0 and not training.is_loading(), timeout=30_000)
    assert training.plots.curve_points("laptop/10-00-00", "val_supervised_loss")[1] == pytest.approx(VAL_LOSS)


def test_a_folder_that_is_no_model_folder_is_refused(
    qtbot: QtBot, window: MainWindow, example_project: Path, dialog_log: DialogLog
) -> None:
    window.open_model_folder(example_project)
    qtbot.waitUntil(lambda: bool(dialog_log.errors) and not window.is_loading(), timeout=30_000)
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot open the model folder" and "is not a Lightning Pose model folder" in str(error)
    assert window.state.project is None
