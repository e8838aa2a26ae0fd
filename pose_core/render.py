"""Labelled videos: predicted keypoints drawn as coloured dots on every frame (OpenCV only).

* :func:`keypoint_colors_bgr`: one colour per keypoint sampled from an OpenCV colormap
  (``eval.colormap``).
* :func:`draw_keypoints`: filled, anti-aliased, sub-pixel dots where the likelihood is above
  the threshold (``eval.confidence_thresh_for_vid``).
* :func:`render_labeled_video`: the whole video, frame number in the top-left corner, written
  as mp4 (``mp4v``) at the source frame rate and size, atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from pose_core.errors import ConfigError, DataError
from pose_core.io.atomic import atomic_write_path
from pose_core.video.reader import VideoReader

COLORMAP_KEY = "eval.colormap"
OUTPUT_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi")
_FALLBACK_FPS = 30.0  # used only when the source video states no frame rate
_SHIFT_BITS = 4  # cv2 fixed-point fraction bits: positions drawn to 1/16 pixel
_TEXT_COLOR_BGR = (255, 255, 255)
_TEXT_OUTLINE_BGR = (0, 0, 0)

Color = tuple[int, int, int]


class RenderStopped(Exception):  # noqa: N818 (a cancellation, not an error)
    """Raised by :func:`render_labeled_video` when ``should_stop`` asked it to stop.

    The partial output is deleted; an existing file at the output path is left untouched.
    """


def available_colormaps() -> list[str]:
    """Names accepted by :func:`keypoint_colors_bgr` (OpenCV's colormaps, lower case)."""
    prefix = "COLORMAP_"
    return sorted(name[len(prefix) :].lower() for name in dir(cv2) if name.startswith(prefix))


def keypoint_colors_bgr(n_keypoints: int, colormap: str = "cool") -> list[Color]:
    """Colours for ``n_keypoints`` keypoints sampled evenly along an OpenCV colormap.

    Args:
        n_keypoints: Number of colours.
        colormap: Colormap name, case-insensitive (``cool``, ``viridis``, ``jet``, ...).

    Returns:
        BGR colours; the first keypoint gets the start of the colormap, the last its end.

    Raises:
        ConfigError: Unknown colormap name (key ``eval.colormap``).
    """
    colormap_id = getattr(cv2, f"COLORMAP_{colormap.strip().upper()}", None)
    if colormap_id is None or not colormap.strip():
        raise ConfigError(
            f"{COLORMAP_KEY}: unknown colormap '{colormap}'; choose one of {', '.join(available_colormaps())}.",
            key=COLORMAP_KEY,
        )
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    lut_bgr = cv2.applyColorMap(ramp, colormap_id).reshape(256, 3)
    positions = np.linspace(0, 255, n_keypoints).round().astype(int)
    return [(int(b), int(g), int(r)) for b, g, r in lut_bgr[positions]]


def default_radius_px(width: int, height: int) -> int:
    """Dot radius that stays visible on small frames and is not blobby on large ones."""
    return max(3, round(min(width, height) / 100))


def draw_keypoints(
    frame_bgr: np.ndarray,
    xy_lik: np.ndarray,
    colors: Sequence[Color],
    conf_thresh: float,
    radius_px: int | None = None,
) -> np.ndarray:
    """Draw one filled dot per confident keypoint, in place.

    Args:
        frame_bgr: ``H x W x 3`` uint8 frame, modified in place.
        xy_lik: ``[K, 3]`` x, y (frame pixels, sub-pixel) and likelihood per keypoint.
        colors: K BGR colours.
        conf_thresh: A keypoint is drawn only if its likelihood is strictly above this.
        radius_px: Dot radius; default from :func:`default_radius_px`.

    Returns:
        ``frame_bgr`` (the same array).

    Raises:
        ValueError: ``xy_lik`` is not ``[K, 3]`` or ``colors`` has fewer than K entries.
    """
    xy_lik = np.asarray(xy_lik, dtype=np.float64)
    if xy_lik.ndim != 2 or xy_lik.shape[1] != 3 or len(colors) < xy_lik.shape[0]:
        raise ValueError(f"xy_lik must be [K, 3] with K <= {len(colors)}, got {xy_lik.shape}.")
    height, width = frame_bgr.shape[:2]
    radius_px = default_radius_px(width, height) if radius_px is None else radius_px
    scale = 1 << _SHIFT_BITS
    inside = (
        (xy_lik[:, 2] > conf_thresh)
        & (xy_lik[:, 0] > -radius_px)
        & (xy_lik[:, 0] < width + radius_px)
        & (xy_lik[:, 1] > -radius_px)
        & (xy_lik[:, 1] < height + radius_px)
    )  # comparisons with NaN are False: NaN points are skipped
    for k in np.flatnonzero(inside).tolist():
        center = (round(xy_lik[k, 0] * scale), round(xy_lik[k, 1] * scale))
        cv2.circle(
            frame_bgr,
            center,
            radius_px * scale,
            colors[k],
            thickness=-1,
            lineType=cv2.LINE_AA,
            shift=_SHIFT_BITS,
        )
    return frame_bgr


def _draw_frame_number(frame_bgr: np.ndarray, frame_idx: int) -> None:
    """Write the frame number in the top-left corner, white with a dark outline."""
    height = frame_bgr.shape[0]
    font_scale = max(0.35, height / 800)
    thickness = max(1, round(font_scale * 1.5))
    origin = (4, 4 + round(22 * font_scale))
    for color, extra in ((_TEXT_OUTLINE_BGR, 2), (_TEXT_COLOR_BGR, 0)):
        cv2.putText(
            frame_bgr,
            str(frame_idx),
            origin,
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            color,
            thickness + extra,
            cv2.LINE_AA,
        )


def _pad_to_even(frame_bgr: np.ndarray) -> np.ndarray:
    """Pad an odd width/height with one black pixel: MPEG-4 would otherwise crop it."""
    height, width = frame_bgr.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame_bgr
    return cv2.copyMakeBorder(frame_bgr, 0, height % 2, 0, width % 2, cv2.BORDER_CONSTANT)


def _open_writer(tmp_path: Path, out_path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    size = (width + width % 2, height + height % 2)
    writer = cv2.VideoWriter(str(tmp_path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        writer.release()
        raise DataError(
            f"Cannot write video {out_path}: the folder is not writable or the mp4v encoder is "
            "unavailable; choose another output directory.",
            path=str(out_path),
        )
    return writer


def _write_frames(
    reader: VideoReader,
    preds: np.ndarray,
    writer: cv2.VideoWriter,
    draw: Callable[[np.ndarray, np.ndarray], np.ndarray],
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    n_frames = reader.n_frames
    report_every = max(1, n_frames // 100)
    for frame_idx, frame_bgr in reader.iter_frames(bgr=True):
        if should_stop is not None and should_stop():
            raise RenderStopped(f"Rendering {reader.path} stopped at frame {frame_idx}.")
        draw(frame_bgr, preds[frame_idx])
        _draw_frame_number(frame_bgr, frame_idx)
        writer.write(_pad_to_even(frame_bgr))
        done = frame_idx + 1
        if progress is not None and (done % report_every == 0 or done == n_frames):
            progress(done, n_frames)


def _check_inputs(preds: np.ndarray, out_path: Path, reader: VideoReader) -> None:
    if out_path.suffix.lower() not in OUTPUT_EXTENSIONS:
        raise DataError(
            f"Output video {out_path} must end in one of {', '.join(OUTPUT_EXTENSIONS)}.",
            path=str(out_path),
        )
    if preds.shape[0] != reader.n_frames:
        raise DataError(
            f"Predictions have {preds.shape[0]} rows but video {reader.path} has "
            f"{reader.n_frames} frames: predict this video again before rendering it.",
            path=str(reader.path),
        )


def render_labeled_video(
    video_path: Path,
    preds: np.ndarray,
    out_path: Path,
    *,
    colormap: str = "cool",
    conf_thresh: float = 0.9,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Render ``video_path`` with predicted keypoints to ``out_path`` (mp4v).

    The output has the source's frame rate and size (an odd width or height is padded by
    one black pixel, as MPEG-4 needs even sizes) and the frame number in the top-left
    corner. It is written to a temporary file and renamed when complete.

    Args:
        video_path: Source video.
        preds: ``[N, K, 3]`` x, y in video pixels and likelihood; N = the video's frames.
        out_path: Output file (``.mp4``; ``.m4v``, ``.mov``, ``.avi`` also accepted).
        colormap: OpenCV colormap name for keypoint colours (``eval.colormap``).
        conf_thresh: Dots are drawn only where likelihood > this.
        progress: Called with ``(frames_done, n_frames)`` about every 1% and at the end.
        should_stop: Polled before each frame; returning True stops rendering.

    Returns:
        ``out_path``.

    Raises:
        ConfigError: Unknown colormap.
        DataError: Video unreadable, frame count differs from ``preds``, output not writable.
        RenderStopped: ``should_stop`` returned True (no output is left behind).
    """
    preds = np.asarray(preds, dtype=np.float64)
    if preds.ndim != 3 or preds.shape[2] != 3:
        raise ValueError(f"preds must have shape [N, K, 3], got {preds.shape}.")
    colors = keypoint_colors_bgr(preds.shape[1], colormap)
    out_path = Path(out_path)
    with VideoReader(Path(video_path)) as reader:
        _check_inputs(preds, out_path, reader)
        radius_px = default_radius_px(reader.width, reader.height)

        def draw(frame_bgr: np.ndarray, xy_lik: np.ndarray) -> np.ndarray:
            return draw_keypoints(frame_bgr, xy_lik, colors, conf_thresh, radius_px)

        fps = reader.fps if reader.fps > 0 else _FALLBACK_FPS
        with atomic_write_path(out_path) as tmp_path:
            writer = _open_writer(tmp_path, out_path, fps, reader.width, reader.height)
            try:
                _write_frames(reader, preds, writer, draw, progress, should_stop)
            finally:
                writer.release()
    return out_path
