"""Predictions for the review pane: a video's keypoints as one array, per-frame problems, labelled-frame errors.

* :func:`load_video_predictions` reads ``video_preds/<stem>.csv`` once into an ``n_frames x K x 3``
  float32 array in video pixels (frame lookup is an index, O(1)) and checks it against the video
  (row count) and the project (keypoint names). A binary copy in the user cache makes the next
  opening of a long video fast (the CSV of 100,000 frames takes about half a second to parse).
* :func:`find_problems` flags frames with low likelihood, temporal jumps, a PCA error or (an
  ensemble shown) a large spread of the members.
* :func:`load_labeled_errors` joins a run's ``predictions.csv`` with the project's labels.

No Qt here: these functions run in worker threads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from pose_core.errors import DataError
from pose_core.runs.layout import RunLayout

PROBLEM_LOW_LIKELIHOOD = 1
PROBLEM_LIKELIHOOD = 0.5  # a frame is a problem when a keypoint's likelihood is below this (or the slider)
PROBLEM_JUMP = 2
PROBLEM_PCA = 4
PROBLEM_SPREAD = 8
SPREAD_FACTOR = 3.0  # an ensemble spread this many times the video's median (at least MIN_SPREAD_LIMIT_PX) is a problem
MIN_SPREAD_LIMIT_PX = 2.0
DEFAULT_JUMP_PX = 20.0
MAX_CACHED_FILES = 8
PCA_FACTOR = 3.0  # a PCA error this many times the fit's epsilon and the video's median error is a problem


@dataclass
class VideoPredictions:
    """One video's predictions.

    Attributes:
        path: The predictions CSV.
        keypoint_names: K names.
        xy_lik: float32 ``[n_frames, K, 3]``: x, y in video pixels and likelihood (NaN = missing).
    """

    path: Path
    keypoint_names: list[str]
    xy_lik: np.ndarray

    @property
    def n_frames(self) -> int:
        """Number of frames (rows)."""
        return int(self.xy_lik.shape[0])

    def frame(self, frame_idx: int) -> np.ndarray:
        """``[K, 3]`` x, y, likelihood of frame ``frame_idx`` (a view, no copy)."""
        return self.xy_lik[frame_idx]


def video_predictions_path(run_dir: Path, video_path: Path) -> Path:
    """Where ``pose-predict`` writes the predictions of ``video_path`` for ``run_dir``."""
    return RunLayout(Path(run_dir)).video_predictions(video_path)


def check_frame_count(predictions: VideoPredictions, n_frames: int) -> None:
    """Raise a DataError unless the predictions have one row per frame of a video of ``n_frames``."""
    if predictions.n_frames != n_frames:
        raise DataError(
            f"Predictions file {predictions.path} has {predictions.n_frames} rows but the video has {n_frames} "
            "frames: it is truncated or belongs to another video; predict this video again.",
            path=str(predictions.path),
        )


def load_video_predictions(
    path: Path, n_frames: int | None, keypoint_names: Sequence[str] | None = None
) -> VideoPredictions:
    """Read a video's predictions and check them against the video and the project.

    Args:
        path: Predictions CSV (three header rows, one row per frame).
        n_frames: The video's frame count; the file must have exactly this many rows (None = check
            later with :func:`check_frame_count`, e.g. while the video is still being opened).
        keypoint_names: The project's keypoints; the file must have the same (None = no check).

    Returns:
        The predictions.

    Raises:
        DataError: The file is missing, truncated, malformed, has another row count or other keypoints.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Predictions file {path} does not exist: predict this video with the run first (Predict button).",
            path=str(path),
        )
    names, xy_lik = _read_cached(path)
    if keypoint_names is not None and list(keypoint_names) != names:
        raise DataError(
            f"Predictions file {path} has keypoints {', '.join(names)} but the project has "
            f"{', '.join(keypoint_names)}: choose a run trained on this project, or predict again.",
            path=str(path),
        )
    predictions = VideoPredictions(path, names, xy_lik)
    if n_frames is not None:
        check_frame_count(predictions, n_frames)
    return predictions


def cache_dir() -> Path:
    """Folder of the binary copies of predictions CSVs (``$POSEDESK_DATA_DIR/cache`` or the user cache)."""
    base = os.environ.get("POSEDESK_DATA_DIR")
    root = Path(base).expanduser() / "cache" if base else Path(platformdirs.user_cache_dir("posedesk"))
    return root / "predictions"


