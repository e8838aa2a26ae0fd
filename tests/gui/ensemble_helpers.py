"""A project with an ensemble of three runs and their saved predictions, for the GUI tests of ensembles.

The members' predictions are written as ``pose-predict`` writes them (no model is run): smooth
tracks, identical except at :data:`DISAGREE_FRAME`, where member 3 puts keypoint
:data:`DISAGREE_KEYPOINT` :data:`DISAGREE_PX` away. With ``eks=True`` the ensemble folder also holds
the mean and an ``<stem>_eks.csv`` whose posterior variance peaks at that frame (written with
``write_eks_csv``, as ``pose-predict --eks`` does, without running the smoother).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from pose_core.io.predictions import write_predictions_csv
from pose_core.project import Project
from pose_gui.main_window import MainWindow

DISAGREE_FRAME = 17
DISAGREE_KEYPOINT = 3
DISAGREE_PX = 45.0
ENSEMBLE_ID = "10-00-00"


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[MainWindow]:
    """The main window, shown (nothing remembered), for the ensemble tests; shut down after."""
    win = MainWindow(remember=False)
    win.resize(1500, 950)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


@dataclass
class EnsembleSetup:
    project: Project
    video: Path
    n_frames: int
    members: list[Path]
    member_preds: np.ndarray  # [M, T, K, 3]
    output_dir: Path


def _tracks(n_frames: int, n_keypoints: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    start = rng.uniform(40, 200, size=(n_keypoints, 2))
    t = np.arange(n_frames)[:, None, None]
    xy = start[None] + np.concatenate([np.cos(t / 6.0), np.sin(t / 6.0)], axis=2) * 4
    return np.concatenate([xy, np.full((n_frames, n_keypoints, 1), 0.95)], axis=2)


def make_ensemble(root: Path, *, eks: bool = True, predict: bool = True) -> EnsembleSetup:
    """Three finished member runs of ensemble :data:`ENSEMBLE_ID` in ``root``'s ``outputs/2026-12-03``."""
    from pose_core.ensemble.smoothing import SmoothedPredictions, ensemble_stats, write_eks_csv
    from pose_core.video.reader import probe_video

    project = Project.open(root)
    video = project.videos[0]
    n_frames = probe_video(video).n_frames
    names = list(project.keypoint_names)
    day = root / "outputs" / "2026-12-03"
    members = [day / f"{ENSEMBLE_ID}-seed{s}" for s in range(3)]
    config = (root / "config.yaml").read_text(encoding="utf-8")
    base = _tracks(n_frames, len(names))
    all_preds = []
    for seed, member in enumerate(members):
        (member / "video_preds").mkdir(parents=True)
        checkpoints = member / "tb_logs" / "example" / "version_0" / "checkpoints"
        checkpoints.mkdir(parents=True)
        (checkpoints / "last.ckpt").write_bytes(b"")  # never loaded: every video is already predicted
        (member / "config.yaml").write_text(config, encoding="utf-8")
        summary = {
            "status": "finished",
            "ensemble": {"id": ENSEMBLE_ID, "seed": seed, "members": list(map(str, members))},
        }
        (member / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        preds = base.copy()
        preds[..., 0] += 0.3 * seed  # members differ a little everywhere
        if seed == 2:
            preds[DISAGREE_FRAME, DISAGREE_KEYPOINT, 0] += DISAGREE_PX
        if predict:
            write_predictions_csv(member / "video_preds" / f"{video.stem}.csv", names, preds, list(range(n_frames)))
        all_preds.append(preds)
    member_preds = np.stack(all_preds)
    output_dir = day / f"{ENSEMBLE_ID}-ensemble"
    if eks:
        output_dir.mkdir(parents=True)
        stats = ensemble_stats(member_preds)
        write_predictions_csv(output_dir / f"{video.stem}_ens_mean.csv", names, stats.mean, list(range(n_frames)))
        posterior = np.full((n_frames, len(names), 2), 1.0)
        posterior[DISAGREE_FRAME, DISAGREE_KEYPOINT] = 64.0
        smoothed = SmoothedPredictions(
            stats.mean - np.array([1.0, 1.0, 0.0]), stats.mean[..., :2], stats.variance_px2, posterior, [1.0]
        )
        write_eks_csv(output_dir / f"{video.stem}_eks.csv", names, smoothed)
    return EnsembleSetup(project, video, n_frames, members, member_preds, output_dir)
