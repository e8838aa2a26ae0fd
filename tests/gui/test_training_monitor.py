"""Training pane: Train / Stop / Kill / Resume, live curves, failures, history replay and overlay, quitting.

The fast tests inject a small child process (``command_factory``) where the behaviour under test is
the pane's, not the trainer's; the ``slow`` tests run real short trainings of the tiny example
project (64x128 input, 2 epochs).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from pose_core.errors import ConfigError
from pose_core.events import EventWriter
from pose_core.project import Project
from pose_gui import dialogs
from pose_gui.main_window import MainWindow
from pose_gui.models.state import AppState
from pose_gui.views.training_monitor import TrainingMonitorPane
from pose_gui.views.training_parts import tree_items

if TYPE_CHECKING:
    from conftest import DialogLog

TINY = {
    "data.image_resize_dims": {"height": 64, "width": 128},
    "training.max_epochs": 2,
    "training.train_prob": 0.7,
    "training.imgaug": "none",
    "eval.predict_vids_after_training": False,
}


def write_tiny_config(project: Path, **training: object) -> None:
    """Make the project's saved config train in seconds (and apply extra ``training`` keys)."""
    path = project / "config.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg["data"]["image_resize_dims"] = {"height": 64, "width": 128}
    cfg.setdefault("training", {}).update({"max_epochs": 2, "train_prob": 0.7, "imgaug": "none", **training})
    cfg.setdefault("eval", {})["predict_vids_after_training"] = False
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")


@pytest.fixture
def pane(qtbot: QtBot, example_project: Path) -> Iterator[TrainingMonitorPane]:
    state = AppState()
    state.set_project(Project.open(example_project))
    state.error_reported.connect(lambda error, title: dialogs.show_error(None, error, title))  # as the window does
    widget = TrainingMonitorPane(state)
    widget.resize(1200, 760)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: not widget.is_loading(), timeout=20_000)
    yield widget
    widget.shutdown()


EMIT_CHILD = (
    "import json, time\nRUN_DIR.mkdir(parents=True)\n"
    "f = (RUN_DIR / 'events.jsonl').open('a')\n"
    "def emit(**d):\n    f.write(json.dumps({'time': time.time(), **d}) + '\\n'); f.flush(); time.sleep(0.3)\n"
)
"""The start of a fake child: its run folder, and ``emit(event=..., ...)`` writing one event a 0.3 s."""


def fake_child(code: str) -> object:
    """A ``command_factory`` running ``code`` (``RUN_DIR`` is the run directory as a Path)."""

    def factory(_root: Path, run_dir: Path) -> list[str]:
        return [sys.executable, "-c", f"from pathlib import Path\nRUN_DIR = Path({str(run_dir)!r})\n{code}"]

    return factory


def wait_ended(qtbot: QtBot, pane: TrainingMonitorPane, timeout_ms: int = 30_000) -> str:
    qtbot.waitUntil(lambda: pane.session.job is not None and not pane.session.is_busy(), timeout=timeout_ms)
    assert pane.session.job is not None
    return pane.session.job.status


def write_run(
    project: Path,
    name: str,
    val_losses: list[float],
    status: str = "finished",
    *,
    checkpoint: bool = True,
    max_epochs: int | None = None,
) -> Path:
    """A run folder with the events a finished run writes (for replay tests), with a last.ckpt unless told not to."""
    run_dir = project / "outputs" / "2024-01-01" / name
    writer = EventWriter(run_dir / "events.jsonl")
    max_epochs = len(val_losses) if max_epochs is None else max_epochs
    writer.emit("started", pid=1, job="train", max_epochs=max_epochs, start_epoch=0, steps_per_epoch=2)
    for epoch, val in enumerate(val_losses):
        writer.emit("progress", epoch=epoch, step=2, steps_per_epoch=2, global_step=2 * epoch + 2,
                    metrics={"train_supervised_loss": val * 1.5})  # fmt: skip
        metrics = {"train_supervised_loss": val * 1.2, "val_supervised_loss": val, "learning_rate": 1e-3}
        writer.emit("epoch_end", epoch=epoch, global_step=2 * epoch + 2, metrics=metrics)
    if status == "failed":
        writer.emit("failed", error="RuntimeError: out of memory", traceback="Traceback (most recent call last):\n  x")
    else:
        writer.emit(status, epoch=len(val_losses) - 1, global_step=2 * len(val_losses))
    writer.close()
    if checkpoint and val_losses:
        ckpt = run_dir / "tb_logs" / "posedesk" / "version_0" / "checkpoints" / "last.ckpt"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        ckpt.write_bytes(b"not a real checkpoint: only its presence is read here")
    return run_dir


# ----------------------------------------------------------------------------- bad input (fast)


