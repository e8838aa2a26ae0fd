"""Seeking in a long-GOP H.264 video in the Review pane: an approximate image at once (marked, without
keypoints), then the exact frame with its keypoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from pose_gui.models.state import AppState
from pose_gui.views.video_review import VideoReviewPane

N_FRAMES = 200


@pytest.fixture(scope="module")
def long_gop_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from pose_core.io.predictions import write_predictions_csv
    from tests.core.test_keyframes import make_h264_index_video

    folder = tmp_path_factory.mktemp("gop_run")
    video = make_h264_index_video(folder / "gop.mp4", N_FRAMES)
    run_dir = folder / "run"
    xy = np.stack([np.full((N_FRAMES, 2), 20.0), np.full((N_FRAMES, 2), 30.0)], axis=2)  # [N, K=2, 2]
    preds = np.concatenate([xy, np.full((N_FRAMES, 2, 1), 0.99)], axis=2)
    write_predictions_csv(run_dir / "video_preds" / "gop.csv", ["nose", "tail"], preds, list(range(N_FRAMES)))
    return video, run_dir


def test_seek_shows_an_approximate_image_then_the_exact_frame_with_keypoints(
    qtbot: QtBot, long_gop_run: tuple[Path, Path]
) -> None:
    from tests.core.conftest import decode_frame_index

    video, run_dir = long_gop_run
    state = AppState()
    pane = VideoReviewPane(state)
    qtbot.addWidget(pane)
    try:
        state.set_run_dir(run_dir)
        state.set_video(video)
        qtbot.waitUntil(lambda: pane.shown_frame_idx == 0 and pane.predictions is not None, timeout=20_000)
        qtbot.waitUntil(lambda: pane.loader is not None and pane.loader.keyframes is not None, timeout=20_000)
        seen: list[tuple[int, str, int, int]] = []

        def on_previewed(frame_idx: int) -> None:
            image = pane.current_image
            assert image is not None
            mark = pane.view.approx_item.textItem.toPlainText() if pane.view.approx_item.isVisible() else ""
            seen.append((frame_idx, mark, len(pane.view.shown_points), decode_frame_index(image)))

        pane.frame_previewed.connect(on_previewed)
        state.set_frame_idx(125)
        qtbot.waitUntil(lambda: pane.shown_frame_idx == 125, timeout=20_000)
        assert len(seen) == 1
        frame_idx, mark, n_points, shown = seen[0]
        assert frame_idx == 125 and shown == 120 and n_points == 0, "the keyframe's image, no keypoints"
        assert "≈ frame 120" in mark and "decoding frame 125" in mark
        assert not pane.view.approx_item.isVisible(), "the exact frame is not marked"
        assert decode_frame_index(pane.current_image) == 125 and len(pane.view.shown_points) == 2
    finally:
        pane.shutdown()
