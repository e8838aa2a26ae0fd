"""Video predictions at the end of a training run (the ``eval.*`` keys of Lightning Pose).

* ``eval.predict_vids_after_training``: predict every video of ``eval.test_videos_directory``
  (empty = ``data.video_dir``) with the run's best checkpoint.
* ``eval.saved_vid_preds_dir``: where ``<stem>.csv`` and ``<stem>_temporal_norm.csv`` go
  (empty = ``<run_dir>/video_preds``).
* ``eval.save_vids_after_training``: also render ``<preds dir>/labeled_videos/<stem>_labeled.mp4``
  with colours from ``eval.colormap`` and dots above ``eval.confidence_thresh_for_vid``.

Training has already succeeded when this runs, so a missing video folder or an unreadable video
is reported as a ``phase`` event and skipped instead of failing the run. A ``STOP`` file in the
run directory (the training stop button) stops it after the current batch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from pose_core.errors import DataError, PoseDeskError
from pose_core.events import EventWriter
from pose_core.inference.pipeline import (
    DEFAULT_BATCH_SIZE,
    LabeledVideoOptions,
    PredictionStopped,
    VideoOutputs,
    plan_outputs,
    predict_video_outputs,
)
from pose_core.runs.layout import STOP_FILENAME, VIDEO_PREDS_DIRNAME


def video_source_dir(cfg: DictConfig) -> Path | None:
    """``eval.test_videos_directory``, or ``data.video_dir`` when it is empty (None if both are)."""
    folder = cfg.eval.test_videos_directory or cfg.data.video_dir
    return Path(str(folder)) if folder else None


def video_preds_dir(cfg: DictConfig, run_dir: Path) -> Path:
    """``eval.saved_vid_preds_dir``, or ``<run_dir>/video_preds`` when it is empty."""
    folder = cfg.eval.saved_vid_preds_dir
    return Path(str(folder)) if folder else Path(run_dir) / VIDEO_PREDS_DIRNAME


def _emit(writer: EventWriter | None, phase: str, message: str) -> None:
    if writer is not None:
        writer.emit("phase", phase=phase, message=message)


def _plan(cfg: DictConfig, run_dir: Path, writer: EventWriter | None) -> list[VideoOutputs]:
    """The videos to predict and their outputs; empty (with a message) when there are none."""
    from pose_core.video.reader import list_videos

    source = video_source_dir(cfg)
    if source is None:
        _emit(writer, "predicting_videos", "No video folder is set (eval.test_videos_directory, data.video_dir).")
        return []
    try:
        return plan_outputs(list_videos(source), video_preds_dir(cfg, run_dir))
    except DataError as exc:
        _emit(writer, "predicting_videos", f"Skipping video predictions: {exc}")
        return []


def _render_announcer(writer: EventWriter | None, plan: VideoOutputs) -> Callable[[str, int, int], None]:
    """A progress callback writing one ``rendering_videos`` phase event when rendering starts."""
    announced = [False]

    def on_progress(stage: str, frames_done: int, n_frames: int) -> None:
        if stage == "render" and not announced[0]:
            announced[0] = True
            _emit(writer, "rendering_videos", f"Rendering {plan.labeled_video_path.name}")

    return on_progress


def predict_videos_after_training(
    cfg: DictConfig,
    run_dir: Path,
    checkpoint: Path,
    writer: EventWriter | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Path]:
    """Predict (and optionally render) the test videos with a freshly trained checkpoint.

    Outputs from an earlier run in the same folder are overwritten (the model is new).

    Args:
        cfg: The run's resolved config.
        run_dir: The run directory (``video_preds/`` goes there by default).
        checkpoint: The checkpoint to predict with (usually the best one).
        writer: The run's events file (``phase`` events for each video), or None.
        batch_size: Frames per forward pass.

    Returns:
        The files written, in order: per video ``<stem>.csv``, ``<stem>_temporal_norm.csv``
        and, with ``eval.save_vids_after_training``, the labelled video. Empty when
        ``eval.predict_vids_after_training`` is false or there are no videos.

    Raises:
        RunError: The checkpoint is unreadable or has other keypoints than the config.
        ConfigError: ``eval.colormap`` is unknown.
    """
    from pose_core.inference.engines import EXPORT_DIRNAME, choose_engine, describe, gpu_present
    from pose_core.inference.predictor import Predictor

    if not cfg.eval.predict_vids_after_training:
        return []
    plans = _plan(cfg, Path(run_dir), writer)
    if not plans:
        return []
    names = list(cfg.data.keypoint_names) if cfg.data.keypoint_names else None
    choice = choose_engine(
        "auto",
        Path(checkpoint),
        lambda: Predictor.from_checkpoint(Path(checkpoint), "cuda" if gpu_present() else "cpu", names),
        Path(run_dir) / EXPORT_DIRNAME,
        names,
    )
    predictor = choice.predictor
    options = None
    if cfg.eval.save_vids_after_training:
        options = LabeledVideoOptions(str(cfg.eval.colormap), float(cfg.eval.confidence_thresh_for_vid))
        from pose_core.render import keypoint_colors_bgr

        keypoint_colors_bgr(len(predictor.keypoint_names), options.colormap)  # unknown colormap: fail before predicting
    stop_file = Path(run_dir) / STOP_FILENAME
    written: list[Path] = []
    for video_idx, plan in enumerate(plans):
        engine = f" ({describe(choice)})" if video_idx == 0 else ""
        _emit(
            writer,
            "predicting_videos",
            f"Predicting video {video_idx + 1}/{len(plans)}: {plan.video_path.name}{engine}",
        )
        try:
            result = predict_video_outputs(
                predictor, plan, batch_size=batch_size, overwrite=True, labeled_video=options,
                progress=_render_announcer(writer, plan), should_stop=stop_file.exists,
            )  # fmt: skip
        except PredictionStopped:
            _emit(
                writer, "predicting_videos", "Video predictions stopped (STOP file); the unfinished video was skipped."
            )
            break
        except PoseDeskError as exc:
            _emit(writer, "predicting_videos", f"Skipping {plan.video_path.name}: {exc}")
            continue
        written += result.written
    return written
