"""Image preprocessing shared by the labelled-frame dataset and the video predictor.

Loading (any image file -> uint8 RGB), resizing to the model input size, ImageNet
normalisation and the mapping of keypoint coordinates between image sizes all live here, so
training and prediction cannot drift apart.

Coordinate convention (used everywhere in PoseDesk): the centre of pixel ``(col, row)`` is at
``(x, y) = (col, row)``; the image covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. The resize
(torch's ``interpolate`` with ``align_corners=False``) uses the same half-pixel convention, so a
keypoint on a pixel stays on the corresponding pixel after :func:`resize_frame` +
:func:`scale_keypoints`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pose_core.errors import DataError

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@functools.cache
def _norm_scale_bias() -> tuple[torch.Tensor, torch.Tensor]:
    """``(x / 255 - mean) / std == x * scale + bias``: one multiply-add per pixel (torch imported on first use)."""
    import torch

    scale = torch.tensor([1.0 / (255.0 * s) for s in IMAGENET_STD], dtype=torch.float32)
    bias = torch.tensor([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)], dtype=torch.float32)
    return scale, bias


def load_image_rgb(path: Path) -> np.ndarray:
    """Read an image file as uint8 RGB; greyscale is replicated to 3 channels, alpha dropped.

    The file is read with numpy and decoded by OpenCV, so paths with non-ASCII characters work
    on every platform. 16-bit images are reduced to 8 bits.

    Args:
        path: Image file (PNG, JPEG, BMP, TIFF, ...).

    Returns:
        Array ``[H, W, 3]`` of dtype uint8 in RGB order.

    Raises:
        DataError: The file does not exist or is not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Image {path} does not exist; check that data.data_dir points to the folder "
            "holding the images listed in the labels CSV.",
            path=str(path),
        )
    buffer = np.fromfile(path, dtype=np.uint8)
    image_bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image_bgr is None:
        raise DataError(
            f"Image {path} could not be decoded (empty, truncated or not an image); "
            "replace it with a valid PNG or JPEG file.",
            path=str(path),
        )
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)


