"""Ensemble Kalman smoothing through the eks package (slow: importing jax takes ~10-30 s on 2 cores)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from pose_core.ensemble.smoothing import EKS_COORDS, ensemble_stats, smooth, write_eks_csv
from pose_core.io.predictions import read_predictions_csv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


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


def _seeded_checkpoint(path: Path, seed: int) -> Path:
    import pytorch_lightning as pl
    import torch

    from pose_core.training.module import PoseLightningModule
    from tests.core.conftest import TINY_INPUT_HW, TINY_KEYPOINTS

    torch.manual_seed(seed)
    module = PoseLightningModule(keypoint_names=list(TINY_KEYPOINTS), backbone="resnet18", input_hw=TINY_INPUT_HW)
    trainer = pl.Trainer(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu", devices=1
    )
    trainer.strategy.connect(module)
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(str(path))
    return path


def test_pose_predict_eks_writes_members_mean_variance_and_smoothed_csvs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from pose_core.inference.cli import predict_main
    from tests.core.conftest import make_index_video, make_run_dir

    runs = []
    for seed in (0, 1):
        run = make_run_dir(
            tmp_path / "outputs" / "2026-12-03" / f"10-00-0{seed}", _seeded_checkpoint(tmp_path / f"{seed}.ckpt", seed)
        )
        (run / "summary.json").write_text(json.dumps({"status": "finished"}))
        runs.append(run)
    video = make_index_video(tmp_path / "clip.mp4", 24)
    assert predict_main([*map(str, runs), str(video), "--eks"]) == 0
    out = capsys.readouterr().out
    ensemble_dir = next((tmp_path / "outputs" / "2026-12-03").glob("*-ensemble"))
    for run in runs:
        assert read_predictions_csv(run / "video_preds" / "clip.csv", expected_rows=24).keypoint_names == [
            "nose",
            "ear_l",
            "ear_r",
        ]
    for name in ("clip_eks.csv", "clip_ens_mean.csv", "clip_ens_var.csv", "ensemble.json"):
        assert (ensemble_dir / name).is_file(), name
    eks_table = read_predictions_csv(ensemble_dir / "clip_eks.csv", expected_rows=24)
    assert np.isfinite(eks_table.preds[..., :2]).all()
    assert json.loads((ensemble_dir / "ensemble.json").read_text())["members"] == [str(r) for r in runs]
    assert "EKS in" in out
    member_csv = runs[0] / "video_preds" / "clip.csv"
    before = member_csv.stat().st_mtime_ns
    assert predict_main([*map(str, runs), str(video), "--eks"]) == 0  # members' predictions are reused
    assert member_csv.stat().st_mtime_ns == before
