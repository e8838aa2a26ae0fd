"""The labelling loop in the Training pane: Train ensemble of N, the grouped history, Retrain with new labels, Compare.

The fast tests inject a small child (``command_factory``) that writes what ``pose-train
training.ensemble_seeds=[...]`` writes (one ``<run_dir>-seed<S>`` folder per member, one after
another, the ensemble recorded in each member's ``summary.json``), so the pane's behaviour is tested
without training; the ``slow`` test trains and retrains a real tiny ensemble.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import yaml
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pose_core.errors import ConfigError, DataError
from pose_core.project import Project
from pose_gui.main_window import MainWindow
from pose_gui.models.runs import PATH_ROLE
from pose_gui.models.state import AppState
from pose_gui.views.training_monitor import TrainingMonitorPane
from pose_gui.views.training_parts import tree_items
from pose_gui.workers.ensemble_job import EnsembleTrainingJob
from tests.gui.test_training_monitor import pane as pane  # noqa: F401 - the Training pane fixture
from tests.gui.test_training_monitor import wait_ended, write_run, write_tiny_config

if TYPE_CHECKING:
    from tests.gui.conftest import DialogLog

# A child doing what the core's ensemble loop does: members one after another, each a run folder
# with its events; a member that finds its STOP file stops and no further member is trained.
ENSEMBLE_CHILD = r"""
import json, os, re, sys, time
from pathlib import Path
seeds = [int(s) for s in re.search(r"ensemble_seeds=\[([\d,]+)\]", " ".join(sys.argv)).group(1).split(",")]
members = [RUN_DIR.with_name(f"{RUN_DIR.name}-seed{s}") for s in seeds]
EPOCHS = int(os.environ.get("FAKE_EPOCHS", "3"))
for i, (seed, member) in enumerate(zip(seeds, members)):
    print(f"Ensemble {RUN_DIR.name}: member {i + 1}/{len(seeds)} (seed {seed}) in {member}", flush=True)
    member.mkdir(parents=True)
    f = (member / "events.jsonl").open("a")
    def emit(**d):
        f.write(json.dumps({"time": time.time(), **d}) + "\n"); f.flush()
    epochs = int(os.environ.get("FAKE_FIRST_EPOCHS", EPOCHS)) if i == 0 else EPOCHS
    emit(event="started", pid=os.getpid(), max_epochs=epochs, start_epoch=0, steps_per_epoch=2)
    status = "finished"
    for e in range(epochs):
        for step in (1, 2):
            time.sleep(0.25)
            emit(event="progress", epoch=e, step=step, steps_per_epoch=2, global_step=2 * e + step,
                 images_per_s=5.0, eta_s=1.0, metrics={"train_supervised_loss": 1.0 / (e + 1) + seed})
            if (member / "STOP").exists():
                status = "stopped"
                break
        if status == "stopped":
            break
        emit(event="epoch_end", epoch=e, metrics={"val_supervised_loss": 2.0 / (e + 1) + seed})
        print(f"epoch {e} done", flush=True)
    emit(event=status, epoch=e, global_step=2 * e + 2)
    f.close()
    (member / "summary.json").write_text(json.dumps({"status": status, "ensemble": {
        "id": RUN_DIR.name, "seed": seed, "members": [str(m) for m in members]}}))
    if status != "finished":
        print(f"member {i + 1} {status}; the remaining members are not trained.", flush=True)
        break
"""


def argv_child(code: str) -> object:
    """A ``command_factory`` running ``code`` (``RUN_DIR`` = the base run folder; the overrides follow in argv)."""

    def factory(_root: Path, run_dir: Path) -> list[str]:
        return [sys.executable, "-c", f"from pathlib import Path\nRUN_DIR = Path({str(run_dir)!r})\n{code}"]

    return factory


def write_parent(project: Path, name: str, *, ensemble: tuple[str, int, list[Path]] | None = None) -> Path:
    """A finished run with a checkpoint and the project's config (what init_from needs)."""
    run_dir = write_run(project, name, [0.9, 0.5])
    cfg = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8"))
    cfg["data"]["keypoint_names"] = list(Project.open(project).labels.keypoint_names)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    summary: dict[str, object] = {"status": "finished", "pixel_error": {"test": {"mean_px": 4.0}}}
    if ensemble is not None:
        ensemble_id, seed, members = ensemble
        summary["ensemble"] = {"id": ensemble_id, "seed": seed, "members": [str(m) for m in members]}
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir


