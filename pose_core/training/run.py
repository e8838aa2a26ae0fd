"""train(cfg, run_dir) -> RunResult: one training run, from labels to evaluated predictions.

Explicit paths only (no chdir, no global logging changes). A run directory ends up holding
everything needed to use it later: ``config.yaml``, ``events.jsonl``, ``tb_logs/`` with the
checkpoints, ``predictions.csv``, ``predictions_pixel_error.csv`` and ``summary.json``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import signal
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from pose_core.config.io import LoadedConfig
from pose_core.errors import ConfigError, PoseDeskError, RunError
from pose_core.events import EventWriter
from pose_core.io.atomic import atomic_write_text
from pose_core.runs.layout import (
    CHECKPOINTS_GLOB,
    EVENTS_FILENAME,
    LAST_CHECKPOINT_FILENAME,
    STOP_FILENAME,
    SUMMARY_FILENAME,
    TEMPORAL_NORM_SUFFIX,
    RunLayout,
    checkpoint_logger_version,
    find_best_checkpoint,
    find_last_checkpoint,
    video_pca_error_file,
)
from pose_core.runs.status import RunStatus
from pose_core.training import distributed, preflight
from pose_core.training.ensemble import apply_init_from

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a training run produced.

    Attributes:
        run_dir: The run directory.
        status: ``finished`` or ``stopped``.
        best_checkpoint: The checkpoint with the lowest validation loss (or the last one).
        last_checkpoint: The checkpoint of the last completed epoch.
        summary: Per-split pixel error summary (see :func:`pose_core.metrics.summarize_errors`).
        epochs_completed: Epochs trained in total.
        global_rank: This process's rank in a distributed run; only rank 0 has the checkpoints
            and the summary (the others return with ``summary`` empty).
        stopped_by: ``"STOP file"`` or ``"SIGTERM"`` when the run was stopped, else None.
    """

    run_dir: Path
    status: str
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    summary: dict[str, Any] = field(default_factory=dict)
    epochs_completed: int = 0
    global_rank: int = 0
    stopped_by: str | None = None


__all__ = ["RunResult", "find_best_checkpoint", "find_last_checkpoint", "resolve_resume", "train"]


def resolve_resume(resume_from: str) -> tuple[Path | None, Path]:
    """Turns ``training.resume_from`` into ``(run_dir or None, checkpoint)``.

    Raises:
        ConfigError: Nothing to resume from at that path.
    """
    path = Path(resume_from)
    if path.is_dir():
        ckpt = find_last_checkpoint(path) or find_best_checkpoint(path)  # no last.ckpt: a full disk stopped it
        if ckpt is None:
            raise ConfigError(
                f"training.resume_from={path} holds no checkpoint ({CHECKPOINTS_GLOB.replace('*.ckpt', LAST_CHECKPOINT_FILENAME)}); it did not finish an epoch — start a new run instead.",
                key="training.resume_from",
            )
        return path, ckpt
    if path.is_file() and path.suffix == ".ckpt":
        return None, path
    raise ConfigError(
        f"training.resume_from={path} is neither a run folder nor a .ckpt file; give one of them.",
        key="training.resume_from",
    )


def _read_and_check_labels(cfg: DictConfig) -> Any:
    """Reads the labels CSV, fills keypoint names/count from it and checks images exist."""
    from pose_core.data.labels import check_images, check_keypoint_names, read_labels

    csv_path = Path(str(cfg.data.csv_file))
    labels = read_labels(csv_path)
    names = list(cfg.data.keypoint_names) if cfg.data.keypoint_names is not None else None
    if cfg.data.num_keypoints is not None and cfg.data.num_keypoints != labels.n_keypoints:
        fix = f"set data.num_keypoints={labels.n_keypoints}"
        if names is not None and names != list(labels.keypoint_names):  # another dataset's config: both are wrong
            fix = (
                "set data.num_keypoints and data.keypoint_names to them, or leave both empty to read them from "
                "the CSV (data.num_keypoints=null data.keypoint_names=null)"
            )
        raise ConfigError(
            f"data.num_keypoints={cfg.data.num_keypoints} but {csv_path} has {labels.n_keypoints} keypoints "
            f"({', '.join(labels.keypoint_names)}); {fix}.",
            key="data.num_keypoints",
        )
    check_keypoint_names(labels, names, csv_path)
    check_images(labels, Path(str(cfg.data.data_dir)))
    cfg.data.num_keypoints = labels.n_keypoints
    cfg.data.keypoint_names = list(labels.keypoint_names)
    return labels


