"""Training callbacks and plugins: progress events, a graceful stop (file or SIGTERM), atomic checkpoints.

- :class:`EventCallback` appends progress to ``events.jsonl``.
- :class:`StopFileCallback` stops after the current step when ``RUN_DIR/STOP`` appears *or* the
  process gets SIGTERM (``kill``, a cluster scheduler's time limit, a logout), saving a
  checkpoint of the interrupted epoch first so ``training.resume_from`` trains the rest of it.
- :class:`AtomicCheckpointIO` is Lightning's checkpoint IO plugin writing each checkpoint to a
  temporary name and renaming it, so a full disk or a kill never leaves a truncated ``.ckpt``
  under its normal name (the previous checkpoint stays intact).
"""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_fabric.utilities.rank_zero import rank_prefixed_message

from pose_core.errors import DataError, RunError
from pose_core.events import EventWriter
from pose_core.io.atomic import atomic_write_path
from pose_core.runs.layout import LAST_CHECKPOINT_FILENAME, STOP_CHECKPOINT_FILENAME

PROGRESS_INTERVAL_S = 0.5

_log = logging.getLogger("pytorch_lightning.pose_core")  # printed like Lightning's own messages


def _scalar_metrics(metrics: dict[str, Any], prefixes: tuple[str, ...] = ("val_", "lr")) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if key.startswith(prefixes):
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                continue
    return out


class EventCallback(pl.Callback):
    """Appends ``started``, ``phase``, ``progress`` (at most 2 Hz) and ``epoch_end`` events.

    Only the global-zero process writes, so distributed runs do not duplicate lines; image counts
    and ``images_per_s`` are totals over all processes (each process's batch x the world size).

    Args:
        writer: Where events go; None writes nothing (set it later, on global rank 0 only).
    """

    def __init__(self, writer: EventWriter | None) -> None:
        self.writer = writer
        self._last_emit_s = 0.0
        self._epoch_start_s = 0.0
        self._epoch_images = 0
        self._rate_start_s: float | None = None
        self._rate_images = 0
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self._epoch_lrs: dict[str, float] = {}
        self.images_per_s: float | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Writes ``started`` (after a resumed checkpoint is restored) and the ``first_batch`` phase."""
        if self.writer is not None and trainer.is_global_zero:
            steps = int(trainer.num_training_batches) if trainer.num_training_batches != float("inf") else 0
            self.writer.emit(
                "started", pid=os.getpid(), job="train", max_epochs=trainer.max_epochs,
                start_epoch=trainer.current_epoch, steps_per_epoch=steps, device=str(pl_module.device),
                world_size=trainer.world_size,
            )  # fmt: skip
            self.writer.emit("phase", phase="first_batch", message="Preparing the first batch")
        self.on_train_epoch_start(trainer, pl_module)  # a run resumed mid-epoch gets no epoch start

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Resets per-epoch accumulators."""
        self._epoch_start_s = time.perf_counter()
        self._epoch_images = 0
        self._sums.clear()
        self._counts.clear()
        self._epoch_lrs = _learning_rates(trainer)  # the rates this epoch trains at (the scheduler steps at its end)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Accumulates step metrics and writes a ``progress`` event at most every 0.5 s."""
        now = time.perf_counter()
        n = int(outputs.get("batch_size", 0)) * trainer.world_size if isinstance(outputs, dict) else 0
        metrics = outputs.get("metrics", {}) if isinstance(outputs, dict) else {}
        for key, value in metrics.items():
            self._sums[key] += float(value) * max(n, 1)
            self._counts[key] += max(n, 1)
        self._epoch_images += n
        if self._rate_start_s is None:  # the first batch includes start-up costs
            self._rate_start_s = now
        else:
            self._rate_images += n
            self.images_per_s = self._rate_images / max(now - self._rate_start_s, 1e-9)
        steps = int(trainer.num_training_batches) if trainer.num_training_batches != float("inf") else 0
        last = batch_idx + 1 >= steps or trainer.should_stop  # where a stop ends the epoch is always written
        if (
            self.writer is not None
            and trainer.is_global_zero
            and (now - self._last_emit_s >= PROGRESS_INTERVAL_S or last)
        ):
            self._last_emit_s = now
            self.writer.emit(
                "progress", epoch=trainer.current_epoch, step=batch_idx + 1, steps_per_epoch=steps,
                global_step=trainer.global_step, images_per_s=self.images_per_s,
                eta_s=self._eta_s(trainer, batch_idx, steps), metrics={**metrics, **self._epoch_lrs},
            )  # fmt: skip

    def _eta_s(self, trainer: pl.Trainer, batch_idx: int, steps: int) -> float | None:
        if not self.images_per_s or not steps or trainer.max_epochs is None:
            return None
        batch = max(self._epoch_images / max(batch_idx + 1, 1), 1.0)
        remaining_steps = (trainer.max_epochs - trainer.current_epoch) * steps - (batch_idx + 1)
        return remaining_steps * batch / self.images_per_s

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Writes ``epoch_end`` with the epoch's mean training metrics and the validation metrics.

        Not for an epoch a stop cut short: it has not ended (a resume trains its remaining steps,
        and its ``epoch_end`` comes then).
        """
        if self.writer is None or not trainer.is_global_zero or _epoch_cut_short(trainer):
            return
        metrics = {k: self._sums[k] / self._counts[k] for k in self._sums if self._counts[k]}
        metrics.update(_scalar_metrics(dict(trainer.callback_metrics)))
        metrics.update(self._epoch_lrs or _learning_rates(trainer))
        self.writer.emit(
            "epoch_end", epoch=trainer.current_epoch, global_step=trainer.global_step,
            epoch_time_s=time.perf_counter() - self._epoch_start_s, images_per_s=self.images_per_s,
            metrics=metrics,
        )  # fmt: skip


def _epoch_cut_short(trainer: pl.Trainer) -> bool:
    """True at the end of an epoch that a stop ended before all its training steps ran."""
    steps = trainer.num_training_batches
    if not isinstance(steps, int):
        return False
    return int(trainer.fit_loop.epoch_loop.batch_progress.current.completed) < steps


def _learning_rates(trainer: pl.Trainer) -> dict[str, float]:
    """The optimiser's learning rates now (``learning_rate``, then ``lr_1``... for further parameter groups)."""
    groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
    return {f"lr_{i}" if i else "learning_rate": float(group["lr"]) for i, group in enumerate(groups)}


