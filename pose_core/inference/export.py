"""Export a trained model to ONNX for the CPU inference runtimes of :mod:`pose_core.inference.engines`.

The exported graph is the whole prediction of one batch, so a runtime needs nothing else:
uint8 RGB frames ``[B, H, W, 3]`` already resized to the network input (what the video pipeline
produces) -> the ImageNet normalisation -> backbone + head -> the model's own decode
(:meth:`pose_core.models.pose_model.PoseModel.decode`: soft-argmax and likelihood) ->
``xy [B, K, 2]`` in network-input pixels and ``likelihood [B, K]``. The batch size is dynamic.

This module imports torch and the model code; :mod:`pose_core.inference.engines` imports it only
when an export must be (re)built.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from pose_core.data.preprocess import IMAGENET_MEAN, IMAGENET_STD
from pose_core.inference.predictor import Predictor

ONNX_OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAMES = ("xy", "likelihood")


class _ExportedPrediction(nn.Module):
    """uint8 NHWC frames -> (xy in input pixels, likelihood): what ``Predictor.predict_resized`` computes."""

    scale: Tensor
    bias: Tensor

    def __init__(self, predictor: Predictor) -> None:
        super().__init__()
        self.model = predictor.model
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32)
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32)
        self.register_buffer("scale", (1.0 / (255.0 * std)).view(1, 3, 1, 1))
        self.register_buffer("bias", (-mean / std).view(1, 3, 1, 1))

    def forward(self, images_nhwc: Tensor) -> tuple[Tensor, Tensor]:
        images = images_nhwc.permute(0, 3, 1, 2).to(torch.float32) * self.scale + self.bias
        xy, likelihood = self.model.decode(self.model(images))
        return xy.to(torch.float32), likelihood.to(torch.float32)


def export_onnx(predictor: Predictor, onnx_path: Path) -> Path:
    """Write the predictor's model (with normalisation and decode) as an ONNX file.

    Args:
        predictor: A torch predictor on the CPU (BatchNorm folded or not: both export).
        onnx_path: Destination file (its folder must exist); overwritten.

    Returns:
        ``onnx_path``.

    Raises:
        RuntimeError: torch cannot export this model (e.g. an operator ONNX lacks).
    """
    module = _ExportedPrediction(predictor).cpu().eval()
    height, width = predictor.input_hw
    example = torch.zeros((2, height, width, 3), dtype=torch.uint8)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice, tracer warnings
        torch.onnx.export(
            module,
            (example,),
            str(onnx_path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAMES[0]: {0: "batch"}, OUTPUT_NAMES[1]: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return Path(onnx_path)
