"""Config presets: named sets of dotlist overrides ("fast CPU check", "CPU default", "GPU accurate").

A preset is applied like command-line overrides (``pose-train`` accepts the same strings), so a
script can use them too: ``load_config(path, get_preset("CPU default").overrides)``.
:func:`preset_changes` lists what a preset would change in a config, for a preview.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf

from pose_core.config.io import apply_overrides
from pose_core.config.schema import schema_fields
from pose_core.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """A named set of overrides.

    Attributes:
        name: Shown in the preset menu.
        description: One sentence: when to use it.
        overrides: Hydra-style overrides, e.g. ``training.max_epochs=2``.
    """

    name: str
    description: str
    overrides: tuple[str, ...]


PRESETS: tuple[Preset, ...] = (
    Preset(
        "fast CPU check",
        "A 2-epoch run at 128x128 without augmentation or video prediction: checks in a minute that the "
        "project trains (the result is not accurate).",
        (
            "model.backbone=resnet18",
            "model.losses_to_use=[]",
            "data.image_resize_dims.height=128",
            "data.image_resize_dims.width=128",
            "training.accelerator=cpu",
            "training.max_epochs=2",
            "training.min_epochs=1",
            "training.train_batch_size=8",
            "training.imgaug=none",
            "training.check_val_every_n_epoch=1",
            "training.ckpt_every_n_epochs=null",
            "training.lr_scheduler_params.multisteplr.milestones=null",
            "training.num_workers=0",
            "eval.predict_vids_after_training=false",
            "eval.save_vids_after_training=false",
        ),
    ),
    Preset(
        "CPU default",
        "resnet18 at 128x128 with augmentation for 20 epochs: a useful model on an ordinary computer "
        "in tens of minutes.",
        (
            "model.backbone=resnet18",
            "data.image_resize_dims.height=128",
            "data.image_resize_dims.width=128",
            "training.accelerator=cpu",
            "training.max_epochs=20",
            "training.min_epochs=1",
            "training.train_batch_size=8",
            "training.imgaug=dlc",
            "training.check_val_every_n_epoch=1",
            "training.ckpt_every_n_epochs=null",
            "training.lr_scheduler_params.multisteplr.milestones=null",
            "training.num_workers=0",
        ),
    ),
    Preset(
        "GPU accurate",
        "resnet50 from ImageNet weights at 256x256 for 300 epochs (Lightning Pose's recipe): needs a CUDA "
        "GPU and the backbone's weights (torchvision cache or model.pretrained_weights_path).",
        (
            "model.backbone=resnet50",
            "model.backbone_pretrained=true",
            "data.image_resize_dims.height=256",
            "data.image_resize_dims.width=256",
            "training.accelerator=gpu",
            "training.num_gpus=1",
            "training.max_epochs=300",
            "training.min_epochs=300",
            "training.unfreezing_epoch=20",
            "training.train_batch_size=16",
            "training.imgaug=dlc",
            "training.check_val_every_n_epoch=5",
            "training.ckpt_every_n_epochs=null",
            "training.lr_scheduler_params.multisteplr.milestones=[150,200,250]",
            "training.num_workers=4",
        ),
    ),
)


def preset_names() -> list[str]:
    """Names of the presets, in menu order."""
    return [p.name for p in PRESETS]


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        ConfigError: No preset has that name (the message lists them).
    """
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise ConfigError(f"Unknown preset '{name}'; choose one of: {', '.join(preset_names())}.")


def apply_preset(data: dict[str, Any], preset: Preset) -> dict[str, Any]:
    """A copy of a config (plain nested dict, as read from YAML) with the preset's overrides applied.

    Keys the preset does not name keep their value, interpolations included.

    Raises:
        ConfigError: An override does not parse (a bug of the preset).
    """
    raw = OmegaConf.create(copy.deepcopy(data))
    raw, _run_dir = apply_overrides(raw, preset.overrides)
    plain = OmegaConf.to_container(raw, resolve=False)
    assert isinstance(plain, dict)
    return {str(k): v for k, v in plain.items()}


_MISSING = object()


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def preset_changes(data: dict[str, Any], preset: Preset) -> list[tuple[str, Any, Any]]:
    """What applying ``preset`` to ``data`` changes.

    A key the config does not set counts as having its schema default.

    Returns:
        ``(dotted key, value before, value after)`` for each key whose value changes.
    """
    defaults = {f.key: f.default for f in schema_fields()}
    after = apply_preset(data, preset)
    changes = []
    for override in preset.overrides:
        key = override.split("=", 1)[0]
        old = _get(data, key)
        old = defaults.get(key) if old is _MISSING else old
        new = _get(after, key)
        if old != new:
            changes.append((key, old, new))
    return changes
