"""Heads: from backbone features to keypoint heatmaps or coordinates."""

from __future__ import annotations

from torch import Tensor, nn


class HeatmapHead(nn.Module):
    """Upsamples stride-32 features to heatmaps at stride ``2**downsample_factor``.

    A pixel shuffle (x2) followed by transposed convolutions (x2 each), as in Lightning Pose.

    Args:
        in_channels: Backbone channels (divisible by 4).
        num_keypoints: Heatmaps to output.
        downsample_factor: Output stride is ``2**downsample_factor`` (1..4).
    """

    def __init__(self, in_channels: int, num_keypoints: int, downsample_factor: int = 2) -> None:
        super().__init__()
        n_up = 5 - downsample_factor
        layers: list[nn.Module] = [nn.PixelShuffle(2)]
        channels = in_channels // 4
        for _ in range(n_up - 1):
            conv = nn.ConvTranspose2d(channels, num_keypoints, kernel_size=3, stride=2, padding=1, output_padding=1)
            nn.init.xavier_uniform_(conv.weight, gain=1.0)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
            layers.append(conv)
            channels = num_keypoints
        if n_up == 1:
            final = nn.Conv2d(channels, num_keypoints, kernel_size=1)
            layers.append(final)
        self.layers = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> Tensor:
        """``[B, C, H/32, W/32]`` -> heatmap logits ``[B, K, H/s, W/s]``."""
        out: Tensor = self.layers(features)
        return out


class RegressionHead(nn.Module):
    """Global-average-pooled features -> coordinates in 0..1 of the input size.

    Args:
        in_channels: Backbone channels.
        num_keypoints: Keypoints to output.
    """

    def __init__(self, in_channels: int, num_keypoints: int) -> None:
        super().__init__()
        self.num_keypoints = num_keypoints
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(in_channels, 2 * num_keypoints)

    def forward(self, features: Tensor) -> Tensor:
        """``[B, C, h, w]`` -> ``[B, K, 2]`` relative coordinates (x/W, y/H)."""
        pooled = self.pool(features).flatten(1)
        out: Tensor = self.linear(pooled).view(-1, self.num_keypoints, 2)
        return out
