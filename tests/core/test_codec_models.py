"""Heatmap codec, loss and backbone registries, and the model's shapes."""

from __future__ import annotations

import math

import pytest
import torch

from pose_core.data.codec import HeatmapCodec
from pose_core.errors import ConfigError
from pose_core.losses import get_heatmap_loss, known_heatmap_losses, register_heatmap_loss
from pose_core.models.backbones import (
    BackboneSpec,
    build_backbone,
    get_backbone_spec,
    known_backbones,
    register_backbone,
)
from pose_core.models.pose_model import PoseModel


def test_encode_decode_roundtrip_is_subpixel() -> None:
    codec = HeatmapCodec((128, 96), downsample_factor=2)
    xy = torch.tensor([[[10.3, 20.7], [60.0, 100.25], [50.6, 33.9]]])
    targets, mask = codec.encode(xy)
    assert targets.shape == (1, 3, 32, 24)
    assert torch.allclose(targets.sum(dim=(-2, -1)), torch.ones(1, 3))
    decoded, likelihood, _ = codec.decode(torch.log(targets.clamp_min(1e-30)))
    assert (decoded - xy).abs().max() < 0.2
    assert (likelihood > 0.95).all()  # a confident heatmap reaches a likelihood near 1
    assert mask.all()


def test_unlabelled_keypoints_get_flat_targets_or_are_masked() -> None:
    codec = HeatmapCodec((64, 64))
    xy = torch.tensor([[[10.0, 10.0], [math.nan, math.nan]]])
    targets, mask = codec.encode(xy, uniform_for_nan=True)
    assert torch.allclose(targets[0, 1], torch.full((16, 16), 1 / 256))
    assert mask.tolist() == [[True, True]]
    _, mask = codec.encode(xy, uniform_for_nan=False)
    assert mask.tolist() == [[True, False]]


def test_flat_heatmap_has_low_likelihood() -> None:
    codec = HeatmapCodec((64, 64))
    _, likelihood, _ = codec.decode(torch.zeros(1, 1, 16, 16))
    assert likelihood.item() <= 25 / 256 + 1e-6


@pytest.mark.parametrize("name", ["mse", "kl", "js"])
def test_heatmap_losses_are_lowest_at_the_target(name: str) -> None:
    codec = HeatmapCodec((64, 64))
    targets, mask = codec.encode(torch.tensor([[[30.0, 20.0]]]))
    loss = get_heatmap_loss(name)
    good = loss(torch.log(targets.clamp_min(1e-30)), targets, mask)
    bad = loss(torch.zeros_like(targets), targets, mask)
    assert good < bad


def test_loss_registry_contract() -> None:
    assert set(known_heatmap_losses()) >= {"mse", "kl", "js"}
    with pytest.raises(ConfigError, match="mse"):
        get_heatmap_loss("l1")
    with pytest.raises(ValueError, match="already registered"):
        register_heatmap_loss("mse")(lambda a, b, c: a.sum())


def test_backbone_registry_contract() -> None:
    assert {"resnet18", "resnet50", "efficientnet_b0"} <= set(known_backbones())
    with pytest.raises(ConfigError, match="resnet18"):
        get_backbone_spec("resnet9")
    with pytest.raises(ValueError, match="already registered"):
        register_backbone(BackboneSpec("resnet18", get_backbone_spec("resnet18").builder, "x", 1))


def test_pretrained_weights_missing_says_where_to_put_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(ConfigError) as info:
        build_backbone("resnet18", pretrained=True)
    msg = str(info.value)
    assert "resnet18" in msg and str(tmp_path) in msg and "backbone_pretrained=false" in msg


def test_pretrained_weights_loaded_from_a_file(tmp_path) -> None:
    from torchvision.models import resnet18

    reference = resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save(reference.state_dict(), path)
    features, channels = build_backbone("resnet18", pretrained=True, weights_path=str(path))
    assert channels == 512
    assert torch.equal(features[0].weight, reference.conv1.weight)


@pytest.mark.parametrize("model_type", ["heatmap", "regression"])
def test_model_outputs(model_type: str) -> None:
    codec = HeatmapCodec((64, 96))
    model = PoseModel("resnet18", 5, codec, model_type=model_type).eval()
    xy, likelihood = model.predict(torch.randn(2, 3, 64, 96))
    assert xy.shape == (2, 5, 2) and likelihood.shape == (2, 5)
    assert ((likelihood >= 0) & (likelihood <= 1)).all()


SLOW_BACKBONES = {"resnet101", "resnet152", "efficientnet_b1", "efficientnet_b2"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_BACKBONES else n for n in known_backbones()]
)
def test_every_backbone_gives_stride_32_features(name: str) -> None:
    features, channels = build_backbone(name)
    with torch.inference_mode():
        out = features.eval()(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, channels, 2, 3)
