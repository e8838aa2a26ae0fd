"""Lightning Pose model directories: read them and replay their tensorboard curves (a pure reader).

A Lightning Pose (LP) training leaves a *model directory* (``outputs/YYYY-MM-DD/HH-MM-SS/`` or
``models/...``): its config (``config.yaml``; older versions only ``.hydra/config.yaml``),
``predictions.csv`` (labelled frames, the same three header rows as PoseDesk's plus a ``set``
column), ``predictions_pixel_error.csv`` and PCA error CSVs, ``video_preds/<video>.csv``,
Lightning's tensorboard files ``tb_logs/<model_name>/version_N/events.out.tfevents.*`` and the
best checkpoint ``tb_logs/.../checkpoints/epoch=E-step=S-best.ckpt``. It has no
``events.jsonl`` (that file is PoseDesk's): :func:`events_from_tensorboard` rebuilds the same
:class:`pose_core.events.Event` records from the tensorboard scalars
(:mod:`pose_core.interop.lp_tensorboard`), so the GUI plots LP curves exactly like its own.

This module reads LP's files and imports nothing of PoseDesk's runs or projects. The bridges above
it do that: :mod:`pose_core.runs.lightning_pose` lists a model folder among a project's runs,
:mod:`pose_core.interop.lp_project` opens it with a project in the GUI, and
:mod:`pose_core.interop.lp_checkpoint` loads its checkpoint as a predictor.

Whether PoseDesk can *run* an LP checkpoint is :meth:`LPModelDir.unsupported_reason`; the
weights themselves are mapped by :mod:`pose_core.interop.lp_checkpoint` (torch). No torch,
tensorboard or pandas at import time: the GUI imports this module.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pose_core.errors import DataError, PoseDeskError, RunError
from pose_core.events import Event
from pose_core.interop.lp_tensorboard import tensorboard_events

SUPPORTED_MODEL_TYPES = ("heatmap", "regression")
LP_BACKBONES: dict[str, str] = {
    **{name: name for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
    **{f"resnet50_{kind}": "resnet50" for kind in ("animal_apose", "animal_ap10k", "human_jhmdb")},
    **{f"resnet50_human_{kind}": "resnet50" for kind in ("res_rle", "top_res", "hand")},
    **{name: name for name in ("efficientnet_b0", "efficientnet_b1", "efficientnet_b2")},
}
"""LP backbone name -> the torchvision architecture PoseDesk builds for it (same layers)."""
# Lightning Pose's own layout (PoseDesk's run layout follows it, but this module reads LP's and
# imports nothing of PoseDesk's runs or projects: pose_core.runs.layout owns PoseDesk's names).
_CONFIG_CANDIDATES = ("config.yaml", ".hydra/config.yaml")
LP_LABELS_FILENAME = "CollectedData.csv"
LP_PREDICTIONS_FILENAME = "predictions.csv"
LP_PIXEL_ERROR_FILENAME = "predictions_pixel_error.csv"
LP_VIDEO_PREDS_DIRNAME = "video_preds"
_DERIVED_CSV_SUFFIXES = ("_temporal_norm", "_pca_singleview_error", "_pca_multiview_error", "_pixel_error")


# ----------------------------------------------------------------------------- the directory


def find_lp_config(path: Path) -> Path | None:
    """The LP config of a model directory (``config.yaml`` or ``.hydra/config.yaml``), if it has one.

    Args:
        path: A folder.

    Returns:
        The first candidate that is a YAML mapping with ``data`` and ``model`` sections, else None.
    """
    for name in _CONFIG_CANDIDATES:
        candidate = Path(path) / name
        if candidate.is_file() and _read_lp_config(candidate) is not None:
            return candidate
    return None


def _read_lp_config(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and isinstance(data.get("model"), dict):
        return data
    return None


def _event_files(path: Path) -> list[Path]:
    return sorted(Path(path).glob("tb_logs/*/version_*/events.out.tfevents.*"))


def _checkpoints(path: Path) -> list[Path]:
    return sorted(Path(path).glob("tb_logs/*/version_*/checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)


def is_lp_model_dir(path: Path) -> bool:
    """Tell whether ``path`` is a Lightning Pose model directory (not a project, not written by PoseDesk).

    It must hold an LP config and tensorboard files, a checkpoint or ``predictions.csv``; a config
    written by PoseDesk (it holds every key, PoseDesk's own ``training.resume_from`` and
    ``model.pretrained_weights_path`` among them) or a labels file (``CollectedData.csv``: a
    project) says it is not one. :func:`pose_core.runs.lightning_pose.is_lp_run_dir` also refuses
    a folder holding PoseDesk's own run files.

    Args:
        path: A folder.
    """
    path = Path(path)
    if not path.is_dir() or (path / LP_LABELS_FILENAME).exists():
        return False
    has_outputs = (path / LP_PREDICTIONS_FILENAME).is_file() or bool(_event_files(path)) or bool(_checkpoints(path))
    config_path = find_lp_config(path) if has_outputs else None
    config = _read_lp_config(config_path) if config_path is not None else None
    if config is None:
        return False
    training, model = config.get("training"), config["model"]
    written_by_posedesk = isinstance(training, dict) and "resume_from" in training
    return not (written_by_posedesk or "pretrained_weights_path" in model)


@dataclass
class LPModelDir:
    """What a Lightning Pose model directory holds.

    Attributes:
        path: The model directory.
        config_path: Its config file.
        config: The config (raw YAML mapping).
        keypoint_names: Keypoint names (config, else the predictions' header).
        predictions_csv: ``predictions.csv`` (labelled frames) if present.
        pixel_error_csv: ``predictions_pixel_error.csv`` if present.
        video_preds: ``video_preds/<video>.csv`` files (derived error / norm CSVs excluded).
        event_files: Tensorboard event files.
        checkpoints: Checkpoints, oldest first.
    """

    path: Path
    config_path: Path
    config: dict[str, Any]
    keypoint_names: list[str]
    predictions_csv: Path | None = None
    pixel_error_csv: Path | None = None
    video_preds: list[Path] = field(default_factory=list)
    event_files: list[Path] = field(default_factory=list)
    checkpoints: list[Path] = field(default_factory=list)

    def _section(self, name: str) -> dict[str, Any]:
        value = self.config.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        """``YYYY-MM-DD/HH-MM-SS`` (the last two folder names), like a PoseDesk run."""
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def model_type(self) -> str:
        """``model.model_type`` (LP's default ``heatmap`` when absent)."""
        return str(self._section("model").get("model_type") or "heatmap")

    @property
    def backbone(self) -> str:
        """``model.backbone`` (LP's default ``resnet50`` when absent)."""
        return str(self._section("model").get("backbone") or "resnet50")

    @property
    def head(self) -> str | None:
        """``model.head`` (newer LP versions; None when absent)."""
        head = self._section("model").get("head")
        return str(head) if head else None

    @property
    def input_hw(self) -> tuple[int, int]:
        """``data.image_resize_dims`` as ``(height, width)``."""
        dims = self._section("data").get("image_resize_dims") or {}
        return int(dims.get("height") or 256), int(dims.get("width") or 256)

    @property
    def downsample_factor(self) -> int:
        """``data.downsample_factor`` (2 when absent)."""
        return int(self._section("data").get("downsample_factor") or 2)

    @property
    def best_checkpoint(self) -> Path | None:
        """The newest ``*best*.ckpt`` (LP's ``ModelCheckpoint(filename="{epoch}-{step}-best")``), else the newest."""
        best = [p for p in self.checkpoints if "best" in p.stem]
        chosen = best or self.checkpoints
        return chosen[-1] if chosen else None

    @property
    def data_dir(self) -> Path:
        """``data.data_dir`` on this machine (relative paths tried from the LP project folder first)."""
        return _resolve(self, self._section("data").get("data_dir") or ".")

    @property
    def csv_path(self) -> Path:
        """The labels CSV ``data.csv_file`` (relative to ``data_dir``)."""
        csv_file = Path(str(self._section("data").get("csv_file") or "CollectedData.csv"))
        return csv_file if csv_file.is_absolute() else self.data_dir / csv_file

    @property
    def video_dir(self) -> Path:
        """``data.video_dir`` (relative to ``data_dir``)."""
        video_dir = Path(str(self._section("data").get("video_dir") or "videos"))
        return video_dir if video_dir.is_absolute() else self.data_dir / video_dir

    def unsupported_reason(self) -> str | None:
        """Why PoseDesk cannot run this model's checkpoint (one line), or None when it can.

        LP's ``heatmap`` and ``regression`` networks on torchvision resnets and efficientnets have
        the layers of :class:`pose_core.models.pose_model.PoseModel`; context (``heatmap_mhcrnn``),
        multiview-transformer heads and ViT backbones do not.
        """
        if self.model_type not in SUPPORTED_MODEL_TYPES:
            what = f"model type {self.model_type}"
        elif self.head not in (None, "heatmap_cnn") and self.model_type == "heatmap":
            what = f"model type {self.model_type} / head {self.head}"
        elif self.backbone not in LP_BACKBONES:
            what = f"backbone {self.backbone}"
        elif self.model_type == "heatmap" and self.downsample_factor not in (1, 2, 3):
            what = f"data.downsample_factor={self.downsample_factor}"
        else:
            return None
        return (
            "PoseDesk can review this model's predictions and curves but cannot run its checkpoint: "
            f"{what} is not supported; supported: model.model_type {' or '.join(SUPPORTED_MODEL_TYPES)} "
            f"with model.backbone {', '.join(LP_BACKBONES)}."
        )


def _resolve(lp: LPModelDir, value: Any) -> Path:
    path = Path(str(value)).expanduser()
    if path.is_absolute():
        return path
    candidates = [lp.path.parents[2] / path] if len(lp.path.parents) > 2 else []
    candidates.append(lp.config_path.parent / path)
    return next((c for c in candidates if c.exists()), candidates[0]).absolute()


def read_lp_model_dir(path: Path) -> LPModelDir:
    """Read what a Lightning Pose model directory holds (no tensorboard or checkpoint loading).

    Args:
        path: The model directory.

    Returns:
        The :class:`LPModelDir`.

    Raises:
        DataError: ``path`` is not a Lightning Pose model directory, or has no keypoint names.
    """
    path = Path(path).expanduser().absolute()
    if not is_lp_model_dir(path):
        raise DataError(
            f"{path} is not a Lightning Pose model folder: it needs a config.yaml (or .hydra/config.yaml) with "
            "data: and model: sections and tb_logs/, a checkpoint or predictions.csv; choose the folder "
            "Lightning Pose trained into (outputs/YYYY-MM-DD/HH-MM-SS).",
            path=str(path),
        )
    config_path = find_lp_config(path)
    assert config_path is not None
    config = _read_lp_config(config_path) or {}
    predictions = path / LP_PREDICTIONS_FILENAME
    pixel_error = path / LP_PIXEL_ERROR_FILENAME
    video_preds = sorted(
        p for p in (path / LP_VIDEO_PREDS_DIRNAME).glob("*.csv") if not p.stem.endswith(_DERIVED_CSV_SUFFIXES)
    )
    names = [str(n) for n in (config["data"].get("keypoint_names") or [])]
    if not names:
        header_source = predictions if predictions.is_file() else (video_preds[0] if video_preds else None)
        names = _keypoints_from_header(header_source) if header_source is not None else []
    if not names:
        raise DataError(
            f"{config_path} has no data.keypoint_names and the model folder has no predictions to read them from; "
            "add data.keypoint_names to the config.",
            path=str(config_path),
        )
    return LPModelDir(
        path, config_path, config, names,
        predictions if predictions.is_file() else None,
        pixel_error if pixel_error.is_file() else None,
        video_preds, _event_files(path), _checkpoints(path),
    )  # fmt: skip


def _keypoints_from_header(csv_path: Path) -> list[str]:
    """Keypoint names from the ``bodyparts`` header row of a predictions CSV."""
    try:
        with csv_path.open(encoding="utf-8", newline="") as fh:
            rows = [row for _, row in zip(range(3), csv.reader(fh), strict=False)]
    except OSError:
        return []
    if len(rows) < 2:
        return []
    return list(dict.fromkeys(name for name in rows[1][1:] if name and name != "set"))


def check_lp_checkpoint_supported(lp: LPModelDir) -> None:
    """Raise a one-line RunError when PoseDesk cannot run this model's checkpoint (see :meth:`LPModelDir.unsupported_reason`)."""
    reason = lp.unsupported_reason()
    if reason is not None:
        raise RunError(f"{lp.path}: {reason}")


# ----------------------------------------------------------------------------- results


def lp_test_error_px(pixel_error_csv: Path | None) -> float | None:
    """Mean pixel error of the test rows of ``predictions_pixel_error.csv`` (None if absent or unreadable)."""
    if pixel_error_csv is None:
        return None
    from pose_core.io.predictions import read_error_csv
    from pose_core.metrics import summarize_errors

    try:
        table = read_error_csv(pixel_error_csv)
        value = summarize_errors(table.errors, table.split)["test"]["mean_px"]
    except (PoseDeskError, ValueError):
        return None
    return float(value) if math.isfinite(value) else None


# ----------------------------------------------------------------------------- curves


def events_from_tensorboard(run_dir: Path) -> list[Event]:
    """An LP model directory's tensorboard curves as PoseDesk events (see :mod:`pose_core.interop.lp_tensorboard`).

    Args:
        run_dir: The LP model directory.

    Returns:
        ``started``, ``progress`` and ``epoch_end`` events, then ``finished`` when LP wrote
        ``predictions.csv``; [] when there is no scalar.
    """
    run_dir = Path(run_dir)
    config = _read_lp_config(find_lp_config(run_dir) or run_dir / "config.yaml") or {}
    training = config.get("training")
    return tensorboard_events(
        run_dir, _event_files(run_dir), training if isinstance(training, dict) else {},
        (run_dir / LP_PREDICTIONS_FILENAME).is_file(),
    )  # fmt: skip
