"""IndexedFrameReader (pose_core.video.indexed): exact frames of a long-GOP H.264 video decoded with PyAV
from the keyframe index, frames nobody refers to skipped, a read that can be abandoned between frames,
a run of frames before the target handed over, and a file damaged mid-way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose_core.errors import DataError
from pose_core.video.indexed import IndexedFrameReader
from pose_core.video.keyframes import build_keyframe_index
from pose_core.video.reader import ReadCancelled, VideoReader
from tests.core.conftest import decode_frame_index
from tests.core.test_keyframes import GOP, make_h264_index_video

N_FRAMES = 200


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_h264_index_video(tmp_path_factory.mktemp("gop") / "gop.mp4", N_FRAMES)


def damage_frame_packet(src: Path, dst: Path, frame_idx: int) -> Path:
    """Copy ``src`` to ``dst`` with the compressed bytes of frame ``frame_idx`` overwritten by noise (a bad sector)."""
    import av

    pts = build_keyframe_index(src).frame_pts[frame_idx]
    with av.open(str(src)) as container:
        packet = next(p for p in container.demux(container.streams.video[0]) if p.pts == pts)
        pos, size = int(packet.pos), int(packet.size)
    data = bytearray(src.read_bytes())
    data[pos : pos + size] = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def test_reads_are_exact_in_any_order_and_match_opencv(long_gop: Path) -> None:
    reader = IndexedFrameReader(long_gop, build_keyframe_index(long_gop))
    rng = np.random.default_rng(1)
    try:
        with VideoReader(long_gop) as opencv:
            for frame_idx in [*rng.integers(0, N_FRAMES, 20).tolist(), 199, 0, 89, 90, 91, 60, 59, 1]:
                image = reader.read(frame_idx)
                assert decode_frame_index(image) == frame_idx
                assert np.array_equal(image, opencv.read(frame_idx)), "the same pixels as OpenCV's decoder"
    finally:
        reader.close()


def test_frames_no_other_frame_needs_are_not_decoded(long_gop: Path) -> None:
    reader = IndexedFrameReader(long_gop, build_keyframe_index(long_gop), threads=False)
    try:
        assert decode_frame_index(reader.read(GOP * 3 + GOP - 1)) == GOP * 4 - 1  # the last frame of a GOP
        assert reader.n_decoded < GOP - 5, "B-frames before the target are skipped, not decoded"
        assert decode_frame_index(reader.read(GOP * 4)) == GOP * 4, "the next frame follows without a seek"
        assert reader.n_seeks == 1
    finally:
        reader.close()


def test_a_read_is_abandoned_between_frames_and_the_reader_stays_usable(long_gop: Path) -> None:
    reader = IndexedFrameReader(long_gop, build_keyframe_index(long_gop))
    polls: list[int] = []

    def stop_after_three() -> bool:
        polls.append(1)
        return len(polls) > 3

    try:
        with pytest.raises(ReadCancelled):
            reader.read(GOP * 2 - 1, should_stop=stop_after_three)
        assert len(polls) == 4, "polled before each packet, stopped at once"
        assert decode_frame_index(reader.read(GOP * 2 - 2)) == GOP * 2 - 2
        assert decode_frame_index(reader.read(7)) == 7
    finally:
        reader.close()


def test_frames_before_the_target_are_handed_over_from_one_decode(long_gop: Path) -> None:
    reader = IndexedFrameReader(long_gop, build_keyframe_index(long_gop))
    kept: dict[int, int] = {}
    try:
        image = reader.read(100, keep_from=95, on_frame=lambda idx, img: kept.setdefault(idx, decode_frame_index(img)))
        assert decode_frame_index(image) == 100
        assert kept == {idx: idx for idx in range(95, 100)}
        assert reader.n_seeks == 1
    finally:
        reader.close()


def test_a_damaged_frame_stops_the_read_with_a_message_and_later_gops_still_decode(
    long_gop: Path, tmp_path: Path
) -> None:
    damaged = damage_frame_packet(long_gop, tmp_path / "damaged.mp4", 100)
    reader = IndexedFrameReader(damaged, build_keyframe_index(damaged))
    try:
        for frame_idx in range(90, 97):
            assert decode_frame_index(reader.read(frame_idx)) == frame_idx, "frames up to the damage are exact"
        with pytest.raises(DataError, match=r"Frame 10\d of video damaged.mp4 cannot be decoded: the file is damaged"):
            reader.read(105)
        assert decode_frame_index(reader.read(125)) == 125, "the next GOP decodes"
    finally:
        reader.close()
