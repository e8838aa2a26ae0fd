"""Unlabelled video clips for the unsupervised losses, decoded on the CPU in a background thread.

:class:`UnlabeledClips` yields, forever, clips of ``sequence_length`` consecutive frames taken at
random places of the videos in ``data.video_dir``, resized like the labelled frames. A thread
decodes ahead into a small bounded queue (OpenCV releases the GIL while decoding), so the trainer
does not wait on video. :class:`SemiSupervisedDataModule` pairs every labelled batch with one clip
through Lightning's ``CombinedLoader``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import DataLoader, IterableDataset

from pose_core.data.dataset import PoseDataModule
from pose_core.data.preprocess import normalize_chw, resize_frame
from pose_core.errors import DataError
from pose_core.video.reader import VideoInfo, VideoReader, list_videos, probe_video

PREFETCH_CLIPS = 3
NOMINAL_LENGTH = 10**9  # the clip stream is endless; CombinedLoader("min_size") follows the labelled loader


def check_videos(video_dir: Path, sequence_length: int) -> list[VideoInfo]:
    """Checks that the unlabelled videos exist and decode, before training starts.

    Raises:
        DataError: No videos in the folder, a video that cannot be decoded, or all too short.
    """
    if not Path(video_dir).exists():
        raise DataError(f"data.video_dir={video_dir} does not exist; the unsupervised losses need unlabelled videos there (or remove them from model.losses_to_use).", path=str(video_dir))  # fmt: skip
    infos = [probe_video(p) for p in list_videos(Path(video_dir))]
    usable = [i for i in infos if i.n_frames >= sequence_length]
    if not usable:
        raise DataError(f"No video in {video_dir} has {sequence_length} frames (training.unlabeled_sequence_length); add longer videos or lower it.", path=str(video_dir))  # fmt: skip
    return usable


class UnlabeledClips(IterableDataset[dict[str, torch.Tensor]]):
    """An endless stream of random clips of consecutive frames.

    Args:
        videos: The videos to sample (see :func:`check_videos`).
        sequence_length: Frames per clip.
        resize_hw: Model input ``(height, width)``.
        seed: Seed of the clip positions.
    """

    def __init__(self, videos: Sequence[VideoInfo], sequence_length: int, resize_hw: tuple[int, int], seed: int = 0) -> None:  # fmt: skip
        self.videos = list(videos)
        self.sequence_length = int(sequence_length)
        self.resize_hw = resize_hw
        self.seed = seed

    def __len__(self) -> int:
        return NOMINAL_LENGTH

    def _read_clip(self, reader: VideoReader, start: int) -> np.ndarray:
        h, w = self.resize_hw
        frames = [resize_frame(reader.read(i), h, w) for i in range(start, start + self.sequence_length)]
        return np.stack(frames)

    def _produce(self, out: queue.Queue[Any], stop: threading.Event) -> None:
        rng = np.random.default_rng(self.seed)
        readers: dict[Path, VideoReader] = {}
        try:
            while not stop.is_set():
                info = self.videos[int(rng.integers(len(self.videos)))]
                reader = readers.get(info.path) or readers.setdefault(info.path, VideoReader(info.path))
                start = int(rng.integers(0, info.n_frames - self.sequence_length + 1))
                item = (self._read_clip(reader, start), (info.height, info.width))
                while not stop.is_set():
                    try:
                        out.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            out.put(exc)
        finally:
            for reader in readers.values():
                reader.close()

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        clips: queue.Queue[Any] = queue.Queue(maxsize=PREFETCH_CLIPS)
        stop = threading.Event()
        thread = threading.Thread(target=self._produce, args=(clips, stop), name="unlabeled-clips", daemon=True)
        thread.start()
        try:
            while True:
                item = clips.get()
                if isinstance(item, BaseException):
                    raise item
                frames, orig_hw = item
                images = normalize_chw(torch.from_numpy(frames).permute(0, 3, 1, 2))
                yield {"image": images, "orig_hw": torch.tensor(orig_hw, dtype=torch.int64)}
        finally:
            stop.set()
            thread.join(timeout=5)


class SemiSupervisedDataModule(PoseDataModule):
    """Labelled batches paired with unlabelled clips (one clip per training step).

    Args:
        video_dir: Folder of unlabelled videos.
        sequence_length: Frames per clip.
        *args: Passed to :class:`PoseDataModule`.
        **kwargs: Passed to :class:`PoseDataModule`.
    """

    def __init__(self, video_dir: Path, sequence_length: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.videos = check_videos(video_dir, sequence_length)
        self.sequence_length = sequence_length
        self.clip_seed = int(kwargs.get("seed", 0))

    def train_dataloader(self) -> Any:
        """``{"labeled": batch, "unlabeled": clip}`` per step, as long as the labelled loader."""
        clips = UnlabeledClips(self.videos, self.sequence_length, self.resize_hw, self.clip_seed)
        unlabeled = DataLoader(clips, batch_size=None, num_workers=0)
        return CombinedLoader({"labeled": super().train_dataloader(), "unlabeled": unlabeled}, mode="min_size")