def _read_cached(path: Path) -> tuple[list[str], np.ndarray]:
    """Keypoint names and ``[N, K, 3]`` float32 array of a predictions CSV, from a binary copy when one is valid.

    The copy is keyed by the file's path, size and modification time (a rewritten CSV is read again);
    at most :data:`MAX_CACHED_FILES` copies are kept. Failing to write one only costs speed.
    """
    from pose_core.io.predictions import read_predictions_csv

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    cached = cache_dir() / f"{key}.npz"
    try:
        with np.load(cached) as data:
            return [str(n) for n in data["names"]], np.ascontiguousarray(data["xy_lik"])
    except (OSError, KeyError, ValueError):
        pass
    table = read_predictions_csv(path)
    xy_lik = np.ascontiguousarray(table.preds, dtype=np.float32)
    _write_cache(cached, table.keypoint_names, xy_lik)
    return table.keypoint_names, xy_lik


def _write_cache(cached: Path, names: list[str], xy_lik: np.ndarray) -> None:
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, names=np.array(names), xy_lik=xy_lik)
        tmp.replace(cached)
        old = sorted(cached.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in old[MAX_CACHED_FILES:]:
            stale.unlink(missing_ok=True)
    except OSError:
        return


# ---------------------------------------------------------------------------------- problems


@dataclass
class FrameProblems:
    """Per-frame problem flags (bit mask of ``PROBLEM_*``) and the scores behind them.

    Attributes:
        flags: uint8 ``[n_frames]``.
        min_likelihood: ``[n_frames]`` lowest likelihood of the frame's keypoints.
        jump_px: ``[n_frames]`` largest keypoint displacement from the previous frame.
        pca_error_px: ``[n_frames]`` largest PCA reprojection error, or None without a PCA fit.
        spread_px: ``[n_frames]`` largest ensemble spread over the keypoints, or None (no ensemble).
    """

    flags: np.ndarray
    min_likelihood: np.ndarray
    jump_px: np.ndarray
    pca_error_px: np.ndarray | None
    spread_px: np.ndarray | None = None

    def next_problem(self, frame_idx: int, step: int) -> int | None:
        """The next flagged frame after (``step`` = +1) or before (-1) ``frame_idx``, or None."""
        flagged = np.flatnonzero(self.flags)
        if step > 0:
            pos = int(np.searchsorted(flagged, frame_idx, side="right"))
            return int(flagged[pos]) if pos < len(flagged) else None
        pos = int(np.searchsorted(flagged, frame_idx, side="left")) - 1
        return int(flagged[pos]) if pos >= 0 else None

    def counts(self) -> dict[int, int]:
        """Number of frames with each ``PROBLEM_*`` flag."""
        flags = (PROBLEM_LOW_LIKELIHOOD, PROBLEM_JUMP, PROBLEM_PCA) + (
            (PROBLEM_SPREAD,) if self.spread_px is not None else ()
        )
        return {flag: int(np.count_nonzero(self.flags & flag)) for flag in flags}

    def describe(self, frame_idx: int) -> str:
        """The problems of one frame in words (empty when none)."""
        flags = int(self.flags[frame_idx])
        parts = []
        if flags & PROBLEM_LOW_LIKELIHOOD:
            parts.append(f"low likelihood ({self.min_likelihood[frame_idx]:.2f})")
        if flags & PROBLEM_JUMP:
            parts.append(f"jump of {self.jump_px[frame_idx]:.0f} px")
        if flags & PROBLEM_PCA and self.pca_error_px is not None:
            parts.append(f"PCA error {self.pca_error_px[frame_idx]:.0f} px")
        if flags & PROBLEM_SPREAD and self.spread_px is not None:
            parts.append(f"ensemble spread {self.spread_px[frame_idx]:.0f} px")
        return ", ".join(parts)


def _nan_reduce(values: np.ndarray, fill: float, reduce: str) -> np.ndarray:
    filled = np.where(np.isnan(values), fill, values)
    return filled.min(axis=1) if reduce == "min" else filled.max(axis=1)


def pca_error_px(run_dir: Path | None, xy: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Largest per-frame PCA error of ``xy [N, K, 2]`` and the fit's epsilon, from the run's ``pca_*.npz``.

    Returns:
        ``(error_px [N], epsilon_px)`` or None when the run has no PCA fit.
    """
    if run_dir is None:
        return None
    from pose_core.pca import PosePCA

    for name in ("pca_singleview.npz", "pca_multiview.npz"):
        path = Path(run_dir) / name
        if path.is_file():
            pca = PosePCA.load(path)
            filled = np.nan_to_num(np.asarray(xy, dtype=np.float64))
            return _nan_reduce(pca.keypoint_error_px(filled), 0.0, "max"), float(pca.epsilon_px)
    return None


@dataclass
class ProblemScores:
    """Per-frame scores behind the problem flags, computed once per predictions file (a worker thread's job).

    Attributes:
        min_likelihood: ``[N]`` lowest keypoint likelihood per frame.
        jump_px: ``[N]`` largest keypoint displacement from the previous frame.
        pca_error_px: ``[N]`` largest PCA error per frame, or None.
        pca_limit_px: PCA error above which a frame is flagged (see :func:`problem_scores`).
    """

    min_likelihood: np.ndarray
    jump_px: np.ndarray
    pca_error_px: np.ndarray | None
    pca_limit_px: float


def problem_scores(xy_lik: np.ndarray, pca: tuple[np.ndarray, float] | None = None) -> ProblemScores:
    """Score every frame of ``[N, K, 3]`` predictions.

    A PCA error is a problem above :data:`PCA_FACTOR` times the larger of the fit's epsilon and the
    video's median PCA error (so a model that is a little off everywhere does not flag every frame).

    Args:
        xy_lik: ``[N, K, 3]`` predictions.
        pca: ``(error_px [N], epsilon_px)`` from :func:`pca_error_px`, or None.
    """
    min_lik = _nan_reduce(xy_lik[:, :, 2], 1.0, "min")
    step = np.zeros(xy_lik.shape[:2], dtype=np.float32)
    step[1:] = np.linalg.norm(np.diff(xy_lik[:, :, :2], axis=0), axis=-1)
    jumps = _nan_reduce(step, 0.0, "max")
    if pca is None:
        return ProblemScores(min_lik, jumps, None, np.inf)
    pca_err, epsilon_px = pca
    typical_px = float(np.median(pca_err)) if len(pca_err) else 0.0
    return ProblemScores(min_lik, jumps, pca_err, PCA_FACTOR * max(epsilon_px, typical_px, 1.0))


def spread_limit_px(spread_px: np.ndarray) -> float:
    """Ensemble spread above which a frame is a problem: :data:`SPREAD_FACTOR` x the median frame's, at least 2 px."""
    finite = spread_px[np.isfinite(spread_px)]
    typical_px = float(np.median(finite)) if len(finite) else 0.0
    return SPREAD_FACTOR * max(typical_px, MIN_SPREAD_LIMIT_PX / SPREAD_FACTOR)


def flag_problems(
    scores: ProblemScores, threshold: float, jump_px: float = DEFAULT_JUMP_PX, spread_px: np.ndarray | None = None
) -> FrameProblems:
    """Flag frames with a keypoint below the likelihood limit, a jump above ``jump_px`` or an outlying PCA error.

    With ``spread_px`` (``[n_frames]``, an ensemble's largest spread per frame), frames where the
    members spread more than :func:`spread_limit_px` are flagged too.

    The likelihood limit is ``threshold`` (the display slider) but at most
    :data:`PROBLEM_LIKELIHOOD`: with many keypoints nearly every frame has one a little under the
    usual 0.9 drawing threshold, while keypoints under 0.5 are the ones that are wrong.
    """
    flags = np.where(scores.min_likelihood < min(threshold, PROBLEM_LIKELIHOOD), PROBLEM_LOW_LIKELIHOOD, 0)
    flags |= np.where(scores.jump_px > jump_px, PROBLEM_JUMP, 0)
    if scores.pca_error_px is not None:
        flags |= np.where(scores.pca_error_px > scores.pca_limit_px, PROBLEM_PCA, 0)
    if spread_px is not None and len(spread_px) == len(flags):
        flags |= np.where(np.nan_to_num(spread_px) > spread_limit_px(spread_px), PROBLEM_SPREAD, 0)
    else:
        spread_px = None
    return FrameProblems(flags.astype(np.uint8), scores.min_likelihood, scores.jump_px, scores.pca_error_px, spread_px)


def find_problems(
    xy_lik: np.ndarray,
    threshold: float,
    jump_px: float = DEFAULT_JUMP_PX,
    pca: tuple[np.ndarray, float] | None = None,
) -> FrameProblems:
    """:func:`problem_scores` then :func:`flag_problems` in one call."""
    return flag_problems(problem_scores(xy_lik, pca), threshold, jump_px)


# ---------------------------------------------------------------------------------- labelled frames


@dataclass
class LabeledErrors:
    """Ground truth vs prediction on the labelled frames of a run.

    Attributes:
        image_paths: N image paths (as in the labels CSV).
        image_files: N absolute image files.
        keypoint_names: K names.
        truth_px: ``[N, K, 2]`` labels (NaN = not labelled).
        pred: ``[N, K, 3]`` predictions (x, y, likelihood).
        error_px: ``[N, K]`` Euclidean error (NaN where unlabelled).
        split: N split names (train / validation / test, or "unknown").
    """

    image_paths: list[str]
    image_files: list[Path]
    keypoint_names: list[str]
    truth_px: np.ndarray
    pred: np.ndarray
    error_px: np.ndarray
    split: list[str]

    def rows_in_split(self, split: str) -> list[int]:
        """Row indices in ``split`` ("all" = every row)."""
        return [i for i, s in enumerate(self.split) if split == "all" or s == split]

    def frame_error_px(self) -> np.ndarray:
        """``[N]`` mean error over labelled keypoints (NaN when none is labelled)."""
        with np.errstate(all="ignore"):
            counts = np.sum(~np.isnan(self.error_px), axis=1)
            return np.where(counts > 0, np.nansum(self.error_px, axis=1) / np.maximum(counts, 1), np.nan)


def load_labeled_errors(run_dir: Path, labels_csv: Path, data_dir: Path) -> LabeledErrors:
    """Join a run's ``predictions.csv`` with the project's labels by image path.

    Args:
        run_dir: The run (must hold ``predictions.csv``, written after training).
        labels_csv: The project's ``CollectedData.csv``.
        data_dir: Folder the label image paths are relative to.

    Returns:
        The errors of every labelled frame that has a prediction.

    Raises:
        DataError: ``predictions.csv`` is missing or malformed, or shares no frame or keypoint with the labels.
    """
    from pose_core.data.labels import image_file, read_labels
    from pose_core.io.predictions import read_predictions_csv

    preds_path = RunLayout(Path(run_dir)).predictions
    if not preds_path.is_file():
        raise DataError(
            f"Run {run_dir} has no predictions.csv (training did not finish): train it to the end or choose another run.",
            path=str(preds_path),
        )
    table = read_predictions_csv(preds_path)
    labels = read_labels(Path(labels_csv))
    if table.keypoint_names != labels.keypoint_names:
        raise DataError(
            f"{preds_path} has keypoints {', '.join(table.keypoint_names)} but the labels have "
            f"{', '.join(labels.keypoint_names)}: choose a run trained on this project.",
            path=str(preds_path),
        )
    row_of = {str(p).replace("\\", "/"): i for i, p in enumerate(table.index)}
    rows = [
        (i, row_of[p.replace("\\", "/")]) for i, p in enumerate(labels.image_paths) if p.replace("\\", "/") in row_of
    ]
    if not rows:
        raise DataError(
            f"{preds_path} has no row for any image of {labels_csv}: choose a run trained on this project.",
            path=str(preds_path),
        )
    label_rows, pred_rows = (list(t) for t in zip(*rows, strict=True))
    truth = labels.keypoints_px[label_rows]
    pred = table.preds[pred_rows]
    split = [table.split[r] if table.split else "unknown" for r in pred_rows]
    paths = [labels.image_paths[i] for i in label_rows]
    return LabeledErrors(
        image_paths=paths,
        image_files=[image_file(Path(data_dir), p) for p in paths],
        keypoint_names=list(labels.keypoint_names),
        truth_px=truth,
        pred=pred,
        error_px=np.linalg.norm(truth - pred[:, :, :2], axis=-1),
        split=split,
    )
