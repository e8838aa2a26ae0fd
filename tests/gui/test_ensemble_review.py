"""Review shows an ensemble as a run: EKS / mean / member as the keypoints' source, spread and EKS traces,
"Label this frame" on an uncertain frame, and "Predict with EKS" as a child process with progress."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

from pose_core.io.predictions import read_predictions_csv
from pose_gui.main_window import MainWindow
from pose_gui.models.ensembles import SOURCE_MEAN, group_ensembles
from pose_gui.views.label.pane import LabelPane
from pose_gui.views.review.sources import ENSEMBLE_PREFIX
from pose_gui.views.video_review import VideoReviewPane
from pose_gui.workers import events_job
from tests.gui.ensemble_helpers import (
    DISAGREE_FRAME,
    DISAGREE_KEYPOINT,
    DISAGREE_PX,
    EnsembleSetup,
    make_ensemble,
)
from tests.gui.ensemble_helpers import window as window  # noqa: F401 - the main window fixture

TIMEOUT_MS = 20_000


def _review(qtbot: QtBot, window: MainWindow, setup: EnsembleSetup) -> VideoReviewPane:
    window.state.set_project(setup.project)
    window.show_pane("review")
    pane = window.pane("review")
    assert isinstance(pane, VideoReviewPane)
    window.state.set_video(setup.video)
    combo = pane.sources.run_combo
    data = ENSEMBLE_PREFIX + str(setup.output_dir)
    qtbot.waitUntil(lambda: combo.findData(data) >= 0, timeout=TIMEOUT_MS)
    return pane


def _choose_in(qtbot: QtBot, combo: object, data: str) -> None:
    """Choose the item with ``data`` as the user's pick in the list does (selection, then ``activated``)."""
    index = combo.findData(data)  # type: ignore[attr-defined]
    assert index >= 0, data
    combo.setCurrentIndex(index)  # type: ignore[attr-defined]
    combo.activated.emit(index)  # type: ignore[attr-defined]


@pytest.mark.slow  # ~8 s on the loaded 2-core machine (three sources, each read and drawn)
def test_an_ensemble_is_a_run_with_eks_mean_or_member_as_the_source(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    setup = make_ensemble(example_project)
    pane = _review(qtbot, window, setup)
    _choose_in(qtbot, pane.sources.run_combo, ENSEMBLE_PREFIX + str(setup.output_dir))
    eks_csv = setup.output_dir / f"{setup.video.stem}_eks.csv"
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.predictions.path == eks_csv, timeout=TIMEOUT_MS)
    assert pane.sources.source_combo.isVisible() and pane.sources.eks_button.isVisible()
    assert pane.state.run_dir in setup.members  # the other panes get a real run (a member)
    assert pane.sources.source_combo.currentText() == "EKS (smoothed)"
    eks = read_predictions_csv(eks_csv).preds
    pane.state.set_frame_idx(5)
    qtbot.waitUntil(lambda: pane.shown_frame_idx == 5, timeout=TIMEOUT_MS)
    np.testing.assert_allclose(pane.view.shown_points, eks[5, :, :2], atol=1e-3)

    _choose_in(qtbot, pane.sources.source_combo, SOURCE_MEAN)
    qtbot.waitUntil(
        lambda: pane.predictions is not None and "_ens_mean" in pane.predictions.path.name, timeout=TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: pane.shown_frame_idx == 5, timeout=TIMEOUT_MS)
    np.testing.assert_allclose(pane.view.shown_points, setup.member_preds[:, 5, :, :2].mean(axis=0), atol=1e-3)

    _choose_in(qtbot, pane.sources.source_combo, str(setup.members[2]))
    qtbot.waitUntil(lambda: pane.state.run_dir == setup.members[2], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: pane.predictions is not None and setup.members[2] in pane.predictions.path.parents,
                    timeout=TIMEOUT_MS)  # fmt: skip
    pane.state.set_frame_idx(DISAGREE_FRAME)
    qtbot.waitUntil(lambda: pane.shown_frame_idx == DISAGREE_FRAME, timeout=TIMEOUT_MS)
    np.testing.assert_allclose(pane.view.shown_points, setup.member_preds[2, DISAGREE_FRAME, :, :2], atol=1e-3)
    assert pane.session.ensemble.group is not None  # still the ensemble, member 3 shown
    assert pane.sources.run_combo.currentData() == ENSEMBLE_PREFIX + str(setup.output_dir)

    # choosing a plain run leaves the ensemble
    _choose_in(qtbot, pane.sources.run_combo, str(setup.members[1]))
    qtbot.waitUntil(lambda: pane.session.ensemble.group is None, timeout=TIMEOUT_MS)
    assert not pane.sources.source_combo.isVisible()
    assert pane.traces.shown_uncertainty == []


