"""Keyframe index of a video: which frames can be decoded without decoding the frames before them.

Lab cameras and ffmpeg write H.264 with a keyframe every 250 frames or so: reaching frame ``i``
exactly means decoding from the keyframe at or before ``i``. Knowing where the keyframes are lets
the review pane show the keyframe's image at once while the slider moves (marked approximate),
and lets :class:`pose_core.video.reader.VideoReader` decode forward instead of seeking when the
target lies in the GOP it is already in.

:func:`build_keyframe_index` reads only the packet headers with PyAV (no decoding: about a second
for an hour of video); :func:`load_keyframe_index` keeps the result in the app's cache folder
(``$POSEDESK_DATA_DIR/cache/keyframes`` or the user cache), keyed by the video's path and
invalidated when its size or modification time changes. A video whose index cannot be built
(PyAV missing, unreadable container, packets without timestamps) has none: seeking works as
before.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_core.io.atomic import atomic_write_path

INDEX_FORMAT_VERSION = 3  # 3: every frame's timestamp (frame_pts), no discarded packets


class KeyframeIndexError(Exception):
    """The keyframe index of a video cannot be built (the caller seeks without one)."""


@dataclass(frozen=True)
class KeyframeIndex:
    """The display-order indices of a video's keyframes.

    Attributes:
        keyframes: Sorted frame indices (0-based, display order) of the keyframes; starts with 0.
        n_frames: Frames counted from the packets.
        keyframe_pts: The keyframes' presentation timestamps (stream time base), same order;
            empty when frame 0 is not a keyframe.
        frame_pts: Every frame's presentation timestamp in display order (frame ``i`` has
            ``frame_pts[i]``); empty when frame 0 is not a keyframe. It maps a decoded frame back
            to its index even when the decoder skipped the frames before it
            (:class:`pose_core.video.indexed.IndexedFrameReader`).
    """

    keyframes: tuple[int, ...]
    n_frames: int
    keyframe_pts: tuple[int, ...] = ()
    frame_pts: tuple[int, ...] = ()

    @property
    def exact_decoding(self) -> bool:
        """True when frames can be decoded exactly from the index (keyframe and frame timestamps known)."""
        return bool(self.keyframe_pts) and len(self.frame_pts) == self.n_frames

    def frame_of_pts(self, pts: int) -> int | None:
        """The index of the frame with timestamp ``pts``, or None when no frame has it."""
        pos = bisect.bisect_left(self.frame_pts, pts)
        return pos if pos < len(self.frame_pts) and self.frame_pts[pos] == pts else None

    def keyframe_at_or_before(self, frame_idx: int) -> int:
        """The last keyframe at or before ``frame_idx`` (0 for frames before the first keyframe)."""
        pos = bisect.bisect_right(self.keyframes, frame_idx) - 1
        return self.keyframes[pos] if pos >= 0 else 0

    def same_gop(self, from_idx: int, to_idx: int) -> bool:
        """True when decoding forward from ``from_idx`` reaches ``to_idx`` without crossing a keyframe."""
        return from_idx <= to_idx and self.keyframe_at_or_before(from_idx) == self.keyframe_at_or_before(to_idx)

    @property
    def max_gop(self) -> int:
        """The longest distance between two keyframes (or to the end), in frames."""
        bounds = [*self.keyframes, self.n_frames]
        return max(b - a for a, b in zip(bounds, bounds[1:], strict=False)) if len(bounds) > 1 else self.n_frames


def build_keyframe_index(path: Path, should_stop: Callable[[], bool] | None = None) -> KeyframeIndex:
    """Read the packet headers of a video's first video stream (no decoding).

    Args:
        path: The video file.
        should_stop: Polled every 1,000 packets; True abandons the index (KeyframeIndexError).

    Raises:
        KeyframeIndexError: PyAV is missing, the container cannot be read, packets lack
            timestamps, or ``should_stop`` returned True.
    """
    try:
        import av
    except ImportError as exc:
        raise KeyframeIndexError("PyAV is not installed") from exc
    pts: list[int] = []
    key_pts: list[int] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:  # the flush packet; frames an edit list drops
                    continue
                if packet.pts is None:
                    raise KeyframeIndexError("a packet has no timestamp")
                pts.append(int(packet.pts))
                if should_stop is not None and len(pts) % 1000 == 0 and should_stop():
                    raise KeyframeIndexError("stopped")
                if packet.is_keyframe:
                    key_pts.append(int(packet.pts))
    except (OSError, IndexError, av.error.FFmpegError) as exc:
        raise KeyframeIndexError(f"{type(exc).__name__}: {exc}") from exc
    if not pts or not key_pts:
        raise KeyframeIndexError("no video packets or no keyframe")
    order = np.sort(np.asarray(pts, dtype=np.int64))
    key_sorted = np.sort(np.asarray(key_pts, dtype=np.int64))
    keyframes = np.searchsorted(order, key_sorted).tolist()
    if keyframes[0] != 0:  # frame 0 is not a keyframe (open GOP): no timestamps, no previews
        return KeyframeIndex(tuple(sorted({0, *keyframes})), len(pts))
    return KeyframeIndex(tuple(keyframes), len(pts), tuple(key_sorted.tolist()), tuple(order.tolist()))


def default_cache_dir() -> Path:
    """``$POSEDESK_DATA_DIR/cache/keyframes`` or the user cache folder's ``keyframes``."""
    import platformdirs

    base = os.environ.get("POSEDESK_DATA_DIR")
    root = Path(base).expanduser() / "cache" if base else Path(platformdirs.user_cache_dir("posedesk"))
    return root / "keyframes"


