"""Semi-supervised training: PCA fits, unsupervised losses, clip source, bad input, error files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pose_core.cli import train_main
from pose_core.data.unlabeled import UnlabeledClips, check_videos
from pose_core.errors import ConfigError, DataError
from pose_core.example import generate_example_project
from pose_core.losses import known_unsupervised_losses, pca_loss, temporal_loss
from pose_core.pca import PosePCA, fit_pca


def _rank3_views(n: int, seed: int = 0) -> np.ndarray:
    """Keypoints of 4 body parts seen by 2 linear cameras: [N, 8, 2], rank-3 per part."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 4, 3)) * 20 + 100
    cam_a, cam_b = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    return np.concatenate([points @ cam_a, points @ cam_b], axis=1)


def test_multiview_pca_of_consistent_views_has_no_error(tmp_path: Path) -> None:
    xy = _rank3_views(50)
    pca = fit_pca(xy, "multiview", [[0, 1, 2, 3], [4, 5, 6, 7]], 3)
    assert np.nanmax(pca.keypoint_error_px(xy)) < 1e-6
    moved = xy.copy()
    moved[:, 5] += 10.0  # one view disagrees
    assert np.nanmedian(pca.keypoint_error_px(moved)[:, 5]) > 1.0
    pca.save(tmp_path / "p.npz")
    back = PosePCA.load(tmp_path / "p.npz")
    assert np.allclose(back.keypoint_error_px(moved), pca.keypoint_error_px(moved), equal_nan=True)


def test_singleview_fit_is_nan_aware_and_counts_components() -> None:
    xy = _rank3_views(60)
    xy[3, 2] = np.nan
    pca = fit_pca(xy, "singleview", [list(range(8))], 0.999)
    assert pca.n_fit == 59
    assert pca.components.shape[0] <= 12
    assert fit_pca(xy, "singleview", [list(range(8))], 2).components.shape == (2, 16)
    assert np.isnan(pca.keypoint_error_px(xy)[3]).all() or np.isfinite(pca.keypoint_error_px(xy)[3]).any()


def test_too_few_frames_for_pca_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        fit_pca(_rank3_views(10), "singleview", [list(range(8))], 0.99)


@pytest.mark.parametrize("value", [1.5, 0, -1, "three"])
def test_components_to_keep_validated(value: object) -> None:
    with pytest.raises(ConfigError, match="components_to_keep"):
        fit_pca(_rank3_views(40), "singleview", [list(range(8))], value)  # type: ignore[arg-type]


def test_temporal_loss_ignores_small_moves_and_low_confidence() -> None:
    xy = torch.zeros(4, 2, 2)
    xy[2, 0] = torch.tensor([30.0, 40.0])  # a 50 px jump of keypoint 0 into frame 2, and back
    lik = torch.ones(4, 2)
    eps = torch.tensor([20.0, 20.0])
    loss = temporal_loss(xy, lik, epsilon_px=eps, prob_threshold=0.5)
    assert loss.item() == pytest.approx(2 * 30.0 / 6)
    lik[2, 0] = 0.1
    assert temporal_loss(xy, lik, epsilon_px=eps, prob_threshold=0.5).item() == 0.0


def test_pca_loss_matches_numpy_error() -> None:
    xy = _rank3_views(30)
    pca = fit_pca(xy, "multiview", [[0, 1, 2, 3], [4, 5, 6, 7]], 3, epsilon_px=0.0)
    noisy = xy + np.random.default_rng(1).normal(size=xy.shape)
    expected = np.nanmean(pca.keypoint_error_px(noisy))
    got = pca_loss(
        torch.tensor(noisy), torch.ones(30, 8), kind="multiview", groups=pca.keypoint_groups,
        mean=torch.tensor(pca.mean), components=torch.tensor(pca.components), epsilon_px=0.0,
    )  # fmt: skip
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert set(known_unsupervised_losses()) == {"temporal", "pca_singleview", "pca_multiview"}


@pytest.fixture(scope="module")
def semi_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("semi") / "project"
    generate_example_project(folder, seed=7, n_labeled=30, n_video_frames=24, n_videos=1)
    return folder


def test_clips_are_consecutive_resized_frames(semi_project: Path) -> None:
    from pose_core.data.preprocess import normalize_chw, resize_frame
    from pose_core.video.reader import VideoReader

    videos = check_videos(semi_project / "videos", 6)
    clip = next(iter(UnlabeledClips(videos, 6, (64, 128), seed=0)))
    assert clip["image"].shape == (6, 3, 64, 128)
    assert clip["orig_hw"].tolist() == [128, 256]
    with VideoReader(videos[0].path) as reader:
        frames = [resize_frame(frame, 64, 128) for _, frame in reader.iter_frames()]
    expected = normalize_chw(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    start = int(((expected - clip["image"][0]).abs().mean(dim=(1, 2, 3))).argmin())
    assert torch.allclose(clip["image"], expected[start : start + 6])


def test_no_videos_and_undecodable_video(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    with pytest.raises(DataError, match="video"):
        check_videos(tmp_path / "videos", 8)
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"\x00not a video" * 100)
    with pytest.raises(DataError, match="broken.mp4"):
        check_videos(tmp_path / "videos", 8)


def _args(project: Path, run_dir: Path, *extra: str) -> list[str]:
    # 30 labelled frames, 18 of them for training (>= the 12 dimensions of the singleview PCA), at 32x64
    return [
        "--config-path", str(project), "--config-name", "config.yaml", f"hydra.run.dir={run_dir}",
        "data.image_resize_dims.height=32", "data.image_resize_dims.width=64", "training.imgaug=none",
        "training.max_epochs=2", "training.train_prob=0.6", "training.unlabeled_sequence_length=4",
        "eval.predict_vids_after_training=false", *extra,
    ]  # fmt: skip


def test_semi_supervised_training_writes_every_error_file(semi_project: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    code = train_main(_args(semi_project, run_dir, "model.losses_to_use=[temporal,pca_singleview,pca_multiview]", "losses.pca_singleview.components_to_keep=0.95", "data.columns_for_singleview_pca=[0,1,2,3,4,5]"))  # fmt: skip
    assert code == 0
    for name in ("pca_singleview", "pca_multiview"):
        table = pd.read_csv(run_dir / f"predictions_{name}_error.csv", index_col=0)
        assert len(table) == 30 and table.columns[-1] == "set"
        assert (run_dir / f"{name}.npz").is_file()
    import json

    epochs = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if '"epoch_end"' in line]
    metrics = epochs[-1]["metrics"]
    for key in ("train_temporal_loss", "train_pca_singleview_loss_weighted", "train_pca_multiview_loss", "total_unsupervised_importance", "total_loss"):  # fmt: skip
        assert key in metrics, key
    assert metrics["total_unsupervised_importance"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model.losses_to_use=[pca_multiview]", "data.mirrored_column_matches=[[0,1],[2,99]]"], "outside"),
        (["model.losses_to_use=[pca_singleview]"], "at least 36"),
        (["model.losses_to_use=[temporal]", "data.video_dir=empty-videos"], "video"),
    ],
)
def test_semi_supervised_bad_input_before_training(
    semi_project: Path, tmp_path: Path, overrides: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    shutil.copytree(semi_project, project)
    (project / "empty-videos").mkdir()
    run_dir = tmp_path / "run"
    args = _args(project, run_dir, *overrides, "training.train_prob=0.5")
    assert train_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1
    assert not run_dir.exists()
