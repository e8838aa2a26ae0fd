"""Rebuild a trained :class:`PoseModel` from a ``pose-train`` checkpoint without Lightning.

Prediction needs only the network: importing pytorch_lightning (and torchmetrics behind it)
costs about 2 s of start-up, a sixth of predicting a 1,000-frame video on two cores. A
checkpoint written by :class:`pose_core.training.module.PoseLightningModule` holds every
constructor argument in ``hyper_parameters`` and the network's weights under ``model.`` in
``state_dict``; both are plain data, so ``torch.load(weights_only=True)`` reads them safely.
Training and resuming still load the whole LightningModule
(:func:`pose_core.training.module.load_module`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pose_core.data.codec import HeatmapCodec
from pose_core.errors import RunError
from pose_core.models.pose_model import PoseModel

_MODEL_PREFIX = "model."


@dataclass
class LoadedModel:
    """A network rebuilt from a checkpoint.

    Attributes:
        model: The network, in eval mode.
        keypoint_names: K names in output order.
        input_hw: Network input ``(height, width)``.
        hyper_parameters: Everything the checkpoint says about how it was built.
    """

    model: PoseModel
    keypoint_names: list[str]
    input_hw: tuple[int, int]
    hyper_parameters: dict[str, Any]


def _read(checkpoint: Path, map_location: str | torch.device) -> dict[str, Any]:
    if not checkpoint.is_file():
        raise RunError(f"Checkpoint {checkpoint} does not exist: train a model first or give another --checkpoint.")
    try:
        content = torch.load(str(checkpoint), map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise RunError(
            f"{checkpoint} is not a readable PoseDesk checkpoint ({type(exc).__name__}: {exc}); "
            "give a .ckpt written by pose-train."
        ) from exc
    if not isinstance(content, dict) or "hyper_parameters" not in content or "state_dict" not in content:
        raise RunError(
            f"{checkpoint} is not a PoseDesk checkpoint (no hyper_parameters/state_dict); give a .ckpt written by pose-train."
        )
    return content


def load_pose_model(checkpoint: Path, map_location: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the network of a ``pose-train`` checkpoint, in eval mode.

    Args:
        checkpoint: The ``.ckpt`` file.
        map_location: Device for the weights.

    Returns:
        The :class:`LoadedModel`.

    Raises:
        RunError: The file is missing, unreadable, not a PoseDesk checkpoint, or its weights do
            not fit the model its hyperparameters describe.
    """
    checkpoint = Path(checkpoint)
    content = _read(checkpoint, map_location)
    hp = dict(content["hyper_parameters"])
    try:
        names = [str(name) for name in hp["keypoint_names"]]
        input_hw = (int(hp.get("input_hw", (128, 128))[0]), int(hp.get("input_hw", (128, 128))[1]))
        codec = HeatmapCodec(input_hw, int(hp.get("downsample_factor", 2)))
        model = PoseModel(str(hp.get("backbone", "resnet18")), len(names), codec, str(hp.get("model_type", "heatmap")))
        weights = {
            key[len(_MODEL_PREFIX) :]: value
            for key, value in content["state_dict"].items()
            if key.startswith(_MODEL_PREFIX)
        }
        model.load_state_dict(weights)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise RunError(
            f"{checkpoint} does not hold a model PoseDesk can rebuild ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "give a .ckpt written by pose-train."
        ) from exc
    model.to(device=map_location, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]
    return LoadedModel(model, names, input_hw, hp)
