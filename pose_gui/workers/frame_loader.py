"""FrameLoader: the decoding thread of the review pane (one per open video).

The GUI thread calls :meth:`FrameLoader.request` with a frame index and gets a request id back;
the thread serves only the latest request (older ones not yet decoded are dropped, and one being
decoded is abandoned when a newer one arrives), and answers with
``frame_ready(request_id, frame_idx, image)`` so the view draws the image and the keypoints of
that same frame.

Long-GOP video (H.264 with a keyframe every 250 frames): reaching a frame means decoding from the
keyframe before it. Once the video's keyframe index is known (built in a background thread the
first time, then cached: :mod:`pose_core.video.keyframes`), a request that needs a seek first
answers ``frame_preview(request_id, frame_idx, shown_idx, image)`` with the nearest frame already
decoded or the keyframe's image (decoded anyway on the way to the frame), so scrubbing shows an
image at once; the exact frame follows unless a newer request replaced it. Without an index
(PyAV missing, unreadable container) seeking works as before.

Decoded frames go to an LRU cache bounded in frames (fewer for large frames, see
:data:`CACHE_BUDGET_BYTES`). When it has nothing else to do the thread decodes the frames after the
last one served (further while playing), so stepping forward and playing are served from the cache.
(Frames before it are not decoded in idle time: that needs a seek OpenCV cannot interrupt, which
would hold up the next request by a whole GOP decode.) OpenCV is imported only inside the thread (through
:class:`pose_core.video.reader.VideoReader`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from pose_core.errors import DataError

if TYPE_CHECKING:
    from pose_core.video.keyframes import KeyframeDecoder, KeyframeIndex
    from pose_core.video.reader import VideoReader

DEFAULT_CACHE_FRAMES = 120
DEFAULT_READ_AHEAD_FRAMES = 24  # while playing
STEP_AHEAD_FRAMES = 6  # while paused: frames decoded after the one shown
CACHE_BUDGET_BYTES = 256 * 2**20  # large frames: fewer of them are kept
MIN_CACHE_FRAMES = 8
_IDLE_WAIT_S = 0.2


class FrameCache:
    """A least-recently-used cache of decoded frames, bounded in frames."""

    def __init__(self, max_frames: int) -> None:
        self.max_frames = max(1, max_frames)
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, frame_idx: int) -> bool:
        return frame_idx in self._frames

    def get(self, frame_idx: int) -> np.ndarray | None:
        """The cached frame (now most recently used), or None."""
        image = self._frames.get(frame_idx)
        if image is not None:
            self._frames.move_to_end(frame_idx)
        return image

    def put(self, frame_idx: int, image: np.ndarray) -> None:
        """Store a frame, evicting the least recently used ones beyond the bound."""
        self._frames[frame_idx] = image
        self._frames.move_to_end(frame_idx)
        while len(self._frames) > self.max_frames:
            self._frames.popitem(last=False)

    def keys(self) -> list[int]:
        """The cached frame indices."""
        return list(self._frames)

    def nbytes(self) -> int:
        """Memory held by the cached frames."""
        return sum(image.nbytes for image in self._frames.values())


class FrameLoader(QThread):
    """Opens one video in its own thread and decodes the frames asked for, the latest request first.

    Signals:
        video_opened(object): The video's :class:`~pose_core.video.reader.VideoInfo`.
        open_failed(object): The error (DataError) that kept the video from opening; the thread ends.
        frame_ready(int, int, object): ``request_id``, ``frame_idx``, RGB ``uint8`` image (read-only).
        frame_preview(int, int, int, object): ``request_id``, ``frame_idx`` asked for, ``shown_idx``
            of the approximate image (a keyframe or a nearby decoded frame), the image; the exact
            frame follows with ``frame_ready`` unless a newer request replaced it.
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
        self._playing = False
        self._last_served = -1
        self._n_frames = 0
        self.n_decoded = 0  # frames decoded so far (tests and benchmarks)
        self.n_dropped = 0  # requests replaced before being served
        self.n_previews = 0  # approximate images sent
        self.keyframes: KeyframeIndex | None = None  # once the index is in use (None: not yet, or none)
        self._index_thread: threading.Thread | None = None
        self._keyframe_decoder: KeyframeDecoder | None = None
        self._index_ready: object = None  # a KeyframeIndex handed over by the index thread

    # ------------------------------------------------------------------ GUI thread

    def request(self, frame_idx: int) -> int:
        """Ask for frame ``frame_idx``; any request not yet served is dropped. Returns the request id."""
        with self._condition:
            self._last_request_id += 1
            if self._pending is not None:
                self.n_dropped += 1
            self._pending = (self._last_request_id, int(frame_idx))
            self._condition.notify()
            return self._last_request_id

    def take_cached(self, frame_idx: int) -> np.ndarray | None:
        """Frame ``frame_idx`` now if it is cached (any request not yet served is dropped), else None.

        Playback and seeks to recently seen frames then skip the round trip through the thread.
        """
        with self._condition:
            image = self.cache.get(int(frame_idx))
            if image is not None:
                if self._pending is not None:
                    self.n_dropped += 1
                self._pending = None
                self._last_request_id += 1
                self._last_served = int(frame_idx)
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
            if self._keyframe_decoder is not None:
                self._keyframe_decoder.close()
            reader.close()

    # ------------------------------------------------------------------ keyframe index

    def _start_index(self, n_frames: int) -> None:
        """Load the keyframe index from the cache, or build it in a background thread."""
        from pose_core.video.keyframes import cached_keyframe_index

        cached = cached_keyframe_index(self.video_path)
        if cached is not None:
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
        if index is not None and index.n_frames != n_frames:
            index = None  # the container and OpenCV disagree: do not trust it
        with self._condition:
            self._index_ready = index if index is not None else False
            self._condition.notify()

    def _adopt_index(self, reader: VideoReader) -> None:
        """Give the reader the index once the index thread is done (serving thread only)."""
        with self._condition:
            ready, self._index_ready = self._index_ready, None
        if ready is None:
            return
        reader.keyframes = ready or None  # type: ignore[assignment]
        self.keyframes = reader.keyframes
        self.keyframes_indexed.emit(reader.keyframes)

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
            else:
                self._read_ahead(reader, frame_idx)

    def _next_job(self) -> tuple[int, int] | None:
        """The pending request, or ``(0, frame_idx)`` for a read-ahead, or None after an idle wait."""
        with self._condition:
            if self._pending is not None:
                job, self._pending = self._pending, None
                return job
            ahead = self._read_ahead_target()
            if ahead is not None:
                return (0, ahead)
            self._condition.wait(_IDLE_WAIT_S)
            return None

    def _read_ahead_target(self) -> int | None:
        """The next frame to decode in idle time (the lock is held by the caller)."""
        if self._last_served < 0:
            return None
        ahead = self.read_ahead_frames if self._playing else STEP_AHEAD_FRAMES
        ahead = min(ahead, self.cache.max_frames // 2)  # never evict what was just decoded
        stop = min(self._n_frames, self._last_served + 1 + ahead)
        for frame_idx in range(self._last_served + 1, stop):
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
                self._preview(reader, request_id, frame_idx)
                image = self._frame(reader, frame_idx)
        except ReadCancelled:
            return  # a newer request replaced this one while it was decoded
        except (DataError, IndexError, OSError, ValueError) as error:
            message = error if isinstance(error, DataError) else DataError(str(error), path=str(self.video_path))
            self.frame_failed.emit(request_id, frame_idx, message)
            return
        self._last_served = frame_idx
        self.frame_ready.emit(request_id, frame_idx, image)

    def _preview(self, reader: VideoReader, request_id: int, frame_idx: int) -> None:
        """Before a seek, send the nearest decoded frame or the keyframe's image (approximate)."""
        index = reader.keyframes
        if index is None or reader.frames_to_decode(frame_idx) is not None:
            return  # no index, or the frame is a short forward decode away: no preview needed
        keyframe = index.keyframe_at_or_before(frame_idx)
        with self._condition:
            near = min(self.cache.keys(), key=lambda idx: abs(idx - frame_idx), default=None)
        if near is not None and abs(near - frame_idx) < frame_idx - keyframe:
            shown_idx, image = near, self._cached(near)
        else:
            shown_idx, image = keyframe, self._keyframe_image(index, keyframe)
        if image is None or shown_idx == frame_idx:
            return
        self.n_previews += 1
        self.frame_preview.emit(request_id, frame_idx, shown_idx, image)

    def _keyframe_image(self, index: KeyframeIndex, keyframe: int) -> np.ndarray | None:
        """A keyframe decoded alone with PyAV (OpenCV's seek would decode the GOP before it too)."""
        from pose_core.video.keyframes import KeyframeDecoder, KeyframeIndexError

        cached = self._cached(keyframe)
        if cached is not None or not index.keyframe_pts:
            return cached
        if self._keyframe_decoder is None:
            try:
                self._keyframe_decoder = KeyframeDecoder(self.video_path, index)
            except KeyframeIndexError:
                return None
        image = self._keyframe_decoder.read(keyframe)
        if image is not None:
            image.flags.writeable = False
            with self._condition:
                self.cache.put(keyframe, image)
        return image

    def _read_ahead(self, reader: VideoReader, frame_idx: int) -> None:
        from pose_core.video.reader import ReadCancelled

        try:
            self._frame(reader, frame_idx)
        except ReadCancelled:
            return
        except (DataError, IndexError, OSError, ValueError):
            self._last_served = -1  # stop reading ahead; the next request reports the error

    def _cached(self, frame_idx: int) -> np.ndarray | None:
        with self._condition:
            return self.cache.get(frame_idx)

    def _frame(self, reader: VideoReader, frame_idx: int) -> np.ndarray:
        cached = self._cached(frame_idx)
        if cached is not None:
            return cached
        if not self.video_path.exists():
            raise DataError(
                f"Video {self.video_path} was deleted or moved while open: put it back, or open another video.",
                path=str(self.video_path),
            )
        image = reader.read(frame_idx, should_stop=self._superseded)
        image.flags.writeable = False
        self.n_decoded += 1
        with self._condition:
            self.cache.put(frame_idx, image)
        return image