def _cache_file(path: Path, cache_dir: Path) -> Path:
    digest = hashlib.sha1(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_dir / f"{digest}.json"


def _signature(path: Path) -> dict[str, int]:
    stat = Path(path).stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "version": INDEX_FORMAT_VERSION}


def cached_keyframe_index(path: Path, cache_dir: Path | None = None) -> KeyframeIndex | None:
    """The cached index of ``path`` if it is still valid (same size and modification time), else None."""
    cache_file = _cache_file(path, cache_dir or default_cache_dir())
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        if data["signature"] != _signature(path):
            return None
        key_pts = tuple(int(p) for p in data["keyframe_pts"])
        frame_pts = tuple(int(p) for p in data["frame_pts"])
        return KeyframeIndex(tuple(int(k) for k in data["keyframes"]), int(data["n_frames"]), key_pts, frame_pts)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_keyframe_index(
    path: Path, cache_dir: Path | None = None, should_stop: Callable[[], bool] | None = None
) -> KeyframeIndex:
    """The keyframe index of ``path``: from the cache, else built and cached (a cache write failure only costs time).

    Raises:
        KeyframeIndexError: The index cannot be built.
    """
    cache_dir = cache_dir or default_cache_dir()
    cached = cached_keyframe_index(path, cache_dir)
    if cached is not None:
        return cached
    signature = _signature(path)
    index = build_keyframe_index(path, should_stop)
    payload = {
        "video": str(path),
        "signature": signature,
        "n_frames": index.n_frames,
        "keyframes": list(index.keyframes),
        "keyframe_pts": list(index.keyframe_pts),
        "frame_pts": list(index.frame_pts),
    }
    try:
        with atomic_write_path(_cache_file(path, cache_dir)) as tmp:
            tmp.write_text(json.dumps(payload), encoding="utf-8")
    except Exception:  # noqa: BLE001 - an unwritable cache folder only means building again next time
        pass
    return index


class KeyframeDecoder:
    """Decodes keyframes alone with PyAV (a seek to the keyframe's timestamp + one frame): the previews.

    The decoder skips every non-key frame, so after the seek only the keyframe itself is decoded.

    Args:
        path: The video file.
        index: Its keyframe index (with ``keyframe_pts``).

    Raises:
        KeyframeIndexError: PyAV is missing or the file cannot be opened.
    """

    def __init__(self, path: Path, index: KeyframeIndex) -> None:
        try:
            import av

            self._container = av.open(str(path))
        except (ImportError, OSError) as exc:
            raise KeyframeIndexError(f"{type(exc).__name__}: {exc}") from exc
        self._stream = self._container.streams.video[0]
        self._stream.codec_context.skip_frame = "NONKEY"
        self._index = index

    def read(self, keyframe: int, size_wh: tuple[int, int] | None = None) -> np.ndarray | None:
        """The RGB image of keyframe ``keyframe`` (a frame index listed in the index), or None if it cannot be decoded.

        Args:
            keyframe: The keyframe's frame index.
            size_wh: Scale the image to this ``(width, height)`` (the previews are kept small); None = full size.
        """
        import av

        try:
            pts = self._index.keyframe_pts[self._index.keyframes.index(keyframe)]
            self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
            for packet in self._container.demux(self._stream):
                for frame in packet.decode():
                    if frame.pts is not None and frame.pts >= pts:
                        if size_wh is None:
                            return frame.to_ndarray(format="rgb24")  # type: ignore[no-any-return]
                        width, height = size_wh
                        return frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA")  # type: ignore[no-any-return]
        except (ValueError, IndexError, av.error.FFmpegError):
            return None
        return None

    def close(self) -> None:
        """Release the file."""
        self._container.close()