def test_invalid_config_is_refused_before_launch(
    qtbot: QtBot, pane: TrainingMonitorPane, dialog_log: DialogLog, example_project: Path
) -> None:
    path = example_project / "config.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg["training"] = {"max_epochs": -5}
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=20_000)
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot start training"
    assert isinstance(error, ConfigError) and "max_epochs" in str(error)
    assert pane.session.job is None and not (example_project / "outputs").exists()
    assert pane.train_button.isEnabled() and not pane.state.is_busy


def test_child_that_dies_without_a_word_shows_exit_code_and_log(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    pane.session.command_factory = fake_child("print('importing torch', flush=True)\nimport sys\nsys.exit(3)")
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None, timeout=20_000)
    assert pane.state.is_busy
    assert wait_ended(qtbot, pane) == "failed"
    assert pane.failure_box.isVisible()
    assert "exit code 3" in pane.failure_title.text()
    assert "importing torch" in pane.failure_text.toPlainText()
    qtbot.mouseClick(pane.copy_button, Qt.MouseButton.LeftButton)
    assert "Exit code: 3" in QGuiApplication.clipboard().text()
    assert not pane.state.is_busy and pane.train_button.isEnabled()


def test_second_train_click_is_refused_and_kill_asks_first(
    qtbot: QtBot, pane: TrainingMonitorPane, dialog_log: DialogLog
) -> None:
    pane.session.command_factory = fake_child("import time\nprint('training', flush=True)\ntime.sleep(60)")
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None and pane.session.job.process.is_running(), timeout=20_000)
    first = pane.session.job
    assert not pane.train_button.isEnabled()
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)  # disabled: nothing happens
    assert pane.start_training() is False  # e.g. from a shortcut: refused with a reason
    assert "already going" in pane.status_label.text()
    assert pane.session.job is first and len(pane.state.busy_jobs) == 1
    dialog_log.confirm_answer = False
    qtbot.mouseClick(pane.kill_button, Qt.MouseButton.LeftButton)
    assert dialog_log.questions and dialog_log.questions[-1][0] == "Kill training?"
    assert first.process.is_running()
    dialog_log.confirm_answer = True
    qtbot.mouseClick(pane.kill_button, Qt.MouseButton.LeftButton)
    assert wait_ended(qtbot, pane) == "killed"
    assert "killed" in pane.phase_label.text() and pane.train_button.isEnabled()


def test_garbled_event_lines_are_skipped_and_curves_still_move(qtbot: QtBot, pane: TrainingMonitorPane) -> None:
    code = EMIT_CHILD + (
        "emit(event='started', pid=0, max_epochs=3, start_epoch=0, steps_per_epoch=1)\n"
        "for e in range(3):\n"
        "    emit(event='progress', epoch=e, step=1, steps_per_epoch=1, global_step=e + 1, images_per_s=9.5,"
        " eta_s=3.0, metrics={'train_supervised_loss': 1.0 / (e + 1)})\n"
        '    f.write(\'{"event": "epoch_end", "epo\\n\'); f.flush()\n'
        "    emit(event='epoch_end', epoch=e, metrics={'val_supervised_loss': 2.0 / (e + 1)})\n"
        "emit(event='finished', epoch=2, global_step=3)\n"
    )
    pane.session.command_factory = fake_child(code)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None and pane.session.job.n_skipped_lines > 0, timeout=20_000)
    assert "Epoch" in pane.progress_bar.format() and "images/s" in pane.progress_bar.format()
    assert wait_ended(qtbot, pane) == "finished"
    assert pane.progress_bar.format() == "Finished at epoch 3/3"  # no rate or ETA once it has ended
    assert pane.session.job is not None and pane.session.job.n_skipped_lines == 3
    assert "3 garbled line(s)" in pane.status_label.text()
    run_name = f"{pane.session.job.run_dir.parent.name}/{pane.session.job.run_dir.name}"
    assert pane.plots.curve_points(run_name, "train_supervised_loss") == ([1.0, 2.0, 3.0], [1.0, 0.5, 1 / 3])
    pane.x_axis_combo.setCurrentIndex(1)
    assert pane.plots.curve_points(run_name, "val_supervised_loss")[1] == [2.0, 1.0, 2 / 3]
    assert (pane.session.job.run_dir / "train.log").is_file()


