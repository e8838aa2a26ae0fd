"""Exact frames of a long-GOP video decoded with PyAV from the keyframe before them, interruptibly.

Reaching frame ``i`` of an H.264 video with a keyframe every 250 frames means decoding from the
keyframe at or before ``i``. OpenCV's seek does that inside one call that cannot be interrupted and
decodes every frame on the way. :class:`IndexedFrameReader` uses the video's
:class:`~pose_core.video.keyframes.KeyframeIndex` instead:

* it seeks to the keyframe's timestamp and decodes forward itself, so ``should_stop`` is polled
  between packets (a newer request abandons an older decode within one frame's decode);
* frames before the ones wanted are decoded with ``skip_frame=NONREF``: frames no other frame refers
  to (most B-frames) are not decoded at all, which leaves the frames that are exact;
* decoded frames are mapped back to their index by their timestamp (``KeyframeIndex.frame_pts``),
  so skipped frames do not shift the count;
* a read a little ahead of the decoder's position (the next frame, the rest of the GOP) decodes
  forward without seeking, and ``keep_from`` hands over the frames before the target too (one GOP
  decode serves a run of steps backwards).

Only the frames handed over are converted to RGB. Errors follow :class:`VideoReader`'s:
``IndexError`` outside the video, :class:`~pose_core.errors.DataError` for a frame that cannot be
decoded (corrupt or truncated file), :class:`~pose_core.video.reader.ReadCancelled` when stopped.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_core.errors import DataError
from pose_core.video.keyframes import KeyframeIndex, KeyframeIndexError
from pose_core.video.reader import ReadCancelled

if TYPE_CHECKING:
    import av

# Decoding forward at most this many frames past a keyframe boundary is preferred to a seek
# (a seek flushes the decoder and its frame threads).
_MAX_FORWARD_FRAMES = 8


class IndexedFrameReader:
    """Exact, interruptible random access to a video with a keyframe index (see the module docstring).

    Args:
        path: The video file.
        index: Its keyframe index; ``index.exact_decoding`` must be True.
        threads: Let the decoder use frame and slice threads (faster when a core is free).

    Raises:
        KeyframeIndexError: PyAV is missing, the file cannot be opened, or the index lacks timestamps.
    """

    def __init__(self, path: Path, index: KeyframeIndex, *, threads: bool = True) -> None:
        if not index.exact_decoding:
            raise KeyframeIndexError("the index has no frame timestamps (frame 0 is not a keyframe)")
        try:
            import av

            self._container = av.open(str(path))
        except (ImportError, OSError) as exc:
            raise KeyframeIndexError(f"{type(exc).__name__}: {exc}") from exc
        self.path = Path(path)
        self.index = index
        self._stream = self._container.streams.video[0]
        if threads:
            self._stream.thread_type = "AUTO"
        self._context = self._stream.codec_context
        self._packets: Iterator[av.Packet] | None = None  # demuxing from the last seek
        self._ready: deque[tuple[int, av.VideoFrame]] = deque()  # decoded, not yet handed over
        self._next_idx = -1  # the frame the decoder yields next (-1: unknown, a read seeks)
        self._skip_before_pts: int | None = None
        self.n_decoded = 0  # frames that came out of the decoder (tests, benchmarks)
        self.n_seeks = 0

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.index.n_frames

    def close(self) -> None:
        """Release the file. Safe to call twice."""
        self._ready.clear()
        self._packets = None
        self._container.close()

    def frames_to_decode(self, frame_idx: int) -> int | None:
        """How many frames decoding forward from the current position takes to reach ``frame_idx`` (None: a seek)."""
        distance = frame_idx - self._next_idx
        if self._next_idx < 0 or distance < 0:
            return None
        keyframe = self.index.keyframe_at_or_before(frame_idx)
        if distance <= _MAX_FORWARD_FRAMES or self._next_idx >= keyframe:
            return distance
        return None

    def read(
        self,
        frame_idx: int,
        *,
        should_stop: Callable[[], bool] | None = None,
        keep_from: int | None = None,
        on_frame: Callable[[int, np.ndarray], None] | None = None,
    ) -> np.ndarray:
        """Return frame ``frame_idx`` exactly, as RGB ``uint8`` ``height x width x 3``.

        Args:
            frame_idx: 0-based frame index.
            should_stop: Polled before each packet is decoded; True raises :class:`ReadCancelled`
                (the reader stays usable).
            keep_from: Also decode fully the frames from this index to ``frame_idx - 1`` and hand them
                to ``on_frame`` as they come (frames before it are skipped where possible).
            on_frame: Receives ``(frame_idx, rgb_image)`` for the frames from ``keep_from`` on.

        Raises:
            IndexError: ``frame_idx`` is outside the video.
            DataError: The frame cannot be decoded (corrupt or truncated file).
            ReadCancelled: ``should_stop`` returned True.
        """
        frame_idx = operator.index(frame_idx)
        if not 0 <= frame_idx < self.n_frames:
            raise IndexError(f"Frame {frame_idx} is outside video {self.path} (frames 0..{self.n_frames - 1}).")
        keep_from = frame_idx if keep_from is None else min(max(0, keep_from), frame_idx)
        behind = keep_from < frame_idx and keep_from < self._next_idx  # frames wanted behind the decoder
        if behind or self.frames_to_decode(frame_idx) is None:
            self._seek(self.index.keyframe_at_or_before(min(keep_from, frame_idx)))
        self._skip_before_pts = self.index.frame_pts[keep_from]
        try:
            while True:
                shown_idx, frame = self._next_frame(frame_idx, should_stop)
                if shown_idx == frame_idx:
                    return self._rgb(frame)
                if on_frame is not None and shown_idx >= keep_from:
                    on_frame(shown_idx, self._rgb(frame))
        finally:
            self._skip_before_pts = None

    # ------------------------------------------------------------------ decoding

    def _seek(self, keyframe: int) -> None:
        import av

        pts = self.index.keyframe_pts[self.index.keyframes.index(keyframe)]
        self._ready.clear()
        self._packets = None
        self._next_idx = -1
        try:
            self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:
            raise self._corrupt(keyframe, exc) from exc
        self._packets = self._container.demux(self._stream)
        self._next_idx = keyframe
        self.n_seeks += 1

    def _next_frame(self, frame_idx: int, should_stop: Callable[[], bool] | None) -> tuple[int, Any]:
        """The next decoded frame and its index (frames before the decoder's position are dropped)."""
        while not self._ready:
            if should_stop is not None and should_stop():
                raise ReadCancelled(f"reading frame {frame_idx} of {self.path} was cancelled")
            self._decode_packet(frame_idx)
        shown_idx, frame = self._ready.popleft()
        self._next_idx = self._ready[0][0] if self._ready else shown_idx + 1
        return shown_idx, frame

    def _decode_packet(self, frame_idx: int) -> None:
        import av

        if self._packets is None:
            raise DataError(f"Frame {frame_idx} of video {self.path} cannot be decoded.", path=str(self.path))
        try:
            packet = next(self._packets)
            if packet.size and packet.pts is not None and self._skip_before_pts is not None:
                skip = packet.pts < self._skip_before_pts and not packet.is_keyframe
                self._context.skip_frame = "NONREF" if skip else "DEFAULT"
            frames = packet.decode()  # the last (empty) packet drains the decoder
        except StopIteration:
            frames = []
            self._packets = None
        except av.error.FFmpegError as exc:
            self._packets = None
            self._next_idx = -1
            raise self._corrupt(frame_idx, exc) from exc
        for frame in frames:
            self.n_decoded += 1
            shown_idx = self.index.frame_of_pts(frame.pts) if frame.pts is not None else None
            if shown_idx is None:
                continue  # a frame the index does not list (a damaged packet): not one we can name
            if shown_idx >= max(0, self._next_idx) or self._next_idx < 0:
                self._ready.append((shown_idx, frame))
        if self._packets is None and not self._ready:
            self._next_idx = -1
            raise DataError(
                f"Video {self.path.name} ends before frame {frame_idx} (truncated or damaged file): "
                "re-copy the video from its source.",
                path=str(self.path),
            )

    def _corrupt(self, frame_idx: int, exc: Exception) -> DataError:
        del exc  # FFmpeg's own words ("Invalid data found when processing input") add nothing for a user
        return DataError(
            f"Frame {frame_idx} of video {self.path.name} cannot be decoded: the file is damaged here "
            "(frames from the next keyframe on may still show); re-copy the video from its source.",
            path=str(self.path),
        )

    @staticmethod
    def _rgb(frame: Any) -> np.ndarray:
        return frame.to_ndarray(format="rgb24")  # type: ignore[no-any-return]
