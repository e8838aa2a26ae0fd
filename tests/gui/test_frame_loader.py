"""FrameLoader: the latest request wins, results carry their frame, the cache is bounded, read-ahead, bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from pose_core.errors import DataError
from pose_gui.workers.frame_loader import STEP_AHEAD_FRAMES, FrameCache, FrameLoader

N_FRAMES = 40


def write_video(path: Path, n_frames: int = N_FRAMES, size: tuple[int, int] = (64, 48)) -> Path:
    """A tiny mp4 whose frames differ (frame ``i`` has brightness ``5 * i``)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, size)
    for i in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 5 * i, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4")


@pytest.fixture
def make_loader() -> Iterator:
    loaders: list[FrameLoader] = []

    def make(path: Path, **kwargs: int) -> FrameLoader:
        loader = FrameLoader(path, **kwargs)
        loaders.append(loader)
        return loader

    yield make
    for loader in loaders:
        loader.stop()


def test_only_the_latest_request_is_served_and_carries_its_frame(qtbot: QtBot, video: Path, make_loader) -> None:
    loader = make_loader(video)
    results: list[tuple[int, int, np.ndarray]] = []
    loader.frame_ready.connect(lambda rid, idx, image: results.append((rid, idx, image)))
    loader.request(3)
    loader.request(11)
    latest = loader.request(27)
    loader.start()
    qtbot.waitUntil(lambda: len(results) == 1, timeout=10_000)
    qtbot.wait(100)
    assert len(results) == 1 and loader.n_dropped == 2
    request_id, frame_idx, image = results[0]
    assert (request_id, frame_idx) == (latest, 27)
    from pose_core.video.reader import VideoReader

    with VideoReader(video) as reader:
        np.testing.assert_array_equal(image, reader.read(27))


def test_frames_match_the_video_reader_exactly(qtbot: QtBot, video: Path, make_loader) -> None:
    from pose_core.video.reader import VideoReader

    loader = make_loader(video)
    opened: list[object] = []
    loader.video_opened.connect(opened.append)
    loader.start()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert opened[0].n_frames == N_FRAMES
    with VideoReader(video) as reader:
        for frame_idx in (30, 2, 17):
            with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as blocker:
                loader.request(frame_idx)
            assert blocker.args[1] == frame_idx
            np.testing.assert_array_equal(blocker.args[2], reader.read(frame_idx))


def test_cache_is_bounded_and_reused(qtbot: QtBot, video: Path, make_loader) -> None:
    loader = make_loader(video, cache_frames=4)
    loader.start()
    for frame_idx in range(10):
        with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
            loader.request(frame_idx)
    assert len(loader.cache) == 4
    qtbot.wait(300)  # the frames around the last one are decoded in idle time, within the cache's bound
    decoded = loader.n_decoded
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as blocker:
        loader.request(8)  # still cached
    assert blocker.args[1] == 8 and loader.n_decoded == decoded


def test_reads_ahead_while_playing(qtbot: QtBot, video: Path, make_loader) -> None:
    loader = make_loader(video, read_ahead_frames=6)
    loader.start()
    loader.set_playing(True)
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
        loader.request(5)
    qtbot.waitUntil(lambda: all(i in loader.cache for i in range(6, 12)), timeout=10_000)
    assert 12 not in loader.cache


def test_paused_loader_decodes_the_next_frames_so_steps_are_cached(qtbot: QtBot, video: Path, make_loader) -> None:
    loader = make_loader(video)
    loader.start()
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
        loader.request(20)
    ahead = list(range(21, 21 + STEP_AHEAD_FRAMES))
    qtbot.waitUntil(lambda: all(i in loader.cache for i in ahead), timeout=10_000)
    qtbot.wait(200)
    assert 21 + STEP_AHEAD_FRAMES not in loader.cache, "paused: only a few frames ahead"
    assert loader.take_cached(21) is not None, "a step forward needs no decoding"


def test_undecodable_video_reports_open_failed(qtbot: QtBot, tmp_path: Path, make_loader) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    loader = make_loader(bad)
    with qtbot.waitSignal(loader.open_failed, timeout=10_000) as blocker:
        loader.start()
    assert isinstance(blocker.args[0], DataError) and str(bad) in str(blocker.args[0])


