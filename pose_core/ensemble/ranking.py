"""Which frames to label next: a per-frame uncertainty score, then a greedy, diverse pick with reasons.

Signals (each per frame and keypoint, from what the runs give; one run is enough):

* ``disagreement``: the largest distance of a member to the ensemble mean (2+ runs), px;
* ``posterior``: the Ensemble Kalman Smoother's posterior standard deviation (2+ runs), px;
* ``likelihood``: one minus the (mean) likelihood;
* ``jump``: how far the keypoint is from where it was in *both* neighbouring frames (a spike
  out and back, not fast motion), px;
* ``pca``: the distance to the pose's reprojection on the training labels' PCA (a pose no
  labelled frame looks like), px.

Each signal is turned into a robust z-score, each keypoint against its own frames of every video
(its median, and a spread from the MAD and the 90th percentile, at least 1 px), weighted, and a
frame's score is its largest weighted z: a frame is unsure when a keypoint is less sure there
than it usually is. The signal and keypoint that gave it make the pick's reason ("3 models disagree by 14 px on
paw_front_left_top"). The pick is greedy by score, never within ``min_gap`` frames of a labelled
or already picked frame of the same video, never a near-duplicate in appearance of an earlier
pick (when thumbnails can be read), and each earlier pick for the same keypoint lowers a frame's
score by :data:`KEYPOINT_DECAY` (so the picks cover the body parts the models struggle with).
With ``pose_clusters`` (``suggest`` uses N), the frames are first grouped by pose shape (k-means)
and picked round by round, at most one more per group and round: the most unsure frame of each
kind of pose, rather than N variants of one rare pose (on the example project, by score alone,
33 of 40 picks were the frames where one chronically hard keypoint, the tail tip, was least sure).

Numpy only (scikit-learn's k-means for the pose groups); videos are read through a callable, so
ranking saved predictions needs no decoder.
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SIGNAL_WEIGHTS: dict[str, float] = {"disagreement": 1.0, "posterior": 0.8, "pca": 0.7, "jump": 0.6, "likelihood": 0.5}
"""How much each signal counts (a multiplier of its robust z-score)."""
DEFAULT_MIN_GAP_FRAMES = 10
DUPLICATE_CORRELATION = 0.995
"""Two thumbnails correlating above this are the same picture (a still animal)."""
THUMBNAIL_PX = 32
KEYPOINT_DECAY = 0.85
"""Each earlier pick for the same keypoint multiplies a frame's score by this (so ten picks are not
all the same paw when another part is almost as unsure)."""


@dataclass
class VideoSignals:
    """The per-frame, per-keypoint signals of one video (``[T, K]`` arrays; None = not available).

    Attributes:
        video: The video.
        keypoint_names: K names.
        n_members: How many runs' predictions the signals come from.
        signals: Signal name -> ``[T, K]`` values (see the module docstring for units).
        pose_xy: ``[T, K, 2]`` the (ensemble mean) pose, for spreading the picks over poses; None = unknown.
    """

    video: Path
    keypoint_names: list[str]
    n_members: int
    signals: dict[str, np.ndarray] = field(default_factory=dict)
    pose_xy: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        """Frames of the video."""
        return int(next(iter(self.signals.values())).shape[0]) if self.signals else 0


@dataclass(frozen=True)
class Pick:
    """One frame suggested for labelling.

    Attributes:
        video: Its video.
        frame_idx: Its index in the video (0-based).
        score: Its ranking score: the largest weighted robust z-score, lowered by earlier picks
            of the same keypoint (see :data:`KEYPOINT_DECAY`).
        signal: The signal that gave the score.
        keypoint: The keypoint that gave it.
        value: The signal's raw value there (px, or the likelihood).
        reason: A sentence a user understands.
    """

    video: Path
    frame_idx: int
    score: float
    signal: str
    keypoint: str
    value: float
    reason: str


def jump_px(xy: np.ndarray) -> np.ndarray:
    """``[T, K]`` distance of each point to where it was in both neighbouring frames (the smaller of the two)."""
    step = np.linalg.norm(np.diff(xy, axis=0), axis=-1)  # [T-1, K]
    inf = np.full((1, xy.shape[1]), np.inf)
    back, forward = np.concatenate([inf, step]), np.concatenate([step, inf])
    out = np.minimum(back, forward)
    return np.where(np.isfinite(out), out, 0.0)


def video_signals(
    video: Path,
    keypoint_names: Sequence[str],
    member_preds: np.ndarray,
    posterior_var_px2: np.ndarray | None = None,
    pca_error_px: np.ndarray | None = None,
) -> VideoSignals:
    """The signals of one video from ``[M, T, K, 3]`` member predictions and what else is known.

    Args:
        video: The video.
        keypoint_names: K names.
        member_preds: Saved predictions of M >= 1 runs (x, y in video pixels, likelihood).
        posterior_var_px2: ``[T, K, 2]`` EKS posterior variance, if smoothed.
        pca_error_px: ``[T, K]`` PCA reprojection error of the ensemble mean (or single model).
    """
    n_members = int(member_preds.shape[0])
    xy = member_preds[..., :2]
    mean_xy = np.nanmean(xy, axis=0) if n_members > 1 else xy[0]
    signals: dict[str, np.ndarray] = {}
    if n_members > 1:
        signals["disagreement"] = np.nanmax(np.linalg.norm(xy - mean_xy[None], axis=-1), axis=0)
    if posterior_var_px2 is not None:
        signals["posterior"] = np.sqrt(np.clip(np.nansum(posterior_var_px2, axis=-1), 0.0, None))
    likelihood = np.nanmean(member_preds[..., 2], axis=0) if n_members > 1 else member_preds[0, ..., 2]
    if np.isfinite(likelihood).any():
        signals["likelihood"] = 1.0 - likelihood
    signals["jump"] = jump_px(mean_xy)
    if pca_error_px is not None:
        signals["pca"] = pca_error_px
    return VideoSignals(Path(video), list(keypoint_names), n_members, signals, pose_xy=mean_xy)


SCALE_FLOOR: dict[str, float] = {"likelihood": 0.02}
"""Smallest scale of a signal's z-score (px signals: 1 px), so a signal that is almost always 0
(a model whose points snap to the same heatmap cell) does not turn a one-cell step into a huge score."""
DEFAULT_SCALE_FLOOR_PX = 1.0


def _robust_scale(values: np.ndarray, floor: float) -> tuple[float, float]:
    """Median and spread of the finite values: the larger of the MAD and the 90th percentile's distance, at least ``floor``."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    median = float(np.median(finite))
    mad = float(np.median(np.abs(finite - median))) * 1.4826
    upper = (float(np.percentile(finite, 90)) - median) / 1.2816
    return median, max(mad, upper, floor)


