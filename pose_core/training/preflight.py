"""Checks run before a training run writes anything, and the lock that keeps a run folder to one run.

Everything a user can get wrong and that would otherwise surface minutes or hours into a run is
checked here first, so bad input ends in one message naming the file or key and the fix, with
no run folder written and no time wasted:

- the run folder: not a file, writable (a read-only project, a folder without permission), not
  in use by another training (:class:`RunLock`);
- every labelled image: present, a file, readable, and decodable to the end (a zero-byte,
  truncated or non-image file, decoded in parallel);
- the labels: no image listed twice, at least one label, every keypoint labelled somewhere,
  coordinates inside their image;
- the split: enough training frames for a step (BatchNorm needs two);
- resuming: the checkpoint is readable (else the newest readable one, said so) and was trained
  with the same model as the config asks for.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import socket
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pose_core.errors import ConfigError, DataError, RunError
from pose_core.runs.layout import RunLayout, find_checkpoints

try:  # POSIX; elsewhere the run folder is not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILENAME = ".posedesk-train.lock"
MAX_LISTED = 5
# A label this far outside its image (fraction of the image size, plus 2 px) is a mistake, not a click at the edge.
OUTSIDE_TOLERANCE_FRACTION = 0.05
OUTSIDE_TOLERANCE_PX = 2.0
# Model settings a resumed run must share with the checkpoint (the weights' shapes depend on them).
RESUME_HPARAMS = {
    "backbone": "model.backbone",
    "model_type": "model.model_type",
    "keypoint_names": "data.keypoint_names",
    "input_hw": "data.image_resize_dims",
    "downsample_factor": "data.downsample_factor",
}

log = logging.getLogger(__name__)


def _listed(items: Sequence[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    return shown + (f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


# ------------------------------------------------------------------ the run folder


def _nearest_existing(path: Path) -> Path:
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def check_run_dir(run_dir: Path) -> None:
    """Refuse a run folder that is a file or cannot be written, before anything is written.

    Raises:
        RunError: ``run_dir`` (or a folder above it) is a file, or is read-only / not permitted.
    """
    run_dir = Path(run_dir)
    existing = _nearest_existing(run_dir)
    if not existing.is_dir():
        what = "is a file" if existing == run_dir.absolute() else f"is below the file {existing}"
        raise RunError(f"The run folder {run_dir} {what}; set hydra.run.dir to a folder path (new or existing).")
    read_only = hasattr(os, "statvfs") and bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    if read_only or not os.access(existing, os.W_OK | os.X_OK):
        why = "is on a read-only filesystem" if read_only else "is not writable by you"
        raise RunError(
            f"The run folder {run_dir} cannot be written: {existing} {why}; "
            "set hydra.run.dir to a writable folder (or fix the folder's permissions)."
        )


@dataclass
class RunLock:
    """An exclusive lock on a run folder, held while one training writes into it.

    The lock is the kernel's (``flock`` on ``run_dir/.posedesk-train.lock``), so it goes away
    with the process: a run killed with ``kill -9`` leaves no stale lock behind. The file holds
    the holder's pid and host, for the message a second training gets.
    """

    path: Path
    _fd: int | None = None

    @classmethod
    def for_run(cls, run_dir: Path) -> RunLock:
        """The lock of ``run_dir`` (not taken yet)."""
        return cls(Path(run_dir) / LOCK_FILENAME)

    def holder(self) -> str | None:
        """Who holds the lock (``pid N on HOST``), or None when nobody does."""
        if fcntl is None or not self.path.is_file():
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return None
            return self._describe_holder()
        finally:
            os.close(fd)
        return None

    def _describe_holder(self) -> str:
        try:
            pid, _, host = self.path.read_text(encoding="utf-8").strip().partition(" ")
        except OSError:
            return "another process"
        return f"pid {pid} on {host}" if host else f"pid {pid}"

    def refuse_if_held(self) -> None:
        """Raise when another training holds the lock (checked before any set-up).

        Raises:
            RunError: Names the folder and the process holding it.
        """
        holder = self.holder()
        if holder is not None:
            folder = self.path.parent
            raise RunError(
                f"The run folder {folder} is in use by another training ({holder}); wait for it to end, "
                f"stop it (create {RunLayout(folder).stop}), or set hydra.run.dir to another folder."
            )

    def acquire(self) -> None:
        """Take the lock (the run folder exists); refuse if another training holds it.

        Raises:
            RunError: Another training holds it.
        """
        if fcntl is None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            self.refuse_if_held()
            raise RunError(f"The run folder {self.path.parent} is in use by another training.") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (also released by the kernel when the process ends)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# ------------------------------------------------------------------ images


@dataclass(frozen=True)
class ImageCheck:
    """What decoding one labelled image found."""

    row: int
    problem: str | None
    hw: tuple[int, int] | None


def _decode_problem(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """Decode an image completely; Pillow tells a truncated file from a complete one (OpenCV fills the gap).

    Formats Pillow does not know are decoded with OpenCV, the decoder training uses.
    """
    import cv2
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return None, (int(image.height), int(image.width))
    except UnidentifiedImageError:
        pass
    except (OSError, SyntaxError, ValueError) as exc:
        return f"truncated or damaged ({exc})", None
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        return "is not an image file PoseDesk can decode", None
    return None, (int(decoded.shape[0]), int(decoded.shape[1]))


def _check_one_image(row: int, path: Path) -> ImageCheck:
    if path.is_dir():
        return ImageCheck(row, "is a folder, not an image file", None)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ImageCheck(row, "does not exist", None)
    except OSError as exc:
        return ImageCheck(row, f"cannot be read ({exc.strerror or exc})", None)
    if not data:
        return ImageCheck(row, "is empty (0 bytes)", None)
    problem, hw = _decode_problem(data)
    return ImageCheck(row, problem, hw)


def check_labelled_images(labels: Any, data_dir: Path, max_workers: int | None = None) -> np.ndarray:
    """Decode every labelled image (in parallel) and refuse the run if any cannot be used.

    Args:
        labels: The label set (``image_paths`` relative to ``data_dir``).
        data_dir: ``data.data_dir``.
        max_workers: Decoding threads (OpenCV releases the GIL); None = one per core.

    Returns:
        ``[N, 2]`` int64 (height, width) of each image, in label order.

    Raises:
        DataError: Lists the images that are missing, folders, unreadable, empty, truncated or
            not images, with the count.
    """
    from pose_core.data.labels import image_file

    paths = [image_file(Path(data_dir), p) for p in labels.image_paths]
    workers = max_workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        checks = list(pool.map(_check_one_image, range(len(paths)), paths))
    bad = [f"{labels.image_paths[c.row]} {c.problem}" for c in checks if c.problem is not None]
    if bad:
        raise DataError(
            f"{len(bad)} of {labels.n_frames} labelled images under {data_dir} cannot be used ({_listed(bad)}); "
            "replace them with the original images, or delete their rows from the labels CSV.",
            path=str(data_dir),
        )
    return np.array([c.hw for c in checks], dtype=np.int64).reshape(len(checks), 2)


# ------------------------------------------------------------------ labels


def check_label_values(labels: Any, csv_path: Path, image_hw: np.ndarray) -> list[str]:
    """Refuse labels that would train silently on the wrong thing; return notes for odd but valid ones.

    Refused: an image listed twice, a file with no label at all, a keypoint never labelled,
    coordinates outside their image (beyond a small tolerance). Noted: images of different sizes.

    Raises:
        DataError: Names the file, the rows or keypoints, the numbers and the fix.
    """
    _refuse_duplicates(labels, csv_path)
    xy = labels.keypoints_px
    labelled = np.isfinite(xy).all(axis=-1)
    if not labelled.any():
        raise DataError(
            f"Label file {csv_path} has {labels.n_frames} rows but no label in any of them; "
            "label some keypoints before training.",
            path=str(csv_path),
        )
    never = [name for name, seen in zip(labels.keypoint_names, labelled.any(axis=0), strict=True) if not seen]
    if never:
        raise DataError(
            f"Label file {csv_path}: keypoint(s) {', '.join(never)} have no label in any of its {labels.n_frames} rows, "
            "so the model cannot learn them; label them in some frames, or delete their columns from the CSV.",
            path=str(csv_path),
        )
    _refuse_outside(labels, csv_path, image_hw, labelled)
    sizes, counts = np.unique(image_hw, axis=0, return_counts=True)
    if len(sizes) > 1:
        listed = ", ".join(f"{n} at {w}x{h}" for (h, w), n in zip(sizes, counts, strict=True))
        return [f"The labelled images have different sizes ({listed}); each image's labels must be in its own pixels."]
    return []


def _refuse_duplicates(labels: Any, csv_path: Path) -> None:
    first_row: dict[str, int] = {}
    repeated: list[str] = []
    for row, path in enumerate(labels.image_paths):
        key = os.path.normpath(path.replace("\\", "/"))
        if key in first_row:
            same = np.array_equal(labels.keypoints_px[row], labels.keypoints_px[first_row[key]], equal_nan=True)
            repeated.append(
                f"{path} on file lines {first_row[key] + 4} and {row + 4} ({'same' if same else 'different'} labels)"
            )
        else:
            first_row[key] = row
    if repeated:
        raise DataError(
            f"Label file {csv_path} lists {len(repeated)} image(s) more than once ({_listed(repeated)}); "
            "keep one row per image (a repeated image can land in two splits and inflate the test score).",
            path=str(csv_path),
        )


def _refuse_outside(labels: Any, csv_path: Path, image_hw: np.ndarray, labelled: np.ndarray) -> None:
    h = image_hw[:, 0][:, None].astype(np.float64)
    w = image_hw[:, 1][:, None].astype(np.float64)
    x, y = labels.keypoints_px[..., 0], labels.keypoints_px[..., 1]
    tol_x = OUTSIDE_TOLERANCE_PX + OUTSIDE_TOLERANCE_FRACTION * w
    tol_y = OUTSIDE_TOLERANCE_PX + OUTSIDE_TOLERANCE_FRACTION * h
    with np.errstate(invalid="ignore"):
        outside = labelled & ((x < -0.5 - tol_x) | (x > w - 0.5 + tol_x) | (y < -0.5 - tol_y) | (y > h - 0.5 + tol_y))
    if not outside.any():
        return
    found = [
        f"{labels.image_paths[r]} {labels.keypoint_names[k]} at ({x[r, k]:g}, {y[r, k]:g}) in a "
        f"{int(w[r, 0])}x{int(h[r, 0])} image"
        for r, k in np.argwhere(outside)
    ]
    raise DataError(
        f"Label file {csv_path} has {len(found)} label(s) outside their image ({_listed(found)}); "
        "fix or clear those cells (labels are in each image's own pixels).",
        path=str(csv_path),
    )


# ------------------------------------------------------------------ split and batch


def check_enough_training_frames(n_train_frames: int, train_batch_size: int, world_size: int, cfg: Any) -> None:
    """Refuse a split that leaves fewer than two training frames per process (BatchNorm needs two).

    Raises:
        ConfigError: With the numbers and the settings to change.
    """
    per_process = n_train_frames // max(world_size, 1)
    if per_process >= 2:
        return
    raise ConfigError(
        f"Only {n_train_frames} training frame(s) (training.train_prob={cfg.training.train_prob}, "
        f"training.train_frames={cfg.training.train_frames}) for {max(world_size, 1)} process(es) at "
        f"training.train_batch_size={train_batch_size}: a training step needs at least 2 frames per process "
        "(BatchNorm); raise training.train_frames or training.train_prob, or label more frames.",
        key="training.train_frames",
    )


# ------------------------------------------------------------------ resuming


def checkpoint_is_readable(path: Path) -> bool:
    """Whether a checkpoint file is complete (torch writes a zip file; a truncated one has no directory)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def readable_resume_checkpoint(run_dir: Path, wanted: Path) -> tuple[Path, str | None]:
    """``wanted`` if it is readable, else the newest readable checkpoint of the run, and a note saying so.

    Raises:
        RunError: No checkpoint of the run can be read.
    """
    if checkpoint_is_readable(wanted):
        return wanted, None
    others = [p for p in reversed(find_checkpoints(Path(run_dir))) if p != wanted]  # newest first
    for candidate in others:
        if checkpoint_is_readable(candidate):
            return candidate, (
                f"{wanted} is damaged (incomplete file, e.g. written while the disk was full); "
                f"resuming from {candidate.name}, the newest readable checkpoint of the run."
            )
    raise RunError(
        f"No readable checkpoint in {run_dir} ({wanted.name} is damaged and there is no other); "
        "start a new run instead of training.resume_from."
    )


