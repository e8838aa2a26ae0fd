"""Lightning Pose model directories: read them, list them as runs, replay their tensorboard curves.

A Lightning Pose (LP) training leaves a *model directory* (``outputs/YYYY-MM-DD/HH-MM-SS/`` or
``models/...``): its config (``config.yaml``; older versions only ``.hydra/config.yaml``),
``predictions.csv`` (labelled frames, the same three header rows as PoseDesk's plus a ``set``
column), ``predictions_pixel_error.csv`` and PCA error CSVs, ``video_preds/<video>.csv``,
Lightning's tensorboard files ``tb_logs/<model_name>/version_N/events.out.tfevents.*`` and the
best checkpoint ``tb_logs/.../checkpoints/epoch=E-step=S-best.ckpt``. It has no
``events.jsonl`` (that file is PoseDesk's): :func:`events_from_tensorboard` rebuilds the same
:class:`pose_core.events.Event` records from the tensorboard scalars
(:mod:`pose_core.interop.lp_tensorboard`), so the GUI plots LP curves exactly like its own, and
:func:`lp_run_info` lists the directory among a project's runs.

Whether PoseDesk can *run* an LP checkpoint is :meth:`LPModelDir.unsupported_reason`; the
weights themselves are mapped by :mod:`pose_core.interop.lp_checkpoint` (torch). No torch,
tensorboard or pandas at import time: the GUI imports this module.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pose_core.errors import DataError, PoseDeskError, RunError
from pose_core.events import EVENTS_FILENAME, Event
from pose_core.interop.lp_tensorboard import SOURCE_NAME, tensorboard_events

if TYPE_CHECKING:
    from pose_core.project import Project
    from pose_core.runs import RunInfo

STATUS_FINISHED = f"finished · {SOURCE_NAME}"
STATUS_RUNNING = f"running · {SOURCE_NAME}"
STATUS_INCOMPLETE = f"incomplete · {SOURCE_NAME}"
RUNNING_WINDOW_S = 300.0  # tensorboard files written this recently, without predictions = still training
SUPPORTED_MODEL_TYPES = ("heatmap", "regression")
LP_BACKBONES: dict[str, str] = {
    **{name: name for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
    **{f"resnet50_{kind}": "resnet50" for kind in ("animal_apose", "animal_ap10k", "human_jhmdb")},
    **{f"resnet50_human_{kind}": "resnet50" for kind in ("res_rle", "top_res", "hand")},
    **{name: name for name in ("efficientnet_b0", "efficientnet_b1", "efficientnet_b2")},
}
"""LP backbone name -> the torchvision architecture PoseDesk builds for it (same layers)."""
_CONFIG_CANDIDATES = ("config.yaml", ".hydra/config.yaml")
_NOT_LP_MARKERS = (EVENTS_FILENAME, "summary.json", "CollectedData.csv")
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
    """Tell whether ``path`` is a Lightning Pose model directory (not a PoseDesk run, not a project).

    It must hold an LP config and tensorboard files, a checkpoint or ``predictions.csv``, and
    none of what marks a PoseDesk run (``events.jsonl``, ``summary.json``, a config written by
    PoseDesk: it holds every key, PoseDesk's own ``training.resume_from`` and
    ``model.pretrained_weights_path`` among them) or a project (``CollectedData.csv``).

    Args:
        path: A folder.
    """
    path = Path(path)
    if not path.is_dir() or any((path / name).exists() for name in _NOT_LP_MARKERS):
        return False
    has_outputs = (path / "predictions.csv").is_file() or bool(_event_files(path)) or bool(_checkpoints(path))
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
    predictions = path / "predictions.csv"
    pixel_error = path / "predictions_pixel_error.csv"
    video_preds = sorted(p for p in (path / "video_preds").glob("*.csv") if not p.stem.endswith(_DERIVED_CSV_SUFFIXES))
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


# ----------------------------------------------------------------------------- run listing


def lp_status(lp: LPModelDir, now_s: float | None = None) -> str:
    """The status shown for an LP model directory, marked ``· Lightning Pose``.

    ``finished`` when LP wrote ``predictions.csv`` (it does when training ends), ``running`` when
    its tensorboard files or checkpoints changed in the last :data:`RUNNING_WINDOW_S`, else
    ``incomplete`` (stopped or crashed before the end).
    """
    if lp.predictions_csv is not None:
        return STATUS_FINISHED
    mtimes = [p.stat().st_mtime for p in [*lp.event_files, *lp.checkpoints] if p.exists()]
    now_s = time.time() if now_s is None else now_s
    return STATUS_RUNNING if mtimes and now_s - max(mtimes) < RUNNING_WINDOW_S else STATUS_INCOMPLETE


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


def lp_run_info(run_dir: Path) -> RunInfo:
    """Summarise an LP model directory as a :class:`pose_core.runs.RunInfo` (source ``Lightning Pose``).

    Unreadable files make the corresponding fields None instead of failing.
    """
    from pose_core.runs import RunInfo, _time_from_dir_names

    lp = read_lp_model_dir(run_dir)
    events = events_from_tensorboard(lp.path)
    epoch_ends = [e for e in events if e.kind == "epoch_end"]
    vals = [e.data["metrics"].get("val_supervised_loss") for e in epoch_ends]
    finite = [float(v) for v in vals if isinstance(v, float) and math.isfinite(v)]
    return RunInfo(
        path=lp.path,
        status=lp_status(lp),
        started=datetime.fromtimestamp(events[0].time) if events else _time_from_dir_names(lp.path),
        epochs=max(int(e.data["epoch"]) for e in epoch_ends) + 1 if epoch_ends else None,
        best_val_loss=min(finite) if finite else None,
        test_error_px=lp_test_error_px(lp.pixel_error_csv),
        source=SOURCE_NAME,
    )


def lp_model_dirs(folder: Path) -> list[Path]:
    """LP model directories ``folder/*/*`` (e.g. a project's ``models/``)."""
    folder = Path(folder)
    return [d for d in sorted(folder.glob("*/*")) if is_lp_model_dir(d)] if folder.is_dir() else []