def _keypoint_scales(values: Sequence[np.ndarray], signal: str) -> tuple[np.ndarray, np.ndarray]:
    """``[K]`` median and spread of one signal, each keypoint over its own frames of every video.

    Per keypoint, not pooled: a keypoint the models are unsure of on every frame (a thin tail tip)
    would otherwise win every frame's score, and the frames picked would be those where it is a
    little less sure than usual, not the frames that are unusual.
    """
    joined = np.concatenate(values, axis=0)  # [sum T, K]
    floor = SCALE_FLOOR.get(signal, DEFAULT_SCALE_FLOOR_PX)
    pairs = [_robust_scale(joined[:, k], floor) for k in range(joined.shape[1])]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


@dataclass
class FrameScores:
    """Per-frame scores of one video and what gave them."""

    video: Path
    score: np.ndarray  # [T]
    signal_idx: np.ndarray  # [T] index into ``signal_names``
    keypoint_idx: np.ndarray  # [T]
    value: np.ndarray  # [T] raw signal value
    signal_names: list[str]
    pose_xy: np.ndarray | None = None  # [T, K, 2]


def score_frames(videos: Sequence[VideoSignals], weights: Mapping[str, float] | None = None) -> list[FrameScores]:
    """Scores every frame of every video (robust z-scores shared across the videos).

    Returns:
        One :class:`FrameScores` per video, in order.
    """
    weights = dict(SIGNAL_WEIGHTS if weights is None else weights)
    names = [n for n in weights if any(n in v.signals for v in videos)]
    scales = {n: _keypoint_scales([v.signals[n] for v in videos if n in v.signals], n) for n in names}
    out = []
    for v in videos:
        z = np.full((len(names), v.n_frames, len(v.keypoint_names)), -np.inf)
        for i, n in enumerate(names):
            if n in v.signals:
                median, scale = scales[n]
                zi = weights[n] * (v.signals[n] - median[None]) / scale[None]
                z[i] = np.where(np.isfinite(zi), zi, -np.inf)
        flat = z.transpose(1, 0, 2).reshape(v.n_frames, -1)  # [T, S*K]
        best = np.argmax(flat, axis=1)
        signal_idx, keypoint_idx = np.divmod(best, len(v.keypoint_names))
        score = flat[np.arange(v.n_frames), best]
        raw = np.stack([v.signals.get(n, np.full(z.shape[1:], np.nan)) for n in names])  # [S, T, K]
        value = raw[signal_idx, np.arange(v.n_frames), keypoint_idx]
        out.append(FrameScores(v.video, score, signal_idx, keypoint_idx, value, names, v.pose_xy))
    return out


