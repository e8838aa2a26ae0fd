"""Tests of pose_core.video.reader: listing, probing, exact frame counts and frame-exact reads."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose_core.errors import DataError
from pose_core.video.reader import (
    VideoReader,
    count_frames_by_decoding,
    list_videos,
    probe_video,
)

WIDTH, HEIGHT, FPS = 64, 48, 25.0
N_BITS = 6  # frame indices 0..63 are drawn as 6 bright blocks
REAL_VIDEO = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example" / "videos" / "test_vid.mp4"
)


def _block(bit: int) -> tuple[slice, slice]:
    row, col = divmod(bit, 3)
    return slice(6 + row * 20, 6 + row * 20 + 14), slice(3 + col * 20, 3 + col * 20 + 17)


def _index_frame(frame_idx: int) -> np.ndarray:
    """BGR frame whose blocks encode ``frame_idx`` in binary (bright = 1)."""
    frame = np.full((HEIGHT, WIDTH, 3), 20, dtype=np.uint8)
    for bit in range(N_BITS):
        if (frame_idx >> bit) & 1:
            frame[_block(bit)] = 235
    return frame


def _decode_index(frame: np.ndarray) -> int:
    """Read back the index drawn by :func:`_index_frame` (works for RGB or BGR)."""
    value = 0
    for bit in range(N_BITS):
        rows, cols = _block(bit)
        if frame[rows, cols].mean() > 128:
            value |= 1 << bit
    return value


def make_index_video(path: Path, n_frames: int = 60, fourcc: str = "mp4v") -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for frame_idx in range(n_frames):
        writer.write(_index_frame(frame_idx))
    writer.release()
    return path


@pytest.fixture(params=[("mp4", "mp4v"), ("avi", "MJPG")], ids=["mp4v", "mjpg"])
def index_video(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    ext, fourcc = request.param
    return make_index_video(tmp_path / f"clip.{ext}", 60, fourcc)


def test_list_videos_file_and_folder(tmp_path: Path) -> None:
    for name in ["b.mp4", "a.AVI", "c.mkv", "notes.txt", ".a.partial.mp4"]:
        (tmp_path / name).write_bytes(b"x")
    assert list_videos(tmp_path / "b.mp4") == [tmp_path / "b.mp4"]
    assert list_videos(tmp_path) == [tmp_path / "a.AVI", tmp_path / "b.mp4", tmp_path / "c.mkv"]


def test_list_videos_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        list_videos(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no video files.*\.mp4.*\.avi"):
        list_videos(tmp_path)
    with pytest.raises(DataError, match="not a video file"):
        list_videos(tmp_path / "notes.txt")


def test_probe_reports_count_fps_and_size(index_video: Path) -> None:
    info = probe_video(index_video)
    assert (info.n_frames, info.width, info.height) == (60, WIDTH, HEIGHT)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(60 / FPS)
    assert count_frames_by_decoding(index_video) == 60


def test_sequential_reads_are_exact_rgb_and_never_seek(index_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeks: list[int] = []
    original_seek = VideoReader._backend_seek

    def counting_seek(self: VideoReader, frame_idx: int) -> bool:
        seeks.append(frame_idx)
        return original_seek(self, frame_idx)

    monkeypatch.setattr(VideoReader, "_backend_seek", counting_seek)
    with VideoReader(index_video) as reader:
        decoded = [_decode_index(reader.read(i)) for i in range(reader.n_frames)]
        assert seeks == []
        frame = reader.read(7)
        assert seeks == [7]
    assert decoded == list(range(60))
    assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8


def test_random_access_returns_exactly_the_requested_frame(index_video: Path) -> None:
    order = list(range(60)) * 2
    random.Random(0).shuffle(order)
    with VideoReader(index_video) as reader:
        got = [_decode_index(reader.read(i)) for i in order]
    assert got == order


def test_random_access_falls_back_to_decoding_when_seek_is_inexact(
    index_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(VideoReader, "_backend_seek", lambda self, frame_idx: False)
    order = [59, 3, 40, 41, 12, 0, 55, 30, 2]
    with VideoReader(index_video) as reader:
        assert [_decode_index(reader.read(i)) for i in order] == order


def test_iter_frames_yields_every_frame_once_and_respects_bounds(index_video: Path) -> None:
    with VideoReader(index_video) as reader:
        everything = [(i, _decode_index(f)) for i, f in reader.iter_frames()]
        middle = [i for i, _ in reader.iter_frames(start=50, stop=55)]
        past_end = [i for i, _ in reader.iter_frames(start=58, stop=500)]
    assert everything == [(i, i) for i in range(60)]
    assert middle == [50, 51, 52, 53, 54]
    assert past_end == [58, 59]


def test_frames_are_rgb(tmp_path: Path) -> None:
    path = tmp_path / "red.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    for _ in range(3):
        writer.write(np.full((HEIGHT, WIDTH, 3), (0, 0, 255), dtype=np.uint8))  # BGR red
    writer.release()
    with VideoReader(path) as reader:
        red, green, blue = reader.read(1)[HEIGHT // 2, WIDTH // 2].astype(int)
        assert red > 200 and green < 50 and blue < 50
        assert reader.read(1, bgr=True)[HEIGHT // 2, WIDTH // 2, 2] > 200


def test_out_of_range_index_raises_index_error(index_video: Path) -> None:
    with VideoReader(index_video) as reader:
        with pytest.raises(IndexError):
            reader.read(60)
        with pytest.raises(IndexError):
            reader.read(-1)
        assert _decode_index(reader.read(59)) == 59


def test_closed_reader_refuses_to_read(index_video: Path) -> None:
    reader = VideoReader(index_video)
    reader.close()
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read(0)


def test_lying_header_count_is_replaced_by_decoded_count(tmp_path: Path) -> None:
    """A truncated AVI still claims 60 frames in its header; only 29 can be decoded."""
    full = make_index_video(tmp_path / "full.avi", 60, "MJPG")
    data = full.read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: len(data) // 2])
    capture = cv2.VideoCapture(str(truncated))
    header_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert header_count == 60  # precondition: the header lies

    decoded = count_frames_by_decoding(truncated)
    assert 0 < decoded < 60
    assert probe_video(truncated).n_frames == decoded
    with VideoReader(truncated) as reader:
        assert reader.n_frames == decoded
        indices = [_decode_index(frame) for _, frame in reader.iter_frames()]
        assert indices == list(range(decoded))
        with pytest.raises(IndexError):
            reader.read(decoded)
    with VideoReader(truncated, count_frames=True) as reader:
        assert reader.n_frames == decoded


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"", "cannot be opened"), (b"\x00garbage" * 100, "cannot be opened")],
    ids=["missing", "empty", "garbage"],
)
def test_unreadable_videos_raise_data_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        VideoReader(path)
    assert info.value.path == str(path)


def test_mp4_without_index_cannot_be_opened(tmp_path: Path) -> None:
    """An mp4 cut short before its index (moov atom) is reported with a fix."""
    data = make_index_video(tmp_path / "full.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="re-encode"):
        probe_video(cut)


def test_real_h264_video_count_and_random_access() -> None:
    if not REAL_VIDEO.is_file():
        pytest.skip(f"example video {REAL_VIDEO} is absent (shared data not available)")
    wanted = [0, 1, 250, 251, 600, 993]
    with VideoReader(REAL_VIDEO) as reader:
        assert (reader.n_frames, reader.width, reader.height) == (994, 396, 406)
        sequential = {i: f for i, f in reader.iter_frames() if i in wanted}
        for frame_idx in reversed(wanted):
            np.testing.assert_array_equal(reader.read(frame_idx), sequential[frame_idx])
    assert len(sequential) == len(wanted)