def test_the_running_runs_history_row_follows_its_epochs_and_losses(qtbot: QtBot, pane: TrainingMonitorPane) -> None:
    code = EMIT_CHILD + (
        "emit(event='started', pid=0, max_epochs=3, start_epoch=0, steps_per_epoch=1)\n"
        "for e in range(2):\n"
        "    emit(event='progress', epoch=e, step=1, steps_per_epoch=1, global_step=e + 1,"
        " metrics={'train_supervised_loss': 4.0 / (e + 1)})\n"
        "    emit(event='epoch_end', epoch=e,"
        " metrics={'train_supervised_loss': 3.0 / (e + 1), 'val_supervised_loss': 2.0 / (e + 1)})\n"
        "deadline = time.time() + 20\n"
        "while not (RUN_DIR / 'go').exists() and time.time() < deadline:\n    time.sleep(0.05)\n"
        "emit(event='finished', epoch=1, global_step=2)\n"
    )
    pane.session.command_factory = fake_child(code)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None and pane.session.job.run_dir.is_dir(), timeout=20_000)
    assert pane.session.job is not None
    run_dir = pane.session.job.run_dir

    def running_row() -> list[str]:
        item = next((it for it in tree_items(pane.history_tree) if it.text(0).endswith(run_dir.name)), None)
        return [item.text(c) for c in range(7)] if item is not None else []

    qtbot.waitUntil(lambda: running_row()[4:7] == ["2", "1.5", "1"], timeout=20_000)  # epochs, train, val loss
    assert running_row()[1] == "running" and pane.session.is_busy()
    (run_dir / "go").touch()
    assert wait_ended(qtbot, pane) == "finished"


def test_a_killed_run_shows_where_it_ended_not_an_eta(
    qtbot: QtBot, pane: TrainingMonitorPane, dialog_log: DialogLog
) -> None:
    code = (
        "import json, time\nRUN_DIR.mkdir(parents=True)\n"
        "f = (RUN_DIR / 'events.jsonl').open('a')\n"
        "f.write(json.dumps({'event': 'started', 'time': time.time(), 'pid': 0, 'max_epochs': 4, 'start_epoch': 0,"
        " 'steps_per_epoch': 5}) + '\\n')\n"
        "f.write(json.dumps({'event': 'progress', 'time': time.time(), 'epoch': 1, 'step': 3, 'steps_per_epoch': 5,"
        " 'global_step': 8, 'images_per_s': 9.5, 'eta_s': 30.0}) + '\\n')\n"
        "f.flush()\ntime.sleep(60)\n"
    )
    pane.session.command_factory = fake_child(code)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ETA" in pane.progress_bar.format(), timeout=20_000)
    dialog_log.confirm_answer = True
    qtbot.mouseClick(pane.kill_button, Qt.MouseButton.LeftButton)
    assert wait_ended(qtbot, pane) == "killed"
    assert pane.progress_bar.format() == "Killed at epoch 2/4 · step 3/5"


# ----------------------------------------------------------------------------- history


def test_history_lists_runs_replays_one_and_overlays_two(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    first = write_run(example_project, "10-00-00", [0.9, 0.5, 0.3])
    write_run(example_project, "11-00-00", [0.8, 0.6], status="failed")
    pane.refresh_history()
    qtbot.waitUntil(lambda: len(tree_items(pane.history_tree)) == 2 and not pane.is_loading(), timeout=20_000)
    statuses = {tree_items(pane.history_tree)[r].text(0): tree_items(pane.history_tree)[r].text(1) for r in range(2)}
    assert statuses == {"2024-01-01/10-00-00": "finished", "2024-01-01/11-00-00": "failed"}
    row_of_first = next(r for r in range(2) if tree_items(pane.history_tree)[r].text(0).endswith("10-00-00"))
    assert tree_items(pane.history_tree)[row_of_first].text(6) == "0.3"  # best val loss
    tree_items(pane.history_tree)[row_of_first].setSelected(True)
    assert pane.state.run_dir == first
    pane.x_axis_combo.setCurrentIndex(1)
    assert pane.plots.curve_points("2024-01-01/10-00-00", "val_supervised_loss")[1] == [0.9, 0.5, 0.3]
    assert pane.resume_button.isEnabled()
    pane.history_tree.selectAll()
    labels = {label for label, _history in pane.plots.runs}
    assert labels == {"2024-01-01/10-00-00", "2024-01-01/11-00-00"}
    assert pane.plots.curve_points("2024-01-01/11-00-00", "val_supervised_loss")[1] == [0.8, 0.6]
    pane.history_tree.clearSelection()
    tree_items(pane.history_tree)[1 - row_of_first].setSelected(True)  # the failed run shows its traceback
    qtbot.waitUntil(pane.failure_box.isVisible, timeout=5_000)
    assert "out of memory" in pane.failure_title.text()


def test_quit_while_training_asks_and_leaves_no_process(
    qtbot: QtBot, example_project: Path, dialog_log: DialogLog
) -> None:
    window = MainWindow(AppState(), remember=False)
    qtbot.addWidget(window)
    window.state.set_project(Project.open(example_project))
    window.show_pane("training")
    pane = window.pane("training")
    assert isinstance(pane, TrainingMonitorPane)
    pane.session.command_factory = fake_child("import time\ntime.sleep(60)")
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None and pane.session.job.process.is_running(), timeout=20_000)
    dialog_log.confirm_answer = False
    assert not window.close()
    assert pane.session.job is not None and pane.session.job.process.is_running()
    assert "Training run" in dialog_log.questions[-1][1]
    dialog_log.confirm_answer = True
    assert window.close()
    assert not pane.session.job.process.is_running()