def reason_text(signal: str, keypoint: str, value: float, n_members: int) -> str:
    """The sentence that explains a pick."""
    if signal == "disagreement":
        return f"{n_members} models disagree by {value:.0f} px on {keypoint}"
    if signal == "posterior":
        return f"the smoother is unsure by ±{value:.1f} px on {keypoint}"
    if signal == "likelihood":
        return f"low confidence ({1.0 - value:.2f}) on {keypoint}"
    if signal == "jump":
        return f"{keypoint} jumps {value:.0f} px away from both neighbouring frames"
    if signal == "pca":
        return f"unusual pose: {keypoint} is {value:.0f} px from any pose in the labels (PCA)"
    return f"{signal} {value:.2f} on {keypoint}"


def _thumbnail_vector(image: np.ndarray) -> np.ndarray:
    """A zero-mean, unit-norm vector of a small greyscale thumbnail (for near-duplicate checks)."""
    grey = image.mean(axis=-1) if image.ndim == 3 else image.astype(np.float64)
    h, w = grey.shape
    rows = np.linspace(0, h - 1, THUMBNAIL_PX).astype(int)
    cols = np.linspace(0, w - 1, THUMBNAIL_PX).astype(int)
    small = grey[np.ix_(rows, cols)].astype(np.float64).ravel()
    small -= small.mean()
    norm = np.linalg.norm(small)
    return small / norm if norm > 0 else small