def build_datamodule(cfg: DictConfig, labels: Any, plan: distributed.DevicePlan | None = None) -> Any:
    """The LightningDataModule: labelled frames, plus unlabelled clips when unsupervised losses are on.

    Args:
        cfg: A validated config.
        labels: The label set.
        plan: Per-process batch sizes of a distributed run (None = the configured sizes).
    """
    from pose_core.data.dataset import PoseDataModule
    from pose_core.data.unlabeled import SemiSupervisedDataModule

    t = cfg.training
    train_batch, val_batch = int(t.train_batch_size), int(t.val_batch_size)
    sequence_length = int(t.unlabeled_sequence_length)
    if plan is not None:
        train_batch, val_batch = plan.train_batch_size, plan.val_batch_size
        sequence_length = plan.unlabeled_sequence_length
    train_frames = float(t.train_frames)
    extra: tuple[Any, ...] = ()
    cls: Any = PoseDataModule
    if cfg.model.losses_to_use:
        cls = SemiSupervisedDataModule
        extra = (Path(str(cfg.data.video_dir)), sequence_length)
    return cls(
        *extra,
        Path(str(cfg.data.data_dir)), labels,
        (int(cfg.data.image_resize_dims.height), int(cfg.data.image_resize_dims.width)),
        train_prob=float(t.train_prob), val_prob=float(t.val_prob), seed=int(t.rng_seed_data_pt),
        train_frames=int(train_frames) if train_frames > 1 else train_frames,
        train_batch_size=train_batch, val_batch_size=val_batch,
        test_batch_size=int(t.test_batch_size), imgaug=str(t.imgaug), imgaug_hflip=bool(t.imgaug_hflip),
        num_workers=int(t.num_workers),
    )  # fmt: skip


def fit_label_pcas(cfg: DictConfig, labels: Any, train_rows: np.ndarray) -> dict[str, Any]:
    """PCA fits on the training labels (frame pixels) for the losses and the PCA error files.

    A PCA listed in ``model.losses_to_use`` must fit (else ConfigError); otherwise it is fitted
    when the data allow it, only for the error files.
    """
    from pose_core.pca import fit_pca, singleview_groups

    losses = list(cfg.model.losses_to_use)
    xy = labels.keypoints_px[np.asarray(train_rows, dtype=int)]
    wanted: dict[str, tuple[str, list[list[int]]]] = {
        "pca_singleview": ("singleview", singleview_groups(labels.n_keypoints, cfg.data.columns_for_singleview_pca)),
    }
    if cfg.data.mirrored_column_matches:
        wanted["pca_multiview"] = ("multiview", [list(m) for m in cfg.data.mirrored_column_matches])
    fits = {}
    for name, (kind, groups) in wanted.items():
        loss_cfg = cfg.losses[name]
        ctk = loss_cfg.components_to_keep
        try:
            fits[name] = fit_pca(xy, kind, groups, ctk, loss_cfg.epsilon)
        except ConfigError as exc:
            if name in losses:
                raise
            if exc.key in ("data.columns_for_singleview_pca", "data.mirrored_column_matches"):
                log.warning("No predictions_%s_error.csv (%s is not in model.losses_to_use): %s", name, name, exc)
    return fits


def unsupervised_spec(cfg: DictConfig, fits: dict[str, Any]) -> dict[str, Any] | None:
    """Hyperparameters of the unsupervised losses (saved in the checkpoint), or None."""
    losses = list(cfg.model.losses_to_use)
    if not losses:
        return None
    k = int(cfg.data.num_keypoints)
    spec: dict[str, Any] = {"losses": {}, "anneal": OmegaConf.to_container(cfg.callbacks.anneal_weight)}
    for name in losses:
        weight = 1.0 / (2.0 * float(np.exp(float(cfg.losses[name].log_weight))))
        if name == "temporal":
            t = cfg.losses.temporal
            eps = list(t.epsilon) if OmegaConf.is_list(t.epsilon) else [float(t.epsilon)] * k
            spec["losses"][name] = {
                "weight": weight,
                "epsilon_px": [float(e) for e in eps],
                "prob_threshold": float(t.prob_threshold),
            }
        else:
            pca = fits[name]
            spec["losses"][name] = {
                "weight": weight, "kind": pca.kind, "groups": pca.keypoint_groups, "mean": pca.mean.tolist(),
                "components": pca.components.tolist(), "epsilon_px": float(pca.epsilon_px),
            }  # fmt: skip
    return spec


