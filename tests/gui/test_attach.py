"""Attach to run and Export job in the Training pane: follow a run another process writes, read-only.

The "other machine" is the test itself appending to ``events.jsonl`` (and ``train.log``) of a run
folder, as a training on a shared filesystem does; the stale timeout is shrunk to a second.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pose_core.errors import DataError
from pose_core.events import EventWriter
from pose_core.project import Project
from pose_gui import dialogs
from pose_gui.main_window import MainWindow
from pose_gui.models.state import AppState
from pose_gui.views.training_monitor import TrainingMonitorPane
from pose_gui.views.training_parts import tree_items
from pose_gui.workers.attach import AttachedRun

if TYPE_CHECKING:
    from conftest import DialogLog

RUN_NAME = "2024-02-02/12-00-00"


@pytest.fixture
def pane(qtbot: QtBot, example_project: Path) -> Iterator[TrainingMonitorPane]:
    state = AppState()
    state.set_project(Project.open(example_project))
    state.error_reported.connect(lambda error, title: dialogs.show_error(None, error, title))  # as the window does
    widget = TrainingMonitorPane(state)
    widget.cluster.stale_timeout_s = 1.0
    widget.resize(1200, 760)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: not widget.is_loading(), timeout=20_000)
    yield widget
    widget.shutdown()


class RemoteRun:
    """A run folder written 'elsewhere': events and log lines appended on demand."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.writer = EventWriter(run_dir / "events.jsonl")
        self.step = 0

    def start(self, max_epochs: int = 5) -> None:
        self.writer.emit("started", pid=999_999, job="train", max_epochs=max_epochs, start_epoch=0, steps_per_epoch=2)
        self.log("Run directory: elsewhere\n")

    def epoch(self, epoch: int, val_loss: float) -> None:
        self.step += 2
        self.writer.emit("progress", epoch=epoch, step=2, steps_per_epoch=2, global_step=self.step,
                         images_per_s=12.5, eta_s=30.0, metrics={"train_supervised_loss": val_loss * 1.5})  # fmt: skip
        self.writer.emit("epoch_end", epoch=epoch, global_step=self.step, metrics={"val_supervised_loss": val_loss})

    def log(self, text: str) -> None:
        with (self.run_dir / "train.log").open("a", encoding="utf-8") as fh:
            fh.write(text)


@pytest.fixture
def remote(example_project: Path) -> Iterator[RemoteRun]:
    run = RemoteRun(example_project / "outputs" / RUN_NAME)
    yield run
    run.writer.close()


def attach(qtbot: QtBot, pane: TrainingMonitorPane, run_dir: Path) -> AttachedRun:
    assert pane.cluster.attach_run(run_dir)
    qtbot.waitUntil(lambda: isinstance(pane.session.job, AttachedRun), timeout=10_000)
    assert isinstance(pane.session.job, AttachedRun)
    return pane.session.job


def val_losses(pane: TrainingMonitorPane) -> list[float]:
    return pane.plots.curve_points(RUN_NAME, "val_supervised_loss")[1]


def test_attached_run_curves_progress_and_log_follow_the_files(
    qtbot: QtBot, pane: TrainingMonitorPane, remote: RemoteRun
) -> None:
    remote.start()
    remote.epoch(0, 0.9)
    run = attach(qtbot, pane, remote.run_dir)
    pane.x_axis_combo.setCurrentIndex(1)
    assert val_losses(pane) == [0.9]  # what was there before attaching
    assert "Epoch 1/5" in pane.progress_bar.format() and "12.5 images/s" in pane.progress_bar.format()
    assert "Attached to" in pane.attach_banner.text() and pane.attach_button.text() == "Detach"
    assert not pane.kill_button.isEnabled() and "not possible" in pane.kill_button.toolTip()
    assert pane.stop_button.isEnabled() and not pane.train_button.isEnabled()
    assert not pane.state.is_busy  # quitting does not ask: the run goes on elsewhere
    remote.epoch(1, 0.5)
    remote.log("epoch 1 done\n")
    qtbot.waitUntil(lambda: val_losses(pane) == [0.9, 0.5], timeout=5_000)
    qtbot.waitUntil(lambda: "epoch 1 done" in pane.log_view.toPlainText(), timeout=5_000)
    assert "Run directory: elsewhere" in pane.log_view.toPlainText()
    assert "Epoch 2/5" in pane.progress_bar.format()
    assert pane.start_training() is False and "detach" in pane.status_label.text()
    remote.writer.emit("finished", epoch=1, global_step=remote.step)
    qtbot.waitUntil(lambda: run.status == "finished", timeout=5_000)
    assert "finished" in pane.phase_label.text() and not pane.attach_banner.isVisible()
    assert pane.attach_button.text() == "Attach to run…" and pane.train_button.isEnabled()


