"""Video files with OpenCV: listing, probing (exact frame counts) and frame-accurate reading.

Used by training's unlabelled-frame loader, the predictor, the renderer and the GUI.

* :func:`list_videos` finds the videos in a file or folder argument.
* :func:`probe_video` returns a :class:`VideoInfo`; the frame count is the number of frames
  that can really be decoded: a container header that looks wrong is not trusted and the
  frames are counted by decoding instead.
* :class:`VideoReader` reads frames as RGB ``uint8`` arrays. Sequential reads never seek;
  random access seeks and checks where it landed, falling back to decoding forward from an
  earlier position when the codec's seek is not exact.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pose_core.errors import DataError
from pose_core.video.formats import VIDEO_EXTENSIONS, is_video_file, video_files

if TYPE_CHECKING:
    from pose_core.video.keyframes import KeyframeIndex

# A forward jump of at most this many frames is done by decoding forward instead of seeking:
# decoding a few frames is cheaper than a seek (which decodes from the previous keyframe).
# With a keyframe index, any forward jump inside the current GOP is decoded forward instead.
_MAX_FORWARD_GRABS = 8
_STOP_CHECK_GRABS = 4  # a cancellable read polls its should_stop this often


class ReadCancelled(Exception):  # noqa: N818 (a cancellation, not an error)
    """A read's ``should_stop`` returned True before the frame was reached (the reader stays usable)."""


