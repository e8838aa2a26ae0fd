"""Label pane's "Suggest frames": the dialog's defaults, the ranking in a child process with progress,
the picks queued with their reasons (frame list and the line above the canvas), cancel, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pose_gui.main_window import MainWindow
from pose_gui.views.label.pane import LabelPane
from pose_gui.views.label.suggest_dialog import SuggestFramesDialog
from pose_gui.workers import events_job
from tests.gui.ensemble_helpers import DISAGREE_FRAME, DISAGREE_KEYPOINT, EnsembleSetup, make_ensemble
from tests.gui.ensemble_helpers import window as window  # noqa: F401 - the main window fixture

TIMEOUT_MS = 60_000


def _open_dialog(qtbot: QtBot, window: MainWindow, setup: EnsembleSetup) -> tuple[LabelPane, SuggestFramesDialog]:
    window.state.set_project(setup.project)
    window.show_pane("label")
    pane = window.pane("label")
    assert isinstance(pane, LabelPane)
    qtbot.waitUntil(lambda: pane.session is not None, timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.suggest_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.suggest_dialog is not None and pane.suggest_dialog.isVisible(), timeout=TIMEOUT_MS)
    return pane, pane.suggest_dialog


@pytest.mark.slow  # the real posedesk suggest-frames in a child process (~15 s on the loaded 2-core machine)
def test_suggested_frames_are_queued_with_their_reasons(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    setup = make_ensemble(example_project)
    pane, dialog = _open_dialog(qtbot, window, setup)
    assert sorted(dialog.chosen_runs()) == setup.members  # the newest ensemble, all of it
    assert dialog.chosen_videos() == [setup.video]
    dialog.n_spin.setValue(2)
    qtbot.mouseClick(dialog.suggest_button, Qt.MouseButton.LeftButton)
    assert dialog.progress.isVisible() and not dialog.suggest_button.isEnabled()
    qtbot.waitUntil(lambda: pane.suggest_dialog is None, timeout=TIMEOUT_MS)
    assert pane.session is not None
    suggested = {p: r for p, r in pane.session.queued.items() if r.startswith("suggested: ")}
    qtbot.waitUntil(lambda: len({p for p, r in pane.session.queued.items() if r.startswith("suggested")}) == 2,
                    timeout=TIMEOUT_MS)  # fmt: skip
    suggested = {p: r for p, r in pane.session.queued.items() if r.startswith("suggested: ")}
    top = f"labeled-data/{setup.video.stem}/img{DISAGREE_FRAME:08d}.png"
    name = setup.project.keypoint_names[DISAGREE_KEYPOINT]
    assert top in suggested and "3 models disagree" in suggested[top] and name in suggested[top]
    for path in suggested:
        assert (example_project / path).is_file()
    qtbot.waitUntil(lambda: pane.current_path is not None and pane.current_path in suggested, timeout=TIMEOUT_MS)
    pane.show_frame(top)
    assert pane.reason_label.isVisible() and "Why this frame: suggested: 3 models disagree" in pane.reason_label.text()
    item = pane.frame_list._items[top]
    assert "3 models disagree" in item.toolTip(0) and item.text(2).startswith("suggested: 3 models disagree")
    assert "posedesk_queue.json" in {p.name for p in (example_project / "labeled-data").iterdir()}


@pytest.mark.slow  # the real posedesk suggest-frames in a child process
def test_runs_with_other_keypoints_get_one_message_and_nothing_is_queued(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    setup = make_ensemble(example_project)
    config = setup.members[2] / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("nose_top", "snout_top"), encoding="utf-8")
    before = sorted((example_project / "labeled-data").rglob("*"))
    pane, dialog = _open_dialog(qtbot, window, setup)
    qtbot.mouseClick(dialog.suggest_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.job is None and dialog.message.isVisible(), timeout=TIMEOUT_MS)
    assert "predict different keypoints" in dialog.message.text() and "snout_top" in dialog.message.text()
    assert dialog.isVisible() and dialog.suggest_button.isEnabled()
    assert sorted((example_project / "labeled-data").rglob("*")) == before
    # and with no run ticked, the dialog says so without starting anything
    for i in range(dialog.run_list.count()):
        dialog.run_list.item(i).setCheckState(Qt.CheckState.Unchecked)
    qtbot.mouseClick(dialog.suggest_button, Qt.MouseButton.LeftButton)
    assert dialog.job is None and "Tick at least one run" in dialog.message.text()
    dialog.reject()


def test_cancel_stops_the_ranking_and_queues_nothing(
    qtbot: QtBot, window: MainWindow, example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make_ensemble(example_project)
    script = tmp_path / "slow_rank.py"
    script.write_text(SLOW_RANK_SCRIPT, encoding="utf-8")
    real_init = events_job.EventsJob.__init__

    def init(self: events_job.EventsJob, module: str, args: list[str], parent: object = None) -> None:
        real_init(self, module, args, parent)  # type: ignore[arg-type]
        self._process.args = [str(script), *self._process.args[2:]]

    monkeypatch.setattr(events_job.EventsJob, "__init__", init)
    pane, dialog = _open_dialog(qtbot, window, setup)
    qtbot.mouseClick(dialog.suggest_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Scoring the frames" in dialog.progress.format(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=TIMEOUT_MS)
    assert "Cancelled: nothing was queued" in dialog.message.text()
    assert pane.session is not None and not any(r.startswith("suggested") for r in pane.session.queued.values())
    dialog.reject()
    qtbot.waitUntil(lambda: pane.suggest_dialog is None, timeout=TIMEOUT_MS)


SLOW_RANK_SCRIPT = """
import sys, time
from pathlib import Path
from pose_core.events import EventWriter

events = Path(sys.argv[sys.argv.index("--events") + 1])
writer = EventWriter(events)
writer.emit("started", job="suggest")
for i in range(600):
    writer.emit("progress", job="suggest", stage="rank", done=0, total=2, message="Scoring the frames of a.mp4")
    if (events.parent / "STOP").exists():
        writer.emit("stopped", job="suggest", message="stopped")
        sys.exit(2)
    time.sleep(0.1)
"""