def test_video_deleted_while_open_reports_frame_failed(qtbot: QtBot, tmp_path: Path, make_loader) -> None:
    path = write_video(tmp_path / "gone.mp4")
    loader = make_loader(path)
    loader.start()
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
        loader.request(0)
    path.unlink()
    with qtbot.waitSignal(loader.frame_failed, timeout=10_000) as blocker:
        loader.request(20)
    assert blocker.args[1] == 20
    assert "deleted or moved" in str(blocker.args[2])


def test_frame_cache_evicts_least_recently_used() -> None:
    cache = FrameCache(2)
    images = [np.full((2, 2, 3), i, dtype=np.uint8) for i in range(3)]
    cache.put(0, images[0])
    cache.put(1, images[1])
    assert cache.get(0) is images[0]  # 0 is now the most recent
    cache.put(2, images[2])
    assert 1 not in cache and 0 in cache and 2 in cache
    assert cache.nbytes() == 2 * images[0].nbytes


def test_cache_holds_fewer_large_frames(
    qtbot: QtBot, video: Path, make_loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_gui.workers import frame_loader

    monkeypatch.setattr(frame_loader, "CACHE_BUDGET_BYTES", 64 * 48 * 3 * 10)  # room for 10 frames of this video
    loader = make_loader(video, cache_frames=100)
    loader.start()
    for frame_idx in range(15):
        with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
            loader.request(frame_idx)
    assert loader.cache.max_frames == 10 and len(loader.cache) == 10
    assert loader.cache.nbytes() <= frame_loader.CACHE_BUDGET_BYTES


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.core.test_keyframes import make_h264_index_video

    return make_h264_index_video(tmp_path_factory.mktemp("gop") / "gop.mp4", 200)


def test_seek_in_long_gop_video_previews_the_keyframe_then_serves_the_exact_frame(
    qtbot: QtBot, long_gop: Path, make_loader
) -> None:
    from tests.core.conftest import decode_frame_index

    loader = make_loader(long_gop)
    with qtbot.waitSignal(loader.keyframes_indexed, timeout=20_000) as indexed:
        loader.start()
    assert indexed.args[0] is not None and indexed.args[0].keyframes[:3] == (0, 30, 60)
    previews: list[tuple[int, int, int]] = []
    loader.frame_preview.connect(
        lambda rid, idx, shown, image: previews.append((idx, shown, decode_frame_index(image)))
    )
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as exact:
        loader.request(95)
    assert previews == [(95, 90, 90)], "the keyframe's own image, sent before the exact frame"
    assert exact.args[1] == 95 and decode_frame_index(exact.args[2]) == 95
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as exact:
        loader.request(100)
    assert len(previews) == 1 and decode_frame_index(exact.args[2]) == 100, "same GOP, ahead: no preview needed"


def test_video_without_keyframe_index_seeks_exactly_without_previews(
    qtbot: QtBot, long_gop: Path, make_loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_core.video import keyframes
    from tests.core.conftest import decode_frame_index

    def fail(*args: object) -> None:
        raise keyframes.KeyframeIndexError("container without timestamps")

    monkeypatch.setattr(keyframes, "build_keyframe_index", fail)
    monkeypatch.setattr(keyframes, "cached_keyframe_index", lambda *args: None)
    loader = make_loader(long_gop)
    with qtbot.waitSignal(loader.keyframes_indexed, timeout=20_000) as indexed:
        loader.start()
    assert indexed.args[0] is None
    for frame_idx in (150, 40):
        with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as exact:
            loader.request(frame_idx)
        assert decode_frame_index(exact.args[2]) == frame_idx
    assert loader.n_previews == 0


def test_stepping_back_decodes_the_gop_once_for_many_steps(qtbot: QtBot, long_gop: Path, make_loader) -> None:
    from tests.core.conftest import decode_frame_index

    loader = make_loader(long_gop)
    loader.start()
    qtbot.waitUntil(lambda: loader.index_done and loader._exact is not None, timeout=20_000)
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
        loader.request(119)
    seeks_before = loader._exact.n_seeks
    for frame_idx in range(118, 98, -1):  # Left arrow, 20 times
        image = loader.take_cached(frame_idx)
        if image is None:
            with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as ready:
                loader.request(frame_idx)
            image = ready.args[2]
        assert decode_frame_index(image) == frame_idx
    assert loader._exact.n_seeks - seeks_before <= 2, "one GOP decode serves a run of steps back"


def test_preview_is_shown_from_the_gui_thread_once_keyframes_are_decoded(
    qtbot: QtBot, long_gop: Path, make_loader
) -> None:
    from tests.core.conftest import decode_frame_index

    loader = make_loader(long_gop)
    loader.start()
    qtbot.waitUntil(lambda: loader.previews is not None and len(loader.previews) == 7, timeout=20_000)
    previews: list[tuple[int, int]] = []
    loader.frame_preview.connect(lambda rid, idx, shown, image: previews.append((shown, decode_frame_index(image))))
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as exact:
        loader.request(175)
        assert previews == [(150, 150)], "the keyframe's preview, before request() returns"
    assert decode_frame_index(exact.args[2]) == 175


def test_damaged_video_shows_frames_up_to_the_damage_then_one_message(
    qtbot: QtBot, long_gop: Path, tmp_path: Path, make_loader
) -> None:
    from tests.core.conftest import decode_frame_index
    from tests.core.test_indexed_reader import damage_frame_packet

    loader = make_loader(damage_frame_packet(long_gop, tmp_path / "damaged.mp4", 100))
    shown: list[int] = []
    failed: list[tuple[int, str]] = []
    loader.frame_ready.connect(lambda rid, idx, image: shown.append(decode_frame_index(image)))
    loader.frame_failed.connect(lambda rid, idx, error: failed.append((idx, str(error))))
    loader.start()
    qtbot.waitUntil(lambda: loader.index_done, timeout=20_000)
    for frame_idx in range(90, 120):  # playing on
        n_answers = len(shown) + len(failed)
        loader.request(frame_idx)
        qtbot.waitUntil(lambda n=n_answers: len(shown) + len(failed) > n, timeout=10_000)
        if failed:
            break
    assert 90 <= shown[-1] < 100 and shown == list(range(90, shown[-1] + 1)), "every frame up to the damage, exact"
    assert len(failed) == 1 and "is damaged here" in failed[0][1] and failed[0][0] == shown[-1] + 1


def test_truncated_video_ends_with_one_message(qtbot: QtBot, long_gop: Path, tmp_path: Path, make_loader) -> None:
    import subprocess

    faststart = tmp_path / "faststart.mp4"  # the container's frame table first, as cameras write it
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(long_gop), "-c", "copy", "-movflags", "+faststart",
                    str(faststart)], check=True)  # fmt: skip
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(faststart.read_bytes()[: faststart.stat().st_size * 6 // 10])
    loader = make_loader(truncated)
    failed: list[tuple[int, str]] = []
    loader.frame_failed.connect(lambda rid, idx, error: failed.append((idx, str(error))))
    with qtbot.waitSignal(loader.video_opened, timeout=20_000) as opened:
        loader.start()
    n_frames = opened.args[0].n_frames
    assert 0 < n_frames < 200
    qtbot.waitUntil(lambda: loader.index_done, timeout=20_000)
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
        loader.request(n_frames - 2)
    assert failed == []
    with qtbot.waitSignal(loader.frame_failed, timeout=10_000):
        loader.request(n_frames - 1)
    assert len(failed) == 1 and f"only the first {n_frames:,} can be decoded" in failed[0][1]
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000):
        loader.request(n_frames - 1)
    qtbot.wait(50)
    assert len(failed) == 1, "said once"


def test_pyav_decoding_that_disagrees_with_opencv_is_not_used(
    qtbot: QtBot, long_gop: Path, make_loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pose_core.video.indexed import IndexedFrameReader
    from tests.core.conftest import decode_frame_index

    original = IndexedFrameReader.read
    monkeypatch.setattr(IndexedFrameReader, "read", lambda self, idx, **kw: original(self, idx + 1, **kw))  # off by one
    loader = make_loader(long_gop)
    loader.start()
    qtbot.waitUntil(lambda: loader.index_done, timeout=20_000)
    assert loader.keyframes is not None and loader._exact is None, "the index is kept, PyAV's decoding is not"
    with qtbot.waitSignal(loader.frame_ready, timeout=10_000) as exact:
        loader.request(95)
    assert decode_frame_index(exact.args[2]) == 95
