"""Shared fixtures of the pose_core tests: a tiny trained-model run directory and index videos.

* ``tiny_run`` (session): a run directory as ``pose-train`` leaves it (``config.yaml`` and a
  Lightning checkpoint under ``tb_logs/.../checkpoints``) holding a random-init resnet18 with a
  64x64 input and 3 keypoints. Building it takes a few seconds, once per session.
* :func:`make_index_video`: a small video whose frames carry their own index as bright blocks
  (read back with :func:`decode_frame_index`), to check that row i is frame i.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

TINY_KEYPOINTS = ["nose", "ear_l", "ear_r"]
TINY_INPUT_HW = (64, 64)
INDEX_BITS = 8  # frame indices 0..255
INDEX_VIDEO_WH = (80, 60)  # deliberately not the model's input size nor square
INDEX_FPS = 25.0
MIRROR_MOUSE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example"


@dataclass(frozen=True)
class TinyRun:
    """A run directory with a config and one checkpoint."""

    run_dir: Path
    checkpoint: Path
    keypoint_names: list[str]


def tiny_config_overrides(data_dir: Path, keypoint_names: list[str] = TINY_KEYPOINTS) -> list[str]:
    """Overrides for :func:`pose_core.config.io.load_config` describing the tiny model."""
    return [
        f"data.data_dir={data_dir}",
        f"data.keypoint_names=[{','.join(keypoint_names)}]",
        f"data.num_keypoints={len(keypoint_names)}",
        f"data.image_resize_dims.height={TINY_INPUT_HW[0]}",
        f"data.image_resize_dims.width={TINY_INPUT_HW[1]}",
        "model.model_name=tiny",
    ]


def save_tiny_checkpoint(path: Path, keypoint_names: list[str] = TINY_KEYPOINTS) -> Path:
    """Write a Lightning checkpoint of a random-init 64x64 resnet18 heatmap model."""
    import pytorch_lightning as pl
    import torch

    from pose_core.training.module import PoseLightningModule

    torch.manual_seed(0)
    module = PoseLightningModule(keypoint_names=list(keypoint_names), backbone="resnet18", input_hw=TINY_INPUT_HW)
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    trainer.strategy.connect(module)
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(str(path))
    return path


def make_run_dir(run_dir: Path, checkpoint: Path | None, config_keypoints: list[str] | None = TINY_KEYPOINTS) -> Path:
    """A run directory with a ``config.yaml`` listing ``config_keypoints`` (none if None) and
    ``checkpoint`` linked into ``tb_logs/tiny/version_0/checkpoints`` (none if None)."""
    import shutil

    from pose_core.config.io import load_config

    run_dir.mkdir(parents=True, exist_ok=True)
    if config_keypoints is not None:
        overrides = tiny_config_overrides(run_dir / "data", config_keypoints)
        load_config(None, overrides, check_paths=False).save(run_dir / "config.yaml")
    if checkpoint is not None:
        target = run_dir / "tb_logs" / "tiny" / "version_0" / "checkpoints" / "epoch=0-step=1-best.ckpt"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.hardlink_to(checkpoint)
        except OSError:
            shutil.copyfile(checkpoint, target)
    return run_dir


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of the tiny 3-keypoint model (session-wide, read-only for tests)."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_ckpt") / "tiny.ckpt")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> TinyRun:
    """A complete run directory of the tiny model (do not write into it: use an output dir)."""
    run_dir = make_run_dir(tmp_path_factory.mktemp("tiny_run"), tiny_checkpoint)
    checkpoint = next(run_dir.glob("tb_logs/*/version_*/checkpoints/*.ckpt"))
    return TinyRun(run_dir, checkpoint, list(TINY_KEYPOINTS))


def _index_block(bit: int) -> tuple[slice, slice]:
    """The pixel block of ``bit`` in an 80x60 frame: a 4 x 2 grid of 16 x 22 blocks."""
    row, col = divmod(bit, 4)
    return slice(6 + row * 28, 6 + row * 28 + 22), slice(3 + col * 19, 3 + col * 19 + 16)


def index_frame_bgr(frame_idx: int) -> np.ndarray:
    """An 80x60 BGR frame whose blocks encode ``frame_idx`` in binary (bright = 1).

    Background and blocks are coloured (not grey), so swapped colour channels change the pixels.
    """
    width, height = INDEX_VIDEO_WH
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = (110, 60, 20)
    for bit in range(INDEX_BITS):
        if (frame_idx >> bit) & 1:
            frame[_index_block(bit)] = (90, 180, 235)
    return frame


def decode_frame_index(frame: np.ndarray) -> int:
    """Read back the index of :func:`index_frame_bgr` from a frame of any size and channel order."""
    width, height = INDEX_VIDEO_WH
    if frame.shape[:2] != (height, width):
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    value = 0
    for bit in range(INDEX_BITS):
        rows, cols = _index_block(bit)
        if frame[rows, cols].mean() > 128:
            value |= 1 << bit
    return value


def make_index_video(path: Path, n_frames: int, fourcc: str = "mp4v") -> Path:
    """Write a video of ``n_frames`` index frames (``mp4v`` for .mp4, ``MJPG`` for .avi)."""
    width, height = INDEX_VIDEO_WH
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), INDEX_FPS, (width, height))
    assert writer.isOpened(), f"cannot write test video {path}"
    for frame_idx in range(n_frames):
        writer.write(index_frame_bgr(frame_idx))
    writer.release()
    return path


def wait_for_events(
    run_dir: Path, predicate: Callable[[list], bool], proc: subprocess.Popen[str], timeout_s: float = 120.0
) -> None:
    """Wait until the training child's ``events.jsonl`` satisfies ``predicate`` (fails if it ends or times out)."""
    from pose_core.events import read_events

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        path = run_dir / "events.jsonl"
        if path.exists() and predicate(read_events(path)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended early: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("timed out waiting for training events")
