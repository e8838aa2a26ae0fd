"""Run a Lightning Pose checkpoint in PoseDesk: LP's heatmap and regression networks, mapped layer by layer.

Lightning Pose builds the same networks as :class:`pose_core.models.pose_model.PoseModel`
(checked against its source, ``lightning_pose/models/``: ``backbones/torchvision.py``,
``heatmap_tracker.py``, ``heads/heatmap.py``, ``regression_tracker.py``, ``heads/regression.py``):

* **backbone**: ``nn.Sequential`` of a torchvision model's children without the last two
  (resnets: ``conv1`` ... ``layer4`` as ``backbone.0`` ... ``backbone.7``, exactly PoseDesk's keys;
  efficientnets: the ``features`` block as ``backbone.0.<i>`` where PoseDesk has ``backbone.<i>``).
  A regression network keeps the average pool too, which has no weights.
* **heatmap head**: ``PixelShuffle(2)`` then ``4 - downsample_factor`` ``ConvTranspose2d`` (kernel 3,
  stride 2, padding 1, output padding 1; channels C/4 -> K -> K): ``upsampling_layers.<i>`` (LP up
  to 1.6) or ``head.upsampling_layers.<i>`` (later), PoseDesk's ``head.layers.<i>``. In both, a
  spatial softmax of these logits is the heatmap.
* **regression head**: one ``Linear(C, 2K)`` (``final_layer`` or ``head.linear_layer``) giving x, y
  in model-input pixels; PoseDesk's predicts x/W, y/H, so its rows are divided by the input size.

Coordinates: LP centres heatmap pixel j on input x = s·j (s = 2^downsample_factor) and scales
input to frame pixels from the pixel corner (x_frame = x_input·W_frame/W_input); PoseDesk centres
it on s·j + (s-1)/2 and scales from the pixel centre. :class:`LightningPoseModel` returns
x_input = x_LP - 0.5, so a keypoint lands 0.5 frame pixel up and left of LP's own value whatever
the frame size (exact agreement would need the frame size, which the network does not see). The
decoders differ too: PoseDesk's sharpened local soft-argmax and likelihood (mass within ±2 heatmap
pixels) instead of LP's upsampled soft-argmax and confidence; on a single clear peak the
positions agree to a small fraction of a heatmap pixel.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import Tensor

from pose_core.data.codec import HeatmapCodec
from pose_core.errors import RunError
from pose_core.inference.predictor import Predictor, resolve_device
from pose_core.interop.lightning_pose import LP_BACKBONES, check_lp_checkpoint_supported, read_lp_model_dir
from pose_core.models.pose_model import PoseModel

HEATMAP_HEAD_PREFIXES = ("head.upsampling_layers.", "upsampling_layers.")
REGRESSION_HEAD_PREFIXES = ("head.linear_layer.", "final_layer.")


class LightningPoseModel(PoseModel):
    """A :class:`PoseModel` holding LP weights: decoded keypoints follow LP's coordinate convention.

    See the module docstring: heatmap keypoints move by ``-(s - 1) / 2 - 0.5`` input pixels
    (regression keypoints need no shift: :func:`lp_state_dict_to_posedesk` scales the layer).
    """

    def decode(self, output: Tensor) -> tuple[Tensor, Tensor]:
        """Keypoints in input pixels (PoseDesk convention, LP's mapping) and likelihood."""
        xy, likelihood = super().decode(output)
        if self.model_type == "heatmap":
            xy = xy - ((self.codec.stride - 1) / 2.0 + 0.5)
        return xy, likelihood


def _backbone_key(key: str, backbone_arch: str) -> str:
    """LP backbone key -> PoseDesk's (efficientnets lose LP's extra ``0.`` level)."""
    rest = key[len("backbone.") :]
    if backbone_arch.startswith("efficientnet"):
        if not rest.startswith("0."):
            raise RunError(f"unexpected efficientnet backbone key {key!r} (expected backbone.0.*)")
        rest = rest[2:]
    return f"backbone.{rest}"


def lp_state_dict_to_posedesk(
    state: dict[str, Tensor], model_type: str, backbone_arch: str, input_hw: tuple[int, int]
) -> dict[str, Tensor]:
    """Rename (and for regression, rescale) an LP network's weights to :class:`PoseModel`'s.

    Args:
        state: The LightningModule ``state_dict`` of an LP checkpoint.
        model_type: ``heatmap`` or ``regression``.
        backbone_arch: The torchvision architecture (``resnet50`` for LP's ``resnet50_animal_*``...).
        input_hw: Network input ``(height, width)`` (regression outputs are divided by it).

    Returns:
        A state dict for ``PoseModel(backbone_arch, K, codec, model_type)``; LP's other entries
        (context weights, loss buffers) are left out.

    Raises:
        RunError: A backbone key of an unexpected form.
    """
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if key.startswith("backbone."):
            out[_backbone_key(key, backbone_arch)] = value
            continue
        prefixes = HEATMAP_HEAD_PREFIXES if model_type == "heatmap" else REGRESSION_HEAD_PREFIXES
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        if prefix is None:
            continue
        rest = key[len(prefix) :]
        if model_type == "heatmap":
            out[f"head.layers.{rest}"] = value
        else:
            out[f"head.linear.{rest}"] = _scale_regression(value, input_hw)
    return out


def _scale_regression(value: Tensor, input_hw: tuple[int, int]) -> Tensor:
    """Divide LP's x rows by the input width and y rows by its height (weights ``[2K, C]`` or bias ``[2K]``)."""
    height, width = input_hw
    scale = torch.tensor([width, height], dtype=value.dtype).repeat(value.shape[0] // 2)
    return value / (scale.view(-1, 1) if value.ndim == 2 else scale)


def read_lp_state_dict(checkpoint: Path) -> dict[str, Tensor]:
    """The ``state_dict`` of an LP checkpoint.

    LP's checkpoints keep omegaconf objects in their hyper-parameters, which a weights-only load
    refuses; the file is then loaded in full, as Lightning itself does (it is the user's own
    model folder).

    Raises:
        RunError: The file is missing, unreadable or has no ``state_dict``.
    """
    if not Path(checkpoint).is_file():
        raise RunError(f"Checkpoint {checkpoint} does not exist: give an existing .ckpt of the model folder.")
    try:
        try:
            content = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            content = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise RunError(
            f"{checkpoint} is not a readable Lightning Pose checkpoint ({type(exc).__name__}: {exc}); give the "
            ".ckpt Lightning Pose wrote under tb_logs/*/version_*/checkpoints/."
        ) from exc
    state = content.get("state_dict") if isinstance(content, dict) else None
    if not isinstance(state, dict):
        raise RunError(f"{checkpoint} has no state_dict: it is not a Lightning checkpoint; give LP's .ckpt file.")
    return state


def build_lp_model(
    state: dict[str, Tensor], model_type: str, backbone: str, keypoint_names: list[str], codec: HeatmapCodec
) -> LightningPoseModel:
    """A :class:`LightningPoseModel` with an LP checkpoint's weights, in eval mode.

    Raises:
        RunError: The weights do not fit the layers LP builds for ``model_type`` / ``backbone`` with
            these keypoints (another LP version's head, a different keypoint count...).
    """
    arch = LP_BACKBONES[backbone]
    model = LightningPoseModel(arch, len(keypoint_names), codec, model_type=model_type, pretrained=False)
    mapped = lp_state_dict_to_posedesk(state, model_type, arch, codec.input_hw)
    try:
        model.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise RunError(
            f"The checkpoint's weights do not fit Lightning Pose's {model_type} network on {backbone} with "
            f"{len(keypoint_names)} keypoints ({detail}); PoseDesk can review this model's predictions and curves "
            "but cannot run this checkpoint."
        ) from exc
    return model.eval()


def load_lp_predictor(
    run_dir: Path, checkpoint: Path | None = None, device: str | torch.device | None = None
) -> Predictor:
    """Load a Lightning Pose model directory's checkpoint as a :class:`Predictor`.

    Args:
        run_dir: The LP model directory.
        checkpoint: A checkpoint to use instead of its best one.
        device: ``cpu``, ``cuda``...; None = CUDA when available, else CPU.

    Returns:
        A predictor whose keypoints are in frame pixels, like PoseDesk's own models'.

    Raises:
        DataError: ``run_dir`` is not an LP model directory.
        RunError: A model type or backbone PoseDesk does not support (the message lists the
            supported ones), no checkpoint, or weights that do not fit.
    """
    lp = read_lp_model_dir(run_dir)
    check_lp_checkpoint_supported(lp)
    ckpt = Path(checkpoint) if checkpoint is not None else lp.best_checkpoint
    if ckpt is None:
        raise RunError(
            f"Lightning Pose model folder {lp.path} holds no checkpoint (tb_logs/*/version_*/checkpoints/*.ckpt); "
            "its predictions and curves can be reviewed, but predicting new videos needs the checkpoint."
        )
    codec = HeatmapCodec(lp.input_hw, lp.downsample_factor)
    model = build_lp_model(read_lp_state_dict(ckpt), lp.model_type, lp.backbone, lp.keypoint_names, codec)
    return Predictor(model, lp.keypoint_names, lp.input_hw, resolve_device(device), ckpt)
