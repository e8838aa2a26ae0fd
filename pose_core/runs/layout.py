"""Every file and folder name of a training run directory, and where its checkpoints are.

A run directory (``<project>/outputs/YYYY-MM-DD/HH-MM-SS/``) follows Lightning Pose's layout plus
PoseDesk's own files (see the module map in ``docs/architecture.md``)::

    config.yaml                  resolved config the run used
    events.jsonl                 progress and metrics, one JSON line per event (pose_core.events)
    summary.json                 status and pixel errors of the last segment that ended
    STOP                         written by whoever wants the run to stop at the next step
    train.log                    the training process's output (GUI, train.sh)
    train.sh / job.sbatch        a job exported to run elsewhere (pose_core.jobs)
    tb_logs/<name>/version_N/checkpoints/*.ckpt   (last.ckpt = last completed epoch)
    predictions.csv, predictions_pixel_error.csv, predictions_<pca loss>_error.csv, <pca loss>.npz
    video_preds/<video stem>.csv, video_preds/predict_events.jsonl, video_preds/labeled_videos/

This module is the only place those names are spelled: everything else (the trainer, the
predictor, the job export, the GUI) imports them from here. No heavy imports: the GUI imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pose_core.video.formats import LABELED_VIDEO_SUFFIX

CONFIG_FILENAME = "config.yaml"
EVENTS_FILENAME = "events.jsonl"
SUMMARY_FILENAME = "summary.json"
STOP_FILENAME = "STOP"
LOG_FILENAME = "train.log"
TRAIN_SCRIPT = "train.sh"
SLURM_SCRIPT = "job.sbatch"
TB_LOGS_DIRNAME = "tb_logs"
PREDICTIONS_FILENAME = "predictions.csv"
PIXEL_ERROR_FILENAME = "predictions_pixel_error.csv"
VIDEO_PREDS_DIRNAME = "video_preds"
PREDICT_EVENTS_FILENAME = "predict_events.jsonl"
LABELED_VIDEOS_DIRNAME = "labeled_videos"
OUTPUTS_DIRNAME = "outputs"
LP_MODELS_DIRNAME = "models"
"""Where Lightning Pose's own scripts put model folders in a project (``models/DATE/TIME``)."""
LAST_CHECKPOINT_FILENAME = "last.ckpt"
STOP_CHECKPOINT_FILENAME = "last.ckpt.at-stop"
"""The checkpoint a stop saves at its step, kept aside until training ends, then moved over ``last.ckpt``."""
CHECKPOINTS_GLOB = f"{TB_LOGS_DIRNAME}/*/version_*/checkpoints/*.ckpt"
"""Where Lightning's checkpoints of a run are, relative to the run directory."""
RUN_MARKERS = (EVENTS_FILENAME, SUMMARY_FILENAME, CONFIG_FILENAME)
"""A folder holding one of these is a PoseDesk run (or a run about to start)."""
RUN_DIR_TIME_FORMAT = ("%Y-%m-%d", "%H-%M-%S")
"""``outputs/<date>/<time>``: the two folder names of a run, as :func:`datetime.strftime` formats."""


TEMPORAL_NORM_SUFFIX = "_temporal_norm"


def video_output_files(output_dir: Path, video_path: Path) -> tuple[Path, Path, Path]:
    """Where predicting one video writes, in a predictions folder (``video_preds/`` or another).

    Returns:
        ``<stem>.csv`` (predictions), ``<stem>_temporal_norm.csv`` and
        ``labeled_videos/<stem>_labeled.mp4``.
    """
    stem = Path(video_path).stem
    return (
        Path(output_dir) / f"{stem}.csv",
        Path(output_dir) / f"{stem}{TEMPORAL_NORM_SUFFIX}.csv",
        Path(output_dir) / LABELED_VIDEOS_DIRNAME / f"{stem}{LABELED_VIDEO_SUFFIX}.mp4",
    )


def video_pca_error_file(predictions_csv: Path, loss_name: str) -> Path:
    """``<stem>_<loss>_error.csv`` next to a video's predictions: its PCA reprojection errors."""
    return predictions_csv.with_name(f"{predictions_csv.stem}_{loss_name}_error.csv")


def pca_error_filename(loss_name: str) -> str:
    """``predictions_<loss>_error.csv``: the labelled frames' PCA reprojection errors of one PCA loss."""
    return f"predictions_{loss_name}_error.csv"


