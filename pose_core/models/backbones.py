"""Backbone registry: a name -> a torchvision feature extractor (stride 32) and its channel count.

Unknown names raise with the list of known ones. ImageNet weights are never downloaded: they are
loaded from torchvision's local cache or from a file the config names, with a clear error saying
where to put them when they are missing.

The registry is the one list of backbone names: config validation and the config form ask it.
Importing this module does not import torch (the GUI validates configs as you type); torch and
torchvision are imported when a backbone is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pose_core.errors import ConfigError
from pose_core.registry import Registry

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone.

    Attributes:
        name: Registry name (``resnet18``...).
        builder: The torchvision model constructor.
        weights_enum: Name of its torchvision weights enum (``ResNet18_Weights``).
        out_channels: Channels of the stride-32 feature map.
    """

    name: str
    builder: Callable[..., nn.Module]
    weights_enum: str
    out_channels: int


BACKBONES: Registry[BackboneSpec] = Registry("backbone", "model.backbone")
get_backbone_spec = BACKBONES.get
known_backbones = BACKBONES.names


def register_backbone(spec: BackboneSpec) -> None:
    """Adds a backbone to the registry (ValueError if the name is taken)."""
    BACKBONES.add(spec.name, spec)


def _torchvision_builder(name: str) -> Callable[..., nn.Module]:
    """``torchvision.models.<name>``, imported when the backbone is built."""

    def build(**kwargs: Any) -> nn.Module:
        from torchvision import models as tvm

        model: nn.Module = getattr(tvm, name)(**kwargs)
        return model

    return build


def _register_torchvision() -> None:
    for name, channels in (
        ("resnet18", 512),
        ("resnet34", 512),
        ("resnet50", 2048),
        ("resnet101", 2048),
        ("resnet152", 2048),
    ):
        enum = name.replace("resnet", "ResNet") + "_Weights"
        register_backbone(BackboneSpec(name, _torchvision_builder(name), enum, channels))
    for name, channels in (("efficientnet_b0", 1280), ("efficientnet_b1", 1280), ("efficientnet_b2", 1408)):
        enum = "EfficientNet_" + name.split("_")[1].upper() + "_Weights"
        register_backbone(BackboneSpec(name, _torchvision_builder(name), enum, channels))


_register_torchvision()


def _feature_extractor(name: str, model: nn.Module) -> nn.Module:
    """Drops the classifier: the stride-32 feature map is what the heads use."""
    from torch import nn

    if name.startswith("resnet"):
        return nn.Sequential(*list(model.children())[:-2])
    return model.features  # type: ignore[return-value]  # efficientnet


def imagenet_weights_file(name: str) -> Path:
    """Where torchvision keeps the ImageNet weights of a backbone in its local cache."""
    import torch
    from torchvision import models as tvm

    spec = get_backbone_spec(name)
    weights = getattr(tvm, spec.weights_enum).IMAGENET1K_V1
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def load_imagenet_state(name: str, weights_path: str | None) -> dict[str, torch.Tensor]:
    """Loads a backbone's ImageNet weights from a given file or torchvision's cache.

    Raises:
        ConfigError: No weights file is there; says where to put it.
    """
    import torch
    from torchvision import models as tvm

    path = Path(weights_path) if weights_path else imagenet_weights_file(name)
    if not path.is_file():
        url = getattr(tvm, get_backbone_spec(name).weights_enum).IMAGENET1K_V1.url
        raise ConfigError(
            f"ImageNet weights for {name} are not on this machine (looked for {path}): download {url} "
            f"where there is internet and copy it to {imagenet_weights_file(name)} or set "
            "model.pretrained_weights_path=<file>, or train from random weights with model.backbone_pretrained=false.",
            key="model.backbone_pretrained",
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise ConfigError(
            f"Cannot read the weights file {path}: {exc}. Give a torchvision state-dict file.",
            key="model.pretrained_weights_path",
        ) from exc
    return state


def build_backbone(name: str, pretrained: bool = False, weights_path: str | None = None) -> tuple[nn.Module, int]:
    """Builds a backbone feature extractor.

    Args:
        name: A registered backbone name.
        pretrained: Load ImageNet weights (from ``weights_path`` or torchvision's cache).
        weights_path: A torchvision state-dict file of the full classifier model.

    Returns:
        ``(module, out_channels)``; the module maps ``[B, 3, H, W]`` to ``[B, C, H/32, W/32]``.

    Raises:
        ConfigError: Unknown name, or pretrained weights that are not on this machine.
    """
    spec = get_backbone_spec(name)
    model = spec.builder(weights=None)
    if pretrained:
        state = load_imagenet_state(name, weights_path)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if len(missing) > len(state) // 2:
            raise ConfigError(
                f"The weights file does not match {name} ({len(missing)} missing tensors); give {name}'s torchvision weights.",
                key="model.pretrained_weights_path",
            )
    return _feature_extractor(name, model), spec.out_channels
