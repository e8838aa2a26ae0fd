"""Streaming video prediction: decode + resize in a background thread, infer in batches, write as it goes.

A :class:`_FrameProducer` thread decodes the video in order, resizes each frame to the network
input and fills uint8 batches into a bounded queue (so memory does not grow with the video's
length); the calling thread runs the network on each batch, maps the keypoints back to video
pixels and hands the rows to a sink. :func:`predict_video_to_csv` streams the rows into
``<stem>.csv`` (three header rows, one row per frame) and ``<stem>_temporal_norm.csv`` through
temporary files that are renamed only when the whole video is done, so a stop, a crash or a full
disk never leaves a half-written CSV. :func:`predict_video_outputs` adds the skip-if-present
rule, the labelled video and the DeepLabCut-style ``.h5``/``.csv`` (``dlc=True``); the
``pose-predict`` CLI and prediction after training use it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, TextIO

import numpy as np

from pose_core.errors import DataError
from pose_core.io.atomic import atomic_write_path
from pose_core.io.csv_format import (
    DEFAULT_SCORER,
    error_header,
    error_row_format,
    format_rows,
    prediction_header,
    prediction_row_format,
)
from pose_core.runs.layout import video_output_files

if TYPE_CHECKING:
    from pose_core.video.reader import VideoReader

DEFAULT_BATCH_SIZE = 16
PREFETCH_BATCHES = 3  # batches decoded ahead of inference (the bounded queue's size)
_END = object()  # end-of-video marker in the queue

ProgressFn = Callable[[int, int], None]
StageProgressFn = Callable[[str, int, int], None]
StopFn = Callable[[], bool]


class PredictionStopped(Exception):  # noqa: N818 (a cancellation, not an error)
    """Raised when ``should_stop`` asked a prediction to stop; its partial outputs are removed."""


class BatchPredictor(Protocol):
    """What the pipeline needs from a model (see :class:`pose_core.inference.predictor.Predictor`)."""

    keypoint_names: list[str]
    input_hw: tuple[int, int]

    def predict_resized(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[B, h, w, 3]`` uint8 -> ``(xy [B, K, 2]`` input pixels, ``likelihood [B, K])``."""
        ...


def resized_batch(images_rgb: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """Check a :meth:`BatchPredictor.predict_resized` input; returns it C-contiguous.

    Args:
        images_rgb: Should be uint8 ``[B, height, width, 3]`` RGB with ``(height, width) == input_hw``.
        input_hw: The model's input ``(height, width)``.

    Raises:
        ValueError: Wrong dtype or shape.
    """
    expected = (*input_hw, 3)
    if images_rgb.dtype != np.uint8 or images_rgb.ndim != 4 or images_rgb.shape[1:] != expected:
        raise ValueError(f"expected uint8 images [B, {expected[0]}, {expected[1]}, 3], got {images_rgb.shape}")
    return np.ascontiguousarray(images_rgb)


@dataclass(frozen=True)
class StreamStats:
    """What one streamed video took.

    Attributes:
        n_frames: Frames predicted (= the video's frame count).
        fps: The video's frame rate (0.0 when unknown).
        frame_hw: Video frame ``(height, width)``.
        loop_s: Seconds from the first decoded frame to the last row handed to the sink.
    """

    n_frames: int
    fps: float
    frame_hw: tuple[int, int]
    loop_s: float

    @property
    def frames_per_s(self) -> float:
        """Prediction loop throughput."""
        return self.n_frames / self.loop_s if self.loop_s > 0 else float("nan")


class _FrameProducer:
    """Background thread: decode frames in order, resize, batch, put into a bounded queue."""

    def __init__(self, reader: VideoReader, input_hw: tuple[int, int], batch_size: int) -> None:
        self._reader = reader
        self._input_hw = input_hw
        self._batch_size = max(1, int(batch_size))
        self._queue: queue.Queue[object] = queue.Queue(maxsize=PREFETCH_BATCHES)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pose-predict-decode", daemon=True)

    def __enter__(self) -> _FrameProducer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
        self._thread.join()

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        import cv2

        from pose_core.data.preprocess import resize_frame

        height, width = self._input_hw
        reader = self._reader
        n_frames = reader.n_frames
        batch: np.ndarray | None = None
        start_idx = 0
        try:
            for frame_idx, frame_bgr in reader.iter_frames(bgr=True):
                if self._stop.is_set():
                    return
                if batch is None:
                    start_idx = frame_idx
                    batch = np.empty((min(self._batch_size, n_frames - frame_idx), height, width, 3), np.uint8)
                # resize first: BGR->RGB is a channel permutation, so the order does not change the result
                cv2.cvtColor(
                    resize_frame(frame_bgr, height, width), cv2.COLOR_BGR2RGB, dst=batch[frame_idx - start_idx]
                )
                if frame_idx - start_idx + 1 == len(batch):
                    self._put((start_idx, batch))
                    batch = None
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which re-raises it
            self._put(exc)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]