class StopFileCallback(pl.Callback):
    """Stops training after the current step when a stop file appears or SIGTERM arrives (a graceful Stop).

    In a distributed run global rank 0 looks for the file and every process learns its answer at
    the same step, so they all stop together (a process that stopped alone would leave the others
    waiting for it). SIGTERM is this callback's, not Lightning's (see
    :meth:`_take_sigterm_from_lightning`): Lightning's loops check their own flag
    (``trainer.received_sigterm``) at several points of a step and would exit with status 0, no
    checkpoint and a "failed" event when the signal lands between this callback's check and theirs.
    It becomes the same graceful stop as the file.

    When it stops, it saves a checkpoint at that step (every process: saving is collective), so
    the checkpoint records the epoch as unfinished and a resumed run trains the rest of it (the
    steps not yet trained, on a new shuffle of the frames). Lightning then validates and its
    ``ModelCheckpoint`` writes ``last.ckpt`` as if the epoch had ended, which would make a resume
    skip the rest of the epoch; so the stop's checkpoint is kept aside
    (:data:`~pose_core.runs.layout.STOP_CHECKPOINT_FILENAME`) and moved over ``last.ckpt`` when
    training ends (:meth:`on_fit_end`).

    Args:
        stop_path: The file whose existence requests the stop (``run_dir/STOP``).

    Attributes:
        stop_requested: A stop was requested (file or signal).
        stopped_by: ``"STOP file"`` or ``"SIGTERM"`` once stopped.
        checkpoint: ``last.ckpt``, where the checkpoint saved at the stop is once training has ended
            (None before a stop, or without a checkpoint folder).
        epochs_completed: Whole epochs trained when it stopped (an interrupted epoch does not
            count; Lightning counts it), None before a stop.
    """

    def __init__(self, stop_path: Path) -> None:
        self.stop_path = stop_path
        self.stop_requested = False
        self._sigterm_received = False
        self._sigterm_handler: Any = None
        self.stopped_by: str | None = None
        self.checkpoint: Path | None = None
        self._mid_epoch = False
        self.epochs_completed: int | None = None

    def _take_sigterm_from_lightning(self, trainer: pl.Trainer) -> None:
        """Replaces the SIGTERM handler Lightning registered with one that only records the signal.

        Lightning's handler also broadcasts a tensor from inside the signal handler of every
        process of a distributed run. That collective can land between two collectives of the
        training step, mismatching them: a 2-process CPU run then hung on SIGTERM under load. This
        handler does the rest of what Lightning's does (says so, passes the signal on to the
        processes Lightning's launcher started) and the stop happens at the next step, decided by
        every process together (:meth:`on_train_batch_end`). Lightning puts its original handler
        back at teardown.
        """
        connector = getattr(trainer, "_signal_connector", None)
        if connector is None or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is self._sigterm_handler:
            return

        def handler(signum: int, _frame: Any) -> None:
            if not self._sigterm_received:
                _log.info(rank_prefixed_message(f"Received SIGTERM: {signum}", trainer.local_rank))
                launcher = trainer.strategy.launcher
                if launcher is not None:
                    launcher.kill(signum)
            self._sigterm_received = True

        self._sigterm_handler = handler
        signal.signal(signal.SIGTERM, handler)
        self._sigterm_received |= bool(connector.received_sigterm)  # arrived before this hook
        connector.received_sigterm = False

    def on_sanity_check_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Takes SIGTERM from Lightning (its handlers are registered just before this hook)."""
        self._take_sigterm_from_lightning(trainer)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Takes SIGTERM from Lightning when there was no sanity check."""
        self._take_sigterm_from_lightning(trainer)

    def _sigterm_seen(self) -> bool:
        """True once per SIGTERM (the handler records it; Lightning's flag never stays set, see above)."""
        seen, self._sigterm_received = self._sigterm_received, False
        return seen

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Checks the stop file and SIGTERM after every step."""
        if self.stop_requested:
            return
        by_signal = self._sigterm_seen()
        seen = by_signal or (trainer.is_global_zero and self.stop_path.exists())
        if trainer.strategy.reduce_boolean_decision(seen, all=False):
            steps = trainer.num_training_batches
            finished_epoch = isinstance(steps, int) and batch_idx + 1 >= steps
            self.epochs_completed = int(trainer.current_epoch) + int(finished_epoch)
            self._mid_epoch = not finished_epoch
            self._stop(trainer, "SIGTERM" if by_signal else "STOP file")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """A SIGTERM that came during validation stops here (the epoch is complete, its checkpoint follows).

        Every process decides together, as at a step: a process that stopped alone at the epoch's end
        (its signal came during validation, another's just after) would leave the others waiting.
        """
        if self.stop_requested:  # decided together at a step, so the same in every process
            return
        if trainer.strategy.reduce_boolean_decision(self._sigterm_seen(), all=False):
            self.stop_requested = True
            self.stopped_by = "SIGTERM"
            self.epochs_completed = int(trainer.current_epoch) + 1
            trainer.should_stop = True

    def _stop(self, trainer: pl.Trainer, reason: str) -> None:
        self.stop_requested = True
        self.stopped_by = reason
        trainer.should_stop = True
        trainer.fit_loop.min_epochs = 0  # min_epochs would otherwise override the stop
        trainer.fit_loop.epoch_loop.min_steps = 0
        folder = getattr(trainer.checkpoint_callback, "dirpath", None)
        if folder:
            self.checkpoint = Path(folder) / LAST_CHECKPOINT_FILENAME
            trainer.save_checkpoint(str(Path(folder) / STOP_CHECKPOINT_FILENAME))

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Moves the checkpoint saved at a mid-epoch stopping step over ``last.ckpt`` (written since, at a false epoch end).

        A stop at an epoch's last step keeps Lightning's own epoch-end ``last.ckpt`` (that epoch did
        end, and its validation is in it), unless Lightning wrote none after the stop.
        """
        if self.checkpoint is None or not trainer.is_global_zero:
            return
        at_stop = self.checkpoint.with_name(STOP_CHECKPOINT_FILENAME)
        if not at_stop.is_file():
            return
        lightning_wrote_since = self.checkpoint.is_file() and self.checkpoint.stat().st_mtime >= at_stop.stat().st_mtime
        if self._mid_epoch or not lightning_wrote_since:
            os.replace(at_stop, self.checkpoint)
        else:
            at_stop.unlink()


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through :func:`pose_core.io.atomic.atomic_write_path`.

    ``torch.save`` writes a hidden temporary file next to the checkpoint, which is flushed and
    renamed over it only when complete. A failure (disk full, folder not writable) removes the
    temporary file, leaves the previous checkpoint as it was, and raises one
    :class:`pose_core.errors.DataError` naming the file and its folder.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        """Writes ``checkpoint`` to ``path`` atomically."""
        import torch

        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO.save_checkpoint takes no storage_options")
        buffer = io.BytesIO()  # torch.save to a file turns a full disk into a RuntimeError; a plain write is an OSError
        torch.save(checkpoint, buffer)
        path = Path(path)
        try:
            with atomic_write_path(path) as tmp_path:
                tmp_path.write_bytes(buffer.getbuffer())
        except DataError as error:
            run_dir = path.parents[3] if path.parent.name == "checkpoints" and len(path.parents) > 3 else path.parent
            raise RunError(
                f"{error} The checkpoints written before are intact: continue with training.resume_from={run_dir}."
            ) from error
