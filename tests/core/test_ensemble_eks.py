"""Ensemble Kalman smoothing through the eks package (slow: importing jax takes ~10-30 s on 2 cores)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from pose_core.ensemble.smoothing import EKS_COORDS, ensemble_stats, smooth, write_eks_csv
from pose_core.io.predictions import read_predictions_csv

pytestmark = pytest.mark.slow


def _members(n_frames: int = 300, n_members: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Members seeing a smooth 3-D trajectory in two views (top: x, y; side: x + 0.5 y, z), with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None] / 20.0
    parts = np.arange(4)[None]
    xyz = np.stack(
        [60 + 20 * np.sin(t + parts), 60 + 15 * np.cos(0.7 * t + parts), 20 + 5 * np.sin(1.3 * t + parts)], -1
    )
    top, side = xyz[..., :2], np.stack([128 + xyz[..., 0] + 0.5 * xyz[..., 1], 116 - xyz[..., 2]], -1)
    truth = np.concatenate([top, side], axis=1)  # [T, 8, 2]
    preds = np.empty((n_members, n_frames, 8, 3))
    preds[..., :2] = truth[None] + rng.normal(0, 2.0, (n_members, n_frames, 8, 2))
    preds[..., 2] = 0.9
    return preds, truth


@pytest.mark.parametrize("matches", [None, [[0, 1, 2, 3], [4, 5, 6, 7]]], ids=["single-view", "multiview"])
def test_eks_track_is_closer_to_the_truth_than_any_member(matches: list[list[int]] | None) -> None:
    preds, truth = _members()
    smoothed = smooth(preds, matches)
    assert smoothed.preds.shape == (300, 8, 3) and np.isfinite(smoothed.table()).all()
    err = {
        "eks": np.linalg.norm(smoothed.preds[..., :2] - truth, axis=-1),
        "member": np.linalg.norm(preds[0, ..., :2] - truth, axis=-1),
        "mean": np.linalg.norm(ensemble_stats(preds).mean[..., :2] - truth, axis=-1),
    }
    assert np.median(err["eks"]) < 0.8 * np.median(err["mean"]) < np.median(err["member"])
    assert np.percentile(err["eks"], 95) < np.percentile(err["member"], 95)
    assert (smoothed.posterior_var_px2 > 0).all()


def test_an_unsure_stretch_gets_a_larger_posterior_variance() -> None:
    preds, _ = _members(seed=1)
    preds[1, 150:160, 0, :2] += 12.0  # one member wanders off for 10 frames
    smoothed = smooth(preds, None)
    post = smoothed.posterior_var_px2[:, 0].sum(-1)
    assert post[150:160].mean() > 3 * np.median(post)


def test_eks_csv_reads_back_as_predictions_with_extra_columns(tmp_path: Path) -> None:
    preds, _ = _members(n_frames=50)
    names = [f"part{i}" for i in range(8)]
    smoothed = smooth(preds, None, smooth_param=1.0)
    path = tmp_path / "v_eks.csv"
    write_eks_csv(path, names, smoothed)
    table = read_predictions_csv(path, expected_rows=50)
    assert table.keypoint_names == names
    np.testing.assert_allclose(table.preds[..., :2], smoothed.preds[..., :2], atol=1e-4)
    header = path.read_text().splitlines()[2].split(",")
    assert header[1:10] == list(EKS_COORDS)


def test_smoothing_does_not_import_eks_into_the_gui_or_trainer() -> None:
    for module in ("pose_core.training.run", "pose_core.ensemble.ranking", "pose_core.ensemble.predict"):
        __import__(module)
    import subprocess

    code = "import pose_core.training.run, pose_core.inference.cli, pose_core.ensemble.suggest, sys; print('eks' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