def stream_video_predictions(
    predictor: BatchPredictor,
    video_path: Path,
    on_batch: Callable[[int, np.ndarray], None],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> StreamStats:
    """Predict every frame of a video, handing the rows to ``on_batch`` in frame order.

    Args:
        predictor: The model.
        video_path: The video file.
        on_batch: Called with ``(first_frame_idx, preds [b, K, 3])``: x, y in video pixels and
            likelihood; successive calls cover frames 0, 1, ..., n_frames - 1 exactly once.
        batch_size: Frames per forward pass.
        progress: Called with ``(frames_done, n_frames)`` after each batch.
        should_stop: Polled before each batch; True raises :class:`PredictionStopped`.

    Returns:
        The :class:`StreamStats`.

    Raises:
        DataError: The video is missing, unreadable, empty or truncated.
        PredictionStopped: ``should_stop`` returned True.
    """
    from pose_core.data.preprocess import scale_keypoints
    from pose_core.video.reader import VideoReader

    with VideoReader(Path(video_path)) as reader:
        frame_hw = (reader.height, reader.width)
        frames_done = 0
        start_s = time.perf_counter()
        with _FrameProducer(reader, predictor.input_hw, batch_size) as batches:
            for start_idx, images in batches:
                if should_stop is not None and should_stop():
                    raise PredictionStopped(f"Prediction of {video_path} stopped at frame {start_idx}.")
                xy, likelihood = predictor.predict_resized(images)
                xy_video = scale_keypoints(xy, predictor.input_hw, frame_hw)
                on_batch(start_idx, np.concatenate([xy_video, likelihood[..., None]], axis=-1))
                frames_done = start_idx + len(images)
                if progress is not None:
                    progress(frames_done, reader.n_frames)
        loop_s = time.perf_counter() - start_s
        if frames_done != reader.n_frames:  # the reader raises first on truncation; this is a safety net
            raise DataError(
                f"Video {video_path} yielded {frames_done} of {reader.n_frames} frames: re-encode the video.",
                path=str(video_path),
            )
        return StreamStats(reader.n_frames, reader.fps, frame_hw, loop_s)


# ------------------------------------------------------------------------------- CSV streaming


def _format_rows(start_idx: int, values: np.ndarray, row_format: str) -> str:
    """Rows ``frame_idx,v1,v2,...``; NaN becomes an empty cell."""
    return format_rows(values.reshape(values.shape[0], -1), row_format, range(start_idx, start_idx + len(values)))


class StreamingPredictionWriter:
    """Writes predictions and their temporal norm batch by batch to two open text files.

    Args:
        csv_file: Destination of the predictions rows (three header rows written first).
        temporal_norm_file: Destination of the temporal-norm rows (one header row).
        keypoint_names: K names.
        scorer: The ``scorer`` header value.
    """

    def __init__(
        self, csv_file: TextIO, temporal_norm_file: TextIO, keypoint_names: Sequence[str], scorer: str = DEFAULT_SCORER
    ) -> None:
        n_keypoints = len(keypoint_names)
        self._csv = csv_file
        self._norm = temporal_norm_file
        self._pred_format = prediction_row_format(n_keypoints)
        self._norm_format = error_row_format(n_keypoints)
        self._prev_xy: np.ndarray | None = None
        self.n_rows = 0
        self._csv.write(prediction_header(keypoint_names, scorer))
        self._norm.write(error_header(keypoint_names))

    def write_batch(self, start_idx: int, preds: np.ndarray) -> None:
        """Append rows for frames ``start_idx .. start_idx + len(preds) - 1``.

        Raises:
            ValueError: The batch does not start right after the previous one.
            OSError: The files cannot be written (e.g. disk full).
        """
        from pose_core.metrics import temporal_norm

        if start_idx != self.n_rows:
            raise ValueError(f"batch starts at frame {start_idx} but {self.n_rows} rows were written")
        xy = preds[..., :2]
        if self._prev_xy is None:
            norm_px = temporal_norm(xy)
        else:
            norm_px = temporal_norm(np.concatenate([self._prev_xy[None], xy]))[1:]
        self._csv.write(_format_rows(start_idx, preds, self._pred_format))
        self._norm.write(_format_rows(start_idx, norm_px, self._norm_format))
        self._prev_xy = xy[-1].copy()
        self.n_rows += len(preds)


def predict_video_to_csv(
    predictor: BatchPredictor,
    video_path: Path,
    csv_path: Path,
    temporal_norm_path: Path,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> StreamStats:
    """Predict a video into ``csv_path`` and ``temporal_norm_path``, written as it goes.

    Both files are written to hidden temporary files in the output folder and renamed when the
    last frame is done (the predictions CSV last); on any failure or stop both are removed and
    existing files at those paths are left untouched.

    Raises:
        DataError: Unreadable video, or the files cannot be written (permissions, disk full).
        PredictionStopped: ``should_stop`` returned True.
    """
    with ExitStack() as stack:
        csv_tmp = stack.enter_context(atomic_write_path(Path(csv_path)))
        norm_tmp = stack.enter_context(atomic_write_path(Path(temporal_norm_path)))
        csv_file = stack.enter_context(open(csv_tmp, "w", encoding="utf-8", newline=""))
        norm_file = stack.enter_context(open(norm_tmp, "w", encoding="utf-8", newline=""))
        writer = StreamingPredictionWriter(csv_file, norm_file, predictor.keypoint_names)
        return stream_video_predictions(
            predictor, video_path, writer.write_batch, batch_size=batch_size, progress=progress, should_stop=should_stop
        )


def write_temporal_norm_from_csv(csv_path: Path, temporal_norm_path: Path, n_frames: int | None = None) -> None:
    """Write ``<stem>_temporal_norm.csv`` for an existing predictions CSV.

    Raises:
        DataError: The CSV is unreadable or does not have ``n_frames`` rows.
    """
    from pose_core.io.predictions import read_predictions_csv, write_error_csv
    from pose_core.metrics import temporal_norm

    table = read_predictions_csv(csv_path, expected_rows=n_frames)
    write_error_csv(temporal_norm_path, table.keypoint_names, temporal_norm(table.preds[..., :2]), table.index)


def write_dlc_from_csv(csv_path: Path, n_frames: int | None = None) -> list[Path]:
    """Write the DeepLabCut-style ``<stem>DLC_posedesk.h5`` and ``.csv`` of a video's predictions CSV.

    Returns:
        The two files written (each atomically).

    Raises:
        DataError: The CSV is unreadable or does not have ``n_frames`` rows; a file cannot be written.
    """
    from pose_core.io.predictions import dlc_prediction_paths, read_predictions_csv, write_dlc_predictions

    table = read_predictions_csv(csv_path, expected_rows=n_frames)
    h5_path, dlc_csv_path = dlc_prediction_paths(csv_path)
    write_dlc_predictions(h5_path, dlc_csv_path, table.keypoint_names, table.preds)
    return [h5_path, dlc_csv_path]


# --------------------------------------------------------------------------- one video, all outputs


@dataclass(frozen=True)
class VideoOutputs:
    """Where the outputs of one video go.

    Attributes:
        video_path: The source video.
        csv_path: ``<output_dir>/<stem>.csv``.
        temporal_norm_path: ``<output_dir>/<stem>_temporal_norm.csv``.
        labeled_video_path: ``<output_dir>/labeled_videos/<stem>_labeled.mp4``.
    """

    video_path: Path
    csv_path: Path
    temporal_norm_path: Path
    labeled_video_path: Path

    @classmethod
    def for_video(cls, video_path: Path, output_dir: Path) -> VideoOutputs:
        """The output paths of ``video_path`` in ``output_dir``."""
        return cls(Path(video_path), *video_output_files(output_dir, video_path))


def plan_outputs(videos: Sequence[Path], output_dir: Path) -> list[VideoOutputs]:
    """Output paths for each video, refusing two videos that would write the same files.

    Raises:
        DataError: Two videos share a file name stem (e.g. ``a.mp4`` and ``a.avi``).
    """
    seen: dict[str, Path] = {}
    plans = []
    for video in videos:
        stem = Path(video).stem
        if stem in seen and seen[stem].resolve() != Path(video).resolve():
            raise DataError(
                f"Videos {seen[stem]} and {video} would both write {output_dir / (stem + '.csv')}: "
                "rename one of them or predict them into different output directories.",
                path=str(video),
            )
        if stem not in seen:
            seen[stem] = Path(video)
            plans.append(VideoOutputs.for_video(Path(video), output_dir))
    return plans


@dataclass
class VideoResult:
    """What :func:`predict_video_outputs` did for one video.

    Attributes:
        outputs: The output paths.
        predicted: False when an existing CSV was kept (no ``--overwrite``).
        stats: Throughput of the prediction (None when skipped).
        written: Files written now.
    """

    outputs: VideoOutputs
    predicted: bool
    stats: StreamStats | None = None
    written: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class LabeledVideoOptions:
    """How labelled videos are drawn (``eval.colormap``, ``eval.confidence_thresh_for_vid``)."""

    colormap: str = "cool"
    conf_thresh: float = 0.9


def _render(
    outputs: VideoOutputs,
    n_frames: int | None,
    options: LabeledVideoOptions,
    progress: ProgressFn | None,
    should_stop: StopFn | None,
) -> Path:
    from pose_core.io.predictions import read_predictions_csv
    from pose_core.render import RenderStopped, render_labeled_video

    table = read_predictions_csv(outputs.csv_path, expected_rows=n_frames)
    try:
        return render_labeled_video(
            outputs.video_path,
            table.preds,
            outputs.labeled_video_path,
            colormap=options.colormap,
            conf_thresh=options.conf_thresh,
            progress=progress,
            should_stop=should_stop,
        )
    except RenderStopped as exc:
        raise PredictionStopped(str(exc)) from exc


def predict_video_outputs(
    predictor: BatchPredictor,
    outputs: VideoOutputs,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overwrite: bool = False,
    labeled_video: LabeledVideoOptions | None = None,
    progress: StageProgressFn | None = None,
    should_stop: StopFn | None = None,
    dlc: bool = False,
) -> VideoResult:
    """Write a video's predictions CSV, temporal norm and (optionally) labelled video and DLC files.

    An existing predictions CSV is kept unless ``overwrite`` (a missing temporal norm,
    labelled video or DeepLabCut-style file is then made from it).

    Args:
        predictor: The model.
        outputs: Where the files go.
        batch_size: Frames per forward pass.
        overwrite: Predict again even if the CSV exists.
        labeled_video: Also render the labelled video with these options.
        progress: Called with ``("predict" or "render", frames_done, n_frames)``.
        should_stop: Polled before each batch / frame.
        dlc: Also write ``<stem>DLC_posedesk.h5`` and ``.csv`` (DeepLabCut's layout) from the CSV.

    Raises:
        DataError: Unreadable video or existing CSV, or unwritable outputs.
        ConfigError: Unknown colormap.
        PredictionStopped: ``should_stop`` returned True (the current file is not left behind).
    """
    result = VideoResult(outputs, predicted=overwrite or not outputs.csv_path.is_file())
    n_frames: int | None = None
    if result.predicted:
        stage_progress = (lambda done, total: progress("predict", done, total)) if progress else None
        result.stats = predict_video_to_csv(
            predictor, outputs.video_path, outputs.csv_path, outputs.temporal_norm_path,
            batch_size=batch_size, progress=stage_progress, should_stop=should_stop,
        )  # fmt: skip
        n_frames = result.stats.n_frames
        result.written += [outputs.csv_path, outputs.temporal_norm_path]
    elif not outputs.temporal_norm_path.is_file():
        write_temporal_norm_from_csv(outputs.csv_path, outputs.temporal_norm_path)
        result.written.append(outputs.temporal_norm_path)
    if labeled_video is not None and (result.predicted or not outputs.labeled_video_path.is_file()):
        render_progress = (lambda done, total: progress("render", done, total)) if progress else None
        result.written.append(_render(outputs, n_frames, labeled_video, render_progress, should_stop))
    if dlc and (result.predicted or not all(p.is_file() for p in _dlc_paths(outputs))):
        result.written += write_dlc_from_csv(outputs.csv_path, n_frames)
    return result


def _dlc_paths(outputs: VideoOutputs) -> tuple[Path, Path]:
    from pose_core.io.predictions import dlc_prediction_paths

    return dlc_prediction_paths(outputs.csv_path)