# ----------------------------------------------------------------------------- opening in the GUI


@dataclass
class LPOpening:
    """What opening an LP model folder gives: the folder, a project to show it in, and what is missing.

    Attributes:
        model: The model directory.
        project: The enclosing project, or one built from the config's ``data_dir``; None when
            the labels are not on this machine.
        in_project: The model sits in ``project``'s ``outputs/`` or ``models/`` folder.
        problems: What is missing (one error per problem, naming the key and the fix), and
            whether PoseDesk cannot run the checkpoint.
    """

    model: LPModelDir
    project: Project | None
    in_project: bool
    problems: list[PoseDeskError]


def open_lp_model_folder(path: Path) -> LPOpening:
    """Read an LP model folder and find the project to review it in (runs in a worker thread).

    If the folder is ``<project>/outputs/DATE/TIME`` (or ``models/...``) of a project that opens,
    that project is used; otherwise the labels and videos its config names (``data.data_dir``,
    ``data.csv_file``, ``data.video_dir``), as far as they exist on this machine.

    Raises:
        DataError: ``path`` is not an LP model folder.
    """
    from pose_core.project import Project

    lp = read_lp_model_dir(path)
    problems: list[PoseDeskError] = []
    reason = lp.unsupported_reason()
    if reason is not None:
        problems.append(RunError(reason))
    parents = lp.path.parents
    if len(parents) > 2 and parents[1].name in ("outputs", "models"):
        try:
            return LPOpening(lp, Project.open(parents[2]), True, problems)
        except PoseDeskError:
            pass
    project = _project_from_config(lp, problems)
    return LPOpening(lp, project, False, problems)


def _project_from_config(lp: LPModelDir, problems: list[PoseDeskError]) -> Project | None:
    """A project from the config's labels CSV and video folder; what is missing goes to ``problems``."""
    from dataclasses import replace

    from pose_core.data.labels import read_labels
    from pose_core.project import KIND_LIGHTNING_POSE, Project, _video_files

    where = f"{lp.config_path} says"
    if not lp.csv_path.is_file():
        problems.append(
            DataError(
                f"{where} data.data_dir={lp.data_dir} / data.csv_file, but {lp.csv_path} is not on this machine: the "
                "labelled frames and their errors are not shown; copy the Lightning Pose project here and open "
                "the model from its outputs/ folder.",
                path=str(lp.csv_path),
            )
        )
        project = None
    else:
        try:
            project = Project.open(lp.data_dir)
        except PoseDeskError:
            labels = read_labels(lp.csv_path)
            project = Project(
                lp.data_dir, KIND_LIGHTNING_POSE, None, lp.data_dir, lp.video_dir, [lp.csv_path], labels, []
            )
    if not lp.video_dir.is_dir():
        problems.append(
            DataError(
                f"{where} data.video_dir={lp.video_dir}, which is not on this machine: open the videos with "
                "'Open video…' in the Review pane to see the model's predictions on them.",
                path=str(lp.video_dir),
            )
        )
    elif project is not None and project.video_dir != lp.video_dir:
        project = replace(project, video_dir=lp.video_dir, videos=_video_files(lp.video_dir))
    return project


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
        (run_dir / "predictions.csv").is_file(),
    )  # fmt: skip