def test_a_silent_run_is_stale_then_recovers_when_the_files_grow(
    qtbot: QtBot, pane: TrainingMonitorPane, remote: RemoteRun
) -> None:
    remote.start()
    remote.epoch(0, 0.9)
    run = attach(qtbot, pane, remote.run_dir)
    qtbot.waitUntil(lambda: run.is_stale, timeout=10_000)
    text = pane.attach_banner.text()
    assert f"No progress from {remote.run_dir} for" in text and "the other machine may have stopped" in text
    assert "last event at" in text and pane.phase_label.text() == "No progress"
    assert run.is_running() and pane.stop_button.isEnabled()  # stale is not ended: it may come back
    remote.epoch(1, 0.5)
    qtbot.waitUntil(lambda: not run.is_stale, timeout=5_000)
    assert "No progress" not in pane.attach_banner.text() and pane.attach_banner.isVisible()
    qtbot.waitUntil(lambda: run.is_stale, timeout=10_000)  # silent again
    remote.log("still loading a big video...\n")  # the log growing is progress too
    qtbot.waitUntil(lambda: not run.is_stale, timeout=5_000)
    pane.attach_button.click()  # Detach
    assert run.status == "detached" and pane.attach_button.text() == "Attach to run…"


def test_a_run_folder_that_vanishes_is_reported(qtbot: QtBot, pane: TrainingMonitorPane, remote: RemoteRun) -> None:
    remote.start()
    run = attach(qtbot, pane, remote.run_dir)
    remote.writer.close()
    shutil.rmtree(remote.run_dir)
    qtbot.waitUntil(lambda: run.status == "vanished", timeout=5_000)
    assert pane.failure_box.isVisible() and "vanished" in pane.failure_title.text()
    assert not pane.session.is_busy() and pane.train_button.isEnabled()


def test_stop_asks_then_writes_the_stop_file(
    qtbot: QtBot, pane: TrainingMonitorPane, remote: RemoteRun, dialog_log: DialogLog
) -> None:
    remote.start()
    run = attach(qtbot, pane, remote.run_dir)
    dialog_log.confirm_answer = False
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    assert dialog_log.questions[-1][0] == "Stop the attached run?" and "STOP" in dialog_log.questions[-1][1]
    assert not (remote.run_dir / "STOP").exists()
    dialog_log.confirm_answer = True
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    assert (remote.run_dir / "STOP").is_file() and run.stop_requested and not pane.stop_button.isEnabled()
    remote.writer.emit("stopped", epoch=0, global_step=2)
    qtbot.waitUntil(lambda: run.status == "stopped", timeout=5_000)


def test_a_job_that_dies_before_its_first_event_shows_its_error(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path, dialog_log: DialogLog
) -> None:
    run_dir = example_project / "outputs" / "2024-02-02" / "13-00-00"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("data: {}\n")
    run = attach(qtbot, pane, run_dir)
    assert "Waiting for the run to start" in pane.phase_label.text()
    pane.refresh_history()
    qtbot.waitUntil(lambda: len(tree_items(pane.history_tree)) == 1 and not pane.is_loading(), timeout=20_000)
    assert tree_items(pane.history_tree)[0].text(1) == "waiting"  # not "running": it has not started
    dialog_log.confirm_answer = True
    pane.stop_training()  # a queued job: STOP would be deleted by its start
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot stop the run" and "scancel" in str(error)
    qtbot.wait(1500)
    assert run.is_running() and not run.is_stale  # waiting for a queued job is not stale
    (run_dir / "slurm-42.out").write_text("pose-train: error: data.data_dir=/x does not exist; give the folder.\n")
    qtbot.waitUntil(lambda: run.status == "failed", timeout=5_000)
    assert "data.data_dir=/x does not exist" in pane.failure_title.text()


