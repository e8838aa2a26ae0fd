"""Frames to label: choose them in a video (uniform or k-means on appearance) and extract them as PNG.

A frame extracted from ``videos/<stem>.mp4`` at index ``i`` is written, losslessly, to
``labeled-data/<stem>/img<i:08d>.png`` (the Lightning Pose / DeepLabCut naming), exactly that
frame (decoded by :class:`pose_core.video.reader.VideoReader`, frame-accurate). A frame already
labelled, or within ``margin`` frames of one, is never chosen again.

k-means reads the video once with PyAV and never decodes it fully: it demuxes the packets (cheap)
to find the keyframes, then decodes only the first part of every group of pictures (GOP), up to a
total budget of decoded frames, taking every few frames as a candidate (a 32-pixel-wide grey
thumbnail). k-means (scikit-learn) groups the candidates by appearance; the candidate nearest to
each cluster centre is chosen. On a long-GOP camera video this covers the whole video's
appearance at a fraction of the decoding cost; a short-GOP video is sampled evenly.

``posedesk extract-frames PROJECT_DIR VIDEO... --n N --method uniform|kmeans`` runs it headless.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pose_core.errors import DataError, PoseDeskError

LABELED_DATA_DIRNAME = "labeled-data"
DEFAULT_MARGIN_FRAMES = 2
DEFAULT_DECODE_BUDGET_FRAMES = 4000
THUMBNAIL_WIDTH_PX = 32
METHODS = ("uniform", "kmeans")
_FRAME_PATH_RE = re.compile(r"(?:^|/)labeled-data/(?P<stem>[^/]+)/img(?P<idx>\d+)\.png$")

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)`` while frames are read or written."""


def frame_image_path(video_path: Path, frame_idx: int) -> str:
    """The image path (relative to ``data_dir``) a frame of ``video_path`` is extracted to."""
    return f"{LABELED_DATA_DIRNAME}/{Path(video_path).stem}/img{int(frame_idx):08d}.png"


def parse_frame_image_path(image_path: str) -> tuple[str, int] | None:
    """``(video_stem, frame_idx)`` of an image path named like extracted frames, else None."""
    match = _FRAME_PATH_RE.search(image_path.replace("\\", "/"))
    return (match["stem"], int(match["idx"])) if match else None


def taken_frames(image_paths: Iterable[str], video_stem: str) -> set[int]:
    """Frame indices of ``video_stem`` that already have an image (labelled or queued)."""
    taken = set()
    for path in image_paths:
        parsed = parse_frame_image_path(path)
        if parsed is not None and parsed[0] == video_stem:
            taken.add(parsed[1])
    return taken


def allowed_mask(n_frames: int, taken: Iterable[int], margin: int = DEFAULT_MARGIN_FRAMES) -> np.ndarray:
    """Boolean ``[n_frames]``: False for frames within ``margin`` frames of a taken one."""
    allowed = np.ones(n_frames, dtype=bool)
    for frame_idx in taken:
        allowed[max(0, frame_idx - margin) : max(0, frame_idx + margin + 1)] = False
    return allowed


def select_uniform(n_frames: int, n: int, taken: Iterable[int] = (), margin: int = DEFAULT_MARGIN_FRAMES) -> list[int]:
    """``n`` frames spread evenly over the video, avoiding taken frames (and each other) by ``margin``.

    Returns:
        Sorted frame indices (fewer than ``n`` if the video has no more room).
    """
    allowed = allowed_mask(n_frames, taken, margin)
    chosen: list[int] = []
    for target in np.linspace(0, n_frames - 1, num=max(n, 1) + 2)[1:-1] if n > 0 else []:
        free = np.flatnonzero(allowed)
        if free.size == 0:
            break
        frame_idx = int(free[np.argmin(np.abs(free - target))])
        chosen.append(frame_idx)
        allowed[max(0, frame_idx - margin) : frame_idx + margin + 1] = False
    return sorted(chosen)


# ----------------------------------------------------------------------------- k-means


@dataclass
class Thumbnails:
    """Candidate frames of a video and their appearance.

    Attributes:
        frame_idx: ``[C]`` frame indices.
        features: ``[C, D]`` float32 grey thumbnails, flattened, each scaled to zero mean.
        n_frames: Frames in the video.
        n_decoded: Frames decoded to get them.
    """

    frame_idx: np.ndarray
    features: np.ndarray
    n_frames: int
    n_decoded: int