def resize_frame(frame_rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an ``[H, W, C]`` image to ``height x width``.

    Bilinear interpolation with antialiasing (torch's ``interpolate(..., antialias=True)``): when
    shrinking, each output pixel averages the input pixels under it (no aliasing, within about one
    grey level of OpenCV's area interpolation); when enlarging it is plain bilinear. torch has a
    vectorised uint8 path for it that is about 6x faster than OpenCV's area interpolation at
    non-integer factors, which matters when a video decoder thread shares two cores with the
    network. The input is returned unchanged if it already has the requested size.

    A process that has not imported torch (prediction with ONNX Runtime or OpenVINO) resizes uint8
    images with Pillow's antialiased bilinear instead, the filter torch's was written to match: the
    same pixels except about 0.1% of them one grey level apart, without the seconds ``import torch``
    costs before the first frame.

    Args:
        frame_rgb: Image ``[H, W, C]``, uint8 or float.
        height: Output height in pixels.
        width: Output width in pixels.

    Returns:
        The resized image ``[height, width, C]``, same dtype.
    """
    if frame_rgb.shape[:2] == (height, width):
        return frame_rgb
    if sys.modules.get("torch") is None and frame_rgb.dtype == np.uint8 and frame_rgb.shape[2] in (1, 3, 4):
        return _resize_pillow(frame_rgb, height, width)
    import torch

    image = torch.from_numpy(np.ascontiguousarray(frame_rgb)).permute(2, 0, 1)[None]
    if image.dtype not in (torch.uint8, torch.float32, torch.float64):
        image = image.to(torch.float32)
    resized = torch.nn.functional.interpolate(
        image, size=(height, width), mode="bilinear", antialias=True, align_corners=False
    )
    return resized[0].permute(1, 2, 0).numpy().astype(frame_rgb.dtype, copy=False)


def _resize_pillow(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Antialiased bilinear resize of a uint8 ``[H, W, C]`` image with Pillow (C = 1, 3 or 4)."""
    from PIL import Image

    squeeze = frame.shape[2] == 1
    image = Image.fromarray(np.ascontiguousarray(frame[:, :, 0] if squeeze else frame))
    resized = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=None))
    return resized[:, :, None] if squeeze else resized


def normalize_chw(images_uint8: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalise channel-first uint8 images.

    Args:
        images_uint8: uint8 tensor ``[3, H, W]`` or ``[B, 3, H, W]`` (RGB).

    Returns:
        Contiguous float32 tensor of the same shape: ``(x / 255 - mean) / std`` per channel.
    """
    import torch

    view_shape = (3, 1, 1)
    norm_scale, norm_bias = _norm_scale_bias()
    scale = norm_scale.view(view_shape)
    bias = norm_bias.view(view_shape)
    as_float = images_uint8.to(torch.float32, memory_format=torch.contiguous_format)
    return as_float.mul_(scale).add_(bias)


def to_tensor_normalized(frames_rgb: np.ndarray) -> torch.Tensor:
    """Turn uint8 RGB frames into an ImageNet-normalised float tensor, channels first.

    Args:
        frames_rgb: uint8 array ``[H, W, 3]`` or ``[B, H, W, 3]``.

    Returns:
        float32 tensor ``[3, H, W]`` or ``[B, 3, H, W]``.

    Raises:
        ValueError: The array is not uint8 with 3 channels last.
    """
    if frames_rgb.dtype != np.uint8 or frames_rgb.ndim not in (3, 4) or frames_rgb.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames [H, W, 3] or [B, H, W, 3], got {frames_rgb.dtype} {frames_rgb.shape}")
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(frames_rgb))
    tensor = tensor.permute(2, 0, 1) if tensor.ndim == 3 else tensor.permute(0, 3, 1, 2)
    return normalize_chw(tensor)


def scale_keypoints(xy: np.ndarray, from_hw: tuple[int, int], to_hw: tuple[int, int] | np.ndarray) -> np.ndarray:
    """Map pixel coordinates from an image of size ``from_hw`` to one of size ``to_hw``.

    Uses the pixel-centre convention of this module: ``x' = (x + 0.5) * W' / W - 0.5`` (and
    the same for y). ``scale_keypoints(scale_keypoints(xy, a, b), b, a)`` returns ``xy``, so
    predictions map back to original frame pixels with the sizes swapped. NaN stays NaN.

    Args:
        xy: Array ``[..., 2]`` of (x, y) pixel coordinates.
        from_hw: (height, width) of the image the coordinates refer to.
        to_hw: (height, width) of the target image, or ``[B, 2]`` sizes of a batch of frames of
            different sizes (then ``xy`` is ``[B, K, 2]``: row b is mapped to frame b's size).

    Returns:
        float array of the same shape (float64 unless ``xy`` is float32).
    """
    xy = np.asarray(xy)
    dtype = xy.dtype if xy.dtype in (np.float32, np.float64) else np.float64
    to = np.asarray(to_hw, dtype=np.float64)
    factor = np.stack([to[..., 1] / from_hw[1], to[..., 0] / from_hw[0]], axis=-1).astype(dtype)
    if factor.ndim == 2:  # one size per frame of a batch
        factor = factor[:, None, :]
    return ((xy.astype(dtype, copy=False) + 0.5) * factor - 0.5).astype(dtype, copy=False)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch ops inside the block on one intra-op thread, then restore the setting.

    Per-image ops (augmentation, normalisation) on model-input-sized tensors are too small to
    gain from torch's thread pool, and on a busy 2-core machine every parallel region waits
    for its slowest thread: one augmented 128x128 image took 79 ms with 2 threads and 4 ms
    with 1 thread while another process was training. Use it only where no other thread runs
    torch work at the same time (a DataLoader with ``num_workers=0`` calls the dataset in the
    training loop, between steps).
    """
    import torch

    n_threads = torch.get_num_threads()
    if n_threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)
