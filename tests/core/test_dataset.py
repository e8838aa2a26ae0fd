"""Labelled-frame dataset and data module: tensors, keypoint scaling, caching, splits, speed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pose_core.data.dataset import LabeledFramesDataset, PoseDataModule
from pose_core.data.labels import LabelSet, read_labels
from pose_core.data.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    load_image_rgb,
    scale_keypoints,
    to_tensor_normalized,
)
from pose_core.errors import ConfigError, DataError

MIRROR_MOUSE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example"
NAN = float("nan")


def _write_images(data_dir: Path, images: list[np.ndarray]) -> list[str]:
    """Write images as labeled-data/imgNN.png; return their CSV-style relative paths."""
    (data_dir / "labeled-data").mkdir(parents=True, exist_ok=True)
    paths = []
    for idx, image in enumerate(images):
        rel = f"labeled-data/img{idx:02d}.png"
        assert cv2.imwrite(str(data_dir / rel), image)
        paths.append(rel)
    return paths


def _tiny_project(data_dir: Path, n_frames: int, hw: tuple[int, int] = (8, 8)) -> LabelSet:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (*hw, 3), dtype=np.uint8) for _ in range(n_frames)]
    paths = _write_images(data_dir, images)
    keypoints = rng.uniform(1, min(hw) - 2, size=(n_frames, 2, 2))
    return LabelSet(paths, ["nose", "tail"], keypoints)


def _unnormalise(channel0: torch.Tensor) -> torch.Tensor:
    return channel0 * IMAGENET_STD[0] + IMAGENET_MEAN[0]


# ----------------------------------------------------------------------------- preprocess


def test_load_image_rgb_returns_rgb_for_colour_alpha_and_grey_files(tmp_path: Path) -> None:
    bgra = np.zeros((4, 5, 4), dtype=np.uint8)
    bgra[..., 2] = 200  # red in OpenCV's BGR(A) order
    bgra[..., 3] = 255
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((4, 5), 90, dtype=np.uint8))
    rgb = load_image_rgb(tmp_path / "rgba.png")
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [200, 0, 0]
    assert load_image_rgb(tmp_path / "grey.png")[2, 3].tolist() == [90, 90, 90]


def test_load_image_rgb_rejects_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_image_rgb(tmp_path / "absent.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="could not be decoded"):
        load_image_rgb(tmp_path / "broken.png")


def test_to_tensor_normalized_single_and_batch() -> None:
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 5, 6, 3), dtype=np.uint8)
    batch = to_tensor_normalized(frames)
    single = to_tensor_normalized(frames[1])
    assert batch.shape == (2, 3, 5, 6) and single.shape == (3, 5, 6) and batch.dtype == torch.float32
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    expected = (torch.from_numpy(frames[1]).permute(2, 0, 1) / 255.0 - mean) / std
    torch.testing.assert_close(single, expected)
    torch.testing.assert_close(batch[1], expected)


def test_scale_keypoints_uses_pixel_centres_and_inverts() -> None:
    xy = np.array([[0.0, 0.0], [9.0, 4.0], [np.nan, np.nan]])
    scaled = scale_keypoints(xy, from_hw=(5, 10), to_hw=(10, 20))
    np.testing.assert_allclose(scaled[:2], [[0.5, 0.5], [18.5, 8.5]])  # first/last pixel centres
    assert np.isnan(scaled[2]).all()
    np.testing.assert_allclose(scale_keypoints(scaled, (10, 20), (5, 10)), xy)


# ----------------------------------------------------------------------------- dataset


def test_item_tensors_shapes_dtypes_and_normalisation(tmp_path: Path) -> None:
    grey = np.zeros((40, 60), dtype=np.uint8)  # greyscale file: must come out as RGB
    paths = _write_images(tmp_path, [grey, grey])
    labels = LabelSet(paths, ["nose", "tail"], np.array([[[10.0, 20.0], [NAN, NAN]]] * 2))
    dataset = LabeledFramesDataset(tmp_path, labels, [1], resize_hw=(24, 32))
    assert len(dataset) == 1
    item = dataset[0]
    assert item["image"].shape == (3, 24, 32) and item["image"].dtype == torch.float32
    assert item["keypoints"].shape == (2, 2) and item["keypoints"].dtype == torch.float32
    assert item["index"].dtype == torch.int64 and item["index"].ndim == 0 and int(item["index"]) == 1
    assert item["orig_hw"].dtype == torch.int64 and item["orig_hw"].tolist() == [40, 60]
    assert torch.isnan(item["keypoints"][1]).all()
    black = [-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    np.testing.assert_allclose(item["image"][:, 5, 5].numpy(), black, rtol=1e-5)


def test_keypoints_scale_with_the_image_when_shrinking(tmp_path: Path) -> None:
    image = np.zeros((80, 120, 3), dtype=np.uint8)
    image[20:22, 30:32] = 255  # 2x2 block centred on (x, y) = (30.5, 20.5)
    paths = _write_images(tmp_path, [image])
    labels = LabelSet(paths, ["dot"], np.array([[[30.5, 20.5]]]))
    item = LabeledFramesDataset(tmp_path, labels, [0], resize_hw=(40, 60))[0]
    assert item["keypoints"][0].tolist() == pytest.approx([15.0, 10.0])
    row, col = divmod(int(item["image"][0].argmax()), 60)
    assert (col, row) == (15, 10)


def test_keypoints_scale_with_the_image_when_enlarging(tmp_path: Path) -> None:
    image = np.zeros((20, 30, 3), dtype=np.uint8)
    image[5, 10] = 255
    paths = _write_images(tmp_path, [image])
    labels = LabelSet(paths, ["dot"], np.array([[[10.0, 5.0]]]))
    item = LabeledFramesDataset(tmp_path, labels, [0], resize_hw=(40, 60))[0]
    x, y = item["keypoints"][0].tolist()
    assert (x, y) == pytest.approx((20.5, 10.5))
    weights = _unnormalise(item["image"][0]).clamp(min=0)
    ys, xs = torch.meshgrid(torch.arange(40.0), torch.arange(60.0), indexing="ij")
    centre = (float((weights * xs).sum() / weights.sum()), float((weights * ys).sum() / weights.sum()))
    assert centre == pytest.approx((x, y), abs=0.05)


def test_cache_serves_later_epochs_without_the_files(tmp_path: Path) -> None:
    labels = _tiny_project(tmp_path, 4)
    cached = LabeledFramesDataset(tmp_path, labels, range(4), resize_hw=(16, 16), cache=True)
    uncached = LabeledFramesDataset(tmp_path, labels, range(4), resize_hw=(16, 16), cache=False)
    first = [cached[i]["image"] for i in range(4)]
    uncached[0]
    for rel in labels.image_paths:
        (tmp_path / rel).unlink()
    again = [cached[i]["image"] for i in range(4)]
    for before, after in zip(first, again, strict=True):
        assert torch.equal(before, after)
    with pytest.raises(DataError, match="does not exist"):
        uncached[0]


def test_data_module_splits_90_frames_72_9_9_deterministically(tmp_path: Path) -> None:
    labels = _tiny_project(tmp_path, 90)
    kwargs = {"train_prob": 0.8, "val_prob": 0.1, "seed": 42, "imgaug": "dlc"}
    module = PoseDataModule(tmp_path, labels, (8, 8), **kwargs)
    again = PoseDataModule(tmp_path, labels, (8, 8), **kwargs)
    other_seed = PoseDataModule(tmp_path, labels, (8, 8), **{**kwargs, "seed": 1})
    assert {name: len(rows) for name, rows in module.splits.items()} == {"train": 72, "validation": 9, "test": 9}
    for name in module.splits:
        np.testing.assert_array_equal(module.splits[name], again.splits[name])
    assert not np.array_equal(module.splits["train"], other_seed.splits["train"])
    names = module.row_split_names()
    assert (names.count("train"), names.count("validation"), names.count("test")) == (72, 9, 9)

    val_rows = torch.cat([batch["index"] for batch in module.val_dataloader()])
    assert val_rows.tolist() == module.splits["validation"].tolist()
    test_rows = torch.cat([batch["index"] for batch in module.test_dataloader()])
    assert test_rows.tolist() == module.splits["test"].tolist()
    all_rows = torch.cat([batch["index"] for batch in module.labeled_dataloader()])
    assert all_rows.tolist() == list(range(90))


def test_train_loader_shuffles_and_augments_but_val_loader_does_not(tmp_path: Path) -> None:
    labels = _tiny_project(tmp_path, 30, hw=(32, 32))
    module = PoseDataModule(
        tmp_path, labels, (32, 32), train_prob=0.5, val_prob=0.3, seed=0, imgaug="dlc", train_batch_size=4
    )
    torch.manual_seed(0)
    epochs = [list(module.train_dataloader()) for _ in range(2)]
    orders = [torch.cat([batch["index"] for batch in epoch]).tolist() for epoch in epochs]
    assert sorted(orders[0]) == module.splits["train"].tolist()
    assert orders[0] != orders[1]
    assert epochs[0][0]["image"].shape == (4, 3, 32, 32)
    row = orders[0][0]
    position = orders[1].index(row)
    second = epochs[1][position // 4]["keypoints"][position % 4]
    first = epochs[0][0]["keypoints"][0]
    assert not torch.allclose(first, second, equal_nan=True)  # augmentation moved the keypoints
    val_passes = [[batch["image"] for batch in module.val_dataloader()] for _ in range(2)]
    for a, b in zip(*val_passes, strict=True):
        assert torch.equal(a, b)


def test_single_image_last_batch_is_dropped(tmp_path: Path) -> None:
    labels = _tiny_project(tmp_path, 20)
    module = PoseDataModule(
        tmp_path, labels, (8, 8), train_prob=0.5, val_prob=0.2, seed=0, train_frames=9, train_batch_size=8
    )
    assert len(module.splits["train"]) == 9
    assert [len(batch["index"]) for batch in module.train_dataloader()] == [8]  # not [8, 1]: BatchNorm fails on 1


def test_data_module_reports_missing_images_and_bad_preset(tmp_path: Path) -> None:
    labels = _tiny_project(tmp_path, 10)
    with pytest.raises(ConfigError, match="training.imgaug"):
        PoseDataModule(tmp_path, labels, (8, 8), train_prob=0.8, val_prob=0.1, seed=0, imgaug="heavy")
    (tmp_path / labels.image_paths[3]).unlink()
    with pytest.raises(DataError, match="1 of 10 labelled images are missing.*img03.png"):
        PoseDataModule(tmp_path, labels, (8, 8), train_prob=0.8, val_prob=0.1, seed=0)


def test_mirror_mouse_train_loader_gives_every_training_image_each_epoch() -> None:
    csv_path = MIRROR_MOUSE / "CollectedData.csv"
    if not csv_path.is_file():
        pytest.skip(f"mirror-mouse example data not found at {MIRROR_MOUSE}")
    labels = read_labels(csv_path)
    module = PoseDataModule(
        MIRROR_MOUSE, labels, (128, 128), train_prob=0.8, val_prob=0.1, seed=0, imgaug="dlc", train_batch_size=8
    )
    for _ in range(2):  # the first epoch decodes, the second reads the cache
        assert sum(len(batch["index"]) for batch in module.train_dataloader()) == 72
    # Its speed (images/s, far above training's) is printed by benchmarks/train_loader_rate.py.
