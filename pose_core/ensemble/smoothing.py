"""Ensemble statistics and Ensemble Kalman smoothing of several runs' predictions of one video.

The smoother is the ``ensemble-kalman-smoother`` package (``import eks``), called through its
array API: single-view EKS per keypoint, and multiview EKS (one latent per body part seen in
every view) for the keypoints listed in ``data.mirrored_column_matches``. ``eks`` imports jax
(slow, and it warns about ``os.fork``), so it is imported only inside :func:`smooth`: never at
module level of anything the trainer or the GUI imports.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_core.errors import DataError, PoseDeskError

EKS_COORDS = (
    "x",
    "y",
    "likelihood",
    "x_ens_median",
    "y_ens_median",
    "x_ens_var",
    "y_ens_var",
    "x_posterior_var",
    "y_posterior_var",
)
"""Columns per keypoint of ``<stem>_eks.csv`` (the eks package's own output layout)."""
EKS_SUFFIX = "_eks"
MEAN_SUFFIX = "_ens_mean"
DEFAULT_FIT_FRAMES = 2000
"""eks fits its smoothing parameter on this many frames (fitting on 10,000 takes a minute per video)."""
VAR_SUFFIX = "_ens_var"


class EksMissingError(PoseDeskError):
    """The ``ensemble-kalman-smoother`` package cannot be imported."""


@dataclass
class EnsembleStats:
    """Per-frame statistics of an ensemble's predictions of one video.

    Attributes:
        mean: ``[T, K, 3]`` mean x, y (video pixels) and mean likelihood over the members.
        variance_px2: ``[T, K, 2]`` variance of x and y over the members.
        spread_px: ``[T, K]`` root mean squared distance of the members to their mean.
    """

    mean: np.ndarray
    variance_px2: np.ndarray
    spread_px: np.ndarray


ENSEMBLE_AVERAGE = "mean"
"""How eks averages the members before smoothing (its ``avg_mode``; eks's default is the median).

Measured on the example videos with an ensemble of 3 trained at the example's settings
(``benchmarks/ensemble_eks_accuracy.py``): p95 error of one model 24.3 px, of EKS on the median
24.8 px (no better), of EKS on the mean 23.0 px (5% better), jitter 0.52 / 0.40 / 0.37 px. With a
few members the median is one member's guess; the mean pools all of them."""


@dataclass
class SmoothedPredictions:
    """EKS output for one video.

    Attributes:
        preds: ``[T, K, 3]`` smoothed x, y and the ensemble's mean likelihood.
        ens_median: ``[T, K, 2]`` the members' average x, y that eks smooths (their mean: see
            :data:`ENSEMBLE_AVERAGE`; the name is eks's column name).
        ens_var_px2: ``[T, K, 2]`` ensemble variance (confidence-weighted, as eks uses it).
        posterior_var_px2: ``[T, K, 2]`` posterior variance of x and y.
        smooth_params: The smoothing parameter eks chose per smoothed unit.
    """

    preds: np.ndarray
    ens_median: np.ndarray
    ens_var_px2: np.ndarray
    posterior_var_px2: np.ndarray
    smooth_params: list[float]

    def table(self) -> np.ndarray:
        """``[T, K, 9]`` in the order of :data:`EKS_COORDS`."""
        return np.concatenate([self.preds, self.ens_median, self.ens_var_px2, self.posterior_var_px2], axis=-1)


def ensemble_stats(member_preds: np.ndarray) -> EnsembleStats:
    """Mean, variance and spread of ``[M, T, K, 3]`` member predictions (NaN-aware)."""
    xy = member_preds[..., :2]
    with np.errstate(invalid="ignore"), _quiet_nan_warnings():
        mean_xy = np.nanmean(xy, axis=0)
        var = np.nanvar(xy, axis=0)
        lik = np.nanmean(member_preds[..., 2], axis=0)
        spread = np.sqrt(np.nanmean(np.sum((xy - mean_xy[None]) ** 2, axis=-1), axis=0))
    return EnsembleStats(np.concatenate([mean_xy, lik[..., None]], axis=-1), var, spread)


@contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    """Silences numpy's "Mean of empty slice" for all-NaN cells (they stay NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _import_eks() -> None:
    """Imports eks (and jax) quietly, or explains how to install it."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import eks  # noqa: F401
    except ImportError as exc:
        raise EksMissingError(
            f"Ensemble Kalman smoothing needs the ensemble-kalman-smoother package ({exc}); install it with "
            "`make install` or `pip install --no-deps ensemble-kalman-smoother aniposelib` plus its "
            "dependencies (see README, 'Ensembles')."
        ) from exc


def _fill_nan(member_preds: np.ndarray) -> np.ndarray:
    """Members' NaN cells replaced by the other members' mean (else 0 with likelihood 0): eks needs numbers."""
    preds = member_preds.astype(np.float64, copy=True)
    with _quiet_nan_warnings():
        mean = np.nanmean(preds, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    missing = np.asarray(np.isnan(preds[..., :2]).any(axis=-1))  # [M, T, K]
    preds[..., :2] = np.where(missing[..., None], mean[None, ..., :2], preds[..., :2])
    preds[..., 2] = np.where(missing, 0.0, np.nan_to_num(preds[..., 2], nan=0.0))
    return preds


def _singleview(
    preds: np.ndarray,
    columns: list[int],
    smooth_param: float | list[float] | None,
    s_frames: list[tuple[int, int]] | None,
) -> tuple[np.ndarray, list[float]]:
    """Single-view eks smoothing of ``columns``; returns ``[T, len(columns), 9]`` and the parameters."""
    from eks.marker_array import MarkerArray
    from eks.singlecam_smoother import ensemble_kalman_smoother_singlecam

    names = [f"k{c}" for c in columns]
    marker_array = MarkerArray(preds[:, None][:, :, :, columns], data_fields=["x", "y", "likelihood"])
    df, s_finals = ensemble_kalman_smoother_singlecam(
        marker_array, names, smooth_param=smooth_param, s_frames=s_frames, avg_mode=ENSEMBLE_AVERAGE
    )
    return _from_eks_frame(df, names), [float(s) for s in np.ravel(s_finals)]


def _multiview(
    preds: np.ndarray,
    matches: list[list[int]],
    smooth_param: float | list[float] | None,
    s_frames: list[tuple[int, int]] | None,
) -> tuple[np.ndarray, list[float]]:
    """Multiview eks smoothing: ``matches[v][j]`` is body part j's column in view v.

    Returns ``[T, V, J, 9]`` and the parameters.
    """
    from eks.marker_array import MarkerArray
    from eks.multicam_smoother import ensemble_kalman_smoother_multicam

    n_views, n_parts = len(matches), len(matches[0])
    views = np.stack([preds[:, :, list(view)] for view in matches], axis=1)  # [M, V, T, J, 3]
    names = [f"p{j}" for j in range(n_parts)]
    camera_names = [f"view{v}" for v in range(n_views)]
    marker_array = MarkerArray(views, data_fields=["x", "y", "likelihood"])
    camera_dfs, s_finals, _ = ensemble_kalman_smoother_multicam(
        marker_array,
        names,
        camera_names,
        smooth_param=smooth_param,
        s_frames=s_frames,
        n_latent=min(3, 2 * n_views),
        avg_mode=ENSEMBLE_AVERAGE,
    )
    out = np.stack([_from_eks_frame(df, names) for df in camera_dfs], axis=1)
    return out, [float(s) for s in np.ravel(s_finals)]


def _from_eks_frame(df: object, names: Sequence[str]) -> np.ndarray:
    """An eks output DataFrame (scorer, bodyparts, coords columns) as ``[T, K, 9]``."""
    import pandas as pd

    assert isinstance(df, pd.DataFrame)
    coords = df.columns.get_level_values(-1)
    parts = df.columns.get_level_values(-2)
    out = np.empty((len(df), len(names), len(EKS_COORDS)))
    values = df.to_numpy(dtype=np.float64)
    for k, name in enumerate(names):
        for c, coord in enumerate(EKS_COORDS):
            hits = np.flatnonzero((parts == name) & (coords == coord))
            out[:, k, c] = values[:, hits[0]]
    return out


def check_matches(matches: Sequence[Sequence[int]] | None, n_keypoints: int) -> list[list[int]] | None:
    """``data.mirrored_column_matches`` as lists, or None when absent or unusable for multiview EKS."""
    if not matches:
        return None
    views = [[int(c) for c in view] for view in matches]
    if len(views) < 2 or len({len(v) for v in views}) != 1 or not views[0]:
        return None
    flat = [c for v in views for c in v]
    if len(set(flat)) != len(flat) or min(flat) < 0 or max(flat) >= n_keypoints:
        return None
    return views


def smooth(
    member_preds: np.ndarray,
    mirrored_column_matches: Sequence[Sequence[int]] | None = None,
    smooth_param: float | None = None,
    fit_frames: int | None = DEFAULT_FIT_FRAMES,
) -> SmoothedPredictions:
    """Ensemble Kalman smoothing of ``[M, T, K, 3]`` member predictions of one video with the eks package.

    Keypoints listed in ``mirrored_column_matches`` (one list of columns per view, the same body
    part at the same position) get multiview EKS; the others single-view EKS. Several videos are
    faster through :func:`smooth_videos` (one eks call for all of them).

    Args:
        member_preds: Members' x, y (video pixels) and likelihood; M >= 2.
        mirrored_column_matches: ``data.mirrored_column_matches`` of the runs' config, or None.
        smooth_param: eks's smoothing parameter (smaller = smoother); None = eks fits it per
            keypoint (slower).
        fit_frames: eks fits the smoothing parameter on the first this many frames only (its
            ``s_frames``; the smoothing itself covers every frame); None = all frames.

    Raises:
        DataError: Fewer than two members.
        EksMissingError: eks is not installed.
    """
    return smooth_videos([member_preds], mirrored_column_matches, smooth_param, fit_frames)[0]


GAP_FRAMES = 256
"""Frames of no information eks gets between two joined videos (see :func:`smooth_videos`): with a
40 px jump between two videos, smoothing them joined moves no point by more than 0.5 px from
smoothing them one by one (a 64-frame gap: 1.5 px)."""
GAP_VARIANCE_PX2 = 1e6
"""The ensemble variance eks sees on those frames: an observation it all but ignores."""


def smooth_videos(
    videos: Sequence[np.ndarray],
    mirrored_column_matches: Sequence[Sequence[int]] | None = None,
    smooth_param: float | None = None,
    fit_frames: int | None = DEFAULT_FIT_FRAMES,
) -> list[SmoothedPredictions]:
    """Ensemble Kalman smoothing of several videos' ``[M, T_v, K, 3]`` member predictions in one eks call.

    eks compiles its smoother with jax on every call (about a second per call on a small CPU, more
    than smoothing 10,000 frames takes) and fits its smoothing parameter per call (tens of
    seconds). So the smoothing parameter is fitted once per keypoint, by eks, on the first
    ``fit_frames`` frames of the longest video (not on pieces of every video put one after the
    other: the jumps between them made eks fit a parameter several times too large), and the videos
    are smoothed in one eks call with those parameters, joined into one sequence with
    :data:`GAP_FRAMES` frames between two videos on which the members are spread so widely
    (variance :data:`GAP_VARIANCE_PX2`, likelihood near 0) that eks treats them as missing: the
    track of one video does not pull on the next one's.

    Args:
        videos: Per video, the members' x, y (video pixels) and likelihood; the same M >= 2 and K.
        mirrored_column_matches: ``data.mirrored_column_matches`` of the runs' config, or None.
        smooth_param: eks's smoothing parameter (smaller = smoother); None = eks fits it.
        fit_frames: eks fits the smoothing parameter on the first this many frames of the longest
            video; None = all its frames.

    Returns:
        One :class:`SmoothedPredictions` per video, in order.

    Raises:
        DataError: Fewer than two members, or videos with different members or keypoints.
        EksMissingError: eks is not installed.
    """
    if not videos:
        return []
    n_members, _, n_keypoints, _ = videos[0].shape
    if n_members < 2:
        raise DataError("Ensemble Kalman smoothing needs the predictions of at least 2 runs; give 2 or more runs.")
    for v in videos[1:]:
        if v.shape[0] != n_members or v.shape[2:] != videos[0].shape[2:]:
            raise DataError(
                f"Videos smoothed together need the same runs and keypoints: {videos[0].shape} vs {v.shape} "
                "([members, frames, keypoints, 3])."
            )
    _import_eks()
    matches = check_matches(mirrored_column_matches, n_keypoints)
    params: _Params = (smooth_param, smooth_param)
    joined, starts = _join_videos(videos)  # NaN filled, float32 (eks computes in float32): one copy of the input
    s_frames = None
    if smooth_param is None and fit_frames is not None:
        longest = int(np.argmax([v.shape[1] for v in videos]))
        fit_end = starts[longest] + min(int(fit_frames), videos[longest].shape[1])
        if len(videos) == 1:  # one call: eks fits on the first fit_frames (its s_frames) and smooths every frame
            s_frames = [(0, fit_end)] if fit_end < joined.shape[1] else None
        else:  # fit once, on the first fit_frames of the longest video, and use that for all
            params = _smooth_joined(joined[:, starts[longest] : fit_end], matches, params, None)[1]
    table, params = _smooth_joined(joined, matches, params, s_frames)
    fitted = [float(x) for part in params for x in np.ravel(part if part is not None else [])]
    out = []
    for v, start in zip(videos, starts, strict=True):
        part = table[start : start + v.shape[1]]
        with _quiet_nan_warnings():
            mean_lik = np.nanmean(v[..., 2], axis=0)
        mean_lik = np.where(np.isfinite(mean_lik), mean_lik, 0.0)
        preds_out = np.concatenate([part[..., :2], mean_lik[..., None]], axis=-1)
        out.append(SmoothedPredictions(preds_out, part[..., 3:5], part[..., 5:7], part[..., 7:9], fitted))
    return out


_Params = tuple[float | list[float] | None, float | list[float] | None]
"""eks smoothing parameters: (multiview units, single-view keypoints); None = let eks fit them."""


def _join_videos(videos: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """NaN-filled float32 ``[M, sum T + gaps, K, 3]`` and each video's first frame in it.

    Between two videos come :data:`GAP_FRAMES` frames that carry no information: the members sit
    at the straight line from the last frame of one video to the first of the next, spread
    symmetrically (their median is on the line) so that their confidence-weighted variance is
    :data:`GAP_VARIANCE_PX2`.
    """
    n_members, _, n_keypoints, _ = videos[0].shape
    starts = [i * GAP_FRAMES + sum(v.shape[1] for v in videos[:i]) for i in range(len(videos))]
    joined = np.empty((n_members, starts[-1] + videos[-1].shape[1], n_keypoints, 3), np.float32)
    offsets = np.arange(n_members) - (n_members - 1) / 2.0
    likelihood = 1e-3
    spread_px = np.sqrt(GAP_VARIANCE_PX2 * likelihood / np.var(offsets))
    ramp = np.linspace(0.0, 1.0, GAP_FRAMES + 2)[1:-1, None, None]  # [G, 1, 1]
    for i, (v, start) in enumerate(zip(videos, starts, strict=True)):
        joined[:, start : start + v.shape[1]] = _fill_nan(v)
        if i > 0:
            previous_end = joined[:, start - GAP_FRAMES - 1, :, :2].mean(0)  # [K, 2]
            centre = (1 - ramp) * previous_end + ramp * joined[:, start, :, :2].mean(0)  # [G, K, 2]
            gap = joined[:, start - GAP_FRAMES : start]
            gap[..., :2] = centre[None] + spread_px * offsets[:, None, None, None]
            gap[..., 2] = likelihood
    return joined, starts


def _smooth_joined(
    preds: np.ndarray, matches: list[list[int]] | None, params: _Params, s_frames: list[tuple[int, int]] | None
) -> tuple[np.ndarray, _Params]:
    """``[T, K, 9]`` (:data:`EKS_COORDS`) of NaN-free ``[M, T, K, 3]`` predictions, and the parameters used."""
    n_keypoints = preds.shape[2]
    out = np.full((preds.shape[1], n_keypoints, len(EKS_COORDS)), np.nan)
    multi: float | list[float] | None = None
    single_params: float | list[float] | None = None
    single = list(range(n_keypoints))
    if matches is not None:
        views, multi = _multiview(preds, matches, params[0], s_frames)
        for v, view in enumerate(matches):
            out[:, view] = views[:, v]
        covered = {c for view in matches for c in view}
        single = [c for c in single if c not in covered]
    if single:
        table, single_params = _singleview(preds, single, params[1], s_frames)
        out[:, single] = table
    return out, (multi, single_params)


def write_eks_csv(path: Path, keypoint_names: Sequence[str], smoothed: SmoothedPredictions) -> None:
    """Writes ``<stem>_eks.csv``: three header rows (scorer, bodyparts, coords), one row per frame.

    Columns per keypoint: :data:`EKS_COORDS` (x, y, likelihood first, as in every predictions CSV).
    """
    from pose_core.io.atomic import atomic_write_text

    table = smoothed.table()
    n_frames, n_keypoints, n_coords = table.shape
    header = [
        ",".join(["scorer"] + ["posedesk_eks"] * (n_keypoints * n_coords)),
        ",".join(["bodyparts"] + [name for name in keypoint_names for _ in EKS_COORDS]),
        ",".join(["coords"] + list(EKS_COORDS) * n_keypoints),
    ]
    flat = table.reshape(n_frames, -1)
    atomic_write_text(path, "\n".join(header) + "\n" + _csv_body(flat))


def _csv_body(flat: np.ndarray) -> str:
    """Rows ``frame_idx,v1,v2,...`` with 5 decimals, NaN as an empty cell (one %-format per row: 10,000 x 162 in < 1 s)."""
    row_format = "%d," + ",".join(["%.5f"] * flat.shape[1])
    body = "\n".join([row_format % (i, *row) for i, row in enumerate(flat.tolist())])
    return body.replace("nan", "") + ("\n" if len(flat) else "")


def write_variance_csv(path: Path, keypoint_names: Sequence[str], variance_px2: np.ndarray) -> None:
    """``<stem>_ens_var.csv``: three header rows, ``x_var`` and ``y_var`` per keypoint (px²), one row per frame."""
    from pose_core.io.atomic import atomic_write_text

    n_frames, n_keypoints, _ = variance_px2.shape
    header = [
        ",".join(["scorer"] + ["posedesk_ensemble"] * (2 * n_keypoints)),
        ",".join(["bodyparts"] + [name for name in keypoint_names for _ in range(2)]),
        ",".join(["coords"] + ["x_var", "y_var"] * n_keypoints),
    ]
    flat = variance_px2.reshape(n_frames, -1)
    atomic_write_text(path, "\n".join(header) + "\n" + _csv_body(flat))
