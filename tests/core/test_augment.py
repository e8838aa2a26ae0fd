"""Keypoint-aware augmentation: keypoints follow the image, NaN handling, flips, presets."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from pose_core.data.augment import (
    AUGMENTATION_PRESETS,
    affine_with_keypoints,
    build_augmentation,
    flip_permutation,
)
from pose_core.data.preprocess import single_threaded
from pose_core.errors import ConfigError

SIZE = 96


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run as the dataset does (one thread): fast even when other processes load the CPU."""
    with single_threaded():
        yield


def _dot_image(keypoints: torch.Tensor, size: int = SIZE, sigma: float = 1.0, background: int = 0) -> torch.Tensor:
    """uint8 [3, size, size] image with a bright Gaussian dot at every labelled keypoint."""
    coords = torch.arange(size, dtype=torch.float32)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    image = torch.zeros(size, size)
    for x, y in keypoints.tolist():
        if not math.isnan(x):
            image = torch.maximum(image, torch.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
    image = background + image * (255 - background)
    return image.round().to(torch.uint8).expand(3, size, size).contiguous()


def _centroid(image: torch.Tensor, x: float, y: float, radius: int = 4) -> tuple[float, float]:
    """Intensity-weighted centre of the window of ``radius`` around (x, y)."""
    x0, y0 = round(x), round(y)
    window = image[0, y0 - radius : y0 + radius + 1, x0 - radius : x0 + radius + 1].float()
    ys, xs = torch.meshgrid(
        torch.arange(y0 - radius, y0 + radius + 1, dtype=torch.float32),
        torch.arange(x0 - radius, x0 + radius + 1, dtype=torch.float32),
        indexing="ij",
    )
    return float((window * xs).sum() / window.sum()), float((window * ys).sum() / window.sum())


KEYPOINTS = torch.tensor([[30.0, 30.0], [66.0, 30.0], [30.0, 66.0], [62.0, 58.0], [48.0, 45.0], [float("nan")] * 2])


def test_unknown_preset_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        build_augmentation("imgaug-heavy")
    assert info.value.key == "training.imgaug"
    for preset in AUGMENTATION_PRESETS:
        assert preset in str(info.value)


@pytest.mark.parametrize("preset", ["none", "default"])
def test_resize_only_presets_build_nothing(preset: str) -> None:
    assert build_augmentation(preset) is None


@pytest.mark.parametrize(
    ("angle_deg", "shift", "scale"),
    [(90.0, (0.0, 0.0), 1.0), (-30.0, (0.0, 0.0), 1.0), (0.0, (3.5, -2.25), 1.0), (17.0, (2.0, 1.0), 1.2)],
)
def test_affine_moves_keypoints_exactly_with_the_image(
    angle_deg: float, shift: tuple[float, float], scale: float
) -> None:
    keypoints = KEYPOINTS[:5]
    image, moved = affine_with_keypoints(_dot_image(keypoints), keypoints, angle_deg, shift, scale)
    assert image.dtype == torch.uint8 and image.shape == (3, SIZE, SIZE)
    for x, y in moved.tolist():
        cx, cy = _centroid(image, x, y)
        assert math.hypot(cx - x, cy - y) < 0.25  # sub-pixel: no half-pixel centre mismatch


def test_affine_sets_keypoints_pushed_outside_to_nan_and_keeps_nan() -> None:
    keypoints = torch.tensor([[5.0, 48.0], [80.0, 48.0], [float("nan"), float("nan")]])
    _, moved = affine_with_keypoints(_dot_image(keypoints), keypoints, 0.0, (-10.0, 0.0), 1.0)
    assert torch.isnan(moved[0]).all()  # x = -5: left of the image
    assert moved[1].tolist() == pytest.approx([70.0, 48.0])
    assert torch.isnan(moved[2]).all()


def _brightest_spot(window: torch.Tensor) -> tuple[float, float]:
    """(col, row) centre of the brightest pixels of a window (equalisation can saturate a dot)."""
    rows, cols = torch.nonzero(window >= int(window.max()) - 2, as_tuple=True)
    return float(cols.float().mean()), float(rows.float().mean())


@pytest.mark.parametrize("preset", ["dlc", "dlc-lr", "dlc-top-down"])
def test_random_augmentations_keep_dots_on_their_keypoints(preset: str) -> None:
    torch.manual_seed(0)
    augment = build_augmentation(preset)
    assert augment is not None
    # grey background: black pixels can then only come from an occlusion box or the padding
    # of a rotation, and dots they touch are skipped
    image = _dot_image(KEYPOINTS, background=60)
    checked = changed = 0
    for _ in range(40):
        out_image, out_kp = augment(image, KEYPOINTS.clone())
        assert out_image.dtype == torch.uint8 and out_image.shape == image.shape
        assert out_kp.dtype == torch.float32 and out_kp.shape == KEYPOINTS.shape
        assert torch.isnan(out_kp[-1]).all()  # unlabelled stays unlabelled
        changed += int(not torch.equal(out_kp[:5], KEYPOINTS[:5]))
        for x, y in out_kp[:5].tolist():
            if math.isnan(x) or not (4 <= x < SIZE - 4 and 4 <= y < SIZE - 4):
                continue
            x0, y0 = round(x), round(y)
            window = out_image[0, y0 - 4 : y0 + 5, x0 - 4 : x0 + 5]
            if int(window.min()) == 0:
                continue
            col, row = _brightest_spot(window)
            assert math.hypot(x0 - 4 + col - x, y0 - 4 + row - y) <= 2.0
            checked += 1
    assert changed >= 15  # geometry really ran
    assert checked >= 120  # most dots were checked, not skipped


def test_hflip_swaps_left_and_right_keypoints() -> None:
    names = ["nose", "paw_left", "paw_right"]
    keypoints = torch.tensor([[48.0, 20.0], [20.0, 60.0], [70.0, 64.0]])
    augment = build_augmentation("none", hflip=True, keypoint_names=names)
    assert augment is not None
    torch.manual_seed(0)
    outcomes = [augment(_dot_image(keypoints), keypoints) for _ in range(20)]
    flipped = [(img, kp) for img, kp in outcomes if not torch.equal(kp, keypoints)]
    assert 3 <= len(flipped) <= 17  # flips about half of the time
    image, kp = flipped[0]
    # the left paw is now where the mirrored right paw is (x' = W - 1 - x), and vice versa
    assert kp.tolist() == [[47.0, 20.0], [SIZE - 1 - 70.0, 64.0], [SIZE - 1 - 20.0, 60.0]]
    for x, y in kp.tolist():
        cx, cy = _centroid(image, x, y)
        assert math.hypot(cx - x, cy - y) < 0.25


def test_flip_permutation_pairs_suffixes_in_any_case() -> None:
    names = ["nose", "ear_L", "ear_R", "paw_left", "tail", "paw_right", "eye_l", "eye_r"]
    assert flip_permutation(names) == [0, 2, 1, 5, 4, 3, 7, 6]


def test_hflip_without_partner_names_the_missing_keypoint() -> None:
    with pytest.raises(ConfigError, match="'paw_left' has no partner 'paw_right'") as info:
        build_augmentation("dlc", hflip=True, keypoint_names=["nose", "paw_left"])
    assert info.value.key == "training.imgaug_hflip"


def test_hflip_needs_keypoint_names() -> None:
    with pytest.raises(ConfigError) as info:
        build_augmentation("dlc", hflip=True, keypoint_names=None)
    assert info.value.key == "training.imgaug_hflip"


def test_dlc_changes_pixels_but_not_unaugmented_input() -> None:
    torch.manual_seed(1)
    augment = build_augmentation("dlc")
    assert augment is not None
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8))
    original = image.clone()
    outputs = [augment(image, KEYPOINTS.clone())[0] for _ in range(10)]
    assert torch.equal(image, original)  # the cached input image is never modified in place
    assert sum(not torch.equal(out, image) for out in outputs) >= 7
