"""Predictor: a trained model ready to predict keypoints on frames and whole videos.

:meth:`Predictor.from_run` loads a run directory through the loader registered for its kind
(:mod:`pose_core.inference.loaders`: a PoseDesk run's ``config.yaml`` and best checkpoint, checked
to agree, or a Lightning Pose model folder); :meth:`Predictor.predict_frames` predicts on images of any size and
:meth:`Predictor.predict_video` streams a video through
:mod:`pose_core.inference.pipeline`. Every coordinate returned is in the pixels of the frames
given (video pixels for videos), with the pixel-centre convention of
:mod:`pose_core.data.preprocess`. The GUI, the ``pose-predict`` CLI, prediction after training
and the tests all use this class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from pose_core.data.preprocess import IMAGENET_MEAN, IMAGENET_STD, resize_frame, scale_keypoints
from pose_core.errors import RunError
from pose_core.inference.pipeline import DEFAULT_BATCH_SIZE, resized_batch, stream_video_predictions
from pose_core.inference.run_files import find_run_files

__all__ = ["Predictor", "check_keypoint_names", "find_run_files", "resolve_device"]

if TYPE_CHECKING:
    from pose_core.models.pose_model import PoseModel


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to predict on: the given one, else CUDA when available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_keypoint_names(checkpoint: Path, ckpt_names: Sequence[str], config_names: Sequence[str] | None) -> None:
    """Raise a RunError when a checkpoint's keypoints differ from the config's.

    Args:
        checkpoint: The checkpoint file (named in the message).
        ckpt_names: Keypoint names stored in the checkpoint.
        config_names: ``data.keypoint_names`` of the run's config; None = not stated (no check).
    """
    if config_names is None or list(config_names) == list(ckpt_names):
        return

    def show(names: Sequence[str]) -> str:
        head = ", ".join(names[:6])
        return f"{len(names)}: {head}{', ...' if len(names) > 6 else ''}"

    raise RunError(
        f"Checkpoint {checkpoint} was trained on other keypoints ({show(ckpt_names)}) than the run's config "
        f"lists ({show(config_names)}): give a checkpoint of this run or the run it came from."
    )


def fuse_batchnorm(model: PoseModel) -> PoseModel:
    """Fold the backbone's inference-mode BatchNorm layers into the convolutions before them.

    The outputs are the same up to float rounding (about 1e-5 of the logits) and a resnet18
    runs about 10-15% faster on a CPU. A backbone that torch.fx cannot trace is left as it is.

    Args:
        model: A model in eval mode; its backbone is replaced in place.

    Returns:
        ``model``.
    """
    from torch.fx.experimental.optimization import fuse

    try:
        model.backbone = fuse(model.backbone)
    except Exception:  # noqa: BLE001 - an untraceable backbone only loses the speed-up
        return model
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload, no-any-return]


class Predictor:
    """A trained pose model in inference mode, predicting in the pixels of the frames given.

    Args:
        model: The network (a :class:`pose_core.models.pose_model.PoseModel`): ``predict(images)``
            returns ``(xy [B, K, 2]`` in input pixels, ``likelihood [B, K])``.
        keypoint_names: K keypoint names, in output order.
        input_hw: Network input ``(height, width)``.
        device: Where the model runs.
        checkpoint: The checkpoint it was loaded from (for messages and outputs).
        fuse: Fold BatchNorm into the convolutions for speed (see :func:`fuse_batchnorm`).
    """

    def __init__(
        self,
        model: PoseModel,
        keypoint_names: Sequence[str],
        input_hw: tuple[int, int],
        device: torch.device,
        checkpoint: Path | None = None,
        fuse: bool = True,
    ) -> None:
        model = model.to(device).eval()
        self.model = fuse_batchnorm(model) if fuse else model
        self.keypoint_names = list(keypoint_names)
        self.input_hw = (int(input_hw[0]), int(input_hw[1]))
        self.device = device
        self.checkpoint = checkpoint
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32)
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32)
        # (x / 255 - mean) / std == x * scale + bias, per channel
        self._scale = (1.0 / (255.0 * std)).view(1, 3, 1, 1).to(device)
        self._bias = (-mean / std).view(1, 3, 1, 1).to(device)

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints K."""
        return len(self.keypoint_names)

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: Path,
        device: str | torch.device | None = None,
        expected_keypoints: Sequence[str] | None = None,
    ) -> Predictor:
        """Load a predictor from a checkpoint written by ``pose-train``.

        Args:
            checkpoint: The ``.ckpt`` file.
            device: ``cpu``, ``cuda``, ...; None = CUDA when available, else CPU.
            expected_keypoints: Keypoint names the checkpoint must have (None = no check).

        Raises:
            RunError: The file is missing, not a PoseDesk checkpoint, or has other keypoints.
        """
        from pose_core.models.checkpoint import load_pose_model

        torch_device = resolve_device(device)
        loaded = load_pose_model(Path(checkpoint), map_location=torch_device)
        check_keypoint_names(Path(checkpoint), loaded.keypoint_names, expected_keypoints)
        return cls(loaded.model, loaded.keypoint_names, loaded.input_hw, torch_device, Path(checkpoint))

    @classmethod
    def from_run(
        cls,
        run_dir: Path,
        checkpoint: Path | None = None,
        device: str | torch.device | None = None,
    ) -> Predictor:
        """Load the model of a training run, with the loader registered for its kind of folder.

        Args:
            run_dir: The run directory (``config.yaml`` + ``tb_logs/.../checkpoints/*.ckpt``), or a
                folder another loader recognises, e.g. a Lightning Pose model folder
                (see :mod:`pose_core.inference.loaders`).
            checkpoint: A checkpoint to use instead of the run's best one.
            device: ``cpu``, ``cuda``, ...; None = CUDA when available, else CPU.

        Raises:
            RunError: The run has no config or checkpoint, or the checkpoint's keypoints differ
                from the config's ``data.keypoint_names``.
            ConfigError: The run's config cannot be read.
        """
        from pose_core.inference.loaders import load_predictor

        return load_predictor(Path(run_dir), checkpoint, device)

    @classmethod
    def from_posedesk_run(
        cls,
        run_dir: Path,
        checkpoint: Path | None = None,
        device: str | torch.device | None = None,
    ) -> Predictor:
        """Load a PoseDesk run: its best checkpoint (or ``checkpoint``), checked against its ``config.yaml``.

        Raises:
            RunError: The run has no config or checkpoint, or the checkpoint's keypoints differ
                from the config's ``data.keypoint_names``.
            ConfigError: The run's config cannot be read.
        """
        from pose_core.config.io import load_config

        config_path, ckpt_path = find_run_files(Path(run_dir), checkpoint)
        cfg = load_config(config_path, check_paths=False).cfg
        names = cfg.data.keypoint_names
        return cls.from_checkpoint(ckpt_path, device, list(names) if names is not None else None)

    def predict_resized(self, images_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on frames already resized to :attr:`input_hw`.

        Args:
            images_rgb: uint8 ``[B, height, width, 3]`` RGB, ``(height, width) == input_hw``.

        Returns:
            ``(xy [B, K, 2]`` float64 in network-input pixels, ``likelihood [B, K]`` float64``)``.

        Raises:
            ValueError: Wrong dtype or shape.
        """
        batch = resized_batch(images_rgb, self.input_hw)
        with torch.inference_mode():
            # NHWC memory viewed as NCHW is exactly channels_last: no copy before the float cast.
            images = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2)
            images = images.to(torch.float32).mul_(self._scale).add_(self._bias)
            xy, likelihood = self.model.predict(images.contiguous(memory_format=torch.channels_last))
        return xy.double().cpu().numpy(), likelihood.double().cpu().numpy()

    def predict_frames(self, frames_rgb: np.ndarray | Sequence[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """Predict keypoints on frames of any size.

        Args:
            frames_rgb: uint8 RGB frames: an array ``[N, H, W, 3]``, one frame ``[H, W, 3]``, or
                a sequence of ``[H_i, W_i, 3]`` frames (sizes may differ).
            batch_size: Frames per forward pass.

        Returns:
            ``[N, K, 3]`` float64: x, y in each frame's own pixels and likelihood.
        """
        frames = [frames_rgb] if isinstance(frames_rgb, np.ndarray) and frames_rgb.ndim == 3 else list(frames_rgb)
        out = np.empty((len(frames), self.n_keypoints, 3), dtype=np.float64)
        height, width = self.input_hw
        for start in range(0, len(frames), max(1, batch_size)):
            chunk = frames[start : start + max(1, batch_size)]
            resized = np.stack([resize_frame(np.asarray(f, dtype=np.uint8), height, width) for f in chunk])
            xy, likelihood = self.predict_resized(resized)
            for i, frame in enumerate(chunk):
                out[start + i, :, :2] = scale_keypoints(xy[i], self.input_hw, frame.shape[:2])
            out[start : start + len(chunk), :, 2] = likelihood
        return out

    def predict_video(
        self,
        video_path: Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Predict every frame of a video (streamed: decoding overlaps inference).

        Args:
            video_path: The video file.
            batch_size: Frames per forward pass.
            progress: Called with ``(frames_done, n_frames)`` after each batch.
            should_stop: Polled before each batch; True stops with
                :class:`pose_core.inference.pipeline.PredictionStopped`.

        Returns:
            ``[n_frames, K, 3]`` float64: x, y in video pixels and likelihood; row i is frame i.

        Raises:
            DataError: The video is missing, unreadable, empty or truncated.
            PredictionStopped: ``should_stop`` returned True.
        """
        chunks: list[np.ndarray] = []

        def collect(start_idx: int, preds: np.ndarray) -> None:
            chunks.append(preds)

        stream_video_predictions(
            self, Path(video_path), collect, batch_size=batch_size, progress=progress, should_stop=should_stop
        )
        return np.concatenate(chunks, axis=0)
