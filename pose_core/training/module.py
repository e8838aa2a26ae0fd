"""The LightningModule: training and validation steps, logging keys, optimiser and scheduler.

Logged scalars use Lightning Pose's names (``train_supervised_loss``, ``val_supervised_loss``,
``train_supervised_rmse``, ``val_supervised_rmse``, ``total_loss``). RMSE is in **original frame
pixels** (Lightning Pose reports it in resized pixels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from pose_core.data.codec import HeatmapCodec
from pose_core.errors import RunError
from pose_core.losses import get_heatmap_loss, get_unsupervised_loss, regression_loss, rmse_px
from pose_core.models.pose_model import PoseModel


def auto_milestones(max_epochs: int) -> list[int]:
    """Learning-rate milestones at 50% and 75% of training (used when none are configured)."""
    out = sorted({m for m in (round(0.5 * max_epochs), round(0.75 * max_epochs)) if 0 < m < max_epochs})
    return out


class PoseLightningModule(pl.LightningModule):
    """Trains a :class:`PoseModel` on labelled frames.

    Every argument is saved in the checkpoint's hyperparameters, so a checkpoint alone rebuilds
    the model (keypoint names, input size, backbone...).

    Args:
        keypoint_names: Names in label order.
        backbone: Registered backbone name.
        input_hw: Network input ``(height, width)``.
        model_type: ``heatmap`` or ``regression``.
        downsample_factor: Heatmap stride exponent.
        heatmap_loss_type: ``mse``, ``kl`` or ``js``.
        pretrained: Start the backbone from ImageNet weights.
        weights_path: Backbone weights file.
        optimizer: ``Adam`` or ``AdamW``.
        learning_rate: Initial learning rate.
        lr_scheduler: ``multisteplr`` or ``none``.
        milestones: Epochs of the learning-rate drops (None = automatic).
        gamma: Learning-rate factor at each milestone.
        max_epochs: Planned epochs (for automatic milestones).
        uniform_heatmaps_for_nan_keypoints: Train unlabelled keypoints towards flat heatmaps.
        unsupervised: Unsupervised losses on unlabelled clips, built by
            :func:`pose_core.training.run.unsupervised_spec`: ``{"losses": {name: params with
            "weight"}, "anneal": callbacks.anneal_weight}``; None = supervised only.
    """

    def __init__(
        self,
        keypoint_names: list[str],
        backbone: str = "resnet18",
        input_hw: tuple[int, int] = (128, 128),
        model_type: str = "heatmap",
        downsample_factor: int = 2,
        heatmap_loss_type: str = "mse",
        pretrained: bool = False,
        weights_path: str | None = None,
        optimizer: str = "Adam",
        learning_rate: float = 1e-3,
        lr_scheduler: str = "multisteplr",
        milestones: list[int] | None = None,
        gamma: float = 0.5,
        max_epochs: int = 20,
        uniform_heatmaps_for_nan_keypoints: bool = True,
        unsupervised: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.keypoint_names = list(keypoint_names)
        self.codec = HeatmapCodec(tuple(input_hw), downsample_factor)  # type: ignore[arg-type]
        self.model = PoseModel(backbone, len(keypoint_names), self.codec, model_type, pretrained, weights_path)
        self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.heatmap_loss = get_heatmap_loss(heatmap_loss_type) if model_type == "heatmap" else None

    @property
    def backbone(self) -> nn.Module:
        """The backbone (Lightning's BackboneFinetuning callback freezes and unfreezes it)."""
        return self.model.backbone

    def forward(self, images: Tensor) -> Tensor:
        """Raw network output for ImageNet-normalised images ``[B, 3, H, W]``."""
        out: Tensor = self.model(images.contiguous(memory_format=torch.channels_last))
        return out

    def _loss_on_output(self, output: Tensor, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Supervised loss, predicted input-pixel keypoints and RMSE in frame pixels."""
        keypoints = batch["keypoints"]
        if self.heatmap_loss is not None:
            targets, mask = self.codec.encode(keypoints, bool(self.hparams["uniform_heatmaps_for_nan_keypoints"]))
            loss = self.heatmap_loss(output, targets, mask)
        else:
            xy_pred, _ = self.model.decode(output)
            loss = regression_loss(xy_pred, keypoints)
        with torch.no_grad():
            xy, _ = self.model.decode(output.detach())
            rmse = rmse_px(xy, keypoints, self._frame_scale(batch))
        return loss, xy, rmse

    def supervised_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Loss, predicted input-pixel keypoints and RMSE in frame pixels for a labelled batch."""
        return self._loss_on_output(self(batch["image"]), batch)

    def _frame_scale(self, batch: dict[str, Tensor]) -> Tensor:
        """Per-item factors ``[B, 2]`` from input pixels to original frame pixels."""
        h, w = self.codec.input_hw
        orig = batch["orig_hw"].to(torch.float32)
        return torch.stack([orig[:, 1] / w, orig[:, 0] / h], dim=-1)

    def to_frame_px(self, xy_input: Tensor, orig_hw: Tensor) -> Tensor:
        """Input-pixel keypoints ``[..., 2]`` to frame pixels of a frame of size ``orig_hw`` (h, w)."""
        h, w = self.codec.input_hw
        scale = torch.stack([orig_hw[1].to(xy_input.dtype) / w, orig_hw[0].to(xy_input.dtype) / h])
        return (xy_input + 0.5) * scale - 0.5

    def unsupervised_importance(self) -> float:
        """Weight ramp of the unsupervised losses (``callbacks.anneal_weight``) at this epoch."""
        spec = self.hparams.get("unsupervised") or {}
        a = spec.get("anneal", {})
        start = int(a.get("freeze_until_epoch", 0))
        init = float(a.get("init_val", 0.0))
        if self.current_epoch < start:
            return init
        return min(
            float(a.get("final_val", 1.0)),
            init + float(a.get("increase_factor", 0.0)) * (self.current_epoch - start + 1),
        )

    def unsupervised_losses(self, output: Tensor, clip: dict[str, Tensor]) -> dict[str, Tensor]:
        """Raw unsupervised losses of one clip's network output (keypoints in frame pixels)."""
        xy_input, likelihood = self.model.decode(output)
        xy_px = self.to_frame_px(xy_input, clip["orig_hw"])
        out = {}
        for name, params in (self.hparams.get("unsupervised") or {}).get("losses", {}).items():
            kwargs = {k: v for k, v in params.items() if k != "weight"}
            for key in ("epsilon_px", "mean", "components"):
                if isinstance(kwargs.get(key), list):
                    kwargs[key] = torch.as_tensor(kwargs[key], dtype=xy_px.dtype, device=xy_px.device)
            out[name] = get_unsupervised_loss(name)(xy_px, likelihood, **kwargs)
        return out

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        """One optimisation step on a labelled batch (and an unlabelled clip when configured)."""
        labeled = batch.get("labeled", batch)
        clip = batch.get("unlabeled")
        n = labeled["image"].shape[0]
        if clip is None:
            loss, _, rmse = self.supervised_loss(labeled)
            unsup: dict[str, Tensor] = {}
        else:
            output = self(torch.cat([labeled["image"], clip["image"]]))
            loss, _, rmse = self._loss_on_output(output[:n], labeled)
            unsup = self.unsupervised_losses(output[n:], clip)
        metrics = {"train_supervised_loss": loss.detach(), "train_supervised_rmse": rmse}
        total = loss
        if unsup:
            importance = self.unsupervised_importance()
            metrics["total_unsupervised_importance"] = torch.tensor(importance)
            for name, raw in unsup.items():
                weighted = float(self.hparams["unsupervised"]["losses"][name]["weight"]) * importance * raw
                total = total + weighted
                metrics[f"train_{name}_loss"] = raw.detach()
                metrics[f"train_{name}_loss_weighted"] = weighted.detach()
        metrics["total_loss"] = total.detach()
        for key, value in metrics.items():
            self.log(key, value, batch_size=n)
        return {"loss": total, "metrics": {k: float(v) for k, v in metrics.items()}, "batch_size": n}

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        """Validation loss and RMSE, averaged over the epoch."""
        loss, _, rmse = self.supervised_loss(batch)
        n = batch["image"].shape[0]
        # sync_dist: with DDP each process validates a share of the frames; the logged value is their mean
        self.log("val_supervised_loss", loss, on_epoch=True, batch_size=n, prog_bar=True, sync_dist=True)
        self.log("val_supervised_rmse", rmse, on_epoch=True, batch_size=n, sync_dist=True)

    def configure_optimizers(self) -> Any:
        """Adam/AdamW over trainable parameters, with an optional multi-step schedule."""
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        opt_cls = torch.optim.AdamW if hp["optimizer"] == "AdamW" else torch.optim.Adam
        optimizer = opt_cls(params, lr=float(hp["learning_rate"]))
        if hp["lr_scheduler"] != "multisteplr":
            return optimizer
        milestones = list(hp["milestones"]) if hp["milestones"] else auto_milestones(int(hp["max_epochs"]))
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=float(hp["gamma"]))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


def load_module(checkpoint: Path, map_location: str | torch.device = "cpu") -> PoseLightningModule:
    """Loads a trained module from a checkpoint, without needing any pretrained-weights file.

    Raises:
        RunError: The file is missing or is not a PoseDesk checkpoint.
    """
    if not checkpoint.is_file():
        raise RunError(f"Checkpoint {checkpoint} does not exist: train a model first or give another --checkpoint.")
    try:
        module = PoseLightningModule.load_from_checkpoint(str(checkpoint), map_location=map_location, pretrained=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise RunError(
            f"{checkpoint} is not a readable PoseDesk checkpoint ({type(exc).__name__}: {exc}); give a .ckpt written by pose-train."
        ) from exc
    module.eval()
    return module
