"""``movement`` (the neuroinformatics toolbox) reads PoseDesk's prediction files as they are.

Skipped unless movement is installed (a test-only extra: ``pip install -e '.[dev,movement]'``);
``make test`` runs it where it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

load_poses = pytest.importorskip(
    "movement.io.load_poses",
    reason="movement is not installed; install the test extra to run it: pip install -e '.[dev,movement]'",
)

from pose_core.io.predictions import write_dlc_predictions, write_predictions_csv  # noqa: E402

KEYPOINTS = ["nose", "ear_l", "ear_r", "tail_base"]
FPS = 30.0


@pytest.fixture(scope="module")
def preds() -> np.ndarray:
    """``[N, K, 3]`` predictions in video pixels with a few missing cells, as PoseDesk writes them."""
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.uniform(0, 400, (25, len(KEYPOINTS), 2)), rng.uniform(0, 1, (25, len(KEYPOINTS), 1))], 2
    )
    values[4, 1] = np.nan  # a keypoint the model left empty
    return values


def _check(ds, preds: np.ndarray, atol_xy: float = 5e-5, atol_likelihood: float = 5e-6) -> None:  # noqa: ANN001
    assert sorted(ds.keypoints.values) == sorted(KEYPOINTS) and ds.sizes["time"] == len(preds)
    ds = ds.sel(keypoints=KEYPOINTS)
    position = ds.position.sel(individuals=ds.individuals.values[0]).transpose("time", "keypoints", "space").values
    confidence = ds.confidence.sel(individuals=ds.individuals.values[0]).transpose("time", "keypoints").values
    # PoseDesk's CSVs keep 4 decimals for x, y and 5 for the likelihood.
    np.testing.assert_allclose(position, preds[..., :2], rtol=0, atol=atol_xy)
    np.testing.assert_allclose(confidence, preds[..., 2], rtol=0, atol=atol_likelihood)


def test_lightning_pose_loader_reads_a_predictions_csv(preds: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "video.csv"
    write_predictions_csv(path, KEYPOINTS, preds, range(len(preds)))
    ds = load_poses.from_lp_file(path, fps=FPS)
    _check(ds, preds)
    assert ds.attrs["source_software"] == "LightningPose" and ds.time.values[1] == pytest.approx(1 / FPS)


def test_deeplabcut_loader_reads_the_dlc_style_csv_and_h5(preds: np.ndarray, tmp_path: Path) -> None:
    h5_path, csv_path = tmp_path / "videoDLC_posedesk.h5", tmp_path / "videoDLC_posedesk.csv"
    write_dlc_predictions(h5_path, csv_path, KEYPOINTS, preds)
    _check(load_poses.from_dlc_file(csv_path, fps=FPS), preds)
    _check(load_poses.from_dlc_file(h5_path, fps=FPS), preds, 0.0, 0.0)  # the .h5 keeps full precision


def test_nwb_loader_reads_pose_predict_nwb(preds: np.ndarray, tmp_path: Path) -> None:
    pytest.importorskip("ndx_pose", reason="ndx-pose is not installed (pip install 'posedesk[formats]')")
    from pose_core.io.nwb import PoseSkeleton, write_predictions_nwb

    path = write_predictions_nwb(tmp_path / "video.nwb", PoseSkeleton(KEYPOINTS), preds, FPS, tmp_path / "video.mp4")
    ds = load_poses.from_nwb_file(path)
    _check(ds, preds, 0.0, 0.0)
    assert ds.attrs["source_software"] == "PoseDesk" and ds.attrs["fps"] == pytest.approx(FPS)