def build_module(cfg: DictConfig, unsupervised: dict[str, Any] | None = None) -> Any:
    """The LightningModule for this config (weights from ``model.checkpoint`` when given)."""
    from pose_core.training.module import PoseLightningModule, load_module

    t, m = cfg.training, cfg.model
    ms = t.lr_scheduler_params.multisteplr
    module = PoseLightningModule(
        keypoint_names=list(cfg.data.keypoint_names), backbone=str(m.backbone),
        input_hw=(int(cfg.data.image_resize_dims.height), int(cfg.data.image_resize_dims.width)),
        model_type=str(m.model_type), downsample_factor=int(cfg.data.downsample_factor),
        heatmap_loss_type=str(m.heatmap_loss_type), pretrained=bool(m.backbone_pretrained),
        weights_path=str(m.pretrained_weights_path) if m.pretrained_weights_path else None,
        optimizer=str(t.optimizer), learning_rate=float(t.optimizer_params.learning_rate),
        lr_scheduler=str(t.lr_scheduler), milestones=list(ms.milestones) if ms.milestones else None,
        gamma=float(ms.gamma), max_epochs=int(t.max_epochs),
        uniform_heatmaps_for_nan_keypoints=bool(t.uniform_heatmaps_for_nan_keypoints),
        unsupervised=unsupervised,
    )  # fmt: skip
    if m.checkpoint:
        source = load_module(Path(str(m.checkpoint)))
        if source.keypoint_names != module.keypoint_names:
            raise ConfigError(
                f"model.checkpoint={m.checkpoint} was trained on other keypoints ({len(source.keypoint_names)}: {', '.join(source.keypoint_names[:5])}...); use a checkpoint of this keypoint set.",
                key="model.checkpoint",
            )
        module.model.load_state_dict(source.model.state_dict())
    return module


@dataclass
class TrainerParts:
    """The Trainer and the callbacks the run reads back after ``fit``."""

    trainer: Any
    best: Any
    stop: Any
    events: Any


def build_trainer(
    cfg: DictConfig, run_dir: Path, plan: distributed.DevicePlan, version: int | None, progress_bar: bool
) -> TrainerParts:
    """The Lightning Trainer with checkpointing, logging, events and the stop file.

    Nothing is written until ``fit``; the events callback has no writer yet (rank 0 gets one).
    """
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import BackboneFinetuning, EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from pytorch_lightning.loggers import TensorBoardLogger

    from pose_core.training.callbacks import AtomicCheckpointIO, EventCallback, StopFileCallback

    t = cfg.training
    logger = TensorBoardLogger(
        save_dir=str(RunLayout(run_dir).tb_logs),
        name=str(cfg.model.model_name),
        version=version,
        default_hp_metric=False,
    )
    best = ModelCheckpoint(
        monitor="val_supervised_loss",
        mode="min",
        save_top_k=1,
        save_last=True,
        filename="best-epoch={epoch}-step={step}",
        auto_insert_metric_name=False,
    )
    stop = StopFileCallback(run_dir / STOP_FILENAME)
    events = EventCallback(None)
    # the stop decides before the events are written, so the stopping step's progress is always in them
    callbacks: list[Any] = [best, LearningRateMonitor(logging_interval="epoch"), stop, events]
    if t.ckpt_every_n_epochs:
        callbacks.append(
            ModelCheckpoint(
                every_n_epochs=int(t.ckpt_every_n_epochs),
                save_top_k=-1,
                filename="epoch={epoch}",
                auto_insert_metric_name=False,
            )
        )
    if t.early_stopping:
        callbacks.append(EarlyStopping(monitor="val_supervised_loss", mode="min", patience=int(t.early_stop_patience)))
    if int(t.unfreezing_epoch) > 0:
        callbacks.append(
            BackboneFinetuning(
                unfreeze_backbone_at_epoch=int(t.unfreezing_epoch),
                lambda_func=lambda _: 1.5,
                backbone_initial_ratio_lr=0.1,
                should_align=True,
                train_bn=True,
            )
        )
    trainer = pl.Trainer(
        accelerator=plan.accelerator, devices=plan.devices, num_nodes=plan.num_nodes, strategy=plan.strategy,
        max_epochs=int(t.max_epochs), min_epochs=min(int(t.min_epochs), int(t.max_epochs)), logger=logger,
        callbacks=callbacks, log_every_n_steps=int(t.log_every_n_steps),
        check_val_every_n_epoch=int(t.check_val_every_n_epoch), enable_progress_bar=progress_bar,
        enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=str(run_dir), deterministic=False,
        plugins=[AtomicCheckpointIO()],
    )  # fmt: skip
    return TrainerParts(trainer, best, stop, events)


