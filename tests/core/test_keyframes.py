"""Keyframe index (pose_core.video.keyframes) and the reader's use of it on long-GOP H.264 video:
the index matches where the encoder put keyframes, is cached and rebuilt when the file changes,
reads stay exact, and a read can be cancelled; a file whose index cannot be built has none."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pose_core.video import keyframes
from pose_core.video.keyframes import KeyframeIndexError, build_keyframe_index, load_keyframe_index
from pose_core.video.reader import ReadCancelled, VideoReader, probe_video
from tests.core.conftest import decode_frame_index, index_frame_bgr

GOP = 30


def make_h264_index_video(path: Path, n_frames: int, gop: int = GOP, preset: str = "veryfast") -> Path:
    """H.264 index frames with a keyframe every ``gop`` frames (``veryfast`` has B-frames, as ffmpeg's default)."""
    import av

    frame0 = index_frame_bgr(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frame0.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": preset, "crf": "12"}
        for frame_idx in range(n_frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(index_frame_bgr(frame_idx)), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_h264_index_video(tmp_path_factory.mktemp("gop") / "gop.mp4", 200)


def test_index_lists_the_encoders_keyframes(long_gop: Path) -> None:
    index = build_keyframe_index(long_gop)
    assert index.keyframes == tuple(range(0, 200, GOP)) and len(index.keyframe_pts) == len(index.keyframes)
    assert index.n_frames == probe_video(long_gop).n_frames == 200
    assert index.keyframe_at_or_before(95) == 90 and index.keyframe_at_or_before(89) == 60
    assert index.same_gop(61, 89) and not index.same_gop(61, 90) and not index.same_gop(70, 65)
    assert index.max_gop == GOP


def test_index_is_cached_and_rebuilt_when_the_file_changes(
    long_gop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(long_gop.read_bytes())
    cache = tmp_path / "cache"
    first = load_keyframe_index(video, cache)
    assert len(list(cache.glob("*.json"))) == 1
    monkeypatch.setattr(keyframes, "build_keyframe_index", lambda *a: pytest.fail("the cached index is used"))
    assert load_keyframe_index(video, cache) == first
    make_h264_index_video(video, 100, gop=25)  # the user replaced the file
    monkeypatch.undo()
    assert keyframes.cached_keyframe_index(video, cache) is None
    assert load_keyframe_index(video, cache).keyframes == (0, 25, 50, 75)


def test_unindexable_files_raise(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(KeyframeIndexError):
        build_keyframe_index(junk)
    with pytest.raises(KeyframeIndexError):
        build_keyframe_index(tmp_path / "missing.mp4")


def test_reads_with_the_index_are_exact_in_any_order(long_gop: Path) -> None:
    rng = np.random.default_rng(0)
    with VideoReader(long_gop) as reader:
        reader.keyframes = build_keyframe_index(long_gop)
        for frame_idx in [*rng.integers(0, 200, 25).tolist(), 199, 0, 89, 90, 91, 61, 60]:
            assert decode_frame_index(reader.read(frame_idx)) == frame_idx
            assert reader.frames_to_decode(frame_idx + 1) == (0 if frame_idx < 199 else None) or frame_idx == 199


def test_forward_jump_inside_a_gop_decodes_forward_and_can_be_cancelled(long_gop: Path) -> None:
    with VideoReader(long_gop) as reader:
        reader.keyframes = build_keyframe_index(long_gop)
        reader.read(92)
        assert reader.frames_to_decode(115) == 22, "same GOP: decoded forward, no seek"
        assert reader.frames_to_decode(125) is None, "next GOP: a seek"
        with pytest.raises(ReadCancelled):
            reader.read(115, should_stop=lambda: True)
        assert decode_frame_index(reader.read(116)) == 116, "the reader is still usable"
        assert decode_frame_index(reader.read(151)) == 151
