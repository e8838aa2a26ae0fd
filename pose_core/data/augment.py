"""Keypoint-aware image augmentation for training (``training.imgaug``, ``training.imgaug_hflip``).

An augmentation is a callable ``(image, keypoints) -> (image, keypoints)`` taking a uint8
image ``[3, H, W]`` already resized to the model input and keypoints ``[K, 2]`` in the same
pixels (pixel-centre convention of :mod:`pose_core.data.preprocess`). Geometric steps move
the keypoints with the image through ``torchvision.tv_tensors.KeyPoints``; unlabelled (NaN)
keypoints stay NaN and keypoints pushed outside the image become NaN. Randomness comes from
torch's global generator, so ``seed_everything`` and DataLoader worker seeding apply. The
steps are cheap (about 2-4 ms per 128x128 image) when run on one torch thread, as
:class:`pose_core.data.dataset.LabeledFramesDataset` does.

Presets (Lightning Pose names):

- ``none`` / ``default``: no augmentation (resize only).
- ``dlc``: random rotation (±25°, p=0.4), scale 0.8-1.2 (p=0.5), shift up to 5 % (p=0.5),
  motion or Gaussian blur (p=0.3), brightness/contrast (p=0.5), a black occlusion box
  (p=0.3), histogram equalisation (p=0.1).
- ``dlc-lr`` / ``dlc-top-down`` (accepted for Lightning Pose configs): ``dlc`` plus a random
  180° rotation (``dlc-lr``) or random multiple of 90° (``dlc-top-down``; 180° only for
  non-square inputs). Unlike Lightning Pose's unpaired flips, rotations never mirror the
  animal, so left/right keypoint names stay correct.

``imgaug_hflip`` adds a horizontal flip (p=0.5) that swaps keypoints named ``*_left`` /
``*_right`` (or ``*_l`` / ``*_r``, any case).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from pose_core.errors import ConfigError

AUGMENTATION_PRESETS: tuple[str, ...] = ("none", "default", "dlc")
LP_EXTRA_PRESETS: tuple[str, ...] = ("dlc-lr", "dlc-top-down")

Augmentation = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_LATERAL_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_left", "_right"),
    ("_right", "_left"),
    ("_l", "_r"),
    ("_r", "_l"),
)


def build_augmentation(
    preset: str, hflip: bool = False, keypoint_names: list[str] | None = None
) -> Augmentation | None:
    """Build the training augmentation for a preset.

    Args:
        preset: ``training.imgaug``: one of :data:`AUGMENTATION_PRESETS` (or
            :data:`LP_EXTRA_PRESETS`).
        hflip: ``training.imgaug_hflip``: add random horizontal flips with left/right swaps.
        keypoint_names: Keypoint names in column order; required when ``hflip`` is set.

    Returns:
        The augmentation callable, or None when nothing is applied (resize only).

    Raises:
        ConfigError: Unknown preset, or ``hflip`` with a lateral keypoint lacking its partner.
    """
    if preset not in AUGMENTATION_PRESETS + LP_EXTRA_PRESETS:
        choices = ", ".join(AUGMENTATION_PRESETS + LP_EXTRA_PRESETS)
        raise ConfigError(
            f"training.imgaug is '{preset}', which is not a known augmentation preset; use one of {choices}.",
            key="training.imgaug",
        )
    steps: list[Augmentation] = []
    if hflip:
        steps.append(RandomHorizontalFlipSwap(tuple(flip_permutation(keypoint_names))))
    if preset in LP_EXTRA_PRESETS:
        steps.append(RandomQuarterTurns(allow_quarter=preset == "dlc-top-down"))
    if preset.startswith("dlc"):
        steps += [RandomAffineKeypoints(), RandomPhotometric()]
    if not steps:
        return None
    return steps[0] if len(steps) == 1 else ComposeAugmentations(tuple(steps))


@dataclass(frozen=True)
class ComposeAugmentations:
    """Apply augmentations one after the other."""

    steps: tuple[Augmentation, ...]

    def __call__(self, image: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run every step on (image, keypoints)."""
        for step in self.steps:
            image, keypoints = step(image, keypoints)
        return image, keypoints


# --------------------------------------------------------------------------------------
# Geometry


