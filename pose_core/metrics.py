"""Evaluation metrics on keypoint arrays (numpy only, NaN-aware).

* :func:`pixel_error`: Euclidean distance between predictions and labels, per frame and
  keypoint, in pixels.
* :func:`temporal_norm`: how far each keypoint moved since the previous frame, in pixels.
* :func:`summarize_errors`: mean / median / 90th percentile per data split, ready for JSON
  via :func:`summary_to_jsonable`.

PCA reprojection errors live further down in this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SPLIT_NAMES = ("train", "validation", "test")


def _check_xy(name: str, xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[-1] != 2:
        raise ValueError(f"{name} must have shape [N, K, 2], got {xy.shape}.")
    return xy


def pixel_error(pred_xy: np.ndarray, true_xy: np.ndarray) -> np.ndarray:
    """Euclidean distance between predicted and true keypoints.

    Args:
        pred_xy: ``[N, K, 2]`` predicted x, y in pixels.
        true_xy: ``[N, K, 2]`` labelled x, y in pixels; NaN = not labelled.

    Returns:
        ``[N, K]`` error in pixels; NaN where either point has a NaN coordinate.

    Raises:
        ValueError: The shapes differ or are not ``[N, K, 2]``.
    """
    pred_xy = _check_xy("pred_xy", pred_xy)
    true_xy = _check_xy("true_xy", true_xy)
    if pred_xy.shape != true_xy.shape:
        raise ValueError(f"pred_xy {pred_xy.shape} and true_xy {true_xy.shape} differ in shape.")
    diff = pred_xy - true_xy
    return np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2)


def temporal_norm(pred_xy: np.ndarray) -> np.ndarray:
    """Distance each keypoint moved since the previous frame.

    Args:
        pred_xy: ``[N, K, 2]`` x, y per frame in pixels.

    Returns:
        ``[N, K]`` ``||p_t - p_(t-1)||`` in pixels; row 0 is NaN (no previous frame), and a
        value is NaN where either frame's point is NaN.
    """
    pred_xy = _check_xy("pred_xy", pred_xy)
    norm_px = np.full(pred_xy.shape[:2], np.nan)
    if pred_xy.shape[0] > 1:
        diff = pred_xy[1:] - pred_xy[:-1]
        norm_px[1:] = np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2)
    return norm_px


def _stats(error_px: np.ndarray) -> dict[str, float]:
    """Summary of an ``[n, K]`` block of errors; statistics are NaN when nothing is finite."""
    finite = np.isfinite(error_px)
    values = error_px[finite]
    n_frames = int(finite.any(axis=1).sum()) if error_px.size else 0
    if values.size == 0:
        mean_px = median_px = p90_px = math.nan
    else:
        mean_px = float(values.mean())
        median_px = float(np.median(values))
        p90_px = float(np.percentile(values, 90))
    return {
        "mean_px": mean_px,
        "median_px": median_px,
        "p90_px": p90_px,
        "n_frames": n_frames,
        "n_keypoints_labelled": int(values.size),
    }


def summarize_errors(error_px: np.ndarray, split: Sequence[str] | None) -> dict[str, dict[str, float]]:
    """Summarise pixel errors overall and per split.

    Args:
        error_px: ``[N, K]`` errors in pixels; NaN (unlabelled) cells are ignored.
        split: Split name per row (``train`` / ``validation`` / ``test``; other values such
            as ``unused`` only count in ``all``), or ``None`` when unknown.

    Returns:
        ``{"all": s, "train": s, "validation": s, "test": s}``; each ``s`` has ``mean_px``,
        ``median_px``, ``p90_px`` (over labelled keypoint cells), ``n_frames`` (rows with at
        least one labelled keypoint) and ``n_keypoints_labelled`` (labelled cells). A split
        with no labelled cell (or every split when ``split`` is None) has NaN statistics and
        zero counts.

    Raises:
        ValueError: ``error_px`` is not 2-D or ``split`` has the wrong length.
    """
    error_px = np.asarray(error_px, dtype=np.float64)
    if error_px.ndim != 2:
        raise ValueError(f"error_px must have shape [N, K], got {error_px.shape}.")
    summary = {"all": _stats(error_px)}
    split_arr = np.asarray(split if split is not None else [""] * len(error_px), dtype=object)
    if split_arr.shape != (error_px.shape[0],):
        raise ValueError(f"split has {split_arr.size} entries for {error_px.shape[0]} rows.")
    for name in SPLIT_NAMES:
        summary[name] = _stats(error_px[split_arr == name])
    return summary


def summary_to_jsonable(
    summary: dict[str, dict[str, float]],
) -> dict[str, dict[str, float | None]]:
    """Replace NaN statistics by ``None`` so ``json.dumps`` writes ``null`` (valid JSON)."""
    return {
        split_name: {key: None if math.isnan(value) else value for key, value in stats.items()}
        for split_name, stats in summary.items()
    }
