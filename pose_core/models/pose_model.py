"""PoseModel: backbone + head, pure torch; predicts keypoints in network-input pixels."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pose_core.data.codec import HeatmapCodec
from pose_core.models.backbones import build_backbone
from pose_core.models.heads import HeatmapHead, RegressionHead


class PoseModel(nn.Module):
    """A keypoint network.

    Args:
        backbone: Registered backbone name.
        num_keypoints: Number of keypoints.
        codec: The heatmap codec (input size and heatmap stride).
        model_type: ``heatmap`` or ``regression``.
        pretrained: Load ImageNet weights into the backbone.
        weights_path: Backbone weights file (see :func:`build_backbone`).
    """

    def __init__(
        self,
        backbone: str,
        num_keypoints: int,
        codec: HeatmapCodec,
        model_type: str = "heatmap",
        pretrained: bool = False,
        weights_path: str | None = None,
    ) -> None:
        super().__init__()
        self.codec = codec
        self.model_type = model_type
        self.num_keypoints = num_keypoints
        self.backbone, channels = build_backbone(backbone, pretrained, weights_path)
        self.head: nn.Module
        if model_type == "heatmap":
            self.head = HeatmapHead(channels, num_keypoints, codec.downsample_factor)
        else:
            self.head = RegressionHead(channels, num_keypoints)

    def forward(self, images: Tensor) -> Tensor:
        """Heatmap logits ``[B, K, h, w]`` (heatmap model) or relative coordinates ``[B, K, 2]``."""
        out: Tensor = self.head(self.backbone(images))
        return out

    def decode(self, output: Tensor) -> tuple[Tensor, Tensor]:
        """Keypoints from :meth:`forward`'s output.

        Returns:
            ``(xy_input [B, K, 2]`` in input pixels, ``likelihood [B, K]``); a regression model
            has no confidence and reports a likelihood of 1.
        """
        if self.model_type == "heatmap":
            xy, likelihood, _ = self.codec.decode(output)
            return xy, likelihood
        h, w = self.codec.input_hw
        scale = torch.tensor([w, h], dtype=output.dtype, device=output.device)
        xy = output * scale - 0.5
        return xy, torch.ones(output.shape[:2], dtype=output.dtype, device=output.device)

    @torch.inference_mode()
    def predict(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Forward + decode without gradients; see :meth:`decode`."""
        return self.decode(self(images))
