"""Loss registry: supervised heatmap losses (mse, kl, js) and the regression loss.

Each heatmap loss takes predicted logits, target heatmaps (each summing to 1) and a mask of the
keypoints that count, and returns a scalar averaged over the counted keypoints. Unsupervised
losses (temporal, PCA) register here too.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from pose_core.errors import ConfigError

HeatmapLoss = Callable[[Tensor, Tensor, Tensor], Tensor]
_HEATMAP_LOSSES: dict[str, HeatmapLoss] = {}


def register_heatmap_loss(name: str) -> Callable[[HeatmapLoss], HeatmapLoss]:
    """Decorator adding a heatmap loss to the registry.

    Raises:
        ValueError: The name is already registered.
    """

    def add(fn: HeatmapLoss) -> HeatmapLoss:
        if name in _HEATMAP_LOSSES:
            raise ValueError(f"heatmap loss {name!r} is already registered")
        _HEATMAP_LOSSES[name] = fn
        return fn

    return add


def get_heatmap_loss(name: str) -> HeatmapLoss:
    """The registered heatmap loss of that name.

    Raises:
        ConfigError: Unknown name (lists the known ones).
    """
    try:
        return _HEATMAP_LOSSES[name]
    except KeyError:
        raise ConfigError(
            f"model.heatmap_loss_type={name!r} is unknown; choose one of {', '.join(_HEATMAP_LOSSES)}.",
            key="model.heatmap_loss_type",
        ) from None


def known_heatmap_losses() -> list[str]:
    """Registered heatmap loss names."""
    return list(_HEATMAP_LOSSES)


def _masked_mean(per_keypoint: Tensor, mask: Tensor) -> Tensor:
    weights = mask.to(per_keypoint.dtype)
    return (per_keypoint * weights).sum() / weights.sum().clamp_min(1.0)


def _log_probs(logits: Tensor) -> Tensor:
    b, k, h, w = logits.shape
    return F.log_softmax(logits.reshape(b, k, h * w).float(), dim=-1).reshape(b, k, h, w)


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
    per_kp = (targets * (torch.log(targets.clamp_min(1e-12)) - logp)).sum(dim=(-2, -1))
    return _masked_mean(per_kp, mask)


@register_heatmap_loss("js")
def heatmap_js(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Jensen-Shannon divergence between target and prediction per keypoint."""
    p = _log_probs(logits).exp()
    m = 0.5 * (p + targets)
    log_m = torch.log(m.clamp_min(1e-12))
    kl_pm = (p * (torch.log(p.clamp_min(1e-12)) - log_m)).sum(dim=(-2, -1))
    kl_tm = (targets * (torch.log(targets.clamp_min(1e-12)) - log_m)).sum(dim=(-2, -1))
    return _masked_mean(0.5 * (kl_pm + kl_tm), mask)


def regression_loss(pred_xy: Tensor, true_xy: Tensor) -> Tensor:
    """Mean squared pixel error over labelled keypoints (NaN labels ignored)."""
    mask = torch.isfinite(true_xy).all(dim=-1)
    diff = (pred_xy - torch.nan_to_num(true_xy)) ** 2
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
    mask = torch.isfinite(sq)
    if not bool(mask.any()):
        return torch.tensor(float("nan"))
    return sq[mask].mean().sqrt()