def evaluate_labeled_frames(
    module: Any, datamodule: Any, labels: Any, run_dir: Path, fits: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Predicts every labelled frame and writes ``predictions.csv``, ``predictions_pixel_error.csv``.

    Returns:
        The per-split pixel-error summary (also written to ``summary.json`` by the caller).
    """
    import torch

    from pose_core.data.preprocess import scale_keypoints
    from pose_core.io.predictions import write_error_csv, write_predictions_csv
    from pose_core.metrics import pixel_error, summarize_errors

    n, k = labels.n_frames, labels.n_keypoints
    preds = np.full((n, k, 3), np.nan)
    module.eval()
    h, w = module.codec.input_hw
    device = module.device
    with torch.inference_mode():
        for batch in datamodule.labeled_dataloader():
            xy, lik = module.model.predict(batch["image"].to(device).contiguous(memory_format=torch.channels_last))
            frames_hw = batch["orig_hw"].to(torch.float64).numpy()
            xy_frame = scale_keypoints(xy.double().cpu().numpy(), (h, w), frames_hw)
            idx = batch["index"].numpy()
            preds[idx] = np.concatenate([xy_frame, lik.double().cpu().numpy()[..., None]], axis=-1)
    split_list = [str(s) for s in datamodule.row_split_names()]
    layout = RunLayout(run_dir)
    write_predictions_csv(layout.predictions, labels.keypoint_names, preds, labels.image_paths, split_list)
    error_px = pixel_error(preds[..., :2], labels.keypoints_px)
    write_error_csv(layout.pixel_error, labels.keypoint_names, error_px, labels.image_paths, split_list)
    for name, pca in (fits or {}).items():
        pca_px = pca.keypoint_error_px(preds[..., :2])
        write_error_csv(layout.pca_error(name), labels.keypoint_names, pca_px, labels.image_paths, split_list)
        pca.save(layout.pca_fit(name))
    return summarize_errors(error_px, split_list)


def predict_videos(cfg: DictConfig, run_dir: Path, checkpoint: Path, writer: EventWriter, fits: dict[str, Any]) -> None:
    """Predicts the test videos (``eval.*``) and writes their PCA error files next to them."""
    from pose_core.inference.after_training import predict_videos_after_training
    from pose_core.io.predictions import read_predictions_csv, write_error_csv

    written = predict_videos_after_training(cfg, run_dir, checkpoint, writer)
    for path in written:
        if path.suffix != ".csv" or path.stem.endswith(TEMPORAL_NORM_SUFFIX):
            continue
        table = read_predictions_csv(path)
        for name, pca in fits.items():
            error_px = pca.keypoint_error_px(table.preds[..., :2])
            write_error_csv(video_pca_error_file(path, name), table.keypoint_names, error_px, table.index)


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable per-split pixel errors, one line per split."""
    lines = []
    for name in ("train", "validation", "test"):
        s = summary.get(name) or {}
        if s.get("n_frames"):
            lines.append(
                f"  {name:<10} {s['n_frames']:>4} frames  mean {s['mean_px']:.2f} px  median {s['median_px']:.2f} px"
            )
    return "\n".join(lines)


def train(loaded: LoadedConfig, run_dir: Path, *, progress_bar: bool = True) -> RunResult:
    """Trains a model and evaluates it on the labelled frames.

    Labels, images, the split and the device settings (including a SLURM allocation) are checked
    before anything is written, so bad input leaves no run directory behind. With
    ``training.devices`` or ``training.num_nodes`` above 1, every process of the distributed run
    calls this (Lightning re-runs the command line as child processes, or ``srun`` starts them);
    only global rank 0 writes files and evaluates.

    Args:
        loaded: A validated config (``training.resume_from`` continues a run).
        run_dir: Where everything is written (created if needed); the same in every process.
        progress_bar: Show Lightning's terminal progress bar.

    Returns:
        The run's result.

    Raises:
        PoseDeskError: Bad labels, images or config (after training started, a ``failed`` event
            is written first).
    """
    cfg = loaded.cfg
    if distributed.launched_by_lightning():
        distributed.exit_with_parent()
    plan = distributed.plan_devices(cfg)
    cfg.training.devices = cfg.training.num_gpus = plan.devices  # one value in the saved config
    lock = preflight.RunLock.for_run(run_dir)
    if not distributed.is_secondary_process():
        preflight.check_run_dir(run_dir)
        lock.refuse_if_held()
    resume_ckpt = _resume_checkpoint(cfg)
    labels = _read_and_check_labels(cfg)
    apply_init_from(cfg)  # training.init_from=RUN_DIR: check the parent fits, start from its weights
    _check_before_writing(cfg, labels, resume_ckpt)
    datamodule = build_datamodule(cfg, labels, plan)
    preflight.check_enough_training_frames(
        len(datamodule.splits["train"]), int(cfg.training.train_batch_size), plan.devices * plan.num_nodes, cfg
    )
    fits = fit_label_pcas(cfg, labels, datamodule.splits["train"])
    parts = build_trainer(cfg, run_dir, plan, checkpoint_logger_version(resume_ckpt), progress_bar)
    if hasattr(datamodule, "clip_seed"):  # each process draws its own unlabelled clips
        datamodule.clip_seed += int(parts.trainer.global_rank)
    writer: EventWriter | None = None
    if parts.trainer.is_global_zero:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        (run_dir / STOP_FILENAME).unlink(missing_ok=True)
        writer = parts.events.writer = EventWriter(run_dir / EVENTS_FILENAME)
    try:
        return _train(loaded, run_dir, writer, parts, labels, datamodule, fits, resume_ckpt)
    except OSError as exc:
        error = _write_failure(exc, run_dir)
        _emit_end(writer, "failed", error)
        raise error from exc
    except BaseException as exc:
        from pytorch_lightning.utilities.exceptions import SIGTERMException  # loaded with the trainer above

        # Lightning's own SIGTERM exit (a SystemExit with status 0) where the stop callback could not take it
        lightning_sigterm = isinstance(exc, SIGTERMException)
        _emit_end(writer, "stopped" if isinstance(exc, KeyboardInterrupt) or lightning_sigterm else "failed", exc)
        if lightning_sigterm:
            raise SystemExit(128 + signal.SIGTERM) from exc
        raise
    finally:
        if writer is not None:
            with contextlib.suppress(OSError):  # a full disk: the error above says so
                writer.close()
        lock.release()


def _resume_checkpoint(cfg: DictConfig) -> Path | None:
    """The checkpoint ``training.resume_from`` names; a damaged one gives way to the newest readable one."""
    if not cfg.training.resume_from:
        return None
    resume_dir, ckpt = resolve_resume(str(cfg.training.resume_from))
    if resume_dir is None:
        return ckpt
    ckpt, note = preflight.readable_resume_checkpoint(resume_dir, ckpt)
    if note is None and not ckpt.name.startswith("last"):
        note = f"{resume_dir} has no last.ckpt (the run ended while writing it); resuming from {ckpt.name}."
    if note:
        log.warning(note)
    return ckpt


def _check_before_writing(cfg: DictConfig, labels: Any, resume_ckpt: Path | None) -> None:
    """Decode every labelled image, check the label values and the resumed model (nothing written yet)."""
    csv_path = Path(str(cfg.data.csv_file))
    image_hw = preflight.check_labelled_images(labels, Path(str(cfg.data.data_dir)))
    for note in preflight.check_label_values(labels, csv_path, image_hw):
        log.warning(note)
    if resume_ckpt is not None:
        preflight.check_resume_compatible(resume_ckpt, cfg)


def _write_failure(exc: OSError, run_dir: Path) -> PoseDeskError:
    """A write that failed during training (disk full, folder gone read-only) as one message."""
    from pose_core.io.atomic import write_error

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RunError(
            f"Disk full while training in {run_dir} ({exc.strerror}); the last complete checkpoint is kept: free some "
            f"space, then continue with training.resume_from={run_dir}."
        )
    return write_error(exc, Path(exc.filename) if exc.filename else run_dir)


def _emit_end(writer: EventWriter | None, kind: str, exc: BaseException) -> None:
    """Writes the final ``failed``/``stopped`` event; a full disk must not hide the real error."""
    if writer is None:
        return
    message = str(exc) if isinstance(exc, PoseDeskError) else f"{type(exc).__name__}: {exc}"
    first_line = message.splitlines()[0] if message else type(exc).__name__
    with contextlib.suppress(OSError):
        writer.emit(kind, error=first_line, traceback=traceback.format_exc())


def _train(
    loaded: LoadedConfig,
    run_dir: Path,
    writer: EventWriter | None,
    parts: TrainerParts,
    labels: Any,
    datamodule: Any,
    fits: dict[str, Any],
    resume_ckpt: Path | None,
) -> RunResult:
    import pytorch_lightning as pl

    cfg, trainer = loaded.cfg, parts.trainer
    if writer is not None:
        writer.emit(
            "phase", phase="loading_data", message=f"{labels.n_frames} labelled frames from {cfg.data.csv_file}"
        )
        loaded.save(RunLayout(run_dir).config)
        writer.emit("phase", phase="building_model", message=f"Building {cfg.model.backbone} ({cfg.model.model_type})")
    pl.seed_everything(int(cfg.training.rng_seed_model_pt), workers=True, verbose=False)
    module = build_module(cfg, unsupervised_spec(cfg, fits))
    with warnings.catch_warnings(), distributed.run_dir_for_children(run_dir):
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*The number of training batches.*")
        warnings.filterwarnings("ignore", ".*IterableDataset. has .__len__. defined.*")
        warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
        # resuming a stopped epoch trains its remaining steps on a new shuffle (documented at StopFileCallback)
        warnings.filterwarnings("ignore", ".*resuming from a checkpoint that ended before the epoch ended.*")
        trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume_ckpt) if resume_ckpt else None)
    status = RunStatus.STOPPED if parts.stop.stop_requested else RunStatus.FINISHED
    last = find_last_checkpoint(run_dir) if trainer.is_global_zero else None
    if parts.stop.stop_requested and parts.stop.checkpoint is not None:
        last = parts.stop.checkpoint  # saved at the stopping step: its epoch counts as unfinished
    elif parts.stop.stop_requested:  # every process: saving a checkpoint is collective
        last = Path(parts.best.dirpath or run_dir) / LAST_CHECKPOINT_FILENAME
        trainer.save_checkpoint(str(last))
    (run_dir / STOP_FILENAME).unlink(missing_ok=True)
    epochs_done = parts.stop.epochs_completed
    if epochs_done is None:
        epochs_done = int(trainer.fit_loop.epoch_progress.current.completed)
    distributed.leave_process_group()  # rank 0 evaluates on its own
    if writer is None:  # not global rank 0: rank 0 evaluates and writes the results alone
        return RunResult(run_dir, status, None, None, {}, epochs_done, int(trainer.global_rank), parts.stop.stopped_by)
    best = Path(parts.best.best_model_path) if parts.best.best_model_path else last
    if best is None:
        raise RunError(f"Training in {run_dir} ended without writing a checkpoint; train for at least one epoch.")
    result = RunResult(run_dir, status, best, last, {}, epochs_done, stopped_by=parts.stop.stopped_by)
    _evaluate(cfg, result, writer, labels, datamodule, fits, module.device)
    atomic_write_text(
        run_dir / SUMMARY_FILENAME, json.dumps(_summary_payload(result, cfg, trainer), indent=2, allow_nan=False)
    )
    writer.emit(status, epoch=trainer.current_epoch, global_step=trainer.global_step, summary=result.summary)
    return result