def flip_permutation(keypoint_names: Sequence[str] | None) -> list[int]:
    """Keypoint order after a horizontal flip: lateral partners swapped, others kept.

    Args:
        keypoint_names: Names in column order; ``*_left``/``*_right`` and ``*_l``/``*_r``
            (case-insensitive) are partners.

    Returns:
        ``perm`` such that ``flipped_keypoints = keypoints[perm]``.

    Raises:
        ConfigError: Names are missing or a lateral keypoint has no partner.
    """
    if keypoint_names is None:
        raise ConfigError(
            "training.imgaug_hflip needs the keypoint names to swap left and right keypoints; "
            "set data.keypoint_names or turn training.imgaug_hflip off.",
            key="training.imgaug_hflip",
        )
    index_of = {name.lower(): idx for idx, name in enumerate(keypoint_names)}
    perm = list(range(len(keypoint_names)))
    for idx, name in enumerate(keypoint_names):
        partner = _lateral_partner(name)
        if partner is None:
            continue
        if partner.lower() not in index_of:
            raise ConfigError(
                f"training.imgaug_hflip: keypoint '{name}' has no partner '{partner}' to swap "
                "with when flipping; add that keypoint, rename this one, or turn "
                "training.imgaug_hflip off.",
                key="training.imgaug_hflip",
            )
        perm[idx] = index_of[partner.lower()]
    return perm


def _lateral_partner(name: str) -> str | None:
    """``paw_left`` -> ``paw_right``, ``ear_L`` -> ``ear_R``; None for non-lateral names."""
    lower = name.lower()
    for suffix, partner in _LATERAL_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            written = name[-len(suffix) :]
            partner = partner.upper() if written.isupper() else partner
            return name[: -len(suffix)] + partner
    return None


