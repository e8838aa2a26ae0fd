"""Labelled frames as a torch Dataset and a Lightning DataModule with train/val/test splits.

Images are decoded and resized to the model input once, then kept in memory as uint8
(:class:`ResizedFrameStore`), so epochs after the first never touch the disk. Augmentation
runs on the cached uint8 image, then ImageNet normalisation. Keypoints are returned in
model-input pixels (pixel-centre convention, see :mod:`pose_core.data.preprocess`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from pose_core.data.augment import Augmentation, build_augmentation
from pose_core.data.labels import LabelSet, check_images, image_file, split_indices
from pose_core.data.preprocess import (
    load_image_rgb,
    normalize_chw,
    resize_frame,
    scale_keypoints,
    single_threaded,
)

SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")
UNUSED_SPLIT = "unused"  # frames dropped by training.train_frames


class ResizedFrameStore:
    """Decodes labelled images on first use and keeps them resized to the model input.

    One store can serve several datasets over the same labels (train, validation, test, all
    frames), so each image is read from disk at most once per process.
    """

    def __init__(self, data_dir: Path, labels: LabelSet, resize_hw: tuple[int, int], cache: bool = True) -> None:
        """Prepare an empty store.

        Args:
            data_dir: Folder the label image paths are relative to.
            labels: The labels (one row per image).
            resize_hw: Model input (height, width).
            cache: Keep decoded images in memory; False re-reads the file on every access.
        """
        self.data_dir = Path(data_dir)
        self.labels = labels
        self.resize_hw = (int(resize_hw[0]), int(resize_hw[1]))
        self.cache = cache
        n_frames = labels.n_frames
        # np.empty reserves address space only; pages are touched as rows are filled.
        self._images = np.empty((n_frames, *self.resize_hw, 3), dtype=np.uint8) if cache else None
        self._orig_hw = np.zeros((n_frames, 2), dtype=np.int64)
        self._loaded = np.zeros(n_frames, dtype=bool)

    def get(self, row: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Resized uint8 RGB image ``[H, W, 3]`` of a label row and its original (h, w).

        The returned array may be the cached one: do not modify it in place.
        """
        if self._images is not None and self._loaded[row]:
            return self._images[row], (int(self._orig_hw[row, 0]), int(self._orig_hw[row, 1]))
        image = load_image_rgb(image_file(self.data_dir, self.labels.image_paths[row]))
        orig_hw = (image.shape[0], image.shape[1])
        resized = resize_frame(image, *self.resize_hw)
        self._orig_hw[row] = orig_hw
        if self._images is not None:
            self._images[row] = resized
            self._loaded[row] = True
        return resized, orig_hw


