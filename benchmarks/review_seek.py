"""Review pane speed on a long video (not a test: prints numbers).

On a generated video (default 100,000 frames, 400x400, mp4v, made once with OpenCV and kept in
/tmp) with full predictions (17 keypoints, every frame), driving the real :class:`VideoReviewPane`
off screen:

* opening: from choosing the video to its first frame drawn with the predictions loaded (goal < 1 s),
  the first time (CSV parsed) and again (binary copy from the cache);
* random seek: set a random frame, wait until that frame's image and keypoints are drawn and
  painted; p50 and p95 latency (goal p95 < 30 ms; DeepLabCut users report ~10 s);
* playback: frames/s drawn with overlays while playing as fast as the loader delivers (goal >= 60);
* memory: process RSS after the seeks and after playback, and the frame cache's bytes (bounded by
  its size in frames, so the RSS must not grow with the number of frames visited).

Long-GOP H.264 (``--h264-frames 18000``, 0 skips it): a 1280x1024 H.264 video with a keyframe
every 250 frames (what lab cameras and ffmpeg write), generated once with ffmpeg into ``--dir`` (never
committed), opened in the same pane:

* the keyframe index: time to build it in the background the first time (then cached);
* random seeks: time to the first image shown (the approximate keyframe preview, or the exact
  frame) -- goal p95 < 50 ms -- and to the exact frame with its keypoints -- goal p95 < 300 ms;
  measured against ``VideoReader.read`` at random frames without the index (how seeking worked
  before) in the same run, and printed as a ratio;
* step +1 after a seek (goal < 16 ms) and playback with overlays (goal >= 30 frames/s);
* step -1 sixty times in a row (the Left key held): latency and how many GOP decodes that took;
* the keyframe previews: how long after opening they are all decoded (in idle time).

Usage: ``python benchmarks/review_seek.py [--frames 100000] [--seeks 300] [--play-s 5] [--h264-frames 18000]``
(``--frames 3000 --h264-frames 0`` for a quick run; ``--frames 0`` runs only the H.264 part). The
machine is shared: compare numbers measured together; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_KEYPOINTS = 17
SIZE_PX = 400
FPS = 30.0


def make_video(path: Path, n_frames: int) -> None:
    """A textured background with a moving blob; written once (a 100,000-frame video takes a few minutes)."""
    import cv2

    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 255, (SIZE_PX, SIZE_PX, 3), dtype=np.uint8), (0, 0), 6)
    tmp = path.with_suffix(".partial.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (SIZE_PX, SIZE_PX))
    for i in range(n_frames):
        frame = background.copy()
        centre = (int(200 + 120 * np.cos(i / 40)), int(200 + 120 * np.sin(i / 55)))
        cv2.circle(frame, centre, 30, (40, 200, 80), -1)
        cv2.putText(frame, str(i), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        writer.write(frame)
        if i % 10_000 == 0:
            print(f"  writing the video: {i}/{n_frames}", flush=True)
    writer.release()
    tmp.rename(path)


def make_predictions(path: Path, n_frames: int) -> None:
    """Full predictions (every frame, 17 keypoints around the blob) in the pose-predict layout."""
    from pose_core.io.predictions import write_predictions_csv

    t = np.arange(n_frames)[:, None]
    angles = np.linspace(0, 2 * np.pi, N_KEYPOINTS, endpoint=False)[None, :]
    x = 200 + 120 * np.cos(t / 40) + 35 * np.cos(angles)
    y = 200 + 120 * np.sin(t / 55) + 35 * np.sin(angles)
    likelihood = np.clip(np.random.default_rng(1).normal(0.93, 0.08, x.shape), 0, 1)
    preds = np.stack([x, y, likelihood], axis=2)
    names = [f"kp{k}" for k in range(N_KEYPOINTS)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_predictions_csv(path, names, preds, list(range(n_frames)))


def wait_until(app: Any, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Run the event loop, idle as in the application, until ``condition()`` (checked every 5 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    poll.start(5)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise SystemExit("timed out waiting for the pane")


def wait_for_frame(pane: Any, frame_idx: int) -> None:
    """Run the event loop, idle as in the application, until ``frame_idx`` is drawn."""
    from PySide6.QtCore import QEventLoop, QTimer

    if pane.shown_frame_idx == frame_idx:
        return
    loop = QEventLoop()

    def on_frame_shown(shown_idx: int) -> None:
        if shown_idx == frame_idx:
            loop.quit()

    pane.frame_shown.connect(on_frame_shown)
    QTimer.singleShot(10_000, loop.quit)
    loop.exec()
    pane.frame_shown.disconnect(on_frame_shown)


def decoder_seek_ms(video: Path, frames: list[int]) -> list[float]:
    """Latency of random reads with the decoder alone (no thread, no drawing)."""
    from pose_core.video.reader import VideoReader

    latencies_ms = []
    with VideoReader(video) as reader:
        for frame_idx in frames:
            t0 = time.perf_counter()
            reader.read(frame_idx)
            latencies_ms.append((time.perf_counter() - t0) * 1000)
    return latencies_ms


def make_long_gop_video(path: Path, n_frames: int) -> None:
    """1280x1024 H.264, a keyframe every 250 frames (ffmpeg's default GOP), with ffmpeg's moving test pattern."""
    import subprocess

    tmp = path.with_suffix(".partial.mp4")
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size=1280x1024:rate={FPS:g}",
         "-frames:v", str(n_frames), "-c:v", "libx264", "-preset", "veryfast", "-g", "250", "-pix_fmt", "yuv420p",
         str(tmp)],
        check=True,
    )  # fmt: skip
    tmp.rename(path)


def percentiles(values_ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(values_ms):.0f} ms, p95 {float(np.percentile(values_ms, 95)):.0f} ms, "
        f"max {max(values_ms):.0f} ms"
    )


def wait_for_first_image(pane: Any, frame_idx: int, timeout_s: float = 20.0) -> tuple[float, float]:
    """Seconds until the first image (preview or exact) and until the exact frame, after asking for ``frame_idx``."""
    from PySide6.QtCore import QEventLoop, QTimer

    t0 = time.perf_counter()
    times: dict[str, float] = {}
    loop = QEventLoop()

    def on_preview(idx: int) -> None:
        if idx == frame_idx:
            times.setdefault("first", time.perf_counter() - t0)

    def on_shown(idx: int) -> None:
        if idx == frame_idx:
            times.setdefault("first", time.perf_counter() - t0)
            times["exact"] = time.perf_counter() - t0
            loop.quit()

    pane.frame_previewed.connect(on_preview)
    pane.frame_shown.connect(on_shown)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    pane.state.set_frame_idx(frame_idx)
    if "exact" not in times:
        loop.exec()
    pane.frame_previewed.disconnect(on_preview)
    pane.frame_shown.disconnect(on_shown)
    return times.get("first", float("nan")), times.get("exact", float("nan"))


def report_long_gop(app: Any, pane: Any, video: Path, run_dir: Path, args: argparse.Namespace) -> None:
    state = pane.state
    state.set_run_dir(run_dir)
    state.set_video(None)
    start = time.perf_counter()
    state.set_video(video)
    wait_until(app, lambda: pane.predictions is not None and pane.shown_frame_idx == 0, timeout_s=300)
    print(f"\n== long-GOP H.264 {video.name}: {pane.video_info.n_frames} frames "
          f"{pane.video_info.width}x{pane.video_info.height}, GOP 250; load {os.getloadavg()[0]:.1f} ==")  # fmt: skip
    print(f"open video + predictions: {(time.perf_counter() - start) * 1000:.0f} ms")
    wait_until(app, lambda: pane.loader is not None and pane.loader._index_thread is None
               or not pane.loader._index_thread.is_alive(), timeout_s=300)  # fmt: skip
    print(f"keyframe index built in the background (first opening): {time.perf_counter() - start:.1f} s after opening")
    loader = pane.loader
    wait_until(app, lambda: loader.index_done, timeout_s=30)  # the loader has taken it
    if loader.previews is not None:
        wait_until(app, lambda: len(loader.previews) == len(loader.previews.keyframes), timeout_s=300)
        width, height = loader.previews.size_wh
        print(f"keyframe previews ({len(loader.previews)} keyframes at {width}x{height}, "
              f"{loader.previews.nbytes() / 2**20:.0f} MiB) decoded in idle time: {time.perf_counter() - start:.1f} s "
              "after opening")  # fmt: skip
    else:
        print("no keyframe previews (the index has no timestamps): seeks without previews")
    app.processEvents()
    n_frames = pane.video_info.n_frames
    rng = np.random.default_rng(4)
    first_ms, exact_ms, step_ms = [], [], []
    for frame_idx in rng.integers(1, n_frames - 2, args.h264_seeks).tolist():
        first_s, exact_s = wait_for_first_image(pane, frame_idx)
        first_ms.append(first_s * 1000)
        exact_ms.append(exact_s * 1000)
        wait_until(app, lambda f=frame_idx: (f + 1) in pane.loader.cache, timeout_s=10)  # idle decode-ahead
        t0 = time.perf_counter()
        state.set_frame_idx(frame_idx + 1)
        wait_for_frame(pane, frame_idx + 1)
        step_ms.append((time.perf_counter() - t0) * 1000)
    load = os.getloadavg()[0]
    before_ms = decoder_seek_ms(video, rng.integers(1, n_frames, args.h264_seeks).tolist())
    p95_first = float(np.percentile(first_ms, 95))
    p95_exact = float(np.percentile(exact_ms, 95))
    p95_before = float(np.percentile(before_ms, 95))
    print(f"random seek, first image shown ({args.h264_seeks} seeks): {percentiles(first_ms)} "
          f"(goal p95 < 50 ms: {'met' if p95_first < 50 else 'NOT met'})")  # fmt: skip
    print(f"random seek, exact frame + keypoints drawn: {percentiles(exact_ms)} "
          f"(goal p95 < 300 ms: {'met' if p95_exact < 300 else 'NOT met'})")  # fmt: skip
    print(f"  before (VideoReader.read at random frames, no index, same run): {percentiles(before_ms)}; "
          f"first image x{p95_before / p95_first:.1f} sooner, exact frame x{p95_before / p95_exact:.2f} (p95)")  # fmt: skip
    print(f"step +1 after a seek: {percentiles(step_ms)} (goal < 16 ms)")
    report_steps_back(app, pane, n_frames)
    state.set_frame_idx(1000 % n_frames)
    wait_until(app, lambda: pane.shown_frame_idx == 1000 % n_frames)
    pane.nav.set_playing(True)
    pane.play_timer.setInterval(0)
    first, t0 = state.frame_idx, time.perf_counter()
    while time.perf_counter() - t0 < args.play_s and pane.is_playing:
        app.processEvents()
    elapsed = time.perf_counter() - t0
    pane.nav.set_playing(False)
    fps = (state.frame_idx - first) / elapsed
    print(f"playback with overlays at 1280x1024: {fps:.0f} frames/s (goal >= 30: {'met' if fps >= 30 else 'NOT met'})")
    print(f"load average during the seeks: {load:.1f}; now {os.getloadavg()[0]:.1f} (2 cores shared: noisy)")


def report_steps_back(app: Any, pane: Any, n_frames: int, n_steps: int = 60) -> None:
    """Step -1 repeatedly from the middle of a GOP (as holding the Left key): latency and GOP decodes."""
    state, loader = pane.state, pane.loader
    start_idx = min(n_frames - 1, 5 * 250 + 200)
    state.set_frame_idx(start_idx)
    wait_for_frame(pane, start_idx)
    exact = loader._exact
    seeks_before = exact.n_seeks if exact is not None else 0
    back_ms = []
    for frame_idx in range(start_idx - 1, start_idx - 1 - n_steps, -1):
        t0 = time.perf_counter()
        state.set_frame_idx(frame_idx)
        wait_for_frame(pane, frame_idx)
        back_ms.append((time.perf_counter() - t0) * 1000)
        app.processEvents()
    gop_decodes = (exact.n_seeks - seeks_before) if exact is not None else n_steps
    print(f"step -1, {n_steps} times from frame {start_idx}: {percentiles(back_ms)}; {gop_decodes} GOP decodes "
          f"for {n_steps} steps (one per step without decoding ahead backwards)")  # fmt: skip


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seeks", type=int, default=300)
    parser.add_argument("--play-s", type=float, default=5.0)
    parser.add_argument("--h264-frames", type=int, default=18_000, help="long-GOP H.264 video length (0 skips)")
    parser.add_argument("--h264-seeks", type=int, default=60)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "posedesk_review_bench")
    args = parser.parse_args()
    os.environ.setdefault("POSEDESK_DATA_DIR", str(args.dir / "data"))  # its own predictions cache

    args.dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.dir / "data", ignore_errors=True)  # the first opening parses the CSV, builds the index
    video = args.dir / f"long_{args.frames}.mp4"
    run_dir = args.dir / f"run_{args.frames}"
    if args.frames > 0:
        if not video.is_file():
            print(f"Generating {video} ({args.frames} frames, {SIZE_PX}x{SIZE_PX})…", flush=True)
            make_video(video, args.frames)
        preds_csv = run_dir / "video_preds" / f"{video.stem}.csv"
        if not preds_csv.is_file():
            print(f"Writing {preds_csv}…", flush=True)
            make_predictions(preds_csv, args.frames)
    gop_video = args.dir / f"gop250_{args.h264_frames}.mp4"
    gop_run_dir = args.dir / f"run_gop250_{args.h264_frames}"
    if args.h264_frames > 0:
        if not gop_video.is_file():
            print(f"Generating {gop_video} ({args.h264_frames} frames, 1280x1024 H.264, GOP 250)…", flush=True)
            make_long_gop_video(gop_video, args.h264_frames)
        gop_csv = gop_run_dir / "video_preds" / f"{gop_video.stem}.csv"
        if not gop_csv.is_file():
            make_predictions(gop_csv, args.h264_frames)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores shared with others: figures are noisy)")

    from PySide6.QtWidgets import QApplication

    import pose_core.io.predictions  # noqa: F401  # the window has imported pandas when it opened the project

    app = QApplication([])
    from pose_gui.models.state import AppState
    from pose_gui.views.video_review import VideoReviewPane

    pane = VideoReviewPane(AppState())
    pane.resize(1400, 900)
    pane.show()
    app.processEvents()
    rss_start = rss_mib()
    try:
        if args.frames > 0:
            report(app, pane, video, run_dir, args, rss_start)
        if args.h264_frames > 0:
            report_long_gop(app, pane, gop_video, gop_run_dir, args)
    finally:
        pane.shutdown()
    return 0


def report(app: Any, pane: Any, video: Path, run_dir: Path, args: argparse.Namespace, rss_start: float) -> None:
    state = pane.state
    state.set_run_dir(run_dir)
    for attempt in ("first time, CSV parsed", "again, binary copy in the cache"):
        state.set_video(None)
        start = time.perf_counter()
        state.set_video(video)
        wait_until(app, lambda: pane.predictions is not None and pane.shown_frame_idx == 0, timeout_s=300)
        open_s = time.perf_counter() - start
        verdict = "met" if open_s < 1 else "NOT met"
        print(f"open video + predictions ({attempt}): {open_s * 1000:.0f} ms (goal < 1000 ms: {verdict})")
    n_frames = pane.video_info.n_frames
    print(f"video {n_frames} frames {pane.video_info.width}x{pane.video_info.height}")

    rng = np.random.default_rng(2)
    latencies_ms = []
    for frame_idx in rng.integers(1, n_frames, args.seeks).tolist():
        t0 = time.perf_counter()
        state.set_frame_idx(frame_idx)
        wait_for_frame(pane, frame_idx)
        pane.view.viewport().repaint()  # the overlay is painted
        latencies_ms.append((time.perf_counter() - t0) * 1000)
    p50 = statistics.median(latencies_ms)
    p95 = float(np.percentile(latencies_ms, 95))
    print(f"random seek + overlay drawn ({args.seeks} seeks): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(latencies_ms):.1f} ms (goal p95 < 30 ms: {'met' if p95 < 30 else 'NOT met'}; "
          f"DeepLabCut ~10,000 ms: {10_000 / p95:.0f}x faster)")  # fmt: skip
    rss_after_seeks = rss_mib()
    decode_ms = decoder_seek_ms(video, rng.integers(1, n_frames, args.seeks).tolist())
    print(f"  the floor, VideoReader.read alone at random frames: p50 {statistics.median(decode_ms):.1f} ms, "
          f"p95 {float(np.percentile(decode_ms, 95)):.1f} ms")  # fmt: skip

    state.set_frame_idx(1000 % n_frames)
    wait_until(app, lambda: pane.shown_frame_idx == 1000 % n_frames)
    pane.nav.set_playing(True)
    pane.play_timer.setInterval(0)  # as fast as frames are delivered
    first, t0 = state.frame_idx, time.perf_counter()
    while time.perf_counter() - t0 < args.play_s and pane.is_playing:
        app.processEvents()
    elapsed = time.perf_counter() - t0
    pane.nav.set_playing(False)
    fps = (state.frame_idx - first) / elapsed
    print(f"playback with overlays: {fps:.0f} frames/s drawn (goal >= 60: {'met' if fps >= 60 else 'NOT met'})")
    loader = pane.loader
    print(f"memory: RSS {rss_start:.0f} MiB before, {rss_after_seeks:.0f} after seeks, {rss_mib():.0f} after "
          f"playback; frame cache {len(loader.cache)}/{loader.cache.max_frames} frames = "
          f"{loader.cache.nbytes() / 2**20:.0f} MiB; predictions {pane.predictions.xy_lik.nbytes / 2**20:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
