"""FrameLoader: the decoding thread of the review pane (one per open video).

The GUI thread calls :meth:`FrameLoader.request` with a frame index and gets a request id back;
the thread serves only the latest request (older ones not yet decoded are dropped, and one being
decoded is abandoned when a newer one arrives), and answers with
``frame_ready(request_id, frame_idx, image)`` so the view draws the image and the keypoints of
that same frame.

Long-GOP video (H.264 with a keyframe every 250 frames): reaching a frame means decoding from the
keyframe before it. Once the video's keyframe index is known (built in a background thread the
first time, then cached: :mod:`pose_core.video.keyframes`):

* exact frames are decoded with PyAV from the keyframe before them
  (:class:`pose_core.video.indexed.IndexedFrameReader`), skipping the frames no other frame needs,
  and a newer request abandons an older decode between two frames;
* in idle time every keyframe is decoded once at a reduced size (:class:`KeyframePreviews`, within a
  memory budget), so a request that needs a long decode answers at once, from the GUI thread, with
  ``frame_preview(request_id, frame_idx, shown_idx, image)``: the nearest frame already decoded or
  the keyframe's preview, whichever is closer; the exact frame follows unless a newer request
  replaced it;
* stepping backwards decodes the GOP once up to the frame asked for and keeps the frames before it
  (a window bounded by the cache), and idle time decodes the next window behind, so each step back
  is served from the cache instead of decoding a GOP.

Without an index (PyAV missing, unreadable container) seeking works as before, with OpenCV
(:class:`pose_core.video.reader.VideoReader`), without previews.

Decoded frames go to an LRU cache bounded in frames (fewer for large frames, see
:data:`CACHE_BUDGET_BYTES`). When it has nothing else to do the thread decodes the frames after the
last one served (further while playing), so stepping forward and playing are served from the cache.
OpenCV and PyAV are imported only inside the thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from pose_core.errors import DataError
from pose_gui.workers.frame_cache import FrameCache, KeyframePreviews

if TYPE_CHECKING:
    from pose_core.video.indexed import IndexedFrameReader
    from pose_core.video.keyframes import KeyframeDecoder, KeyframeIndex
    from pose_core.video.reader import VideoReader

__all__ = ["FrameCache", "FrameLoader", "KeyframePreviews"]

DEFAULT_CACHE_FRAMES = 120
DEFAULT_READ_AHEAD_FRAMES = 24  # while playing
STEP_AHEAD_FRAMES = 6  # while paused: frames decoded after the one shown (before it, when stepping back)
BACK_WINDOW_FRAMES = 48  # a step back decodes its GOP once and keeps up to this many frames before it
BACK_STEP_FRAMES = 10  # a request at most this far before the last frame served is a step back
NO_PREVIEW_AHEAD_FRAMES = 12  # a frame this close after the last one served is decoded forward: no preview
CACHE_BUDGET_BYTES = 256 * 2**20  # large frames: fewer of them are kept
MIN_CACHE_FRAMES = 8
_IDLE_WAIT_S = 0.2
_PREVIEW_JOB = -1  # job id of "decode a keyframe preview" (requests are > 0, read-ahead 0)


class FrameLoader(QThread):
    """Opens one video in its own thread and decodes the frames asked for, the latest request first.

    Signals:
        video_opened(object): The video's :class:`~pose_core.video.reader.VideoInfo`.
        open_failed(object): The error (DataError) that kept the video from opening; the thread ends.
        frame_ready(int, int, object): ``request_id``, ``frame_idx``, RGB ``uint8`` image (read-only).
        frame_preview(int, int, int, object): ``request_id``, ``frame_idx`` asked for, ``shown_idx``
            of the approximate image (a keyframe preview, possibly smaller than the frame, or a
            nearby decoded frame), the image; the exact frame follows with ``frame_ready`` unless a
            newer request replaced it. Emitted from :meth:`request` itself when a preview is at hand.
        keyframes_indexed(object): The :class:`~pose_core.video.keyframes.KeyframeIndex`, or None
            when it cannot be built (seeks then work without previews).
        frame_failed(int, int, object): ``request_id``, ``frame_idx``, the error (DataError).
    """

    video_opened = Signal(object)
    open_failed = Signal(object)
    frame_ready = Signal(int, int, object)
    frame_preview = Signal(int, int, int, object)
    frame_failed = Signal(int, int, object)
    keyframes_indexed = Signal(object)

    def __init__(
        self,
        video_path: Path,
        *,
        cache_frames: int = DEFAULT_CACHE_FRAMES,
        read_ahead_frames: int = DEFAULT_READ_AHEAD_FRAMES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.video_path = Path(video_path)
        self.cache = FrameCache(cache_frames)
        self.read_ahead_frames = read_ahead_frames
        self._condition = threading.Condition()
        self._pending: tuple[int, int] | None = None  # (request_id, frame_idx)
        self._last_request_id = 0
        self._previewed_request_id = 0  # the request answered with a preview from the GUI thread
        self._playing = False
        self._last_served = -1
        self._backward = False  # the last move was a step back: decode ahead backwards
        self._n_frames = 0
        self._frame_wh = (0, 0)
        self.n_decoded = 0  # frames decoded so far (tests and benchmarks)
        self.n_dropped = 0  # requests replaced before being served
        self.n_previews = 0  # approximate images sent
        self.keyframes: KeyframeIndex | None = None  # once the index is in use (None: not yet, or none)
        self.previews: KeyframePreviews | None = None  # keyframe previews, once the index is in use
        self._index_thread: threading.Thread | None = None
        self._keyframe_decoder: KeyframeDecoder | None = None
        self._exact: IndexedFrameReader | None = None  # PyAV exact decoding (None: OpenCV's seek)
        self._index_ready: object = None  # a KeyframeIndex handed over by the index thread
        self.index_done = False  # the index is in use, or known not to be buildable
        self._truncated: DataError | None = None  # said once, when the last decodable frame is served
        self._undecodable: set[int] = set()  # frames read-ahead failed to decode (not tried again in idle time)

    # ------------------------------------------------------------------ GUI thread

    def request(self, frame_idx: int) -> int:
        """Ask for frame ``frame_idx``; any request not yet served is dropped. Returns the request id.

        When the frame needs a long decode and an approximate image is at hand (a keyframe preview
        or a nearby decoded frame), ``frame_preview`` is emitted before this returns.
        """
        frame_idx = int(frame_idx)
        with self._condition:
            self._last_request_id += 1
            request_id = self._last_request_id
            if self._pending is not None:
                self.n_dropped += 1
            self._pending = (request_id, frame_idx)
            preview = self._preview_at_hand(frame_idx)
            if preview is not None:
                self._previewed_request_id = request_id
                self.n_previews += 1
            self._condition.notify()
        if preview is not None:
            self.frame_preview.emit(request_id, frame_idx, preview[0], preview[1])
        return request_id

    def take_cached(self, frame_idx: int) -> np.ndarray | None:
        """Frame ``frame_idx`` now if it is cached (any request not yet served is dropped), else None.

        Playback and seeks to recently seen frames then skip the round trip through the thread.
        """
        with self._condition:
            image = self.cache.get(int(frame_idx))
            if self._truncated is not None and frame_idx == self._n_frames - 1:
                image = None  # served by the thread, which then says why the video ends there
            if image is not None:
                if self._pending is not None:
                    self.n_dropped += 1
                self._pending = None
                self._last_request_id += 1
                self._note_served(int(frame_idx))
                self._condition.notify()  # read further ahead
            return image

    @property
    def latest_request_id(self) -> int:
        """The id of the latest request (results with another id are stale)."""
        return self._last_request_id

    def set_playing(self, playing: bool) -> None:
        """While playing, idle time is used to decode the frames after the last one served."""
        with self._condition:
            self._playing = playing
            self._condition.notify()

    def stop(self) -> None:
        """Stop the thread and wait for it (call before dropping the loader)."""
        self.requestInterruption()
        with self._condition:
            self._condition.notify()
        self.wait()

    # ------------------------------------------------------------------ previews (lock held)

    def _needs_preview(self, frame_idx: int) -> bool:
        """True when ``frame_idx`` is not cached and is more than a short forward decode away."""
        if self.keyframes is None or frame_idx in self.cache:
            return False
        return not 0 < frame_idx - self._last_served <= NO_PREVIEW_AHEAD_FRAMES

    def _preview_at_hand(self, frame_idx: int) -> tuple[int, np.ndarray] | None:
        """The nearest decoded frame or the keyframe preview before ``frame_idx``, whichever is closer."""
        if not self._needs_preview(frame_idx):
            return None
        candidates: list[tuple[int, int]] = []  # (distance, shown_idx)
        keyframe = self.keyframes.keyframe_at_or_before(frame_idx) if self.keyframes is not None else 0
        near = self.cache.nearest(frame_idx)
        if near is not None and abs(near - frame_idx) <= frame_idx - keyframe:  # never farther than the keyframe
            candidates.append((abs(near - frame_idx), near))
        if self.previews is not None and keyframe in self.previews:
            candidates.append((frame_idx - keyframe, keyframe))
        if not candidates:
            return None
        _distance, shown_idx = min(candidates)
        image = self.cache.get(shown_idx) if shown_idx in self.cache else None
        if image is None and self.previews is not None:
            image = self.previews.get(shown_idx)
        if image is None or shown_idx == frame_idx:
            return None
        return shown_idx, image

    def _note_served(self, frame_idx: int) -> None:
        """Remember the frame on screen and the direction of the last move (lock held)."""
        if self._last_served >= 0 and frame_idx != self._last_served:
            self._backward = 0 < self._last_served - frame_idx <= BACK_STEP_FRAMES
        self._last_served = frame_idx

    # ------------------------------------------------------------------ thread

    def run(self) -> None:
        """Open the video, then serve requests until interrupted."""
        from pose_core.video.reader import VideoReader

        try:
            reader = VideoReader(self.video_path)
        except (DataError, OSError) as error:
            self.open_failed.emit(error)
            return
        try:
            self._n_frames = reader.n_frames
            self._frame_wh = (reader.width, reader.height)
            frame_bytes = max(1, reader.width * reader.height * 3)
            with self._condition:
                budget_frames = max(MIN_CACHE_FRAMES, CACHE_BUDGET_BYTES // frame_bytes)
                self.cache.max_frames = min(self.cache.max_frames, budget_frames)
            self.video_opened.emit(reader.info)
            self._start_index(reader.n_frames)
            self._serve(reader)
        finally:
            if self._index_thread is not None:
                self._index_thread.join()
            for decoder in (self._keyframe_decoder, self._exact):
                if decoder is not None:
                    decoder.close()
            reader.close()

    # ------------------------------------------------------------------ keyframe index

    def _start_index(self, n_frames: int) -> None:
        """Load the keyframe index from the cache, or build it in a background thread."""
        from pose_core.video.keyframes import cached_keyframe_index

        cached = cached_keyframe_index(self.video_path)
        if cached is not None and cached.n_frames == n_frames:
            self._index_ready = cached
            return
        self._index_thread = threading.Thread(
            target=self._build_index, args=(n_frames,), name="posedesk-keyframe-index", daemon=True
        )
        self._index_thread.start()

    def _build_index(self, n_frames: int) -> None:
        from pose_core.video.keyframes import KeyframeIndexError, load_keyframe_index

        try:
            index = load_keyframe_index(self.video_path, should_stop=self.isInterruptionRequested)
        except (KeyframeIndexError, OSError):
            index = None
        truncated = None
        if index is not None and index.n_frames != n_frames:
            if index.n_frames > n_frames:  # packets whose frames cannot be decoded: a truncated or damaged tail
                truncated = DataError(
                    f"Video {self.video_path.name} ends early: its container lists {index.n_frames:,} frames but "
                    f"only the first {n_frames:,} can be decoded (truncated or damaged file); re-copy the video "
                    "from its source.",
                    path=str(self.video_path),
                )
            index = None  # the container and OpenCV disagree: do not trust it
        with self._condition:
            self._truncated = truncated
            self._index_ready = index if index is not None else False
            self._condition.notify()

    def _adopt_index(self, reader: VideoReader) -> None:
        """Start using the index once the index thread is done (serving thread only)."""
        from pose_core.video.indexed import IndexedFrameReader
        from pose_core.video.keyframes import KeyframeIndexError

        with self._condition:
            ready, self._index_ready = self._index_ready, None
        if ready is None:
            return
        index: KeyframeIndex | None = ready or None  # type: ignore[assignment]
        reader.keyframes = index
        if index is not None and index.exact_decoding:
            try:
                self._exact = IndexedFrameReader(self.video_path, index)
            except KeyframeIndexError:
                self._exact = None
            if self._exact is not None and not self._exact_agrees(reader):
                self._exact.close()
                self._exact = None
        with self._condition:
            self.keyframes = index
            if index is not None and index.keyframe_pts:
                self.previews = KeyframePreviews(index.keyframes, *self._frame_wh)
            self.index_done = True
        self.keyframes_indexed.emit(index)

    def _exact_agrees(self, reader: VideoReader) -> bool:
        """True when PyAV and OpenCV decode frame 1 alike; otherwise OpenCV keeps seeking.

        Same size (no rotation OpenCV applies and PyAV would not) and the same pixels within rounding
        (both number the frames alike and convert colours alike).
        """
        frame_idx = min(1, reader.n_frames - 1)
        try:
            by_pyav = self._exact.read(frame_idx)  # type: ignore[union-attr]
            by_opencv = reader.read(frame_idx)
        except (DataError, IndexError, OSError, ValueError):
            return False
        if by_pyav.shape != by_opencv.shape:
            return False
        return float(np.abs(by_pyav.astype(np.int16) - by_opencv).mean()) <= 1.0

    # ------------------------------------------------------------------ serving

    def _serve(self, reader: VideoReader) -> None:
        while not self.isInterruptionRequested():
            self._adopt_index(reader)
            job = self._next_job()
            if job is None:
                continue
            request_id, frame_idx = job
            if request_id > 0:
                self._answer(reader, request_id, frame_idx)
            elif request_id == _PREVIEW_JOB:
                self._decode_preview(frame_idx)
            else:
                self._read_ahead(reader, frame_idx)

    def _next_job(self) -> tuple[int, int] | None:
        """The pending request, a read-ahead ``(0, frame_idx)``, a keyframe preview, or None after an idle wait."""
        with self._condition:
            if self._pending is not None:
                job, self._pending = self._pending, None
                return job
            ahead = self._read_ahead_target()
            if ahead is not None:
                return (0, ahead)
            if self.previews is not None:
                keyframe = self.previews.missing_near(max(0, self._last_served))
                if keyframe is not None:
                    return (_PREVIEW_JOB, keyframe)
            self._condition.wait(_IDLE_WAIT_S)
            return None

    def _read_ahead_target(self) -> int | None:
        """The next frame to decode in idle time (the lock is held by the caller)."""
        if self._last_served < 0:
            return None
        if self._backward and self._exact is not None and not self._playing:
            for frame_idx in range(self._last_served - 1, max(-1, self._last_served - 1 - STEP_AHEAD_FRAMES), -1):
                if frame_idx in self._undecodable:
                    break
                if frame_idx not in self.cache:
                    return frame_idx
        ahead = self.read_ahead_frames if self._playing else STEP_AHEAD_FRAMES
        ahead = min(ahead, self.cache.max_frames // 2)  # never evict what was just decoded
        stop = min(self._n_frames, self._last_served + 1 + ahead)
        for frame_idx in range(self._last_served + 1, stop):
            if frame_idx in self._undecodable:
                break
            if frame_idx not in self.cache:
                return frame_idx
        return None

    def _superseded(self) -> bool:
        """True when a newer request waits (the frame being decoded is no longer wanted)."""
        return self._pending is not None or self.isInterruptionRequested()

    def _answer(self, reader: VideoReader, request_id: int, frame_idx: int) -> None:
        from pose_core.video.reader import ReadCancelled

        try:
            image = self._cached(frame_idx)
            if image is None:
                if request_id != self._previewed_request_id:
                    self._preview(reader, request_id, frame_idx)
                image = self._frame(reader, frame_idx)
        except ReadCancelled:
            return  # a newer request replaced this one while it was decoded
        except (DataError, IndexError, OSError, ValueError) as error:
            message = error if isinstance(error, DataError) else DataError(str(error), path=str(self.video_path))
            self.frame_failed.emit(request_id, frame_idx, message)
            return
        with self._condition:
            self._note_served(frame_idx)
            truncated = self._truncated if frame_idx == self._n_frames - 1 else None
            if truncated is not None:
                self._truncated = None
        self.frame_ready.emit(request_id, frame_idx, image)
        if truncated is not None:  # the frames up to the damage are shown, then this, once
            self.frame_failed.emit(request_id, frame_idx + 1, truncated)

    def _preview(self, reader: VideoReader, request_id: int, frame_idx: int) -> None:
        """Before a long decode, send the nearest decoded frame or the keyframe's preview (decoded now if needed)."""
        previews = self.previews
        if previews is None:
            return
        with self._condition:
            if not self._needs_preview(frame_idx):
                return
        keyframe = previews.keyframe_before(frame_idx)
        if keyframe not in previews:
            self._decode_preview(keyframe)
        with self._condition:
            preview = self._preview_at_hand(frame_idx)
            if preview is not None:
                self.n_previews += 1
        if preview is not None:
            self.frame_preview.emit(request_id, frame_idx, preview[0], preview[1])

    def _decode_preview(self, keyframe: int) -> None:
        """Decode keyframe ``keyframe`` alone with PyAV at the previews' size and keep it."""
        from pose_core.video.keyframes import KeyframeDecoder, KeyframeIndexError

        previews, index = self.previews, self.keyframes
        if previews is None or index is None:
            return
        if self._keyframe_decoder is None:
            try:
                self._keyframe_decoder = KeyframeDecoder(self.video_path, index)
            except KeyframeIndexError:
                self.previews = None
                return
        image = self._keyframe_decoder.read(keyframe, previews.size_wh)
        if image is None:  # undecodable keyframe (corrupt file): keep a grey placeholder, do not retry
            image = np.full((previews.size_wh[1], previews.size_wh[0], 3), 64, dtype=np.uint8)
        with self._condition:
            previews.put(keyframe, image)

    def _read_ahead(self, reader: VideoReader, frame_idx: int) -> None:
        from pose_core.video.reader import ReadCancelled

        try:
            self._frame(reader, frame_idx)
        except ReadCancelled:
            return
        except (DataError, IndexError, OSError, ValueError):
            with self._condition:
                self._undecodable.add(frame_idx)  # read-ahead stops there; a request for it reports the error

    def _cached(self, frame_idx: int) -> np.ndarray | None:
        with self._condition:
            return self.cache.get(frame_idx)

    def _keep(self, frame_idx: int, image: np.ndarray) -> None:
        image.flags.writeable = False
        self.n_decoded += 1
        with self._condition:
            self.cache.put(frame_idx, image)

    def _window_start(self, frame_idx: int) -> int:
        """The first frame to keep when decoding ``frame_idx``: earlier frames of its GOP when stepping back."""
        with self._condition:
            back = 0 < self._last_served - frame_idx <= BACK_STEP_FRAMES + STEP_AHEAD_FRAMES
            window = min(BACK_WINDOW_FRAMES, self.cache.max_frames // 2)
        if not back or self.keyframes is None:
            return frame_idx
        return max(self.keyframes.keyframe_at_or_before(frame_idx), frame_idx - window + 1)

    def _frame(self, reader: VideoReader, frame_idx: int) -> np.ndarray:
        cached = self._cached(frame_idx)
        if cached is not None:
            return cached
        if not self.video_path.exists():
            raise DataError(
                f"Video {self.video_path} was deleted or moved while open: put it back, or open another video.",
                path=str(self.video_path),
            )
        if self._exact is not None:
            image = self._exact.read(
                frame_idx, should_stop=self._superseded, keep_from=self._window_start(frame_idx), on_frame=self._keep
            )
        else:
            image = reader.read(frame_idx, should_stop=self._superseded)
        self._keep(frame_idx, image)
        return image