def write_child(project: Path, name: str, parent: Path) -> Path:
    """A finished run started from ``parent`` (its config keeps ``training.init_from``)."""
    run_dir = write_parent(project, name)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    cfg.setdefault("training", {})["init_from"] = str(parent)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return run_dir


def write_ensemble(project: Path, base: str, seeds: list[int]) -> list[Path]:
    folder = project / "outputs" / "2024-01-01"
    members = [folder / f"{base}-seed{s}" for s in seeds]
    for seed, member in zip(seeds, members, strict=True):
        write_parent(project, member.name, ensemble=(base, seed, members))
    return members


def run_name(job: EnsembleTrainingJob) -> str:
    """``<date>/<base>`` of an ensemble job (its members are ``<base>-seed<S>``)."""
    first = job.member_dirs[0]
    return f"{first.parent.name}/{first.name.rsplit('-seed', 1)[0]}"


def wait_history(qtbot: QtBot, pane: TrainingMonitorPane, n_rows: int) -> None:
    pane.refresh_history()
    qtbot.waitUntil(lambda: len(tree_items(pane.history_tree)) == n_rows and not pane.is_loading(), timeout=20_000)


def top_texts(pane: TrainingMonitorPane, column: int = 0) -> list[str]:
    tree = pane.history_tree
    return [tree.topLevelItem(i).text(column) for i in range(tree.topLevelItemCount())]  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- 1: Train ensemble of N


def test_train_ensemble_of_3_follows_each_member_and_groups_them(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    pane.session.command_factory = argv_child(ENSEMBLE_CHILD)
    pane.ensemble_spin.setValue(3)
    assert pane.train_button.text() == "Train ensemble of 3"
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(pane.session.job, EnsembleTrainingJob), timeout=20_000)
    job = pane.session.job
    assert isinstance(job, EnsembleTrainingJob) and "training.ensemble_seeds=[0,1,2]" in job.command
    qtbot.waitUntil(lambda: "Member 2 of 3" in pane.progress_bar.format(), timeout=30_000)
    assert "member 2 of 3" in pane.phase_label.text()
    assert pane.state.run_dir == job.member_dirs[1]  # the member training now is the run shown
    assert wait_ended(qtbot, pane) == "finished"
    assert job.member_index == 2 and not job.process.is_running()
    assert "Ensemble finished: all 3 members trained" in pane.phase_label.text()
    name = f"{job.member_dirs[2].parent.name}/{job.member_dirs[2].name}"
    assert pane.plots.curve_points(name, "train_supervised_loss")[1][0] == pytest.approx(3.0)  # member 3's own curve
    assert (job.member_dirs[1] / "train.log").read_text(encoding="utf-8").strip()  # each member has its log
    wait_history(qtbot, pane, 4)
    base = job.member_dirs[0].name.removesuffix("-seed0")
    assert top_texts(pane) == [f"ensemble {job.member_dirs[0].parent.name}/{base} (3 runs)"]
    assert top_texts(pane, 1) == ["3 finished"]
    group = pane.history_tree.topLevelItem(0)
    assert group is not None and group.isExpanded()
    assert [group.child(i).text(0).rsplit("-", 1)[-1] for i in range(3)] == ["seed0", "seed1", "seed2"]  # type: ignore[union-attr]
    group.setSelected(True)  # the ensemble's row overlays its members
    assert len(pane.plots.runs) == 3