def list_videos(path: Path) -> list[Path]:
    """Return the video files named by ``path``.

    Args:
        path: A video file, or a folder whose video files (not recursive) are returned sorted
            by name. Hidden files (name starting with ".") are skipped.

    Returns:
        The video paths.

    Raises:
        DataError: ``path`` does not exist, is not a video file, or is a folder with no
            video files.
    """
    path = Path(path)
    known = ", ".join(VIDEO_EXTENSIONS)
    if not path.exists():
        raise DataError(f"Video path {path} does not exist: check the path.", path=str(path))
    if path.is_file():
        if not is_video_file(path):
            raise DataError(
                f"{path} is not a video file: expected one of the extensions {known}.",
                path=str(path),
            )
        return [path]
    videos = video_files(path)  # labelled videos PoseDesk exported are not predicted again
    if not videos:
        raise DataError(
            f"Folder {path} contains no video files: add videos with one of the extensions {known}.",
            path=str(path),
        )
    return videos


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    Attributes:
        path: The video file.
        n_frames: Number of decodable frames (what :meth:`VideoReader.iter_frames` yields).
        fps: Frame rate from the container; 0.0 when the container does not state one.
        width: Frame width in pixels.
        height: Frame height in pixels.
    """

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        """Duration in seconds (``n_frames / fps``); NaN when the frame rate is unknown."""
        return self.n_frames / self.fps if self.fps > 0 else math.nan


def _open_capture(path: Path) -> cv2.VideoCapture:
    """Open ``path`` with OpenCV or raise a DataError saying why it cannot be read."""
    if not path.is_file():
        raise DataError(f"Video file {path} does not exist: check the path.", path=str(path))
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise DataError(
            f"Video {path} cannot be opened (unsupported codec or corrupt file): re-encode it "
            "as H.264 mp4, e.g. `ffmpeg -i in.avi -c:v libx264 -pix_fmt yuv420p out.mp4`.",
            path=str(path),
        )
    return cap


def count_frames_by_decoding(path: Path) -> int:
    """Count the frames of a video by demuxing/decoding them all (``grab`` loop).

    Slower than reading the header (about 0.5 s per 1000 small H.264 frames) but exact.

    Args:
        path: Video file.

    Returns:
        The number of frames that can be grabbed from the start until the first failure.

    Raises:
        DataError: The file is missing or cannot be opened.
    """
    cap = _open_capture(Path(path))
    try:
        n_frames = 0
        while cap.grab():
            n_frames += 1
        return n_frames
    finally:
        cap.release()


def _header_count_is_exact(cap: cv2.VideoCapture, n_header: int) -> bool:
    """Cheap check of a header frame count: frame ``n-1`` must decode and frame ``n`` must not."""
    if n_header <= 0:
        return False
    if not cap.set(cv2.CAP_PROP_POS_FRAMES, n_header - 1) or not cap.grab():
        return False
    return not cap.grab()


def _probe(path: Path, count_frames: bool) -> VideoInfo:
    """Read the header, validate the first frame and determine the exact frame count."""
    path = Path(path)
    cap = _open_capture(path)
    try:
        ok, first = cap.read()
        if not ok or first is None:
            raise DataError(
                f"Video {path} has no decodable frame (empty or corrupt file): re-encode or replace it.",
                path=str(path),
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        n_header = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        header_ok = not count_frames and _header_count_is_exact(cap, n_header)
    finally:
        cap.release()
    n_frames = n_header if header_ok else count_frames_by_decoding(path)
    height, width = first.shape[:2]
    fps = fps if math.isfinite(fps) and fps > 0 else 0.0
    return VideoInfo(path=path, n_frames=n_frames, fps=fps, width=width, height=height)


def probe_video(path: Path) -> VideoInfo:
    """Return a video's frame count, frame rate and size.

    The header's frame count is used when a cheap check confirms it (the last frame it names
    decodes and nothing follows); otherwise the frames are counted by decoding.

    Args:
        path: Video file.

    Returns:
        The video's :class:`VideoInfo`.

    Raises:
        DataError: The file is missing, cannot be opened, or its first frame cannot be decoded.
    """
    return _probe(Path(path), count_frames=False)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _to_bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame


class VideoReader:
    """Frame-accurate reader of one video file; a context manager.

    Args:
        path: Video file.
        count_frames: Always count frames by decoding instead of trusting a header that passes
            the cheap check (slower to open, exact even for files with lying headers).

    Raises:
        DataError: The file is missing, cannot be opened, has zero frames, or its first frame
            cannot be decoded.
    """

    def __init__(self, path: Path, count_frames: bool = False) -> None:
        self.info: VideoInfo = _probe(Path(path), count_frames=count_frames)
        if self.info.n_frames == 0:
            raise DataError(f"Video {path} has no frames: replace the file.", path=str(path))
        self._cap: cv2.VideoCapture | None = _open_capture(self.info.path)
        self._next_idx = 0  # index of the frame the next cap.read() returns
        self._seek_is_exact = True
        self.keyframes: KeyframeIndex | None = None  # set by the owner once built (see pose_core.video.keyframes)

    @property
    def path(self) -> Path:
        """The video file."""
        return self.info.path

    @property
    def n_frames(self) -> int:
        """Number of frames (exact)."""
        return self.info.n_frames

    @property
    def fps(self) -> float:
        """Frame rate; 0.0 when the container states none."""
        return self.info.fps

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self.info.width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self.info.height

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return self.n_frames

    def close(self) -> None:
        """Release the decoder; further reads raise ``ValueError``. Safe to call twice."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def read(self, frame_idx: int, *, bgr: bool = False, should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Return frame ``frame_idx`` exactly.

        Args:
            frame_idx: 0-based frame index.
            bgr: Return OpenCV's BGR channel order instead of RGB (saves a conversion when
                the frame goes straight back to OpenCV).
            should_stop: Polled while decoding forward to the frame; True raises
                :class:`ReadCancelled` (the review pane drops a request a newer one replaced).

        Returns:
            ``uint8`` array ``height x width x 3``, RGB unless ``bgr``.

        Raises:
            IndexError: ``frame_idx`` is outside ``0 .. n_frames - 1``.
            DataError: The frame cannot be decoded (corrupt file).
            ReadCancelled: ``should_stop`` returned True.
        """
        frame_idx = operator.index(frame_idx)
        if not 0 <= frame_idx < self.n_frames:
            raise IndexError(f"Frame {frame_idx} is outside video {self.path} (frames 0..{self.n_frames - 1}).")
        self._position_at(frame_idx, should_stop)
        frame = self._decode_next()
        return _to_bgr(frame) if bgr else _to_rgb(frame)

    def frames_to_decode(self, frame_idx: int) -> int | None:
        """How many frames decoding forward from the current position takes to reach ``frame_idx``.

        Returns:
            0 when it is the next frame, a count when it is ahead in the same GOP (or a few
            frames ahead without a keyframe index), None when a seek is needed.
        """
        distance = frame_idx - self._next_idx
        if self._next_idx < 0 or distance < 0:
            return None
        if distance <= _MAX_FORWARD_GRABS:
            return distance
        if self.keyframes is not None and self.keyframes.same_gop(self._next_idx, frame_idx):
            return distance
        return None

    def iter_frames(
        self, start: int = 0, stop: int | None = None, *, bgr: bool = False
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_idx, frame)`` for frames ``start .. stop - 1`` in order.

        Args:
            start: First frame index.
            stop: One past the last frame index; ``None`` = the end of the video. Values past
                the end are clipped to it.
            bgr: Yield BGR frames instead of RGB.

        Yields:
            Frame index and ``uint8`` ``height x width x 3`` frame.

        Raises:
            IndexError: ``start`` is negative.
            DataError: A frame cannot be decoded.
        """
        stop = self.n_frames if stop is None else min(operator.index(stop), self.n_frames)
        for frame_idx in range(operator.index(start), stop):
            yield frame_idx, self.read(frame_idx, bgr=bgr)

    def _capture(self) -> cv2.VideoCapture:
        if self._cap is None:
            raise ValueError(f"VideoReader for {self.path} is closed.")
        return self._cap

    def _decode_next(self) -> np.ndarray:
        ok, frame = self._capture().read()
        if not ok or frame is None:
            frame_idx, self._next_idx = self._next_idx, -1  # position unknown now
            raise DataError(
                f"Frame {frame_idx} of video {self.path} cannot be decoded (corrupt or "
                "truncated file): re-encode the video.",
                path=str(self.path),
            )
        self._next_idx += 1
        return frame

    def _position_at(self, frame_idx: int, should_stop: Callable[[], bool] | None = None) -> None:
        """Make the next ``cap.read()`` return frame ``frame_idx`` (no-op when it already does)."""
        distance = self.frames_to_decode(frame_idx)
        if distance == 0:
            return
        if distance is not None:
            self._grab_forward(frame_idx, should_stop)
            return
        if self._seek_is_exact and self._backend_seek(frame_idx):
            self._next_idx = frame_idx
            return
        if self._seek_is_exact:  # the failed seek left the decoder somewhere unknown
            self._seek_is_exact = False
            self._next_idx = -1
        if self._next_idx < 0 or frame_idx < self._next_idx:
            self._reopen()
        self._grab_forward(frame_idx, should_stop)

    def _backend_seek(self, frame_idx: int) -> bool:
        """Seek with CAP_PROP_POS_FRAMES; True only if the decoder reports it landed exactly."""
        cap = self._capture()
        if not cap.set(cv2.CAP_PROP_POS_FRAMES, frame_idx):
            return False
        return int(round(cap.get(cv2.CAP_PROP_POS_FRAMES))) == frame_idx

    def _reopen(self) -> None:
        """Restart decoding at frame 0 (the exact fallback when seeking is not reliable)."""
        self.close()
        self._cap = _open_capture(self.path)
        self._next_idx = 0

    def _grab_forward(self, frame_idx: int, should_stop: Callable[[], bool] | None = None) -> None:
        cap = self._capture()
        while self._next_idx < frame_idx:
            if should_stop is not None and self._next_idx % _STOP_CHECK_GRABS == 0 and should_stop():
                raise ReadCancelled(f"reading frame {frame_idx} of {self.path} was cancelled")
            if not cap.grab():
                self._next_idx = -1
                raise DataError(
                    f"Video {self.path} ends before frame {frame_idx} (truncated file): re-encode the video.",
                    path=str(self.path),
                )
            self._next_idx += 1