def pick_frames(
    scores: Sequence[FrameScores],
    n: int,
    labeled: Mapping[Path, set[int]] | None = None,
    *,
    min_gap_frames: int = DEFAULT_MIN_GAP_FRAMES,
    n_members: Mapping[Path, int] | None = None,
    keypoint_names: Sequence[str] = (),
    read_frame: Callable[[Path, int], np.ndarray | None] | None = None,
    duplicate_correlation: float = DUPLICATE_CORRELATION,
    pose_clusters: int | None = None,
) -> list[Pick]:
    """Greedy pick of up to ``n`` frames by score, spread in time and in appearance.

    Args:
        scores: Per-video scores (:func:`score_frames`).
        n: How many frames to pick.
        labeled: Per video, the frame indices already labelled (or queued).
        min_gap_frames: A pick is never within this many frames of a labelled or picked frame of
            the same video.
        n_members: Per video, how many runs predicted it (for the reasons).
        keypoint_names: Names for the reasons.
        read_frame: Returns a frame's image (or None when unreadable) for the near-duplicate
            check; None skips the check.
        duplicate_correlation: Thumbnails correlating above this are near-duplicates.
        pose_clusters: Group the frames into this many poses (k-means of the pose shape) and
            pick round by round: in each round at most one more frame per pose group, the best
            first. So the picks are the most unsure frames of different poses, not all variants
            of one rare pose. None (or poses unknown) = by score only.

    Returns:
        The picks, best first.
    """
    blocked = {Path(v): sorted(frames) for v, frames in (labeled or {}).items()}
    candidates = (
        np.concatenate([np.stack([np.full(len(s.score), i), np.arange(len(s.score))], 1) for i, s in enumerate(scores)])
        if scores
        else np.zeros((0, 2), int)
    )
    all_scores = np.concatenate([s.score for s in scores]) if scores else np.zeros(0)
    keypoint_of = np.concatenate([s.keypoint_idx for s in scores]) if scores else np.zeros(0, int)
    finite = np.flatnonzero(np.isfinite(all_scores))
    cluster_of = _pose_clusters(scores, pose_clusters) if pose_clusters and len(finite) else None
    heap = list(zip((-all_scores[finite]).tolist(), finite.tolist(), strict=True))
    heapq.heapify(heap)
    picks: list[Pick] = []
    taken: dict[Path, list[int]] = {}
    thumbs: list[np.ndarray] = []
    per_keypoint: dict[int, int] = {}
    per_cluster: dict[int, int] = {}
    deferred: list[tuple[float, int]] = []
    round_idx = 0
    while (heap or deferred) and len(picks) < n:
        if not heap:  # every pose group had its turn: next round
            heap, deferred, round_idx = deferred, [], round_idx + 1
            heapq.heapify(heap)
        neg_score, flat_idx = heapq.heappop(heap)
        adjusted = _diminished(float(all_scores[flat_idx]), per_keypoint.get(int(keypoint_of[flat_idx]), 0))
        if adjusted < -neg_score - 1e-12:  # its keypoint was picked since: queue it again, lower
            heapq.heappush(heap, (-adjusted, flat_idx))
            continue
        if cluster_of is not None and per_cluster.get(int(cluster_of[flat_idx]), 0) > round_idx:
            deferred.append((neg_score, flat_idx))  # its pose group had its pick this round
            continue
        video_i, frame_idx = (int(x) for x in candidates[flat_idx])
        s = scores[video_i]
        near = blocked.get(s.video, []) + taken.get(s.video, [])
        if any(abs(frame_idx - other) <= min_gap_frames for other in near):
            continue
        if read_frame is not None:
            image = read_frame(s.video, frame_idx)
            if image is not None:
                vec = _thumbnail_vector(image)
                if any(float(vec @ t) > duplicate_correlation for t in thumbs):
                    continue
                thumbs.append(vec)
        signal = s.signal_names[int(s.signal_idx[frame_idx])]
        k = int(s.keypoint_idx[frame_idx])
        name = keypoint_names[k] if k < len(keypoint_names) else f"keypoint {k}"
        value = float(s.value[frame_idx])
        members = (n_members or {}).get(s.video, 1)
        picks.append(
            Pick(
                s.video,
                frame_idx,
                adjusted,
                signal,
                name,
                value,
                reason_text(signal, name, value, members),
            )
        )
        taken.setdefault(s.video, []).append(frame_idx)
        per_keypoint[k] = per_keypoint.get(k, 0) + 1
        if cluster_of is not None:
            per_cluster[int(cluster_of[flat_idx])] = per_cluster.get(int(cluster_of[flat_idx]), 0) + 1
    return picks


POSE_FIT_FRAMES = 5000
"""k-means of the poses is fitted on at most this many frames (then every frame gets its nearest centre)."""


def _pose_clusters(scores: Sequence[FrameScores], n_clusters: int) -> np.ndarray | None:
    """Per frame of all videos (in order), its pose group: k-means of the pose shape (position removed).

    None when a video's poses are unknown.
    """
    if any(s.pose_xy is None for s in scores):
        return None
    poses = np.concatenate([np.asarray(s.pose_xy, dtype=np.float64) for s in scores])  # [N, K, 2]
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shape = poses - np.nanmean(poses, axis=1, keepdims=True)  # the pose, wherever the animal is
        flat = shape.reshape(len(shape), -1)
        column_mean = np.nanmean(flat, axis=0)
    flat = np.where(np.isfinite(flat), flat, np.nan_to_num(column_mean)[None])
    n_clusters = max(1, min(int(n_clusters), len(flat)))
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    sample = flat[rng.choice(len(flat), POSE_FIT_FRAMES, replace=False)] if len(flat) > POSE_FIT_FRAMES else flat
    kmeans = KMeans(n_clusters=min(n_clusters, len(np.unique(sample, axis=0))), n_init=1, random_state=0).fit(sample)
    return np.asarray(kmeans.predict(flat))


def _diminished(score: float, n_picked: int) -> float:
    """A frame's score after ``n_picked`` earlier picks were for the same keypoint (spreads the picks over body parts)."""
    return score * KEYPOINT_DECAY**n_picked if score > 0 else score