def read_thumbnails(video_path: Path, budget_frames: int = DEFAULT_DECODE_BUDGET_FRAMES) -> Thumbnails:
    """Decode the start of every GOP of a video (at most ``budget_frames`` frames) into small grey thumbnails.

    Raises:
        DataError: The video cannot be opened or decoded.
    """
    with _open_video(Path(video_path)) as (container, stream, pts, keyframe_pts):
        return _decode_gop_starts(container, stream, pts, keyframe_pts, budget_frames)


@contextmanager
def _open_video(video_path: Path) -> Iterator[tuple[Any, Any, np.ndarray, list[int]]]:
    """Open a video with PyAV: ``(container, stream, pts, keyframe_pts)`` (see :func:`_packet_times`).

    Raises:
        DataError: The video cannot be opened or decoded, also while the ``with`` body decodes it.
    """
    import av

    try:
        with av.open(str(video_path)) as container:
            stream = container.streams.video[0]
            pts, keyframe_pts = _packet_times(container, stream)
            yield container, stream, pts, keyframe_pts
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise DataError(
            f"Video {video_path} cannot be decoded ({exc}); check the file plays, or re-encode it "
            "(ffmpeg -i IN -c:v libx264 OUT.mp4).",
            path=str(video_path),
        ) from None


def _packet_times(container: object, stream: object) -> tuple[np.ndarray, list[int]]:
    """Presentation times of all frames (sorted) and those of the keyframes, without decoding."""
    all_pts: list[int] = []
    keyframes: list[int] = []
    for packet in container.demux(stream):  # type: ignore[attr-defined]
        if packet.pts is None or packet.size == 0:
            continue
        all_pts.append(packet.pts)
        if packet.is_keyframe:
            keyframes.append(packet.pts)
    if not all_pts:
        raise IndexError("the video stream has no frames")
    return np.array(sorted(all_pts)), sorted(keyframes) or [min(all_pts)]