def check_resume_compatible(checkpoint: Path, cfg: Any) -> None:
    """Refuse to resume a checkpoint whose model differs from the config's, before touching the run.

    Raises:
        ConfigError: Names every setting that differs, the checkpoint's value and the config's.
    """
    import torch

    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read is the same message for the user
        raise RunError(f"Cannot read the checkpoint {checkpoint} ({type(exc).__name__}); it is damaged.") from exc
    hparams = saved.get("hyper_parameters") or {} if isinstance(saved, dict) else {}
    wanted = {
        "backbone": str(cfg.model.backbone),
        "model_type": str(cfg.model.model_type),
        "keypoint_names": [str(n) for n in cfg.data.keypoint_names or []],
        "input_hw": [int(cfg.data.image_resize_dims.height), int(cfg.data.image_resize_dims.width)],
        "downsample_factor": int(cfg.data.downsample_factor),
    }
    differ = []
    for name, key in RESUME_HPARAMS.items():
        if name not in hparams:
            continue
        have = list(hparams[name]) if isinstance(hparams[name], list | tuple) else hparams[name]
        if have != wanted[name]:
            differ.append(f"{key}: checkpoint {have}, config {wanted[name]}")
    if differ:
        raise ConfigError(
            f"training.resume_from={checkpoint} was trained with another model ({'; '.join(differ)}); "
            "resume with the run's own settings (drop those overrides), or start a new run without training.resume_from.",
            key="training.resume_from",
        )
