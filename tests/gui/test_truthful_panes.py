"""Issue 15: the panes tell the truth (no stale state across runs and projects, no silent surprises).

Each test drives the real widgets and names the issue item it covers.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from pose_core.events import Event, EventWriter
from pose_core.io.predictions import write_predictions_csv
from pose_core.project import Project
from pose_gui import dialogs
from pose_gui.main_window import MainWindow
from pose_gui.models.loss_history import LossHistory
from pose_gui.models.state import AppState
from pose_gui.views import config_editor
from pose_gui.views.config_editor import ConfigEditorPane
from pose_gui.views.loss_plots import LossPlots
from pose_gui.views.project_view import ProjectView
from pose_gui.views.training_monitor import SAVE_AND_TRAIN, TRAIN_SAVED, TrainingMonitorPane, phase_text
from pose_gui.views.training_parts import tree_items
from pose_gui.views.video_review import SKELETON_FILENAME, VideoReviewPane
from pose_gui.workers.predict_job import progress_text
from tests.gui.conftest import DialogLog
from tests.gui.test_training_monitor import fake_child, write_run
from tests.gui.test_video_review import make_run, synthetic_preds

TIMEOUT_MS = 20_000


@pytest.fixture
def review(qtbot: QtBot) -> Iterator[VideoReviewPane]:
    pane = VideoReviewPane(AppState())
    pane.resize(1200, 800)
    qtbot.addWidget(pane)
    pane.show()
    yield pane
    pane.shutdown()


@pytest.fixture
def training(qtbot: QtBot, example_project: Path) -> Iterator[TrainingMonitorPane]:
    state = AppState()
    state.set_project(Project.open(example_project))
    state.error_reported.connect(lambda error, title: dialogs.show_error(None, error, title))
    pane = TrainingMonitorPane(state)
    pane.resize(1280, 700)
    qtbot.addWidget(pane)
    pane.show()
    yield pane
    pane.shutdown()


def n_frames_of(video: Path) -> int:
    from pose_core.video.reader import probe_video

    return probe_video(video).n_frames


def add_checkpoint(run_dir: Path) -> None:
    ckpt = run_dir / "tb_logs" / "posedesk" / "version_0" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(b"presence only")


def set_status(run_dir: Path, status: str) -> None:
    (run_dir / "summary.json").write_text(json.dumps({"status": status}), encoding="utf-8")


# ----------------------------------------------------------------------------- 1, 2: Review follows runs and projects


def test_1_predictions_written_after_training_appear_without_choosing_the_run_again(
    qtbot: QtBot, review: VideoReviewPane, example_project: Path
) -> None:
    project = Project.open(example_project)
    video = project.videos[0]
    run_dir = example_project / "outputs" / "2026-01-01" / "10-00-00"
    run_dir.mkdir(parents=True)
    set_status(run_dir, "running")
    review.state.set_project(project)
    review.state.set_run_dir(run_dir)
    review.state.set_video(video)
    qtbot.waitUntil(lambda: "click Predict video" in review.preds_message.text(), timeout=TIMEOUT_MS)
    n_frames = n_frames_of(video)  # the run ends: its video predictions are written, runs_changed is announced
    preds = synthetic_preds(n_frames, len(project.keypoint_names))
    (run_dir / "video_preds").mkdir()
    write_predictions_csv(run_dir / "video_preds" / f"{video.stem}.csv", project.keypoint_names, preds,
                          list(range(n_frames)))  # fmt: skip
    review.state.runs_changed.emit()
    qtbot.waitUntil(lambda: review.predictions is not None and not review.preds_message.isVisible(), timeout=TIMEOUT_MS)


def test_2_another_project_clears_the_labelled_frames_image_and_the_compare_run(
    qtbot: QtBot, review: VideoReviewPane, example_project: Path, tmp_path: Path
) -> None:
    first = Project.open(example_project)
    video = first.videos[0]
    run_dir, _ = make_run(first, "10-00-00", video, n_frames_of(video))
    other_run, _ = make_run(first, "11-00-00", video, n_frames_of(video), seed=1)
    review.state.set_project(first)
    review.state.set_run_dir(run_dir)
    review.state.set_video(video)
    review.tabs.setCurrentWidget(review.labeled)
    qtbot.waitUntil(lambda: review.labeled.current_row >= 0 and review.labeled.view.image_item.image is not None,
                    timeout=TIMEOUT_MS)  # fmt: skip
    qtbot.waitUntil(lambda: review.sources.compare_combo.findData(str(other_run)) >= 0, timeout=TIMEOUT_MS)
    index = review.sources.compare_combo.findData(str(other_run))
    review.sources.compare_combo.setCurrentIndex(index)
    review.sources.compare_combo.activated.emit(index)
    qtbot.waitUntil(lambda: review.session.compare is not None, timeout=TIMEOUT_MS)
    second_root = Path(shutil.copytree(example_project, tmp_path / "second-project", symlinks=True))
    shutil.rmtree(second_root / "outputs")
    review.state.set_project(Project.open(second_root))
    assert review.labeled.view.image_item.image is None and review.labeled.frame_label.text() == ""
    assert review.labeled.table.rowCount() == 0
    assert review.session.compare_run is None and review.session.compare is None
    qtbot.waitUntil(lambda: not review.is_loading(), timeout=TIMEOUT_MS)
    assert review.sources.compare_combo.currentData() in ("", None)
    assert review.labeled.view.image_item.image is None  # nothing of the first project arrived late


# ----------------------------------------------------------------------------- 3: the Project pane follows runs


def test_3_project_pane_follows_a_run_started_and_killed_in_the_training_pane(
    qtbot: QtBot, example_project: Path, dialog_log: DialogLog
) -> None:
    state = AppState()
    state.set_project(Project.open(example_project))
    host = QWidget()
    qtbot.addWidget(host)
    project_pane = ProjectView(state, host)
    training = TrainingMonitorPane(state, host)
    training.session.command_factory = fake_child(
        "import json, os, time\nRUN_DIR.mkdir(parents=True)\n"
        "f = (RUN_DIR / 'events.jsonl').open('a')\n"
        "f.write(json.dumps({'event': 'started', 'time': time.time(), 'pid': os.getpid(), 'max_epochs': 3}) + '\\n')\n"
        "f.flush()\ntime.sleep(60)"
    )
    try:
        qtbot.mouseClick(training.train_button, Qt.MouseButton.LeftButton)
        model = project_pane.page.runs_model
        qtbot.waitUntil(lambda: model.rowCount() == 1 and model.run_at(0).status == "running", timeout=TIMEOUT_MS)
        dialog_log.confirm_answer = True
        qtbot.mouseClick(training.kill_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: model.rowCount() == 1 and model.run_at(0).status == "killed", timeout=TIMEOUT_MS)
    finally:
        training.shutdown()
        project_pane.shutdown()


# ----------------------------------------------------------------------------- 4: plots' hover readout


def test_4_hover_names_each_values_own_step_and_is_cleared_for_other_runs(qtbot: QtBot) -> None:
    events = [Event("started", 0.0, {"max_epochs": 2, "steps_per_epoch": 4})]
    for step in range(1, 9):
        events.append(Event("progress", float(step), {"epoch": (step - 1) // 4, "step": (step - 1) % 4 + 1,
                                                        "global_step": step,
                                                        "metrics": {"train_supervised_loss": 1.0 / step}}))  # fmt: skip
        if step % 4 == 0:
            events.append(Event("epoch_end", float(step), {"epoch": step // 4 - 1, "global_step": step,
                                                           "metrics": {"val_supervised_loss": 0.5}}))  # fmt: skip
    plots = LossPlots()
    qtbot.addWidget(plots)
    shown: list[str] = []
    plots.on_hover = shown.append
    plots.set_runs([("a", LossHistory(events))])
    plots._show_hover("loss", 3.1)
    assert plots.hover_text.startswith("step 3: ")
    assert "train_supervised_loss = 0.3333" in plots.hover_text
    assert "val_supervised_loss = 0.5 (step 4)" in plots.hover_text  # not "step 4" for the training value
    plots.set_runs([("b", LossHistory(events))])
    assert plots.hover_text == "" and shown[-1] == ""


# ----------------------------------------------------------------------------- 5: Train with unsaved config edits


def test_5_train_with_unsaved_config_edits_asks_and_save_and_train_saves_first(
    qtbot: QtBot, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_gui.widgets.config_fields import NumberEditor

    monkeypatch.setattr(config_editor, "CHECK_DELAY_MS", 10)
    answers: list[str | None] = [None, SAVE_AND_TRAIN]
    asked: list[str] = []

    def ask_choice(_parent: object, title: str, _question: str, choices: list[str]) -> str | None:
        asked.append(title)
        assert choices == [SAVE_AND_TRAIN, TRAIN_SAVED]
        return answers.pop(0)

    monkeypatch.setattr(dialogs, "ask_choice", ask_choice)
    state = AppState()
    state.set_project(Project.open(example_project))
    host = QWidget()
    qtbot.addWidget(host)
    config = ConfigEditorPane(state, host)
    training = TrainingMonitorPane(state, host)
    training.session.command_factory = fake_child("print('trained', flush=True)")
    try:
        qtbot.waitUntil(lambda: not config.is_checking(), timeout=TIMEOUT_MS)
        config.field_editor("training.max_epochs").spin.setValue(7)  # type: ignore[union-attr]
        assert isinstance(config.field_editor("training.max_epochs"), NumberEditor)
        qtbot.waitUntil(lambda: state.config_has_unsaved_edits and config.is_valid(), timeout=TIMEOUT_MS)
        qtbot.mouseClick(training.train_button, Qt.MouseButton.LeftButton)  # Cancel: nothing happens
        assert asked == ["Unsaved config edits"] and training.session.job is None and not training.session.is_busy()
        qtbot.mouseClick(training.train_button, Qt.MouseButton.LeftButton)  # Save and train
        assert "max_epochs: 7" in (example_project / "config.yaml").read_text(encoding="utf-8")
        assert not state.config_has_unsaved_edits
        qtbot.waitUntil(lambda: training.session.job is not None and not training.session.is_busy(), timeout=30_000)
    finally:
        training.shutdown()
        config.close()


# ----------------------------------------------------------------------------- 6: exports go outside videos/


def test_6_export_clip_defaults_to_the_projects_exports_folder(
    qtbot: QtBot, review: VideoReviewPane, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.open(example_project)
    video = project.videos[0]
    run_dir, _ = make_run(project, "10-00-00", video, n_frames_of(video))
    review.state.set_project(project)
    review.state.set_run_dir(run_dir)
    review.state.set_video(video)
    qtbot.waitUntil(lambda: review.predictions is not None, timeout=TIMEOUT_MS)
    suggested: list[Path] = []
    monkeypatch.setattr(dialogs, "ask_save_path", lambda _p, _t, path, _f: suggested.append(path))
    qtbot.mouseClick(review.inspect.export_clip_button, Qt.MouseButton.LeftButton)
    assert suggested and suggested[0].parent == example_project / "exports"
    assert project.video_dir not in suggested[0].parents


# ----------------------------------------------------------------------------- 7: Resume


def test_7_resume_needs_a_checkpoint_and_offers_the_configured_epochs_first(
    qtbot: QtBot, training: TrainingMonitorPane, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_ckpt = write_run(example_project, "10-00-00", [0.9], status="stopped", checkpoint=False, max_epochs=20)
    stopped = write_run(example_project, "11-00-00", [0.9, 0.7], status="stopped", max_epochs=20)
    training.refresh_history()
    qtbot.waitUntil(
        lambda: len(tree_items(training.history_tree)) == 2 and not training.is_loading(), timeout=TIMEOUT_MS
    )
    training.state.set_run_dir(no_ckpt)
    assert not training.resume_button.isEnabled() and "no checkpoint" in training.resume_button.toolTip()
    training.state.set_run_dir(stopped)
    assert training.resume_button.isEnabled()
    assert training.resume_target.currentText() == "to the configured 20 epochs"
    assert not training.resume_epochs.isVisible()
    launched: list[int] = []
    monkeypatch.setattr(
        "pose_gui.sessions.training.resume_command",
        lambda run_dir, max_epochs: launched.append(max_epochs) or [sys.executable, "-c", "pass"],
    )
    qtbot.mouseClick(training.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: training.session.job is not None and not training.session.is_busy(), timeout=30_000)
    assert launched == [20]
    training.resume_target.setCurrentIndex(training.resume_target.findData("more"))
    assert training.resume_epochs.isVisible()
    training.resume_epochs.setValue(1)
    assert training.resume_epochs.suffix() == " epoch"  # not "+1 epochs"


def _write_interrupted_run(project: Path, name: str, end: str | None) -> Path:
    """A run that completed epoch 1 of 3 and was interrupted at step 1/4 of epoch 2 (``end``: stopped, or None = killed)."""
    run_dir = write_run(project, name, [0.9], status="finished", max_epochs=3)
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()[:-1]  # no "finished"
    (run_dir / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    writer = EventWriter(run_dir / "events.jsonl")
    writer.emit("progress", epoch=1, step=1, steps_per_epoch=4, global_step=5, metrics={})
    if end is not None:
        writer.emit(end, epoch=1, global_step=5)
    writer.close()
    return run_dir


def test_7_resume_tooltip_says_what_happens_to_an_interrupted_epoch(
    qtbot: QtBot, training: TrainingMonitorPane, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pose_core.runs.status.process_alive", lambda _pid, _t: False)  # the killed run's pid is gone
    stopped = _write_interrupted_run(example_project, "10-00-00", "stopped")
    killed = _write_interrupted_run(example_project, "11-00-00", None)
    training.refresh_history()
    qtbot.waitUntil(
        lambda: len(tree_items(training.history_tree)) == 2 and not training.is_loading(), timeout=TIMEOUT_MS
    )
    training.state.set_run_dir(stopped)
    tip = training.resume_button.toolTip()
    assert training.resume_button.isEnabled()
    assert "epoch 2 at step 1/4" in tip and "trains the remaining 3 steps of that epoch" in tip
    assert "not trained again" not in tip
    training.state.set_run_dir(killed)
    tip = training.resume_button.toolTip()
    assert training.resume_button.isEnabled() and "killed in epoch 2" in tip and "epoch 2 again from its start" in tip


# ----------------------------------------------------------------------------- 8: Review defaults


def test_8_review_defaults_and_the_threshold_that_hides_everything_says_so(
    qtbot: QtBot, review: VideoReviewPane, example_project: Path
) -> None:
    project = Project.open(example_project)
    video = project.videos[0]
    finished, _ = make_run(project, "10-00-00", video, n_frames_of(video))
    set_status(finished, "finished")
    add_checkpoint(finished)
    killed, _ = make_run(project, "11-00-00", video, n_frames_of(video), seed=1)
    set_status(killed, "killed")
    review.hide()
    review.state.set_project(project)
    qtbot.waitUntil(lambda: len(review.session.runs) == 2, timeout=TIMEOUT_MS)
    review.show()
    qtbot.waitUntil(lambda: review.state.run_dir == finished, timeout=TIMEOUT_MS)  # not the newer, killed run
    qtbot.waitUntil(lambda: review.predictions is not None and review.shown_frame_idx == 0, timeout=TIMEOUT_MS)
    assert review.sources.predict_button.isEnabled()
    review.state.set_likelihood_threshold(0.99)  # every keypoint has 0.95
    qtbot.waitUntil(lambda: "below the likelihood threshold 0.99" in review.inspect.frame_problem_label.text(),
                    timeout=TIMEOUT_MS)  # fmt: skip
    n = len(project.keypoint_names)
    label = review.inspect.frame_problem_label
    assert f"All {n} keypoints" in label.text()
    assert label.heightForWidth(label.width()) <= label.height()  # the whole message is shown, not cut off
    review.state.set_run_dir(killed)  # no checkpoint: nothing to predict with
    assert not review.sources.predict_button.isEnabled()
    names = project.keypoint_names
    review.inspect.skeleton_edit.setText(f"{names[0]}-{names[1]}")
    review.inspect.skeleton_edit.editingFinished.emit()
    assert (example_project / SKELETON_FILENAME).read_text(encoding="utf-8").strip() == f"{names[0]}-{names[1]}"
    again = VideoReviewPane(AppState())
    qtbot.addWidget(again)
    again.state.set_project(Project.open(example_project))
    assert again.inspect.skeleton_pairs() == [(0, 1)]
    again.shutdown()


# ----------------------------------------------------------------------------- 9: re-predicting asks


def test_9_predicting_a_video_again_asks_before_replacing_its_predictions(
    qtbot: QtBot, review: VideoReviewPane, example_project: Path, dialog_log: DialogLog
) -> None:
    project = Project.open(example_project)
    video = project.videos[0]
    run_dir, _ = make_run(project, "10-00-00", video, n_frames_of(video))
    add_checkpoint(run_dir)
    review.state.set_project(project)
    review.state.set_run_dir(run_dir)
    review.state.set_video(video)
    qtbot.waitUntil(lambda: review.predictions is not None and not review.is_loading(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(review.sources.predict_button.isEnabled, timeout=TIMEOUT_MS)
    dialog_log.confirm_answer = False
    qtbot.mouseClick(review.sources.predict_button, Qt.MouseButton.LeftButton)
    assert dialog_log.questions and dialog_log.questions[-1][0] == "Replace the predictions?"
    assert review.session.predict_job is None and not review.state.is_busy


def test_9_prediction_progress_says_frames_rate_and_eta() -> None:
    assert progress_text("predict", 100, 1000, 90.0) == "Predicting 100/1000 frames · 90 frames/s · ETA 0:10"
    assert progress_text("predict", 0, 1000, 0.0) == "Predicting 0/1000 frames · — frames/s · ETA —"


# ----------------------------------------------------------------------------- 11: feedback


def test_11_messages_are_said_once() -> None:
    assert phase_text("first_batch", "Preparing the first batch") == "Preparing the first batch"
    assert phase_text("stopping", "Stopping after the current step, then saving a checkpoint…") == (
        "Stopping after the current step, then saving a checkpoint…"
    )
    assert phase_text("loading_data", "Reading 20 labelled frames") == "Loading data: Reading 20 labelled frames"


def test_11_a_video_skipped_after_training_is_shown_in_the_training_pane(
    qtbot: QtBot, training: TrainingMonitorPane
) -> None:
    training.session.command_factory = fake_child(
        "import json, time\nRUN_DIR.mkdir(parents=True)\nf = (RUN_DIR / 'events.jsonl').open('a')\n"
        "def emit(kind, **data):\n    f.write(json.dumps({'event': kind, 'time': time.time(), **data}) + '\\n')\n"
        "    f.flush()\n"
        "emit('started', max_epochs=1)\n"
        "emit('phase', phase='predicting_videos', message='Skipping broken.mp4: cannot decode frame 0')\n"
        "emit('finished', summary={})\n"
    )
    qtbot.mouseClick(training.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: training.session.job is not None and not training.session.is_busy(), timeout=30_000)
    assert training.video_warning.isVisible() and "Skipping broken.mp4" in training.video_warning.text()


def test_11_buttons_have_glyphs_and_the_history_fits(qtbot: QtBot, training: TrainingMonitorPane) -> None:
    from pose_gui.views.review.navigation import NavigationBar

    nav = NavigationBar()
    qtbot.addWidget(nav)
    assert not nav.play_button.icon().isNull()
    nav.play_button.setChecked(True)
    assert nav.play_button.text() == "Pause" and not nav.play_button.icon().isNull()
    assert not training.train_button.icon().isNull() and not training.stop_button.icon().isNull()


# ----------------------------------------------------------------------------- 12: help


def test_12_help_lists_every_declared_shortcut_and_the_guide_names_the_panes(
    qtbot: QtBot, example_project: Path
) -> None:
    from PySide6.QtGui import QKeySequence, QShortcut

    window = MainWindow(AppState(), remember=False)
    qtbot.addWidget(window)
    try:
        window.actions_by_id["help.shortcuts"].trigger()
        page = window.help_pages["shortcuts"]
        text = page.browser.toPlainText()
        review = window.pane("review")
        assert review is not None
        for shortcut in review.findChildren(QShortcut):
            assert shortcut.whatsThis() and shortcut.whatsThis() in text
            assert shortcut.key().toString(QKeySequence.SequenceFormat.NativeText) in text
        assert "Play / pause" in text and "Next problem frame" in text and "Open Project…" in text
        window.actions_by_id["help.user_guide"].trigger()
        guide = window.help_pages["guide"].browser.toPlainText()
        assert all(spec.title in guide for spec in window.pane_specs())
        assert "Label" in guide and "Train" in guide and "Review" in guide and "Fix" in guide
    finally:
        window.shutdown()


def test_12_a_project_without_runs_says_what_to_do_next(qtbot: QtBot, example_project: Path) -> None:
    state = AppState()
    state.set_project(Project.open(example_project))
    view = ProjectView(state)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: not view.is_loading(), timeout=TIMEOUT_MS)
    assert view.page.runs_hint.isVisible()
    assert "press Train in the Training pane" in view.page.runs_hint.text()
    view.shutdown()


# ----------------------------------------------------------------------------- 10: the config form


def _config_pane(qtbot: QtBot, example_project: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigEditorPane:
    monkeypatch.setattr(config_editor, "CHECK_DELAY_MS", 10)
    monkeypatch.setattr(config_editor, "YAML_APPLY_DELAY_MS", 30)
    state = AppState()
    state.set_project(Project.open(example_project))
    pane = ConfigEditorPane(state)
    qtbot.addWidget(pane)
    pane.resize(1100, 800)
    pane.show()
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)
    return pane


def _type_into(qtbot: QtBot, spin: object, text: str) -> None:
    spin.setFocus()  # type: ignore[attr-defined]
    spin.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Tab)


def test_10_a_value_typed_out_of_range_stays_as_typed_and_is_explained(
    qtbot: QtBot, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pane = _config_pane(qtbot, example_project, monkeypatch)
    tabs_top = pane.tabs.mapTo(pane, pane.tabs.rect().topLeft()).y()
    assert pane.problems.count() == 1 and pane.problems.item(0).text() == config_editor.NO_PROBLEMS_TEXT
    prob = pane.field_editor("training.train_prob")
    _type_into(qtbot, prob.spin, "1.5")  # type: ignore[union-attr]
    qtbot.waitUntil(
        lambda: pane.problems.item(0).text() != config_editor.NO_PROBLEMS_TEXT and not pane.is_checking(),
        timeout=TIMEOUT_MS,
    )
    problems = [pane.problems.item(i).text() for i in range(pane.problems.count())]
    assert any("training.train_prob=1.5 is out of range" in text for text in problems), problems
    assert prob.spin.value() == 1.5  # type: ignore[union-attr]
    assert "train_prob: 1.5" in pane.yaml_edit.toPlainText()
    assert pane.tabs.mapTo(pane, pane.tabs.rect().topLeft()).y() == tabs_top  # the form did not jump
    epochs = pane.field_editor("training.max_epochs")
    _type_into(qtbot, epochs.spin, "-5")  # type: ignore[union-attr]
    qtbot.waitUntil(
        lambda: any("training.max_epochs=-5 is out of range" in pane.problems.item(i).text()
                    for i in range(pane.problems.count())), timeout=TIMEOUT_MS,
    )  # fmt: skip
    assert epochs.spin.value() == -5  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)


def test_10_the_preset_box_says_which_preset_the_config_matches(
    qtbot: QtBot, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_core.config.presets import PRESETS, apply_preset

    pane = _config_pane(qtbot, example_project, monkeypatch)
    assert pane.preset_match.text() in ("(no preset matches)",) or pane.preset_match.text().startswith(
        "(config matches"
    )
    doc = pane.document
    assert doc is not None
    preset = PRESETS[-1]
    pane.yaml_edit.setPlainText(doc.text_for(apply_preset(doc.data, preset)))
    qtbot.waitUntil(lambda: pane.preset_match.text() == f"(config matches {preset.name})", timeout=TIMEOUT_MS)
    assert pane.preset_combo.currentText() == preset.name

    # an edit that leaves the preset: the box no longer shows it, and there is nothing to apply yet
    _type_into(qtbot, pane.field_editor("training.max_epochs").spin, "997")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: pane.preset_match.text() == "(no preset matches)", timeout=TIMEOUT_MS)
    assert pane.preset_combo.currentIndex() == -1 and pane.preset_combo.currentText() == ""
    assert not pane.preset_button.isEnabled()

    # a preset the user picks stays picked while they edit, ready to apply
    pane.preset_combo.setFocus()
    qtbot.keyClick(pane.preset_combo, Qt.Key.Key_Down)
    assert pane.preset_combo.currentText() == PRESETS[0].name and pane.preset_button.isEnabled()
    _type_into(qtbot, pane.field_editor("training.max_epochs").spin, "998")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)
    assert pane.preset_combo.currentText() == PRESETS[0].name and pane.preset_button.isEnabled()
    qtbot.waitUntil(lambda: not pane.is_checking(), timeout=TIMEOUT_MS)