def _evaluate(
    cfg: DictConfig,
    result: RunResult,
    writer: EventWriter,
    labels: Any,
    datamodule: Any,
    fits: dict[str, Any],
    device: Any,
) -> None:
    """Predicts the labelled frames (and the test videos) with the best checkpoint; fills ``result.summary``."""
    from pose_core.training.module import load_module

    assert result.best_checkpoint is not None
    writer.emit("phase", phase="evaluating", message="Predicting the labelled frames")
    best_module = load_module(result.best_checkpoint, map_location=device)
    result.summary = evaluate_labeled_frames(best_module, datamodule, labels, result.run_dir, fits)
    if cfg.eval.predict_vids_after_training and result.status != RunStatus.STOPPED:
        predict_videos(cfg, result.run_dir, result.best_checkpoint, writer, fits)


def _summary_payload(result: RunResult, cfg: DictConfig, trainer: Any) -> dict[str, Any]:
    from pose_core.metrics import summary_to_jsonable

    return {
        "status": result.status,
        "epochs_completed": result.epochs_completed,
        "best_checkpoint": str(result.best_checkpoint) if result.best_checkpoint else None,
        "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
        "pixel_error": summary_to_jsonable(result.summary),
        "model": OmegaConf.to_container(cfg.model),
        "world_size": int(trainer.world_size),
    }