def test_the_ensemble_rows_duration_follows_the_member_training_now(
    qtbot: QtBot, pane: TrainingMonitorPane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EPOCHS", "8")  # 4 s a member
    pane.session.command_factory = argv_child(ENSEMBLE_CHILD)
    pane.ensemble_spin.setValue(2)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Member 2 of 2" in pane.progress_bar.format(), timeout=30_000)

    def seconds(text: str) -> int:
        minutes, secs = text.split(":")
        return 60 * int(minutes) + int(secs)

    def durations() -> tuple[int, int, int]:
        group = pane.history_tree.topLevelItem(0)
        if group is None or group.childCount() < 2:
            return (0, 0, 0)
        return seconds(group.text(3)), seconds(group.child(0).text(3)), seconds(group.child(1).text(3))  # type: ignore[union-attr]

    qtbot.waitUntil(lambda: durations()[2] >= 2, timeout=20_000)  # member 2 has trained a while, not refreshed
    total_s, first_s, second_s = durations()
    assert first_s >= 3 and total_s >= first_s + second_s - 1  # the group's row sums both, the live one included
    assert wait_ended(qtbot, pane) == "finished"


def test_stop_ends_the_whole_ensemble_and_no_process_is_left(
    qtbot: QtBot, pane: TrainingMonitorPane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EPOCHS", "40")
    monkeypatch.setenv("FAKE_FIRST_EPOCHS", "1")
    pane.session.command_factory = argv_child(ENSEMBLE_CHILD)
    pane.ensemble_spin.setValue(3)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Member 2 of 3" in pane.progress_bar.format(), timeout=30_000)
    job = pane.session.job
    assert isinstance(job, EnsembleTrainingJob)
    qtbot.waitUntil(lambda: top_texts(pane)[:1] == [f"ensemble {run_name(job)} (2 of 3 runs)"], timeout=10_000)
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    assert wait_ended(qtbot, pane) == "stopped"
    assert not job.process.is_running()
    assert not job.member_dirs[2].exists()  # the third member never started
    assert json.loads((job.member_dirs[1] / "summary.json").read_text())["status"] == "stopped"
    assert "stopped at member 2 of 3" in pane.phase_label.text()
    assert pane.train_button.isEnabled() and not pane.state.is_busy


def test_stop_between_two_members_ends_the_child_at_once(qtbot: QtBot, pane: TrainingMonitorPane) -> None:
    # member 1 finishes, then the child takes its time before member 2 writes anything (loading data)
    code = ENSEMBLE_CHILD.replace(
        "    member.mkdir(parents=True)\n", "    time.sleep(0 if i == 0 else 60)\n    member.mkdir(parents=True)\n"
    )
    pane.session.command_factory = argv_child(code)
    pane.ensemble_spin.setValue(2)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "member 2 of 2 (seed 1): starting" in pane.phase_label.text().lower(), timeout=30_000)
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    assert wait_ended(qtbot, pane, 10_000) == "stopped"
    job = pane.session.job
    assert isinstance(job, EnsembleTrainingJob) and not job.process.is_running()
    assert not job.member_dirs[1].exists()


# ----------------------------------------------------------------------------- 2: history and Project pane


def test_history_and_project_pane_group_ensembles_and_name_parents(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    members = write_ensemble(example_project, "09-00-00", [0, 1, 2])
    write_child(example_project, "12-00-00", members[0])
    (example_project / "outputs" / "2024-01-01" / "09-00-00-seed1" / "summary.json").unlink()  # e.g. killed
    wait_history(qtbot, pane, 5)
    assert top_texts(pane) == ["2024-01-01/12-00-00", "ensemble 2024-01-01/09-00-00 (3 runs)"]
    assert top_texts(pane, 8) == ["from 09-00-00-seed0", ""]
    from pose_gui.views.project_view import ProjectView

    view = ProjectView(pane.state)
    qtbot.addWidget(view)
    try:
        model = view.page.runs_view.model()
        qtbot.waitUntil(lambda: len(view.page.runs_model.runs()) == 4 and not view.is_loading(), timeout=20_000)
        rows = {model.index(r, 0).data(): model.index(r, 0) for r in range(model.rowCount())}
        assert set(rows) == {"2024-01-01/12-00-00", "ensemble 2024-01-01/09-00-00 (3 runs)"}
        group = rows["ensemble 2024-01-01/09-00-00 (3 runs)"]
        assert model.rowCount(group) == 3 and view.page.runs_view.isExpanded(group)
        children = {model.index(r, 0, group).data(PATH_ROLE) for r in range(3)}
        assert children == {str(m) for m in members}
        child = rows["2024-01-01/12-00-00"]
        assert model.index(child.row(), 6).data() == "from 09-00-00-seed0"
        assert (
            "3 training runs" not in view.page.summary_label.text()
            and "4 training runs" in view.page.summary_label.text()
        )
        member = model.index(1, 0, group)
        with qtbot.waitSignal(pane.state.run_open_requested) as opened:
            view.page.runs_view.doubleClicked.emit(member)  # a member opens in the Training pane
        assert opened.args == [Path(member.data(PATH_ROLE))]
    finally:
        view.shutdown()


# ----------------------------------------------------------------------------- 3: Retrain with new labels


def test_retrain_from_the_newest_finished_run_passes_init_from(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    write_parent(example_project, "08-00-00")
    newest = write_parent(example_project, "09-00-00")
    write_run(example_project, "10-00-00", [0.9], status="failed")  # newer, but not finished
    wait_history(qtbot, pane, 3)
    pane.session.command_factory = argv_child("import sys")
    qtbot.mouseClick(pane.retrain_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None, timeout=20_000)
    job = pane.session.job
    assert job is not None and not isinstance(job, EnsembleTrainingJob)
    assert f"training.init_from={newest}" in job.command and "training.ensemble_seeds=null" in job.command
    wait_ended(qtbot, pane)


def test_retrain_an_ensemble_trains_a_new_ensemble_with_its_seeds(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    members = write_ensemble(example_project, "09-00-00", [3, 5])
    wait_history(qtbot, pane, 3)
    pane.history_tree.topLevelItem(0).setSelected(True)  # type: ignore[union-attr]  # the ensemble's row
    pane.session.command_factory = argv_child("import sys")
    qtbot.mouseClick(pane.retrain_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.session.job is not None, timeout=20_000)
    job = pane.session.job
    assert isinstance(job, EnsembleTrainingJob) and job.seeds == [3, 5]
    assert "training.ensemble_seeds=[3,5]" in job.command and f"training.init_from={members[0]}" in job.command
    wait_ended(qtbot, pane)


def test_retrain_bad_inputs_get_one_dialog_and_start_nothing(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path, dialog_log: DialogLog
) -> None:
    outputs = example_project / "outputs" / "2024-01-01"

    def retrain_refused(expected_error: type[Exception], words: str) -> str:
        before = sorted(p.name for p in outputs.iterdir()) if outputs.is_dir() else []
        qtbot.mouseClick(pane.retrain_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(dialog_log.errors) and not pane.session.is_busy(), timeout=20_000)
        ((title, error),) = dialog_log.take_errors()
        assert title == "Cannot retrain" and isinstance(error, expected_error) and words in str(error), error
        assert pane.session.job is None
        assert (sorted(p.name for p in outputs.iterdir()) if outputs.is_dir() else []) == before
        return str(error)

    retrain_refused(DataError, "no finished run")  # nothing trained yet
    other = write_parent(example_project, "08-00-00")
    cfg = yaml.safe_load((other / "config.yaml").read_text(encoding="utf-8"))
    cfg["data"]["keypoint_names"] = ["nose", *cfg["data"]["keypoint_names"][1:]]
    cfg["model"]["backbone"] = "resnet50"
    (other / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    wait_history(qtbot, pane, 1)
    message = retrain_refused(ConfigError, "resnet50")
    assert "keypoints differ (new here: " in message and "only in the parent: nose" in message
    running = write_run(example_project, "09-00-00", [0.9])
    lines = (running / "events.jsonl").read_text(encoding="utf-8").splitlines()[:-1]  # no end: still training
    (running / "events.jsonl").write_text("\n".join(lines).replace('"pid": 1', f'"pid": {os.getpid()}') + "\n")
    wait_history(qtbot, pane, 2)
    tree_items(pane.history_tree)[0].setSelected(True)
    assert tree_items(pane.history_tree)[0].text(1) == "running"
    retrain_refused(DataError, "still training")


# ----------------------------------------------------------------------------- 4: Compare with parent


def test_compare_with_parent_opens_review_with_both_runs_on_the_same_video(
    qtbot: QtBot, example_project: Path, dialog_log: DialogLog
) -> None:
    from pose_core.io.predictions import write_predictions_csv

    parent = write_parent(example_project, "09-00-00")
    child = write_child(example_project, "10-00-00", parent)
    project = Project.open(example_project)
    video = project.videos[0]
    names = list(project.labels.keypoint_names)
    for run_dir, shift in ((parent, 0.0), (child, 3.0)):
        preds = np.full((30, len(names), 3), 0.95)
        preds[:, :, 0], preds[:, :, 1] = 20.0 + shift, 30.0
        write_predictions_csv(run_dir / "video_preds" / f"{video.stem}.csv", names, preds, range(30))
    window = MainWindow(AppState(), remember=False)
    qtbot.addWidget(window)
    window.show()
    window.state.set_project(project)
    window.show_pane("training")
    training = window.pane("training")
    assert isinstance(training, TrainingMonitorPane)
    qtbot.waitUntil(lambda: len(tree_items(training.history_tree)) == 2 and not training.is_loading(), timeout=20_000)
    assert not training.compare_button.isEnabled()
    tree_items(training.history_tree)[0].setSelected(True)  # the child (newest)
    assert training.compare_button.isEnabled()
    qtbot.mouseClick(training.compare_button, Qt.MouseButton.LeftButton)
    assert window.current_pane_name() == "review" and window.state.run_dir == child
    message = window.statusBar().currentMessage()
    assert "10-00-00 (dots, test error 4.00 px)" in message and "09-00-00 (crosses, test error 4.00 px)" in message
    review = window.pane("review")
    assert review is not None
    assert review.session.compare_run == parent  # type: ignore[attr-defined]
    assert review.sources.compare_combo.currentData() == str(parent)  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: review.session.compare is not None and review.session.predictions is not None, timeout=30_000
    )  # type: ignore[attr-defined]
    assert review.session.compare.xy_lik[0, 0, 0] == pytest.approx(20.0)  # type: ignore[attr-defined]
    assert review.session.predictions.xy_lik[0, 0, 0] == pytest.approx(23.0)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not window.is_loading(), timeout=30_000)
    assert window.close()


# ----------------------------------------------------------------------------- real training (slow)


@pytest.mark.slow
def test_real_ensemble_of_2_then_retrain_each_member_from_its_own_weights(
    qtbot: QtBot, pane: TrainingMonitorPane, example_project: Path
) -> None:
    write_tiny_config(example_project, max_epochs=1)
    pane.ensemble_spin.setValue(2)
    qtbot.mouseClick(pane.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(pane.session.job, EnsembleTrainingJob), timeout=20_000)
    first = pane.session.job
    assert isinstance(first, EnsembleTrainingJob)
    qtbot.waitUntil(lambda: "member 2 of 2" in pane.phase_label.text().lower(), timeout=300_000)
    assert wait_ended(qtbot, pane, 300_000) == "finished"
    wait_history(qtbot, pane, 3)
    assert top_texts(pane)[0].startswith("ensemble ") and top_texts(pane, 1) == ["2 finished"]
    pane.history_tree.clearSelection()
    time.sleep(1.1)  # the new run's folder name has a one-second resolution
    qtbot.mouseClick(pane.retrain_button, Qt.MouseButton.LeftButton)  # nothing selected: the newest finished ensemble
    qtbot.waitUntil(lambda: pane.session.job is not first and pane.session.job is not None, timeout=60_000)
    second = pane.session.job
    assert isinstance(second, EnsembleTrainingJob)
    assert wait_ended(qtbot, pane, 300_000) == "finished"
    for parent, child in zip(first.member_dirs, second.member_dirs, strict=True):
        cfg = yaml.safe_load((child / "config.yaml").read_text(encoding="utf-8"))
        assert Path(cfg["training"]["init_from"]) == parent  # each member from its own seed's weights
    wait_history(qtbot, pane, 6)
    base = first.member_dirs[0].name.removesuffix("-seed0")
    assert top_texts(pane, 8)[0] == f"from ensemble {base}"


def test_every_history_column_shows_at_the_default_window_size(qtbot: QtBot, example_project: Path) -> None:
    # With an ensemble and a retrained run, the run names pushed Test px and From off the right of
    # both run lists at the window's default size; the names now give way (elided at their start).
    from pose_gui.main_window import DEFAULT_SIZE, PANES
    from pose_gui.views.project_view import ProjectView

    members = write_ensemble(example_project, "09-00-00", [0, 1, 2])
    write_child(example_project, "12-00-00", members[0])
    window = MainWindow(AppState(), PANES, remember=False)
    qtbot.addWidget(window)
    window.resize(*DEFAULT_SIZE)
    window.show()
    try:
        window.open_project(example_project)
        qtbot.waitUntil(lambda: window.state.project is not None and not window.is_loading(), timeout=20_000)
        project = window.pane("project")
        training = window.pane("training")
        assert isinstance(project, ProjectView) and isinstance(training, TrainingMonitorPane)
        qtbot.waitUntil(lambda: len(project.page.runs_model.runs()) == 4 and not project.is_loading(), timeout=20_000)
        runs_view = project.page.runs_view
        qtbot.waitUntil(lambda: runs_view.horizontalScrollBar().maximum() == 0, timeout=5_000)
        window.tabs.setCurrentIndex([window.tabs.tabText(i) for i in range(window.tabs.count())].index("Training"))
        wait_history(qtbot, training, 5)
        tree = training.history_tree
        qtbot.waitUntil(lambda: tree.horizontalScrollBar().maximum() == 0, timeout=5_000)
        assert tree.header().sectionViewportPosition(8) + tree.header().sectionSize(8) <= tree.viewport().width()
    finally:
        window.shutdown()