def _decode_gop_starts(
    container: object, stream: object, pts: np.ndarray, keyframe_pts: list[int], budget_frames: int
) -> Thumbnails:
    n_frames = len(pts)
    starts = np.searchsorted(pts, keyframe_pts)
    gop_lengths = np.diff(np.append(starts, n_frames))
    per_gop = max(1, min(int(gop_lengths.max()), budget_frames // max(1, len(starts))))
    step = max(1, int(np.ceil(min(per_gop, n_frames) * len(starts) / max(1, budget_frames // 4))))
    stream.thread_type = "AUTO"  # type: ignore[attr-defined]
    frames: list[int] = []
    features: list[np.ndarray] = []
    n_decoded = 0
    for key_pts, start, length in zip(keyframe_pts, starts.tolist(), gop_lengths.tolist(), strict=True):
        container.seek(int(key_pts), stream=stream, backward=True, any_frame=False)  # type: ignore[attr-defined]
        wanted = min(per_gop, length)
        for frame in container.decode(stream):  # type: ignore[attr-defined]
            if frame.pts is None or frame.pts < key_pts:
                continue
            offset = int(np.searchsorted(pts, frame.pts)) - start
            if offset >= wanted:
                break
            n_decoded += 1
            if offset % step == 0:
                frames.append(start + offset)
                features.append(_thumbnail(frame))
    order = np.argsort(frames)
    return Thumbnails(np.array(frames)[order], np.stack(features)[order], n_frames, n_decoded)


def _thumbnail(frame: object) -> np.ndarray:
    width, height = frame.width, frame.height  # type: ignore[attr-defined]
    small_h = max(1, round(height * THUMBNAIL_WIDTH_PX / width))
    grey = frame.reformat(width=THUMBNAIL_WIDTH_PX, height=small_h, format="gray").to_ndarray()  # type: ignore[attr-defined]
    values = grey.astype(np.float32).reshape(-1) / 255.0
    return values - values.mean()


def select_kmeans(
    thumbnails: Thumbnails, n: int, taken: Iterable[int] = (), margin: int = DEFAULT_MARGIN_FRAMES, seed: int = 0
) -> list[int]:
    """``n`` frames of distinct appearance: k-means on the thumbnails, the candidate nearest each centre.

    Candidates within ``margin`` of a taken frame (or of a frame chosen before) are skipped.

    Returns:
        Sorted frame indices (fewer than ``n`` if there are not enough candidates).
    """
    from sklearn.cluster import KMeans

    allowed = allowed_mask(thumbnails.n_frames, taken, margin)
    keep = allowed[thumbnails.frame_idx]
    frame_idx, features = thumbnails.frame_idx[keep], thumbnails.features[keep]
    if n <= 0 or len(frame_idx) == 0:
        return []
    n_clusters = min(n, len(frame_idx))
    kmeans = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(features)
    distances = kmeans.transform(features)  # [C, n_clusters]
    chosen: list[int] = []
    for cluster in range(n_clusters):
        for candidate in np.argsort(distances[:, cluster]):
            if kmeans.labels_[candidate] != cluster:
                break
            idx = int(frame_idx[candidate])
            if allowed[idx]:
                chosen.append(idx)
                allowed[max(0, idx - margin) : idx + margin + 1] = False
                break
    return sorted(chosen)


# ----------------------------------------------------------------------------- extraction


def extract_frames(
    video_path: Path, frame_indices: Sequence[int], data_dir: Path, progress: ProgressCallback | None = None
) -> list[str]:
    """Write frames of a video as lossless PNG under ``data_dir/labeled-data/<stem>/``.

    Frame ``i`` is the ``i``-th frame in presentation order (the packets' times, read without
    decoding). The frames are decoded in order, one seek to the keyframe before each group of
    pictures holding a wanted frame, so a long-GOP video is never decoded from its start for each
    frame. An image that already exists is kept as it is (it may be labelled).

    Returns:
        The image paths relative to ``data_dir``, in the order of ``frame_indices``.

    Raises:
        DataError: The video cannot be read, a frame is beyond its end or cannot be decoded, or the
            folder is not writable. Frames written before the error stay (each is complete).
    """
    paths = [frame_image_path(video_path, i) for i in frame_indices]
    wanted = sorted(
        {int(i) for i, rel in zip(frame_indices, paths, strict=True) if not (Path(data_dir) / rel).is_file()}
    )
    with _open_video(Path(video_path)) as (container, stream, pts, keyframe_pts):
        _check_inside(video_path, wanted, len(pts))
        _write_frames(container, stream, pts, keyframe_pts, wanted, Path(data_dir), Path(video_path), progress)
    return paths


def _check_inside(video_path: Path, frame_indices: Sequence[int], n_frames: int) -> None:
    beyond = [i for i in frame_indices if not 0 <= i < n_frames]
    if beyond:
        raise DataError(
            f"Frame {beyond[0]} is beyond the end of video {video_path} (frames 0..{n_frames - 1}); "
            "choose a frame inside the video.",
            path=str(video_path),
        )


def _write_frames(
    container: object,
    stream: object,
    pts: np.ndarray,
    keyframe_pts: list[int],
    wanted: list[int],
    data_dir: Path,
    video_path: Path,
    progress: ProgressCallback | None,
) -> None:
    """Decode the wanted frames GOP by GOP and write each as PNG (atomically)."""
    import cv2

    from pose_core.io.atomic import atomic_write_path

    keyframe_idx = np.searchsorted(pts, keyframe_pts)
    stream.thread_type = "AUTO"  # type: ignore[attr-defined]
    remaining = list(wanted)
    done = 0
    while remaining:
        first = remaining[0]
        gop_start = int(keyframe_idx[np.searchsorted(keyframe_idx, first, side="right") - 1])
        container.seek(int(pts[gop_start]), stream=stream, backward=True, any_frame=False)  # type: ignore[attr-defined]
        for frame in container.decode(stream):  # type: ignore[attr-defined]
            if frame.pts is None:
                continue
            idx = int(np.searchsorted(pts, frame.pts))
            if idx > remaining[0]:
                raise DataError(f"Frame {remaining[0]} of video {video_path} cannot be decoded; re-encode the video.")
            if idx < remaining[0]:
                continue
            target = data_dir / frame_image_path(video_path, idx)
            with atomic_write_path(target) as tmp:
                if not cv2.imwrite(str(tmp), frame.to_ndarray(format="bgr24")):
                    raise DataError(f"Could not write {target}; check the folder is writable.", path=str(target))
            remaining.pop(0)
            done += 1
            if progress is not None:
                progress(done, len(wanted))
            next_gop = keyframe_idx[np.searchsorted(keyframe_idx, remaining[0], side="right") - 1] if remaining else 0
            if not remaining or next_gop > idx:
                break  # the next wanted frame is in a later GOP: seek there
        else:
            raise DataError(f"Video {video_path} ends before frame {remaining[0]}; re-encode the video.")


def check_video_matches_images(video_path: Path, data_dir: Path, image_paths: Iterable[str]) -> None:
    """Refuse a video whose frames differ in size from the images already taken from it (same stem).

    Raises:
        DataError: The sizes differ (names both sizes and the likely cause), or the video cannot be read.
    """
    import cv2

    from pose_core.video.reader import probe_video

    stem = Path(video_path).stem
    sample = next((p for p in image_paths if (parsed := parse_frame_image_path(p)) and parsed[0] == stem), None)
    if sample is None or not (Path(data_dir) / sample).is_file():
        return
    image = cv2.imread(str(Path(data_dir) / sample), cv2.IMREAD_UNCHANGED)
    info = probe_video(Path(video_path))
    if image is not None and image.shape[:2] != (info.height, info.width):
        raise DataError(
            f"Labelled image {sample} is {image.shape[1]}x{image.shape[0]} pixels but the frames of video {video_path} "
            f"are {info.width}x{info.height}; the labels of {stem} were made on another (cropped or rescaled) version "
            "of this video. Use that original video, or give this one another file name.",
            path=str(video_path),
        )


def choose_frames(
    video_path: Path,
    n: int,
    method: str,
    taken: Iterable[int] = (),
    margin: int = DEFAULT_MARGIN_FRAMES,
) -> list[int]:
    """Choose ``n`` new frames of a video to label (``uniform`` or ``kmeans``).

    Raises:
        DataError: Unknown method, or the video cannot be read.
    """
    if method not in METHODS:
        raise DataError(f"Unknown frame selection method '{method}'; use one of {', '.join(METHODS)}.")
    if method == "kmeans":
        return select_kmeans(read_thumbnails(video_path), n, taken, margin)
    from pose_core.video.reader import probe_video

    return select_uniform(probe_video(Path(video_path)).n_frames, n, taken, margin)


def frames_to_label(
    video_path: Path,
    data_dir: Path,
    known_image_paths: Sequence[str],
    frame_indices: Sequence[int] | None = None,
    n: int = 10,
    method: str = "kmeans",
) -> list[str]:
    """Choose (unless ``frame_indices`` are given) and extract frames of a video to label.

    Args:
        video_path: The video.
        data_dir: The project's data folder (images go to ``labeled-data/<stem>/``).
        known_image_paths: Images already labelled or queued (their frames, and 2 around, are not chosen).
        frame_indices: Exactly these frames; None = choose ``n`` with ``method``.
        n: How many frames to choose.
        method: ``uniform`` or ``kmeans``.

    Returns:
        The extracted images, relative to ``data_dir``.

    Raises:
        DataError: The video is missing, cannot be decoded, does not match its earlier images, or a
            frame is beyond its end.
    """
    video_path = Path(video_path)
    if not video_path.is_file():
        raise DataError(f"Video {video_path} does not exist; give the path of a video file.", path=str(video_path))
    check_video_matches_images(video_path, data_dir, known_image_paths)
    if frame_indices is None:
        frame_indices = choose_frames(video_path, n, method, taken_frames(known_image_paths, video_path.stem))
    return extract_frames(video_path, list(frame_indices), data_dir)


# ----------------------------------------------------------------------------- CLI

USAGE_EPILOG = "Frames go to labeled-data/<video_stem>/img<frame:08d>.png; label them in the Label pane."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posedesk extract-frames",
        description="Choose frames of videos to label and extract them as PNG into the project.",
        epilog=USAGE_EPILOG,
    )
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("videos", type=Path, nargs="+", help="video files")
    parser.add_argument("--n", type=int, default=10, help="frames per video (default 10)")
    parser.add_argument("--method", choices=METHODS, default="kmeans", help="uniform or kmeans (default)")
    return parser


def extract_frames_main(argv: Sequence[str] | None = None) -> int:
    """``posedesk extract-frames``: prints ``video frame_idx image_path`` per chosen frame; exit 2 on bad input."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return _extract(args)
    except PoseDeskError as exc:
        print(f"posedesk extract-frames: error: {exc}", file=sys.stderr, flush=True)
        return 2


def _extract(args: argparse.Namespace) -> int:
    from pose_core.project import Project

    if args.n < 1:
        raise DataError(f"--n is {args.n}; ask for at least 1 frame per video.")
    project = Project.open(args.project)
    queued = [p.relative_to(project.data_dir).as_posix() for p in project.data_dir.glob("labeled-data/*/img*.png")]
    known = [*project.labels.image_paths, *queued]
    for video in args.videos:
        paths = frames_to_label(video, project.data_dir, known, n=args.n, method=args.method)
        for rel in paths:
            parsed = parse_frame_image_path(rel)
            print(f"{Path(video).name}\t{parsed[1] if parsed else ''}\t{rel}", flush=True)
        known.extend(paths)
    return 0
