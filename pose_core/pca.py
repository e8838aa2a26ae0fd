"""Pose PCA: low-dimensional models of plausible poses, fitted on labels, used as losses and errors.

Two arrangements of the keypoints ``xy [N, K, 2]`` (frame pixels) into observations:

- **single-view** (``pca_singleview``): one observation per frame, the concatenated ``x, y`` of the
  chosen keypoints (``2·K'`` dimensions); frames with any of them unlabelled are left out of the fit.
- **multiview** (``pca_multiview``): one observation per body part per frame, the ``x, y`` of that
  part in every view (``2·V`` dimensions, 3 components: a 3-D point seen by ``V`` cameras).

The fit and its use happen in the same coordinate space (original frame pixels), unlike Lightning
Pose, which fits on resized labels and applies the result to frame pixels. The reprojection error of
a keypoint is the distance between its position and its projection onto the kept components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_core.errors import ConfigError

EPSILON_PERCENTILE = 99.0


@dataclass
class PosePCA:
    """A fitted PCA over keypoint observations.

    Attributes:
        kind: ``singleview`` or ``multiview``.
        keypoint_groups: For single-view, one group: the keypoint indices in observation order.
            For multiview, one list per view of matched keypoint indices.
        mean: ``[D]`` observation mean.
        components: ``[C, D]`` kept principal axes (orthonormal rows).
        explained_variance_ratio: ``[C]`` fraction of variance of each kept axis.
        epsilon_px: Error below which the loss is zero (the labels' own 99th percentile, or given).
        n_fit: Observations used in the fit.
    """

    kind: str
    keypoint_groups: list[list[int]]
    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray
    epsilon_px: float
    n_fit: int

    def observations(self, xy: np.ndarray) -> np.ndarray:
        """Arranges ``xy [N, K, 2]`` into observations ``[M, D]`` (see the module docstring)."""
        if self.kind == "singleview":
            cols = self.keypoint_groups[0]
            return xy[:, cols, :].reshape(len(xy), -1)
        views = np.stack([xy[:, g, :] for g in self.keypoint_groups], axis=2)  # [N, P, V, 2]
        return views.reshape(-1, views.shape[2] * 2)

    def reconstruct(self, obs: np.ndarray) -> np.ndarray:
        """Projects observations onto the kept components and back."""
        centred = obs - self.mean
        return centred @ self.components.T @ self.components + self.mean

    def keypoint_error_px(self, xy: np.ndarray) -> np.ndarray:
        """Per-keypoint reprojection error ``[N, K]`` in pixels; NaN for keypoints not modelled."""
        n, k = xy.shape[:2]
        obs = self.observations(xy)
        err_obs = np.linalg.norm((obs - self.reconstruct(obs)).reshape(len(obs), -1, 2), axis=-1)
        out = np.full((n, k), np.nan)
        if self.kind == "singleview":
            out[:, self.keypoint_groups[0]] = err_obs
        else:
            per = err_obs.reshape(n, -1, len(self.keypoint_groups))  # [N, P, V]
            for v, group in enumerate(self.keypoint_groups):
                out[:, group] = per[:, :, v]
        return out

    def save(self, path: Path) -> None:
        """Writes the fit to an ``.npz`` file."""
        np.savez(
            path, kind=self.kind, groups=np.array(self.keypoint_groups, dtype=np.int64), mean=self.mean,
            components=self.components, ratio=self.explained_variance_ratio, epsilon_px=self.epsilon_px,
            n_fit=self.n_fit,
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> PosePCA:
        """Reads a fit written by :meth:`save`."""
        with np.load(path) as data:
            return cls(
                kind=str(data["kind"]), keypoint_groups=[list(map(int, g)) for g in data["groups"]],
                mean=data["mean"], components=data["components"], explained_variance_ratio=data["ratio"],
                epsilon_px=float(data["epsilon_px"]), n_fit=int(data["n_fit"]),
            )  # fmt: skip


def _n_components(ratio: np.ndarray, components_to_keep: float | int, key: str) -> int:
    if isinstance(components_to_keep, bool) or not isinstance(components_to_keep, int | float):
        raise ConfigError(f"{key}={components_to_keep!r} must be a fraction in (0, 1] or a whole number >= 1.", key=key)
    if isinstance(components_to_keep, int) and components_to_keep >= 1:
        if components_to_keep > len(ratio):
            raise ConfigError(f"{key}={components_to_keep} but the observations have only {len(ratio)} dimensions; keep at most {len(ratio)}.", key=key)  # fmt: skip
        return components_to_keep
    if not 0.0 < float(components_to_keep) <= 1.0:
        raise ConfigError(f"{key}={components_to_keep} must be a fraction in (0, 1] or a whole number >= 1.", key=key)
    cumulative = np.cumsum(ratio)
    return min(len(ratio), int(np.searchsorted(cumulative, float(components_to_keep) - 1e-12)) + 1)


def fit_pca(
    xy: np.ndarray,
    kind: str,
    keypoint_groups: Sequence[Sequence[int]],
    components_to_keep: float | int,
    epsilon_px: float | None = None,
) -> PosePCA:
    """Fits a PCA on labelled keypoints (NaN-aware: incomplete observations are left out).

    Args:
        xy: ``[N, K, 2]`` labels in frame pixels (training split).
        kind: ``singleview`` or ``multiview``.
        keypoint_groups: See :class:`PosePCA`.
        components_to_keep: Fraction of explained variance in (0, 1], or a count.
        epsilon_px: Error tolerance; None = the 99th percentile of the labels' own errors.

    Returns:
        The fitted PCA.

    Raises:
        ConfigError: Fewer complete observations than dimensions, or a bad components_to_keep.
    """
    key = f"losses.pca_{kind}.components_to_keep"
    groups = [list(map(int, g)) for g in keypoint_groups]
    _check_groups(kind, groups, int(np.shape(xy)[1]))
    shell = PosePCA(kind, groups, np.zeros(0), np.zeros((0, 0)), np.zeros(0), 0.0, 0)
    obs = shell.observations(np.asarray(xy, dtype=np.float64))
    obs = obs[np.isfinite(obs).all(axis=1)]
    dims = obs.shape[1]
    if len(obs) < dims:
        what = "labelled training frames with all these keypoints" if kind == "singleview" else "fully labelled (frame, body part) pairs"  # fmt: skip
        fix = "label more frames or use fewer keypoints (data.columns_for_singleview_pca)" if kind == "singleview" else "label more frames"  # fmt: skip
        raise ConfigError(f"pca_{kind} needs at least {dims} {what} but there are {len(obs)}; {fix}, or drop pca_{kind} from model.losses_to_use.", key=key)  # fmt: skip
    mean = obs.mean(axis=0)
    _, singular, vt = np.linalg.svd(obs - mean, full_matrices=False)
    variance = singular**2
    ratio = variance / max(variance.sum(), 1e-12)
    n_keep = _n_components(ratio, components_to_keep, key)
    pca = PosePCA(kind, groups, mean, vt[:n_keep], ratio[:n_keep], 0.0, len(obs))
    if epsilon_px is None:
        errors = pca.keypoint_error_px(np.asarray(xy, dtype=np.float64))
        finite = errors[np.isfinite(errors)]
        epsilon_px = float(np.percentile(finite, EPSILON_PERCENTILE)) if finite.size else 0.0
    pca.epsilon_px = float(epsilon_px)
    return pca


def _check_groups(kind: str, groups: list[list[int]], n_keypoints: int) -> None:
    """Refuse keypoint indices the labels do not have (they would index past the data).

    Raises:
        ConfigError: Names the config key, the bad indices and the valid range.
    """
    key = "data.columns_for_singleview_pca" if kind == "singleview" else "data.mirrored_column_matches"
    bad = sorted({i for g in groups for i in g if not 0 <= i < n_keypoints})
    if bad:
        raise ConfigError(
            f"{key} has keypoint indices {bad} but the labels have {n_keypoints} keypoints (0..{n_keypoints - 1}); "
            f"fix {key} (or leave it empty).",
            key=key,
        )
    if kind == "multiview" and len({len(g) for g in groups}) > 1:
        raise ConfigError(
            f"{key} lists have unequal lengths {[len(g) for g in groups]}; every view must list the same body parts.",
            key=key,
        )


def singleview_groups(num_keypoints: int, columns: Sequence[int] | None) -> list[list[int]]:
    """Keypoint groups of the single-view PCA (all keypoints when ``columns`` is None)."""
    return [list(columns) if columns is not None else list(range(num_keypoints))]