def pca_fit_filename(loss_name: str) -> str:
    """``<loss>.npz``: the PCA fitted on the training labels for one PCA loss."""
    return f"{loss_name}.npz"


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run directory's files (nothing is read or created).

    Args:
        run_dir: The run directory.
    """

    run_dir: Path

    @property
    def config(self) -> Path:
        """``config.yaml``: the resolved config the run used."""
        return self.run_dir / CONFIG_FILENAME

    @property
    def events(self) -> Path:
        """``events.jsonl``: progress and metrics."""
        return self.run_dir / EVENTS_FILENAME

    @property
    def summary(self) -> Path:
        """``summary.json``: status and pixel errors of the last segment that ended."""
        return self.run_dir / SUMMARY_FILENAME

    @property
    def stop(self) -> Path:
        """``STOP``: asks the training (or after-training prediction) to stop."""
        return self.run_dir / STOP_FILENAME

    @property
    def log(self) -> Path:
        """``train.log``: the training process's output."""
        return self.run_dir / LOG_FILENAME

    @property
    def tb_logs(self) -> Path:
        """``tb_logs/``: tensorboard logs and checkpoints."""
        return self.run_dir / TB_LOGS_DIRNAME

    @property
    def predictions(self) -> Path:
        """``predictions.csv``: predictions on every labelled frame, with their split."""
        return self.run_dir / PREDICTIONS_FILENAME

    @property
    def pixel_error(self) -> Path:
        """``predictions_pixel_error.csv``: pixel error of every labelled keypoint."""
        return self.run_dir / PIXEL_ERROR_FILENAME

    def pca_error(self, loss_name: str) -> Path:
        """``predictions_<loss>_error.csv`` of one PCA loss."""
        return self.run_dir / pca_error_filename(loss_name)

    def pca_fit(self, loss_name: str) -> Path:
        """``<loss>.npz``: the PCA of one PCA loss."""
        return self.run_dir / pca_fit_filename(loss_name)

    @property
    def video_preds(self) -> Path:
        """``video_preds/``: the default folder of video predictions."""
        return self.run_dir / VIDEO_PREDS_DIRNAME

    def video_predictions(self, video_path: Path) -> Path:
        """``video_preds/<video stem>.csv``: where this run's predictions of a video go."""
        return self.video_preds / f"{Path(video_path).stem}.csv"

    @property
    def predict_events(self) -> Path:
        """``video_preds/predict_events.jsonl``: progress of predicting videos from the GUI."""
        return self.video_preds / PREDICT_EVENTS_FILENAME

    def last_checkpoint(self) -> Path | None:
        """The newest ``last*.ckpt`` (None when there is none): what resuming continues from."""
        return find_last_checkpoint(self.run_dir)

    def best_checkpoint(self) -> Path | None:
        """The newest checkpoint that is not a ``last*.ckpt``, else the last one (see :func:`find_best_checkpoint`)."""
        return find_best_checkpoint(self.run_dir)


def find_checkpoints(run_dir: Path) -> list[Path]:
    """Every checkpoint under ``run_dir/tb_logs`` (``*/version_*/checkpoints/*.ckpt``), oldest first.

    A name starting with ``.`` is a checkpoint being written (or a killed write's leftover) and is skipped.
    """
    found: list[tuple[float, Path]] = []
    for path in Path(run_dir).glob(CHECKPOINTS_GLOB):
        if path.name.startswith("."):
            continue
        try:
            found.append((path.stat().st_mtime, path))
        except OSError:  # renamed or removed while listing
            continue
    return [path for _, path in sorted(found)]


def find_last_checkpoint(run_dir: Path) -> Path | None:
    """The newest ``last*.ckpt`` under ``run_dir/tb_logs`` (None when there is none)."""
    last = [p for p in find_checkpoints(run_dir) if p.name.startswith("last")]
    return last[-1] if last else None


def find_best_checkpoint(run_dir: Path) -> Path | None:
    """The newest non-``last`` checkpoint under ``run_dir/tb_logs`` (falls back to the last one)."""
    best = [p for p in find_checkpoints(run_dir) if not p.name.startswith("last")]
    return best[-1] if best else find_last_checkpoint(run_dir)


def checkpoint_logger_version(checkpoint: Path | None) -> int | None:
    """``N`` of ``tb_logs/<name>/version_N/checkpoints/<file>.ckpt`` (None for a checkpoint elsewhere)."""
    if checkpoint is None or checkpoint.parent.name != "checkpoints":
        return None
    version_dir = checkpoint.parent.parent.name
    if not version_dir.startswith("version_"):
        return None
    try:
        return int(version_dir.split("_", 1)[1])
    except ValueError:
        return None


def is_run_dir(path: Path) -> bool:
    """Tell whether ``path`` is a PoseDesk run directory (it holds one of :data:`RUN_MARKERS`)."""
    return Path(path).is_dir() and any((Path(path) / name).is_file() for name in RUN_MARKERS)


def run_dir_for(outputs_dir: Path, stamp: datetime) -> Path:
    """``<outputs_dir>/YYYY-MM-DD/HH-MM-SS`` of a run started at ``stamp``."""
    date_format, time_format = RUN_DIR_TIME_FORMAT
    return Path(outputs_dir) / stamp.strftime(date_format) / stamp.strftime(time_format)


def new_run_dir(project_root: Path, now: datetime | None = None) -> Path:
    """A fresh ``<project>/outputs/YYYY-MM-DD/HH-MM-SS`` (one second later if that one exists)."""
    stamp = now or datetime.now()
    run_dir = run_dir_for(Path(project_root) / OUTPUTS_DIRNAME, stamp)
    for _ in range(120):
        run_dir = run_dir_for(Path(project_root) / OUTPUTS_DIRNAME, stamp)
        if not run_dir.exists():
            return run_dir
        stamp += timedelta(seconds=1)
    return run_dir


def time_from_run_dir(run_dir: Path) -> datetime | None:
    """When a run started according to its folder names ``YYYY-MM-DD/HH-MM-SS`` (None if they are not dates)."""
    date_format, time_format = RUN_DIR_TIME_FORMAT
    try:
        return datetime.strptime(f"{run_dir.parent.name} {run_dir.name}", f"{date_format} {time_format}")
    except ValueError:
        return None
