"""Checks before a training run writes anything (issue 16: 1, 2, 4, 5, 7, 7c, 9, 11, 13, 14, 15)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from omegaconf import OmegaConf

from pose_core.data.labels import LabelSet
from pose_core.errors import ConfigError, DataError, RunError
from pose_core.pca import fit_pca
from pose_core.training import preflight
from pose_core.training.callbacks import AtomicCheckpointIO


def _png(path: Path, hw: tuple[int, int] = (40, 60)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((*hw, 3), 128, np.uint8))
    return path


def _labels(paths: list[str], xy: np.ndarray | None = None, names: tuple[str, ...] = ("nose", "tail")) -> LabelSet:
    if xy is None:
        xy = np.tile(np.array([[10.0, 12.0], [30.0, 20.0]]), (len(paths), 1, 1))
    return LabelSet(list(paths), list(names), xy)


# ------------------------------------------------------------------ run folder (9, 7c, 2)


def test_a_run_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("x")
    with pytest.raises(RunError, match="is a file; set hydra.run.dir"):
        preflight.check_run_dir(tmp_path / "run")
    with pytest.raises(RunError, match="below the file"):
        preflight.check_run_dir(tmp_path / "run" / "sub")


def test_an_unwritable_run_dir_is_refused_before_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    with pytest.raises(RunError, match=f"{tmp_path} is not writable by you"):
        preflight.check_run_dir(tmp_path / "outputs" / "run")
    assert not (tmp_path / "outputs").exists()


def _hold_lock(run_dir: Path) -> subprocess.Popen[str]:
    code = (
        "import sys, time; from pathlib import Path; from pose_core.training.preflight import RunLock;"
        f"lock = RunLock.for_run(Path({str(run_dir)!r})); lock.acquire(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_run_folder_in_use_is_refused_and_a_killed_runs_lock_is_not(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    proc = _hold_lock(run_dir)
    try:
        with pytest.raises(RunError, match=rf"in use by another training \(pid {proc.pid} on "):
            preflight.RunLock.for_run(run_dir).refuse_if_held()
        with pytest.raises(RunError, match="in use"):
            preflight.RunLock.for_run(run_dir).acquire()
    finally:
        proc.kill()
        proc.wait()
    lock = preflight.RunLock.for_run(run_dir)  # the lock file stays, the lock went with the process
    lock.refuse_if_held()
    lock.acquire()
    lock.release()


# ------------------------------------------------------------------ images (4, 7c, 19)


def test_every_unusable_image_is_listed_before_training(tmp_path: Path) -> None:
    good = _png(tmp_path / "img" / "good.png")
    (tmp_path / "img" / "empty.png").write_bytes(b"")
    (tmp_path / "img" / "cut.png").write_bytes(good.read_bytes()[:-30])
    jpg = tmp_path / "img" / "cut.jpg"
    cv2.imwrite(str(jpg), np.full((40, 60, 3), 90, np.uint8))
    jpg.write_bytes(jpg.read_bytes()[:-40])
    (tmp_path / "img" / "notes.png").write_text("not an image")
    (tmp_path / "img" / "folder.png").mkdir()
    names = ["good", "empty", "cut", "notes", "folder"]
    labels = _labels([f"img/{n}.png" for n in names] + ["img/cut.jpg", "img/missing.png"])
    with pytest.raises(DataError) as info:
        preflight.check_labelled_images(labels, tmp_path)
    message = str(info.value)
    assert message.startswith("6 of 7 labelled images")
    for part in (
        "img/empty.png is empty (0 bytes)",
        "img/cut.png truncated",
        "img/notes.png is not an image file",
        "img/folder.png is a folder",
    ):
        assert part in message
    assert "and 1 more" in message  # at most 5 listed


def test_an_unreadable_image_is_a_data_error_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _png(tmp_path / "a.png")
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "a.png":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DataError, match=r"a.png cannot be read \(Permission denied\)"):
        preflight.check_labelled_images(_labels(["a.png"]), tmp_path)


def test_good_images_return_their_sizes(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (40, 60))
    _png(tmp_path / "b.png", (20, 30))
    jpg = tmp_path / "c.jpg"
    cv2.imwrite(str(jpg), np.full((10, 12, 3), 90, np.uint8))
    jpg.write_bytes(jpg.read_bytes() + b"\0" * 300)  # bytes after the end marker (some cameras add them)
    hw = preflight.check_labelled_images(_labels(["a.png", "b.png", "c.jpg"]), tmp_path)
    assert hw.tolist() == [[40, 60], [20, 30], [10, 12]]


# ------------------------------------------------------------------ label values (13, 14, 15)

HW = np.array([[40, 60], [40, 60], [40, 60]])


def test_an_image_listed_twice_is_refused(tmp_path: Path) -> None:
    labels = _labels(["a.png", "b.png", "a.png"])
    with pytest.raises(DataError, match=r"a.png on file lines 4 and 6 \(same labels\)"):
        preflight.check_label_values(labels, tmp_path / "c.csv", HW)
    labels.keypoints_px[2, 0] = [1.0, 1.0]
    with pytest.raises(DataError, match="different labels"):
        preflight.check_label_values(labels, tmp_path / "c.csv", HW)


def test_no_label_at_all_or_a_keypoint_never_labelled_is_refused(tmp_path: Path) -> None:
    nothing = _labels(["a.png", "b.png", "c.png"], np.full((3, 2, 2), np.nan))
    with pytest.raises(DataError, match="no label in any of them"):
        preflight.check_label_values(nothing, tmp_path / "c.csv", HW)
    one = _labels(["a.png", "b.png", "c.png"])
    one.keypoints_px[:, 1] = np.nan
    with pytest.raises(DataError, match="keypoint.s. tail have no label in any of its 3 rows"):
        preflight.check_label_values(one, tmp_path / "c.csv", HW)


def test_labels_outside_their_image_are_refused_with_the_numbers(tmp_path: Path) -> None:
    labels = _labels(["a.png", "b.png", "c.png"])
    labels.keypoints_px[1, 0] = [1e6, 5.0]
    labels.keypoints_px[2, 1] = [200.0, 300.0]
    hw = np.array([[40, 60], [40, 60], [1, 1]])
    with pytest.raises(DataError) as info:
        preflight.check_label_values(labels, tmp_path / "c.csv", hw)
    assert "3 label(s) outside their image" in str(info.value)
    assert "b.png nose at (1e+06, 5) in a 60x40 image" in str(info.value)
    assert "c.png tail at (200, 300) in a 1x1 image" in str(info.value)
    labels.keypoints_px[1, 0] = [60.5, 40.9]  # a click on the edge is fine
    labels.keypoints_px[2] = [[0.0, 0.0], [0.2, 0.1]]
    assert preflight.check_label_values(labels, tmp_path / "c.csv", hw)  # a note: sizes differ


def test_images_of_different_sizes_are_noted_with_the_counts(tmp_path: Path) -> None:
    notes = preflight.check_label_values(
        _labels(["a.png", "b.png", "c.png"]), tmp_path / "c.csv", np.array([[40, 60], [40, 60], [80, 120]])
    )
    assert notes and "2 at 60x40" in notes[0] and "1 at 120x80" in notes[0]


# ------------------------------------------------------------------ split (11) and PCA columns (7)


def test_one_training_frame_is_refused_with_the_numbers() -> None:
    cfg = OmegaConf.create({"training": {"train_prob": 0.8, "train_frames": 0.01}})
    with pytest.raises(ConfigError, match=r"Only 1 training frame.*train_frames=0.01.*at least 2"):
        preflight.check_enough_training_frames(1, 1, 1, cfg)
    preflight.check_enough_training_frames(2, 1, 1, cfg)
    with pytest.raises(ConfigError, match="for 2 process"):
        preflight.check_enough_training_frames(3, 4, 2, cfg)


def test_pca_columns_beyond_the_keypoints_are_a_config_error() -> None:
    xy = np.random.default_rng(0).normal(size=(30, 4, 2))
    with pytest.raises(ConfigError, match=r"data.columns_for_singleview_pca has keypoint indices \[17\]"):
        fit_pca(xy, "singleview", [[0, 1, 17]], 0.9)
    with pytest.raises(ConfigError, match=r"data.mirrored_column_matches has keypoint indices \[9\]"):
        fit_pca(xy, "multiview", [[0, 1], [2, 9]], 3)


# ------------------------------------------------------------------ checkpoints (1, 5)


def test_a_checkpoint_write_that_fails_leaves_the_previous_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    path = tmp_path / "run" / "tb_logs" / "m" / "version_0" / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, path)
    real_write = Path.write_bytes

    def disk_full(self: Path, data: bytes) -> int:
        real_write(self, bytes(data)[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    with pytest.raises(RunError, match=f"disk full .* in {path.parent}.*resume_from={tmp_path / 'run'}"):
        io.save_checkpoint({"epoch": 2}, path)
    monkeypatch.undo()
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
    assert torch.load(path, weights_only=False)["epoch"] == 1


def test_resume_falls_back_to_the_newest_readable_checkpoint(tmp_path: Path) -> None:
    folder = tmp_path / "tb_logs" / "m" / "version_0" / "checkpoints"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 0}, folder / "best-epoch=0-step=5.ckpt")
    time.sleep(0.01)
    last = folder / "last.ckpt"
    io.save_checkpoint({"epoch": 1}, last)
    last.write_bytes(last.read_bytes()[:100])  # truncated by a full disk before this fix
    found, note = preflight.readable_resume_checkpoint(tmp_path, last)
    assert found.name == "best-epoch=0-step=5.ckpt"
    assert note is not None and "last.ckpt is damaged" in note
    (folder / "best-epoch=0-step=5.ckpt").write_bytes(b"")
    with pytest.raises(RunError, match="No readable checkpoint"):
        preflight.readable_resume_checkpoint(tmp_path, last)


def test_resuming_with_another_model_names_the_keys(tiny_run) -> None:  # noqa: ANN001 - conftest fixture
    cfg = OmegaConf.create(
        {
            "model": {"backbone": "resnet34", "model_type": "heatmap"},
            "data": {
                "keypoint_names": tiny_run.keypoint_names,
                "image_resize_dims": {"height": 64, "width": 64},
                "downsample_factor": 2,
            },
        }
    )
    with pytest.raises(ConfigError, match="model.backbone: checkpoint resnet18, config resnet34"):
        preflight.check_resume_compatible(tiny_run.checkpoint, cfg)
    cfg.model.backbone = "resnet18"
    preflight.check_resume_compatible(tiny_run.checkpoint, cfg)
