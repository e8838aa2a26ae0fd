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


def test_playing_into_a_damaged_part_stops_at_the_last_good_frame_with_one_message(
    qtbot: QtBot, long_gop_run: tuple[Path, Path], tmp_path: Path
) -> None:
    from tests.core.conftest import decode_frame_index
    from tests.core.test_indexed_reader import damage_frame_packet

    video, _run_dir = long_gop_run
    damaged = damage_frame_packet(video, tmp_path / "damaged.mp4", 100)
    state = AppState()
    pane = VideoReviewPane(state)
    qtbot.addWidget(pane)
    pane.show()
    messages: list[str] = []
    try:
        state.set_video(damaged)
        qtbot.waitUntil(lambda: pane.shown_frame_idx == 0, timeout=20_000)
        qtbot.waitUntil(lambda: pane.loader is not None and pane.loader.index_done, timeout=20_000)
        state.set_frame_idx(80)
        qtbot.waitUntil(lambda: pane.shown_frame_idx == 80, timeout=20_000)
        pane.loader.frame_failed.connect(lambda *args: messages.append(pane.video_message.text()))
        pane.nav.set_playing(True)
        qtbot.waitUntil(lambda: not pane.is_playing, timeout=20_000)
        qtbot.wait(100)
        last_good = pane.shown_frame_idx
        assert 90 <= last_good < 100 and decode_frame_index(pane.current_image) == last_good
        assert len(messages) == 1 and pane.video_message.isVisible()
        assert f"frame {last_good + 1}" in pane.video_message.text() and "damaged" in pane.video_message.text()
        state.set_frame_idx(150)  # past the damage: shown again, the message goes
        qtbot.waitUntil(lambda: pane.shown_frame_idx == 150, timeout=20_000)
        assert decode_frame_index(pane.current_image) == 150 and not pane.video_message.isVisible()
    finally:
        pane.shutdown()
