"""Ensemble Kalman smoothing through the eks package (slow: importing jax takes ~10-30 s on 2 cores)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from pose_core.ensemble.smoothing import (
    EKS_COORDS,
    ensemble_stats,
    smooth,
    smooth_videos,
    write_eks_csv,
    write_variance_csv,
)
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


@pytest.mark.parametrize("matches", [None, [[0, 1, 2, 3], [4, 5, 6, 7]]], ids=["single-view", "multiview"])
def test_eks_smooths_the_members_mean_not_their_median(matches: list[list[int]] | None) -> None:
    # With 3 members the mean had the lower p95 error on the example videos (22.7 px against the
    # median's 24.6), so eks is given avg_mode="mean": one member 9 px off moves the track by ~3 px.
    preds, truth = _members(seed=2)
    preds[..., :2] = truth[None] + np.random.default_rng(3).normal(0, 0.3, preds[..., :2].shape)
    preds[2, ..., 0] += 9.0
    smoothed = smooth(preds, matches, smooth_param=10.0)
    shift_px = smoothed.preds[..., 0] - truth[..., 0]
    assert np.median(shift_px) == pytest.approx(3.0, abs=0.5)  # the median would give ~0
    assert np.median(smoothed.ens_median[..., 0] - truth[..., 0]) == pytest.approx(3.0, abs=0.5)


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


def test_videos_smoothed_in_one_call_match_smoothing_them_one_by_one() -> None:
    a, truth_a = _members(300, seed=0)
    b, truth_b = _members(200, seed=1)
    b[..., 0] += 40.0  # the animal is elsewhere when the next video starts
    truth_b = truth_b + np.array([40.0, 0.0])
    one_by_one = [smooth(a, None, smooth_param=1.0), smooth(b, None, smooth_param=1.0)]
    together = smooth_videos([a, b], None, smooth_param=1.0)
    for alone, joined in zip(one_by_one, together, strict=True):
        assert joined.preds.shape == alone.preds.shape
        assert np.abs(joined.preds[..., :2] - alone.preds[..., :2]).max() < 0.5  # the next video does not pull
        np.testing.assert_allclose(joined.posterior_var_px2, alone.posterior_var_px2, rtol=0.1)
        np.testing.assert_allclose(joined.ens_median, alone.ens_median, atol=1e-4)
    # a fitted parameter: eks fits it once, on the longest video, and the tracks stay as good
    fitted = smooth_videos([b, a], None)
    assert fitted[0].smooth_params == pytest.approx(smooth(a, None).smooth_params, rel=1e-3)
    for result, alone, truth in zip(fitted, [smooth(b, None), smooth(a, None)], [truth_b, truth_a], strict=True):
        err = np.median(np.linalg.norm(result.preds[..., :2] - truth, axis=-1))
        assert err < 1.1 * np.median(np.linalg.norm(alone.preds[..., :2] - truth, axis=-1))


def test_videos_smoothed_together_need_the_same_runs_and_keypoints() -> None:
    from pose_core.errors import DataError

    a, _ = _members(50)
    with pytest.raises(DataError, match="same runs and keypoints"):
        smooth_videos([a, a[:2]], None, smooth_param=1.0)


def test_csv_cells_of_missing_values_are_empty(tmp_path: Path) -> None:
    variance = np.arange(24, dtype=float).reshape(3, 4, 2) / 3
    variance[1, 2, 0] = np.nan
    path = tmp_path / "v_ens_var.csv"
    write_variance_csv(path, ["a", "b", "c", "d"], variance)
    rows = path.read_text().splitlines()
    assert rows[2].startswith("coords,x_var,y_var") and len(rows) == 6
    assert rows[4].split(",")[5:8] == ["", "4.33333", "4.66667"] and rows[3].startswith("0,0.00000,0.33333,")


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


def test_suggest_smooths_all_videos_in_one_eks_call_and_reuses_the_saved_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_core.ensemble import smoothing
    from pose_core.ensemble.members import MemberRun
    from pose_core.ensemble.predict import default_output_dir
    from pose_core.ensemble.suggest import SuggestTimings, suggest
    from pose_core.io.predictions import write_predictions_csv
    from tests.core.conftest import make_index_video

    names = [f"part{i}" for i in range(8)]
    members = [MemberRun(tmp_path / "runs" / f"m{m}", names, [[0, 1, 2, 3], [4, 5, 6, 7]]) for m in range(3)]
    videos = []
    for v, n_frames in enumerate((60, 40)):
        video = make_index_video(tmp_path / f"clip{v}.mp4", n_frames)
        preds, _ = _members(n_frames, seed=v)
        preds[2, 20, 5, :2] += 25.0  # one member is far off on one frame
        for m, member in enumerate(members):
            write_predictions_csv(member.predictions_csv(video), names, preds[m], list(range(n_frames)))
        videos.append(video)
    calls = []
    real = smoothing.smooth_videos
    monkeypatch.setattr(
        smoothing, "smooth_videos", lambda videos, *a, **k: calls.append(len(videos)) or real(videos, *a, **k)
    )
    picks = suggest(members, videos, 3, {}, check_appearance=False, smooth_param=1.0)
    assert calls == [2]  # one eks call for both videos
    assert picks[0].frame_idx == 20 and picks[0].reason.startswith("3 models disagree")
    for video in videos:
        assert (default_output_dir(members) / f"{video.stem}_eks.csv").is_file()
    timings = SuggestTimings()
    again = suggest(members, videos, 3, {}, check_appearance=False, smooth_param=1.0, timings=timings)
    assert calls == [2] and [(p.video, p.frame_idx) for p in again] == [(p.video, p.frame_idx) for p in picks]