# ----------------------------------------------------------------------------- real training (slow)


@pytest.mark.slow
def test_real_training_curves_move_and_the_run_finishes(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    write_tiny_config(example_project)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None and pane.session.job.process.is_running(), timeout=20_000)
    # How responsive the window stays meanwhile is measured by benchmarks/gui_latency_training.py.
    qtbot.waitUntil(lambda: pane.plots.curve_count() > 0, timeout=120_000)
    assert wait_ended(qtbot, pane, 180_000) == "finished"
    assert pane.session.history is not None and pane.session.history.epochs_completed == 2
    run_dir = pane.session.job.run_dir if pane.session.job else Path()
    assert (run_dir / "train.log").read_text(encoding="utf-8").strip()
    qtbot.waitUntil(lambda: len(tree_items(pane.history_tree)) == 1 and not pane.is_loading(), timeout=20_000)
    assert tree_items(pane.history_tree)[0].text(1) == "finished"
    assert tree_items(pane.history_tree)[0].text(6) != "—"  # best validation loss


@pytest.mark.slow
def test_real_training_stop_then_resume_continues_the_curves(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    write_tiny_config(example_project, max_epochs=200)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: pane.session.history is not None and pane.session.history.epochs_completed >= 1, timeout=180_000
    )
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    assert wait_ended(qtbot, pane, 120_000) == "stopped"
    assert pane.session.history is not None
    stopped_epochs = pane.session.history.epochs_completed
    assert 1 <= stopped_epochs < 200
    qtbot.waitUntil(pane.resume_button.isEnabled, timeout=20_000)
    pane.resume_target.setCurrentIndex(pane.resume_target.findData("more"))  # the default is "to the configured 200"
    pane.resume_epochs.setValue(1)
    qtbot.mouseClick(pane.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.is_busy(), timeout=5_000)
    assert wait_ended(qtbot, pane, 180_000) == "finished"
    epochs = pane.session.history.series("train_supervised_loss", per_epoch=True).xs
    assert epochs == [float(e) for e in range(len(epochs))] and len(epochs) >= stopped_epochs + 1


@pytest.mark.slow
def test_real_training_whose_run_folder_vanishes_is_reported(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    import shutil

    write_tiny_config(example_project, max_epochs=200)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: pane.session.history is not None and pane.session.history.first_time is not None, timeout=120_000
    )
    assert pane.session.job is not None
    shutil.rmtree(pane.session.job.run_dir)
    assert wait_ended(qtbot, pane, 30_000) == "failed"
    assert "vanished" in pane.failure_title.text() and pane.train_button.isEnabled()
    assert not pane.state.is_busy


def test_resumed_run_curves_continue_without_doubling_back() -> None:
    from pose_core.events import Event
    from pose_gui.models.loss_history import LossHistory

    def epoch(e: int, loss: float, t: float) -> list[Event]:
        return [
            Event(
                "progress",
                t,
                {"epoch": e, "step": 2, "global_step": 2 * e + 2, "metrics": {"train_supervised_loss": loss}},
            ),
            Event("epoch_end", t, {"epoch": e, "metrics": {"val_supervised_loss": loss}}),
        ]

    events = [Event("started", 100.0, {"start_epoch": 0, "max_epochs": 5})]
    events += epoch(0, 0.9, 110.0) + epoch(1, 0.7, 120.0) + epoch(2, 0.6, 125.0)
    events.append(Event("stopped", 130.0, {}))
    # resumed from the checkpoint saved at the end of epoch 1: epoch 2 is trained again
    events.append(Event("started", 1000.0, {"start_epoch": 2, "max_epochs": 4}))
    events += epoch(2, 0.5, 1010.0) + epoch(3, 0.4, 1020.0)
    events.append(Event("finished", 1030.0, {}))
    history = LossHistory(events)
    assert history.series("val_supervised_loss", per_epoch=True).xs == [0.0, 1.0, 2.0, 3.0]
    assert history.series("val_supervised_loss", per_epoch=True).ys == [0.9, 0.7, 0.5, 0.4]
    assert history.series("train_supervised_loss", per_epoch=False).xs == [2.0, 4.0, 6.0, 8.0]
    assert history.status == "finished" and history.epochs_completed == 4
    assert history.duration_s == pytest.approx(30.0 + 30.0)  # the pause between the segments is not counted