def nan_outside_image(keypoints: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Set keypoints outside the image area ``[-0.5, W-0.5] x [-0.5, H-0.5]`` to NaN."""
    x, y = keypoints[..., 0], keypoints[..., 1]
    outside = (x < -0.5) | (x > width - 0.5) | (y < -0.5) | (y > height - 0.5)
    return keypoints.masked_fill(outside.unsqueeze(-1), float("nan"))


def affine_with_keypoints(
    image: torch.Tensor,
    keypoints: torch.Tensor,
    angle_deg: float,
    translate_px: tuple[float, float],
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate / scale / shift an image about its centre and move the keypoints with it.

    torchvision's keypoint kernel treats pixel corners as integers while its image kernel
    rotates about the pixel-centre image centre; shifting the keypoints by half a pixel
    around the call makes both agree exactly (otherwise a 90° turn is 1 px off).

    Args:
        image: uint8 ``[3, H, W]``.
        keypoints: float ``[K, 2]`` pixel-centre coordinates (NaN allowed).
        angle_deg: Rotation in degrees, clockwise on screen (torchvision's convention).
        translate_px: (dx, dy) shift in pixels.
        scale: Zoom factor (> 1 enlarges).

    Returns:
        (image, keypoints); keypoints that leave the image are NaN.
    """
    height, width = image.shape[-2:]
    kwargs = {"angle": angle_deg, "translate": list(translate_px), "scale": scale, "shear": [0.0, 0.0]}
    out_image = F.affine(image, interpolation=v2.InterpolationMode.BILINEAR, **kwargs)
    corner_kp = tv_tensors.KeyPoints(keypoints + 0.5, canvas_size=(height, width))
    out_kp = F.affine(corner_kp, **kwargs).as_subclass(torch.Tensor) - 0.5
    return out_image, nan_outside_image(out_kp.to(keypoints.dtype), height, width)


def _uniform(low: float, high: float) -> float:
    """One sample from U(low, high) using torch's global generator."""
    return low + (high - low) * float(torch.rand(()))


def _happens(prob: float) -> bool:
    """True with probability ``prob`` (torch's global generator)."""
    return float(torch.rand(())) < prob


@dataclass(frozen=True)
class RandomAffineKeypoints:
    """Random rotation, scaling and shift, each applied with its own probability."""

    rotation_deg: float = 25.0
    rotation_prob: float = 0.4
    scale_range: tuple[float, float] = (0.8, 1.2)
    scale_prob: float = 0.5
    translate_frac: float = 0.05
    translate_prob: float = 0.5

    def __call__(self, image: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample the parameters and transform (image, keypoints); identity if none fire."""
        height, width = image.shape[-2:]
        angle = _uniform(-self.rotation_deg, self.rotation_deg) if _happens(self.rotation_prob) else 0.0
        scale = _uniform(*self.scale_range) if _happens(self.scale_prob) else 1.0
        shift = (0.0, 0.0)
        if _happens(self.translate_prob):
            max_dx, max_dy = self.translate_frac * width, self.translate_frac * height
            shift = (_uniform(-max_dx, max_dx), _uniform(-max_dy, max_dy))
        if angle == 0.0 and scale == 1.0 and shift == (0.0, 0.0):
            return image, keypoints
        return affine_with_keypoints(image, keypoints, angle, shift, scale)


@dataclass(frozen=True)
class RandomHorizontalFlipSwap:
    """Flip left-right with probability ``prob`` and swap lateral keypoints."""

    permutation: tuple[int, ...]
    prob: float = 0.5

    def __call__(self, image: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flip (image, keypoints) or return them unchanged."""
        if not _happens(self.prob):
            return image, keypoints
        height, width = image.shape[-2:]
        kp = tv_tensors.KeyPoints(keypoints, canvas_size=(height, width))
        flipped = F.horizontal_flip(kp).as_subclass(torch.Tensor)  # x' = W - 1 - x
        return F.horizontal_flip(image), flipped[list(self.permutation)]


@dataclass(frozen=True)
class RandomQuarterTurns:
    """Rotate by a random multiple of 90° (only 0°/180° unless ``allow_quarter``)."""

    allow_quarter: bool = False

    def __call__(self, image: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate counter-clockwise by k·90° and map the keypoints exactly."""
        height, width = image.shape[-2:]
        quarter_ok = self.allow_quarter and height == width
        turns = int(torch.randint(4, ())) if quarter_ok else 2 * int(torch.randint(2, ()))
        if turns == 0:
            return image, keypoints
        x, y = keypoints[..., 0], keypoints[..., 1]
        if turns == 2:
            new_xy = torch.stack([width - 1 - x, height - 1 - y], dim=-1)
        elif turns == 1:
            new_xy = torch.stack([y, width - 1 - x], dim=-1)
        else:
            new_xy = torch.stack([height - 1 - y, x], dim=-1)
        return torch.rot90(image, turns, dims=(-2, -1)), new_xy


# --------------------------------------------------------------------------------------
# Photometric (image only; keypoints unchanged)


def motion_blur(image: torch.Tensor, kernel_size: int, angle_deg: float) -> torch.Tensor:
    """Blur a uint8 ``[3, H, W]`` image along a line at ``angle_deg`` (camera/animal motion).

    The kernel is symmetric about its centre, so features do not shift.
    """
    centre = (kernel_size - 1) / 2
    coords = torch.arange(kernel_size, dtype=torch.float32) - centre
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    cos_a, sin_a = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    off_line = (yy * cos_a - xx * sin_a).abs()
    kernel = (1.0 - off_line).clamp(min=0.0) * ((xx * cos_a + yy * sin_a).abs() <= centre)
    kernel = (kernel / kernel.sum()).expand(3, 1, kernel_size, kernel_size)
    pad = kernel_size // 2
    padded = torch.nn.functional.pad(image.float()[None], (pad, pad, pad, pad), mode="reflect")
    blurred = torch.nn.functional.conv2d(padded, kernel, groups=3)[0]
    return blurred.round_().clamp_(0, 255).to(torch.uint8)


@dataclass(frozen=True)
class RandomPhotometric:
    """Blur, brightness/contrast, occlusion box and histogram equalisation (DLC style)."""

    blur_prob: float = 0.3
    jitter_prob: float = 0.5
    occlusion_prob: float = 0.3
    equalize_prob: float = 0.1

    def __call__(self, image: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply each image-only step with its probability; keypoints pass through."""
        if _happens(self.blur_prob):
            image = self._blur(image)
        if _happens(self.jitter_prob):
            image = _JITTER(image)
        if _happens(self.occlusion_prob):
            image = F.erase(image, *_occlusion_box(image))
        if _happens(self.equalize_prob):
            image = F.equalize(image)
        return image, keypoints

    @staticmethod
    def _blur(image: torch.Tensor) -> torch.Tensor:
        """Motion blur (random direction) or Gaussian blur, half the time each."""
        if _happens(0.5):
            return motion_blur(image, kernel_size=5, angle_deg=_uniform(0.0, 180.0))
        return F.gaussian_blur(image, kernel_size=[5, 5], sigma=[_uniform(0.3, 1.5)] * 2)


_JITTER = v2.ColorJitter(brightness=0.3, contrast=0.3)


def _occlusion_box(image: torch.Tensor) -> tuple[int, int, int, int, torch.Tensor]:
    """A random black box covering 2-10 % of the image: (top, left, h, w, fill value)."""
    height, width = image.shape[-2:]
    area = _uniform(0.02, 0.10) * height * width
    aspect = math.exp(_uniform(math.log(0.3), math.log(3.3)))
    box_h = max(1, min(height, round(math.sqrt(area / aspect))))
    box_w = max(1, min(width, round(math.sqrt(area * aspect))))
    top = int(torch.randint(height - box_h + 1, ()))
    left = int(torch.randint(width - box_w + 1, ()))
    return top, left, box_h, box_w, torch.zeros((), dtype=image.dtype)