def test_attaching_to_a_folder_that_is_no_run_is_refused(
    qtbot: QtBot, pane: TrainingMonitorPane, tmp_path: Path, dialog_log: DialogLog
) -> None:
    pane.cluster.attach_run(tmp_path)
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=10_000)
    ((title, error),) = dialog_log.take_errors()
    assert title == "Cannot attach to the run" and isinstance(error, DataError) and "not a run folder" in str(error)
    assert pane.session.job is None and pane.train_button.isEnabled()


def test_export_dialog_previews_writes_and_attaches(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    dialog = pane.cluster.open_export_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.files is not None, timeout=20_000)
    assert "srun" in dialog.previews["job.sbatch"].toPlainText()
    assert "set -euo pipefail" in dialog.previews["train.sh"].toPlainText()
    dialog.time_edit.setText("soon")
    assert "not a SLURM time" in dialog.error_label.text() and not dialog.export_button.isEnabled()
    dialog.time_edit.setText("02:00:00")
    dialog.partition_edit.setText("gpu")
    dialog.remap_edit.setPlainText(f"{example_project}=/cluster/mouse")
    sbatch = dialog.previews["job.sbatch"].toPlainText()
    assert "#SBATCH --time=02:00:00" in sbatch and "#SBATCH --partition=gpu" in sbatch
    assert "data_dir: /cluster/mouse" in dialog.previews["config.yaml"].toPlainText()
    dest = example_project / "outputs" / "2024-03-03" / "09-00-00"
    dialog.dest_edit.setText(str(dest))
    dialog.overrides_edit.setText("training.accelerator=gpu")
    dialog.overrides_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: "#SBATCH --gres=gpu:1" in dialog.previews["job.sbatch"].toPlainText(), timeout=20_000)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    # written at once, or as soon as the config check the click's focus change started has ended
    qtbot.waitUntil(lambda: (dest / "train.sh").is_file() and pane.cluster.export_dialog is None, timeout=20_000)
    assert (dest / "job.sbatch").is_file()
    qtbot.waitUntil(
        lambda: isinstance(pane.session.job, AttachedRun) and pane.session.job.run_dir == dest, timeout=10_000
    )
    assert pane.cluster.export_dialog is None


def test_file_menu_attach_asks_for_the_folder(
    qtbot: QtBot, example_project: Path, remote: RemoteRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.start()
    window = MainWindow(AppState(), remember=False)
    qtbot.addWidget(window)
    window.state.set_project(Project.open(example_project))
    monkeypatch.setattr(dialogs, "ask_directory", lambda parent, title, start=None: remote.run_dir)
    window.actions_by_id["file.attach_run"].trigger()
    pane = window.pane("training")
    assert isinstance(pane, TrainingMonitorPane) and window.current_pane_name() == "training"
    qtbot.waitUntil(lambda: isinstance(pane.session.job, AttachedRun), timeout=10_000)
    assert window.actions_by_id["file.export_job"].isEnabled()
    assert window.close()  # no question: nothing of ours runs


def test_export_right_after_typing_overrides_uses_them(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    dialog = pane.cluster.open_export_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.files is not None, timeout=20_000)
    dest = example_project / "outputs" / "2024-03-03" / "10-00-00"
    dialog.dest_edit.setText(str(dest))
    dialog.attach_check.setChecked(False)
    dialog.overrides_edit.setText("training.max_epochs=30")  # typed, then Export at once
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not (dest / "config.yaml").exists()  # not with the config checked before the override
    qtbot.waitUntil(lambda: (dest / "config.yaml").is_file(), timeout=20_000)
    assert "max_epochs: 30" in (dest / "config.yaml").read_text()
    qtbot.waitUntil(lambda: pane.cluster.export_dialog is None, timeout=5_000)  # closed