def test_spread_and_posterior_traces_lead_to_the_uncertain_frame_and_label_it(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    setup = make_ensemble(example_project)
    pane = _review(qtbot, window, setup)
    _choose_in(qtbot, pane.sources.run_combo, ENSEMBLE_PREFIX + str(setup.output_dir))
    qtbot.waitUntil(lambda: pane.traces.shown_uncertainty == ["spread", "posterior"], timeout=TIMEOUT_MS)
    uncertainty = pane.session.ensemble.uncertainty
    assert uncertainty is not None and uncertainty.n_members == 3
    frame_spread = np.nanmax(uncertainty.spread_px, axis=1)
    assert int(np.argmax(frame_spread)) == DISAGREE_FRAME
    assert frame_spread[DISAGREE_FRAME] > DISAGREE_PX / 3  # member 3 is 45 px off: RMS over 3 members
    assert uncertainty.posterior_sd_px is not None
    assert uncertainty.posterior_sd_px[DISAGREE_FRAME, DISAGREE_KEYPOINT] == pytest.approx(np.sqrt(128.0), rel=1e-3)
    plot = pane.traces.uncertainty_plots["spread"]
    black = plot.listDataItems()[-1]  # the largest over all keypoints
    np.testing.assert_allclose(black.getData()[1], frame_spread, rtol=1e-5)

    # click the spread peak: the frame is shown; "Label this frame" queues it with the spread as its reason
    pane.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    scene_pos = plot.vb.mapViewToScene(QPointF(DISAGREE_FRAME, float(frame_spread[DISAGREE_FRAME]) / 2))
    qtbot.mouseClick(pane.traces.viewport(), Qt.MouseButton.LeftButton, pos=pane.traces.mapFromScene(scene_pos))
    qtbot.waitUntil(lambda: pane.shown_frame_idx == DISAGREE_FRAME, timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.inspect.label_frame_button, Qt.MouseButton.LeftButton)
    label = window.pane("label")
    assert isinstance(label, LabelPane)
    expected = f"labeled-data/{setup.video.stem}/img{DISAGREE_FRAME:08d}.png"
    qtbot.waitUntil(lambda: label.current_path == expected, timeout=TIMEOUT_MS)
    name = setup.project.keypoint_names[DISAGREE_KEYPOINT]
    assert label.session is not None and "3 models spread" in label.session.queued[expected]
    assert name in label.session.queued[expected]
    assert name in label.reason_label.text() and label.reason_label.isVisible()


@pytest.mark.slow  # a child process that reports three members' progress (~8 s)
def test_without_eks_the_pane_offers_predict_with_eks_and_it_runs_as_a_child_process(
    qtbot: QtBot, window: MainWindow, example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make_ensemble(example_project, eks=False)
    # the child is a stand-in for pose-predict --eks (the real one is tested in tests/core): it writes the
    # progress events the real one writes, then the mean and EKS files from the members' predictions
    script = tmp_path / "fake_predict.py"
    script.write_text(FAKE_EKS_SCRIPT, encoding="utf-8")
    monkeypatch.setattr(events_job.sys, "executable", sys.executable)
    real_init = events_job.EventsJob.__init__

    def init(self: events_job.EventsJob, module: str, args: list[str], parent: object = None) -> None:
        real_init(self, module, args, parent)  # type: ignore[arg-type]
        self._process.args = [str(script), *self._process.args[2:]]  # python fake_predict.py ARGS --events F

    monkeypatch.setattr(events_job.EventsJob, "__init__", init)
    pane = _review(qtbot, window, setup)
    _choose_in(qtbot, pane.sources.run_combo, ENSEMBLE_PREFIX + str(setup.output_dir))
    qtbot.waitUntil(lambda: "click Predict with EKS" in pane.preds_message.text(), timeout=TIMEOUT_MS)
    assert "3 of 3 members have predicted it" in pane.preds_message.text()
    assert pane.traces.shown_uncertainty == []
    qtbot.waitUntil(lambda: pane.session.ensemble.uncertainty is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: pane.traces.shown_uncertainty == ["spread"], timeout=TIMEOUT_MS)  # no EKS: spread only
    texts: list[str] = []
    pane.session.ensemble.job_progressed.connect(lambda _d, _t, text: texts.append(text))
    qtbot.mouseClick(pane.sources.eks_button, Qt.MouseButton.LeftButton)
    assert pane.sources.progress.isVisible() and pane.sources.cancel_button.isVisible()
    eks_csv = setup.output_dir / f"{setup.video.stem}_eks.csv"
    qtbot.waitUntil(lambda: not pane.session.ensemble.is_job_running(), timeout=TIMEOUT_MS)
    message = pane.preds_message.text()  # no failure: empty, or the reading of the new EKS file under way
    assert message == "" or message.startswith(("Predicting", "Reading")), message
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.predictions.path == eks_csv, timeout=TIMEOUT_MS)
    assert any("Member 2/3: predicting" in t for t in texts)
    assert any("Ensemble Kalman Smoother" in t for t in texts)
    qtbot.waitUntil(lambda: pane.traces.shown_uncertainty == ["spread", "posterior"], timeout=TIMEOUT_MS)
    assert not pane.sources.progress.isVisible()


def test_a_failing_predict_with_eks_says_why_in_the_pane(
    qtbot: QtBot, window: MainWindow, example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make_ensemble(example_project, eks=False)
    script = tmp_path / "fail.py"
    script.write_text(
        "import sys\nprint('pose-predict: error: Runs A and B predict different keypoints (only A has nose)', "
        "file=sys.stderr)\nsys.exit(2)\n",
        encoding="utf-8",
    )
    real_init = events_job.EventsJob.__init__

    def init(self: events_job.EventsJob, module: str, args: list[str], parent: object = None) -> None:
        real_init(self, module, args, parent)  # type: ignore[arg-type]
        self._process.args = [str(script)]

    monkeypatch.setattr(events_job.EventsJob, "__init__", init)
    pane = _review(qtbot, window, setup)
    _choose_in(qtbot, pane.sources.run_combo, ENSEMBLE_PREFIX + str(setup.output_dir))
    qtbot.waitUntil(lambda: pane.sources.eks_button.isVisible(), timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.sources.eks_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "predict different keypoints" in pane.preds_message.text(), timeout=TIMEOUT_MS)
    assert not (setup.output_dir / f"{setup.video.stem}_eks.csv").exists()
    assert pane.sources.eks_button.isEnabled()


def test_ensembles_are_grouped_by_id_and_by_ensemble_json(example_project: Path) -> None:
    from pose_core.runs import list_runs

    setup = make_ensemble(example_project)
    groups = group_ensembles(list_runs(example_project), example_project)
    assert [g.members for g in groups] == [tuple(setup.members)]
    assert groups[0].output_dir == setup.output_dir and groups[0].label == "Ensemble 10-00-00 (3 runs)"


FAKE_EKS_SCRIPT = """
import sys, time
from pathlib import Path
import numpy as np
from pose_core.events import EventWriter
from pose_core.ensemble.smoothing import SmoothedPredictions, ensemble_stats, write_eks_csv
from pose_core.io.predictions import read_predictions_csv, write_predictions_csv

args = sys.argv[1:]
events = Path(args[args.index("--events") + 1])
runs, video = [Path(a) for a in args[:-4]], Path(args[-4])
tables = [read_predictions_csv(r / "video_preds" / f"{video.stem}.csv") for r in runs]
n_frames = len(tables[0].preds)
writer = EventWriter(events)
for _ in runs:
    writer.emit("started", job="predict")
    for done in (10, n_frames):
        writer.emit("progress", job="predict", stage="predict", frames_done=done, n_frames=n_frames)
        time.sleep(0.3)
    writer.emit("finished", job="predict")
writer.emit("phase", job="predict", stage="eks", message="Smoothing with the Ensemble Kalman Smoother", done=0, total=1)
time.sleep(0.3)
stats = ensemble_stats(np.stack([t.preds for t in tables]))
out = runs[0].parent / (runs[0].name.rsplit("-seed", 1)[0] + "-ensemble")
out.mkdir(parents=True, exist_ok=True)
names = tables[0].keypoint_names
write_predictions_csv(out / f"{video.stem}_ens_mean.csv", names, stats.mean, list(range(n_frames)))
posterior = np.ones(stats.mean.shape[:2] + (2,))
write_eks_csv(out / f"{video.stem}_eks.csv", names, SmoothedPredictions(stats.mean, stats.mean[..., :2],
              stats.variance_px2, posterior, [1.0]))
writer.close()
"""


def test_review_opens_on_the_ensemble_when_its_newest_run_was_smoothed_on_the_video(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    setup = make_ensemble(example_project)
    window.state.set_project(setup.project)
    window.show_pane("review")
    pane = window.pane("review")
    assert isinstance(pane, VideoReviewPane)
    eks_csv = setup.output_dir / f"{setup.video.stem}_eks.csv"
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.predictions.path == eks_csv, timeout=TIMEOUT_MS)
    assert pane.sources.run_combo.currentText() == "Ensemble 10-00-00 (3 runs)"
    _choose_in(qtbot, pane.sources.run_combo, str(setup.members[0]))  # the user's choice then stays
    qtbot.waitUntil(lambda: pane.predictions is not None and pane.predictions.path.parent.parent == setup.members[0],
                    timeout=TIMEOUT_MS)  # fmt: skip
    window.state.runs_changed.emit()
    qtbot.waitUntil(lambda: not pane.is_loading(), timeout=TIMEOUT_MS)
    assert pane.session.ensemble.group is None


def test_frames_the_members_spread_on_are_problem_frames_sent_to_labelling(
    qtbot: QtBot, window: MainWindow, example_project: Path
) -> None:
    from pose_gui.models.predictions import PROBLEM_SPREAD

    setup = make_ensemble(example_project)
    pane = _review(qtbot, window, setup)
    _choose_in(qtbot, pane.sources.run_combo, ENSEMBLE_PREFIX + str(setup.output_dir))
    qtbot.waitUntil(lambda: pane.problems is not None and pane.problems.spread_px is not None, timeout=TIMEOUT_MS)
    flagged = np.flatnonzero(pane.problems.flags & PROBLEM_SPREAD)
    assert flagged.tolist() == [DISAGREE_FRAME]
    assert "ensemble spread 1" in pane.inspect.problem_count_label.text()
    pane.state.set_frame_idx(DISAGREE_FRAME - 5)
    qtbot.waitUntil(lambda: pane.shown_frame_idx == DISAGREE_FRAME - 5, timeout=TIMEOUT_MS)
    qtbot.mouseClick(pane.inspect.next_problem_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ensemble spread" in pane.inspect.frame_problem_label.text(), timeout=TIMEOUT_MS)
    assert pane.state.frame_idx == DISAGREE_FRAME
    qtbot.mouseClick(pane.inspect.send_problems_button, Qt.MouseButton.LeftButton)
    label = window.pane("label")
    assert isinstance(label, LabelPane)
    expected = f"labeled-data/{setup.video.stem}/img{DISAGREE_FRAME:08d}.png"
    qtbot.waitUntil(lambda: label.session is not None and expected in label.session.queued, timeout=TIMEOUT_MS)


def test_the_source_bar_of_an_ensemble_with_a_job_running_fits_a_1600_px_screen(qtbot: QtBot) -> None:
    # It needed 1,605 px: the window grew wider than a 1600 px screen while Predict with EKS ran, and
    # stayed so, cutting off the right of every pane.
    from pose_gui.views.review.sources import SourceBar

    bar = SourceBar()
    qtbot.addWidget(bar)
    bar.show_ensemble("Ensemble 17-54-46 (3 runs)", "eks", [("eks", "EKS (smoothed)"), ("mean", "Ensemble mean")])
    bar.set_job_running(True)
    bar.set_progress(420, 1000, "Member 2/3: predicting 420/1000 frames")
    bar.show()
    assert bar.progress.isVisible() and bar.source_combo.isVisible()
    assert bar.minimumSizeHint().width() <= 1540  # with the pane's and the window's margins, within 1600