class LabeledFramesDataset(Dataset[dict[str, torch.Tensor]]):
    """Labelled frames at model-input size, optionally augmented.

    Each item is a dict:
        ``image``: float32 ``[3, H, W]`` ImageNet-normalised, model-input size;
        ``keypoints``: float32 ``[K, 2]`` model-input pixels, NaN where unlabelled;
        ``index``: int64 scalar, the row in the labels;
        ``orig_hw``: int64 ``[2]``, original image (height, width).
    """

    def __init__(
        self,
        data_dir: Path,
        labels: LabelSet,
        indices: Sequence[int] | np.ndarray,
        resize_hw: tuple[int, int],
        augment: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
        cache: bool = True,
        store: ResizedFrameStore | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            data_dir: Folder the label image paths are relative to.
            labels: All labels; ``indices`` select the rows of this dataset.
            indices: Label rows in this dataset (e.g. one split).
            resize_hw: Model input (height, width).
            augment: Augmentation on (uint8 image ``[3, H, W]``, keypoints ``[K, 2]``).
            cache: Keep decoded, resized images in memory (ignored if ``store`` is given).
            store: A store shared with other datasets over the same labels and size.
        """
        self.labels = labels
        self.indices = np.asarray(indices, dtype=np.int64)
        self.resize_hw = (int(resize_hw[0]), int(resize_hw[1]))
        self.augment = augment
        self.store = store or ResizedFrameStore(data_dir, labels, self.resize_hw, cache=cache)

    def __len__(self) -> int:
        """Number of frames."""
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        """The i-th frame of this dataset (see the class docstring for the keys)."""
        row = int(self.indices[i])
        image_hwc, orig_hw = self.store.get(row)
        keypoints = scale_keypoints(self.labels.keypoints_px[row], orig_hw, self.resize_hw)
        image = torch.from_numpy(image_hwc).permute(2, 0, 1)
        keypoints_t = torch.from_numpy(keypoints.astype(np.float32))
        with single_threaded():  # tiny per-image ops: threads only add waiting on a busy CPU
            if self.augment is not None:
                image, keypoints_t = self.augment(image, keypoints_t)
            image_normalized = normalize_chw(image)
        return {
            "image": image_normalized,
            "keypoints": keypoints_t.to(torch.float32),
            "index": torch.tensor(row, dtype=torch.int64),
            "orig_hw": torch.tensor(orig_hw, dtype=torch.int64),
        }


def collate_frames(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack dataset items into a batch on one torch thread.

    Stacking a batch of 128x128 images is a memory copy; with 2 threads on a busy 2-core CPU
    it waited ~20 ms per batch (measured), with 1 thread it takes well under 1 ms.
    """
    with single_threaded():
        return default_collate(items)


class PoseDataModule(pl.LightningDataModule):
    """Train / validation / test loaders over labelled frames (Lightning Pose split rules).

    ``splits`` is computed in the constructor (deterministic for a seed) and holds sorted row
    indices into ``labels``. Missing images and unknown augmentation presets are reported
    here, before training starts.
    """

    def __init__(
        self,
        data_dir: Path,
        labels: LabelSet,
        resize_hw: tuple[int, int],
        *,
        train_prob: float,
        val_prob: float,
        seed: int,
        train_frames: float | int = 1,
        train_batch_size: int = 8,
        val_batch_size: int = 16,
        test_batch_size: int = 16,
        imgaug: str = "none",
        imgaug_hflip: bool = False,
        num_workers: int = 0,
    ) -> None:
        """Split the frames and prepare the datasets (images are read on first use).

        Args:
            data_dir: ``data.data_dir``.
            labels: Labels read from ``data.csv_file``.
            resize_hw: Model input (height, width) = ``data.image_resize_dims``.
            train_prob: ``training.train_prob``.
            val_prob: ``training.val_prob``.
            seed: ``training.rng_seed_data_pt``.
            train_frames: ``training.train_frames``.
            train_batch_size: ``training.train_batch_size``.
            val_batch_size: ``training.val_batch_size``.
            test_batch_size: ``training.test_batch_size`` (also used for all frames).
            imgaug: ``training.imgaug`` preset.
            imgaug_hflip: ``training.imgaug_hflip``.
            num_workers: ``training.num_workers`` (0 = load in the training process).

        Raises:
            ConfigError: Bad split settings or augmentation preset.
            DataError: Labelled images are missing.
        """
        super().__init__()
        self.data_dir = Path(data_dir)
        self.labels = labels
        self.resize_hw = (int(resize_hw[0]), int(resize_hw[1]))
        self.batch_sizes = {
            "train": train_batch_size,
            "validation": val_batch_size,
            "test": test_batch_size,
        }
        self.num_workers = num_workers
        self.splits = split_indices(labels.n_frames, train_prob, val_prob, seed, train_frames)
        self.augment: Augmentation | None = build_augmentation(imgaug, imgaug_hflip, labels.keypoint_names)
        check_images(labels, self.data_dir)
        self.store = ResizedFrameStore(self.data_dir, labels, self.resize_hw)
        self.datasets = {
            name: self._dataset(self.splits[name], self.augment if name == "train" else None) for name in SPLIT_NAMES
        }

    def _dataset(self, indices: Sequence[int] | np.ndarray, augment: Augmentation | None) -> LabeledFramesDataset:
        """A dataset over ``indices`` sharing this module's image store."""
        return LabeledFramesDataset(self.data_dir, self.labels, indices, self.resize_hw, augment, store=self.store)

    def _loader(self, dataset: LabeledFramesDataset, batch_size: int, train: bool) -> DataLoader:
        """A DataLoader with this module's worker settings."""
        # A 1-image last batch crashes BatchNorm in training mode: drop it in that case only.
        drop_last = train and len(dataset) > batch_size and len(dataset) % batch_size == 1
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=train,
            drop_last=drop_last,
            collate_fn=collate_frames,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled, augmented training frames."""
        return self._loader(self.datasets["train"], self.batch_sizes["train"], train=True)

    def val_dataloader(self) -> DataLoader:
        """Validation frames in row order, not augmented."""
        return self._loader(self.datasets["validation"], self.batch_sizes["validation"], False)

    def test_dataloader(self) -> DataLoader:
        """Test frames in row order, not augmented (empty if the test split is empty)."""
        return self._loader(self.datasets["test"], self.batch_sizes["test"], False)

    def labeled_dataloader(self) -> DataLoader:
        """All labelled frames in row order, not augmented (for ``predictions.csv``)."""
        everything = self._dataset(np.arange(self.labels.n_frames), None)
        return self._loader(everything, self.batch_sizes["test"], False)

    def row_split_names(self) -> list[str]:
        """Split of every label row: train / validation / test, or ``unused``.

        ``unused`` marks frames left out of training by ``training.train_frames``.
        """
        names = [UNUSED_SPLIT] * self.labels.n_frames
        for split_name in SPLIT_NAMES:
            for row in self.splits[split_name]:
                names[int(row)] = split_name
        return names
