"""Tests of pose_core.render: keypoint colours, dot drawing and labelled-video rendering."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pose_core.errors import ConfigError, DataError
from pose_core.render import (
    RenderStopped,
    _pad_to_even,
    draw_keypoints,
    keypoint_colors_bgr,
    render_labeled_video,
)
from pose_core.video.reader import VideoReader

FPS = 25.0
N_FRAMES = 30
GREY = 60
KEYPOINT_XY = (40.0, 30.0)  # far from the frame-number corner
CYAN_RGB = np.array([0, 255, 255])  # first colour of "cool"


def make_grey_video(path: Path, width: int = 64, height: int = 48) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    assert writer.isOpened()
    for _ in range(N_FRAMES):
        writer.write(np.full((height, width, 3), GREY, dtype=np.uint8))
    writer.release()
    return path


def alternating_preds(n_frames: int = N_FRAMES) -> np.ndarray:
    """One keypoint at KEYPOINT_XY; likelihood 0.95 on even frames, 0.5 on odd frames."""
    preds = np.zeros((n_frames, 1, 3))
    preds[:, 0, :2] = KEYPOINT_XY
    preds[:, 0, 2] = np.where(np.arange(n_frames) % 2 == 0, 0.95, 0.5)
    return preds


def test_colors_sample_the_colormap_evenly() -> None:
    colors = keypoint_colors_bgr(3, "cool")
    assert colors[0] == (255, 255, 0)  # cool starts cyan (BGR)
    assert colors[-1] == (255, 0, 255)  # and ends magenta
    assert len(set(colors)) == 3
    assert keypoint_colors_bgr(4, "Viridis") == keypoint_colors_bgr(4, "viridis")
    assert keypoint_colors_bgr(17, "jet")[0] != keypoint_colors_bgr(17, "jet")[16]
    assert keypoint_colors_bgr(0) == []


def test_unknown_colormap_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"eval\.colormap.*'sunset'.*cool.*viridis") as info:
        keypoint_colors_bgr(3, "sunset")
    assert info.value.key == "eval.colormap"


def _centroid(frame: np.ndarray) -> tuple[float, float]:
    weight = frame[..., 0].astype(float)
    ys, xs = np.indices(weight.shape)
    return float((xs * weight).sum() / weight.sum()), float((ys * weight).sum() / weight.sum())


@pytest.mark.parametrize("xy", [(10.0, 12.0), (10.5, 12.25), (20.75, 7.5)])
def test_dots_are_drawn_with_sub_pixel_accuracy(xy: tuple[float, float]) -> None:
    frame = np.zeros((24, 32, 3), dtype=np.uint8)
    out = draw_keypoints(frame, np.array([[xy[0], xy[1], 1.0]]), [(255, 255, 255)], 0.9, 3)
    assert out is frame
    cx, cy = _centroid(frame)
    assert cx == pytest.approx(xy[0], abs=0.1) and cy == pytest.approx(xy[1], abs=0.1)


def test_unconfident_and_nan_keypoints_are_not_drawn() -> None:
    frame = np.zeros((24, 32, 3), dtype=np.uint8)
    xy_lik = np.array([[5.0, 5.0, 0.9], [np.nan, 5.0, 1.0], [20.0, 20.0, np.nan], [1e12, 3.0, 1.0]])
    draw_keypoints(frame, xy_lik, keypoint_colors_bgr(4), conf_thresh=0.9)
    assert not frame.any()


def test_rendered_video_shows_dot_only_on_confident_frames(tmp_path: Path) -> None:
    source = make_grey_video(tmp_path / "clip.mp4")
    out_path = tmp_path / "labeled" / "clip_labeled.mp4"
    calls: list[tuple[int, int]] = []
    result = render_labeled_video(
        source,
        alternating_preds(),
        out_path,
        conf_thresh=0.9,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result == out_path
    assert calls[-1] == (N_FRAMES, N_FRAMES)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)

    x, y = int(KEYPOINT_XY[0]), int(KEYPOINT_XY[1])
    with VideoReader(out_path) as reader:
        assert (reader.n_frames, reader.width, reader.height) == (N_FRAMES, 64, 48)
        assert reader.fps == pytest.approx(FPS)
        for frame_idx, frame in reader.iter_frames():
            pixel = frame[y, x].astype(int)
            if frame_idx % 2 == 0:
                assert np.abs(pixel - CYAN_RGB).max() < 60, (frame_idx, pixel)
            else:
                assert np.abs(pixel - GREY).max() < 25, (frame_idx, pixel)
            assert frame[2:14, 2:20].max() > 180  # frame number in the top-left corner
    assert sorted(p.name for p in out_path.parent.iterdir()) == ["clip_labeled.mp4"]


def test_odd_sized_frames_are_padded_not_cropped() -> None:
    """OpenCV's encoders crop odd sizes to even; the renderer pads instead, keeping every pixel.

    (OpenCV cannot write an odd-sized video, so the padding step is tested on a frame.)
    """
    frame = np.full((49, 65, 3), GREY, dtype=np.uint8)
    frame[48, 64] = 255
    padded = _pad_to_even(frame)
    assert padded.shape == (50, 66, 3)
    np.testing.assert_array_equal(padded[:49, :65], frame)
    assert not padded[49].any() and not padded[:, 65].any()
    even = np.zeros((48, 64, 3), dtype=np.uint8)
    assert _pad_to_even(even) is even


def test_frame_count_mismatch_is_a_data_error(tmp_path: Path) -> None:
    source = make_grey_video(tmp_path / "clip.mp4")
    out_path = tmp_path / "clip_labeled.mp4"
    with pytest.raises(DataError, match=f"29 rows but video .* has {N_FRAMES} frames"):
        render_labeled_video(source, alternating_preds(29), out_path)
    assert not out_path.exists()


def test_unknown_colormap_fails_before_writing(tmp_path: Path) -> None:
    source = make_grey_video(tmp_path / "clip.mp4")
    with pytest.raises(ConfigError):
        render_labeled_video(source, alternating_preds(), tmp_path / "o.mp4", colormap="nope")
    assert not (tmp_path / "o.mp4").exists()


def test_stop_request_leaves_previous_output_untouched(tmp_path: Path) -> None:
    source = make_grey_video(tmp_path / "clip.mp4")
    out_path = tmp_path / "out" / "clip_labeled.mp4"
    out_path.parent.mkdir()
    out_path.write_bytes(b"previous render")
    polls: list[int] = []

    def stop_after_ten() -> bool:
        polls.append(1)
        return len(polls) > 10

    with pytest.raises(RenderStopped):
        render_labeled_video(source, alternating_preds(), out_path, should_stop=stop_after_ten)
    assert out_path.read_bytes() == b"previous render"
    assert [p.name for p in out_path.parent.iterdir()] == ["clip_labeled.mp4"]
