"""Loss registry: supervised heatmap losses (mse, kl, js) and the regression loss.

Each heatmap loss takes predicted logits, target heatmaps (each summing to 1) and a mask of the
keypoints that count, and returns a scalar averaged over the counted keypoints. Unsupervised
losses (temporal, PCA) register here too.

The registries are the one list of loss names: config validation and the config form ask them.
Importing this module does not import torch (the GUI validates configs as you type): the losses
use tensor methods, and torch itself only where a function needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pose_core.registry import Registry

if TYPE_CHECKING:
    from torch import Tensor

HeatmapLoss = Callable[["Tensor", "Tensor", "Tensor"], "Tensor"]
HEATMAP_LOSSES: Registry[HeatmapLoss] = Registry("heatmap loss", "model.heatmap_loss_type")
register_heatmap_loss = HEATMAP_LOSSES.register
get_heatmap_loss = HEATMAP_LOSSES.get
known_heatmap_losses = HEATMAP_LOSSES.names


def _masked_mean(per_keypoint: Tensor, mask: Tensor) -> Tensor:
    weights = mask.to(per_keypoint.dtype)
    return (per_keypoint * weights).sum() / weights.sum().clamp_min(1.0)


def _log_probs(logits: Tensor) -> Tensor:
    b, k, h, w = logits.shape
    return logits.reshape(b, k, h * w).float().log_softmax(dim=-1).reshape(b, k, h, w)


@register_heatmap_loss("mse")
def heatmap_mse(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Squared error between the spatial softmax and the target, summed over pixels.

    Scaled by the number of heatmap pixels so values are O(1) whatever the heatmap size.
    """
    probs = _log_probs(logits).exp()
    h, w = logits.shape[-2:]
    per_kp = ((probs - targets) ** 2).sum(dim=(-2, -1)) * (h * w)
    return _masked_mean(per_kp, mask)


@register_heatmap_loss("kl")
def heatmap_kl(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """KL(target || prediction) per keypoint."""
    logp = _log_probs(logits)
    per_kp = (targets * (targets.clamp_min(1e-12).log() - logp)).sum(dim=(-2, -1))
    return _masked_mean(per_kp, mask)


@register_heatmap_loss("js")
def heatmap_js(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Jensen-Shannon divergence between target and prediction per keypoint."""
    p = _log_probs(logits).exp()
    m = 0.5 * (p + targets)
    log_m = m.clamp_min(1e-12).log()
    kl_pm = (p * (p.clamp_min(1e-12).log() - log_m)).sum(dim=(-2, -1))
    kl_tm = (targets * (targets.clamp_min(1e-12).log() - log_m)).sum(dim=(-2, -1))
    return _masked_mean(0.5 * (kl_pm + kl_tm), mask)


def regression_loss(pred_xy: Tensor, true_xy: Tensor) -> Tensor:
    """Mean squared pixel error over labelled keypoints (NaN labels ignored)."""
    mask = true_xy.isfinite().all(dim=-1)
    diff = (pred_xy - true_xy.nan_to_num()) ** 2
    return _masked_mean(diff.sum(dim=-1), mask)


def rmse_px(pred_xy: Tensor, true_xy: Tensor, scale_xy: Tensor | None = None) -> Tensor:
    """Root mean squared Euclidean error over labelled keypoints.

    Args:
        pred_xy: ``[B, K, 2]`` predictions.
        true_xy: ``[B, K, 2]`` labels, NaN where unlabelled.
        scale_xy: ``[B, 2]`` factors taking both to original frame pixels (optional).
    """
    diff = pred_xy - true_xy
    if scale_xy is not None:
        diff = diff * scale_xy[:, None, :]
    sq = (diff**2).sum(dim=-1)
    mask = sq.isfinite()
    if not bool(mask.any()):
        import torch

        return torch.tensor(float("nan"))
    return sq[mask].mean().sqrt()


# ---- Unsupervised losses on unlabelled clips (keypoints in frame pixels) -----------------------

UnsupervisedLoss = Callable[..., "Tensor"]
UNSUPERVISED_LOSSES: Registry[UnsupervisedLoss] = Registry("unsupervised loss", "model.losses_to_use")
register_unsupervised_loss = UNSUPERVISED_LOSSES.register
get_unsupervised_loss = UNSUPERVISED_LOSSES.get
known_unsupervised_losses = UNSUPERVISED_LOSSES.names


@register_unsupervised_loss("temporal")
def temporal_loss(xy_px: Tensor, likelihood: Tensor, *, epsilon_px: Tensor, prob_threshold: float) -> Tensor:
    """Frame-to-frame jumps beyond ``epsilon_px`` (per keypoint), ignoring low-confidence frames.

    Args:
        xy_px: ``[T, K, 2]`` keypoints of consecutive frames, in frame pixels.
        likelihood: ``[T, K]`` confidences.
        epsilon_px: ``[K]`` (or scalar) movement that costs nothing.
        prob_threshold: Pairs with a confidence below this are ignored.
    """
    jump = (xy_px[1:] - xy_px[:-1]).norm(dim=-1)
    valid = (likelihood[1:] >= prob_threshold) & (likelihood[:-1] >= prob_threshold)
    return _masked_mean((jump - epsilon_px).clamp_min(0.0), valid)


def pca_observations(xy_px: Tensor, kind: str, groups: list[list[int]]) -> Tensor:
    """Torch twin of :meth:`pose_core.pca.PosePCA.observations`."""
    if kind == "singleview":
        return xy_px[:, groups[0], :].reshape(xy_px.shape[0], -1)
    import torch

    views = torch.stack([xy_px[:, g, :] for g in groups], dim=2)
    return views.reshape(-1, views.shape[2] * 2)


@register_unsupervised_loss("pca_multiview")
@register_unsupervised_loss("pca_singleview")  # decorators apply bottom-up: singleview is listed first
def pca_loss(
    xy_px: Tensor,
    likelihood: Tensor,
    *,
    kind: str,
    groups: list[list[int]],
    mean: Tensor,
    components: Tensor,
    epsilon_px: float,
) -> Tensor:
    """Distance of each keypoint to its projection onto the kept PCA components, beyond epsilon.

    Args:
        xy_px: ``[T, K, 2]`` keypoints in frame pixels.
        likelihood: Unused (same signature as the other unsupervised losses).
        kind: ``singleview`` or ``multiview``.
        groups: Keypoint groups (see :class:`pose_core.pca.PosePCA`).
        mean: ``[D]`` observation mean.
        components: ``[C, D]`` kept axes.
        epsilon_px: Error that costs nothing.
    """
    obs = pca_observations(xy_px, kind, groups)
    recon = (obs - mean) @ components.T @ components + mean
    error = (obs - recon).reshape(obs.shape[0], -1, 2).norm(dim=-1)
    return (error - epsilon_px).clamp_min(0.0).mean()
