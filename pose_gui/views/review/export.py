"""Export from the review pane: the current frame as a PNG with overlays, a labelled clip of a frame range.

Both run in worker threads (OpenCV is imported inside) and draw with :mod:`pose_core.render`,
in the pane's keypoint colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pose_core.errors import DataError

Color = tuple[int, int, int]


def export_frame_png(
    image_rgb: np.ndarray, xy_lik: np.ndarray | None, colors_bgr: Sequence[Color], threshold: float, out_path: Path
) -> Path:
    """Write ``image_rgb`` with the keypoints above ``threshold`` drawn on it to ``out_path`` (PNG).

    Raises:
        DataError: The file cannot be written.
    """
    import cv2

    from pose_core.render import draw_keypoints

    frame_bgr = cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2BGR)
    if xy_lik is not None:
        lik = np.nan_to_num(xy_lik[:, 2], nan=1.0)  # x, y only files: draw every point
        draw_keypoints(frame_bgr, np.column_stack([xy_lik[:, :2], lik]), colors_bgr, threshold)
    out_path = Path(out_path).with_suffix(".png")
    if not cv2.imwrite(str(out_path), frame_bgr):
        raise DataError(f"Cannot write {out_path}: choose a writable folder.", path=str(out_path))
    return out_path


def export_clip(
    video_path: Path,
    xy_lik: np.ndarray,
    frame_range: tuple[int, int],
    colors_bgr: Sequence[Color],
    threshold: float,
    out_path: Path,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write frames ``start .. stop - 1`` of ``video_path`` with keypoints to an mp4 at the video's frame rate.

    Raises:
        DataError: The video cannot be read or the output cannot be written, or the range is empty.
    """
    import cv2

    from pose_core.render import draw_keypoints
    from pose_core.video.reader import VideoReader

    start, stop = frame_range
    out_path = Path(out_path).with_suffix(".mp4")
    if stop <= start:
        raise DataError(
            f"The clip range {start}..{stop - 1} is empty: choose a last frame after the first.", path=str(out_path)
        )
    lik = np.nan_to_num(xy_lik[:, :, 2], nan=1.0)
    with VideoReader(Path(video_path)) as reader:
        size = (reader.width + reader.width % 2, reader.height + reader.height % 2)
        writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter.fourcc(*"mp4v"), reader.fps or 30.0, size)
        if not writer.isOpened():
            raise DataError(f"Cannot write video {out_path}: choose a writable folder.", path=str(out_path))
        try:
            for frame_idx, frame_bgr in reader.iter_frames(start, stop, bgr=True):
                frame_bgr = np.ascontiguousarray(frame_bgr)
                points = np.column_stack([xy_lik[frame_idx, :, :2], lik[frame_idx]])
                draw_keypoints(frame_bgr, points, colors_bgr, threshold)
                writer.write(cv2.resize(frame_bgr, size) if frame_bgr.shape[1::-1] != size else frame_bgr)
                if progress is not None:
                    progress(frame_idx - start + 1, stop - start, "Writing clip")
        finally:
            writer.release()
    return out_path
