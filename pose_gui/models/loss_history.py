"""LossHistory: the curves of one training run, built from its events (live or replayed), and run rows.

A :class:`LossHistory` takes :class:`pose_core.events.Event` objects in file order and keeps, per
metric, a per-step series (``progress`` events, x = global step) and a per-epoch series
(``epoch_end`` events, x = epoch). A resumed run appends a new ``started`` event: points the
resumed run will write again (epochs from ``start_epoch`` on, steps from its first step on) are
dropped, so the curves continue instead of doubling back. :func:`scan_runs` summarises every run
of a project for the history table (runs in a worker thread: it reads files). No Qt here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pose_core.events import Event, read_events
from pose_core.runs.layout import EVENTS_FILENAME
from pose_core.runs.status import ENDED_BY_EVENT, RunStatus

PLOT_GROUPS = ("loss", "rmse", "lr")
GROUP_TITLES = {"loss": "Loss", "rmse": "RMSE (px)", "lr": "Learning rate"}


def metric_group(name: str) -> str | None:
    """Which plot a metric belongs to: ``loss``, ``rmse`` (pixels), ``lr`` or None (not plotted)."""
    if name == "learning_rate" or name.startswith("lr_") or name == "lr":
        return "lr"
    if "rmse" in name:
        return "rmse"
    if name.endswith("_loss") or name == "total_loss":
        return "loss"
    return None


def smooth_ema(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard-style exponential moving average (debiased); ``weight`` 0 = no smoothing.

    Args:
        values: The series.
        weight: Smoothing in [0, 1).

    Returns:
        The smoothed series (same length).
    """
    if weight <= 0.0:
        return list(values)
    weight = min(weight, 0.999)
    out, last, n = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        n += 1
        last = last * weight + (1.0 - weight) * value
        out.append(last / (1.0 - weight**n))
    return out


@dataclass
class Series:
    """One metric's points (x ascending)."""

    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    def add(self, x: float, y: float) -> None:
        """Append a point."""
        self.xs.append(x)
        self.ys.append(y)

    def drop_from(self, x: float) -> None:
        """Drop the points at ``x`` and after (a resumed run writes them again)."""
        keep = [i for i, xi in enumerate(self.xs) if xi < x]
        self.xs = [self.xs[i] for i in keep]
        self.ys = [self.ys[i] for i in keep]


@dataclass
class ProgressState:
    """Where a run is: the latest ``progress`` / ``phase`` event's fields."""

    epoch: int = 0
    max_epochs: int | None = None
    step: int = 0
    steps_per_epoch: int = 0
    global_step: int = 0
    images_per_s: float | None = None
    eta_s: float | None = None
    phase: str = ""
    phase_message: str = ""


class LossHistory:
    """Per-step and per-epoch series of every metric of one run, fed with its events in order."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.steps: dict[str, Series] = {}
        self.epochs: dict[str, Series] = {}
        self.epoch_steps: dict[str, Series] = {}  # epoch metrics at the global step of their epoch's end
        self.progress = ProgressState()
        self.status = "empty"
        self.error = ""
        self.traceback = ""
        self.summary: dict[str, Any] = {}
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.duration_s = 0.0
        self.pid: int | None = None
        self._segment_start: float | None = None
        self._segment_end = 0.0
        self._drop_steps_pending = False
        self.add_events(events)

    @classmethod
    def from_run(cls, run_dir: Path) -> LossHistory:
        """Replay ``run_dir/events.jsonl`` (missing file = empty history; garbled lines skipped).

        A Lightning Pose model folder has no ``events.jsonl``: its tensorboard files are turned
        into the same events (:func:`pose_core.interop.lightning_pose.events_from_tensorboard`;
        reads files for up to a few seconds: call it in a worker thread, as the training pane does).
        """
        run_dir = Path(run_dir)
        if not (run_dir / EVENTS_FILENAME).is_file():
            from pose_core.interop.lightning_pose import events_from_tensorboard, is_lp_model_dir

            if is_lp_model_dir(run_dir):
                return cls(events_from_tensorboard(run_dir))
        return cls(read_events(run_dir / EVENTS_FILENAME))

    def add_events(self, events: Iterable[Event]) -> None:
        """Take events in file order."""
        for event in events:
            self.add_event(event)

    def add_event(self, event: Event) -> None:
        """Take one event."""
        handler = getattr(self, f"_on_{event.kind}", None)
        if self.first_time is None:
            self.first_time = event.time
        self.last_time = event.time
        if self._segment_start is not None:
            self._segment_end = event.time
        if handler is not None:
            handler(event.data, event.time)

    # ------------------------------------------------------------------ event kinds

    def _on_started(self, data: dict[str, Any], time_s: float) -> None:
        self._close_segment()
        self._segment_start = time_s
        self._segment_end = time_s
        self.status = RunStatus.RUNNING
        self.pid = data.get("pid") if isinstance(data.get("pid"), int) else None
        start_epoch = int(data.get("start_epoch") or 0)
        self.progress.max_epochs = _int_or_none(data.get("max_epochs"))
        self.progress.steps_per_epoch = int(data.get("steps_per_epoch") or 0)
        self.progress.epoch = start_epoch
        for series in self.epochs.values():
            series.drop_from(start_epoch)
        self._drop_steps_pending = bool(self.steps or self.epoch_steps)

    def _on_phase(self, data: dict[str, Any], _time_s: float) -> None:
        self.progress.phase = str(data.get("phase", ""))
        self.progress.phase_message = str(data.get("message", ""))

    def _on_progress(self, data: dict[str, Any], _time_s: float) -> None:
        p = self.progress
        p.epoch = int(data.get("epoch") or 0)
        p.step = int(data.get("step") or 0)
        p.steps_per_epoch = int(data.get("steps_per_epoch") or p.steps_per_epoch)
        p.global_step = int(data.get("global_step") or 0)
        p.images_per_s = _float_or_none(data.get("images_per_s"))
        p.eta_s = _float_or_none(data.get("eta_s"))
        if p.phase in ("", "first_batch", "loading_data", "building_model"):
            p.phase, p.phase_message = "training", "Training"
        if self._drop_steps_pending:
            for series in [*self.steps.values(), *self.epoch_steps.values()]:
                series.drop_from(p.global_step)
            self._drop_steps_pending = False
        _add_metrics(self.steps, p.global_step, data.get("metrics"))

    def _on_epoch_end(self, data: dict[str, Any], _time_s: float) -> None:
        epoch = int(data.get("epoch") or 0)
        self.progress.epoch = epoch
        _add_metrics(self.epochs, epoch, data.get("metrics"))
        global_step = data.get("global_step")
        if isinstance(global_step, int):
            _add_metrics(self.epoch_steps, global_step, data.get("metrics"))

    def _on_finished(self, data: dict[str, Any], time_s: float) -> None:
        self._end(data, time_s, RunStatus.FINISHED)

    def _on_stopped(self, data: dict[str, Any], time_s: float) -> None:
        self._end(data, time_s, RunStatus.STOPPED)

    def _on_failed(self, data: dict[str, Any], time_s: float) -> None:
        self._end(data, time_s, RunStatus.FAILED)
        self.error = str(data.get("error") or "")
        self.traceback = str(data.get("traceback") or "")

    def _end(self, data: dict[str, Any], time_s: float, status: str) -> None:
        self.status = status
        summary = data.get("summary")
        self.summary = summary if isinstance(summary, dict) else {}
        self._segment_end = time_s
        self._close_segment()

    def _close_segment(self) -> None:
        if self._segment_start is not None:
            self.duration_s += max(0.0, self._segment_end - self._segment_start)
        self._segment_start = None

    # ------------------------------------------------------------------ queries

    @property
    def running_duration_s(self) -> float:
        """Training time so far: closed segments plus the open one (up to its last event)."""
        open_s = (self._segment_end - self._segment_start) if self._segment_start is not None else 0.0
        return self.duration_s + max(0.0, open_s)

    @property
    def epochs_completed(self) -> int:
        """Epochs that ended (highest ``epoch_end`` epoch + 1; 0 if none)."""
        xs = [x for series in self.epochs.values() for x in series.xs]
        return int(max(xs)) + 1 if xs else 0

    def metric_names(self, per_epoch: bool) -> list[str]:
        """Plotted metrics present per epoch, or per step (validation and learning rate at each epoch's last step)."""
        names = set(self.epochs) if per_epoch else set(self.steps) | set(self.epoch_steps)
        return sorted((n for n in names if metric_group(n) is not None), key=_metric_sort_key)

    def series(self, name: str, per_epoch: bool) -> Series:
        """One metric's series (empty if absent); per step, an epoch-only metric is placed at its epoch's last step."""
        if per_epoch:
            return self.epochs.get(name, Series())
        return self.steps.get(name) or self.epoch_steps.get(name, Series())

    def best(self, name: str) -> float | None:
        """Lowest per-epoch value of ``name`` (None if never logged)."""
        values = [v for v in self.series(name, per_epoch=True).ys if math.isfinite(v)]
        return min(values) if values else None


def _metric_sort_key(name: str) -> tuple[int, str]:
    return (0 if name.startswith("train_") else 1 if name.startswith("val_") else 2, name)


def _add_metrics(target: dict[str, Series], x: float, metrics: Any) -> None:
    if not isinstance(metrics, dict):
        return
    for name, value in metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            target.setdefault(str(name), Series()).add(float(x), float(value))


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


# ----------------------------------------------------------------------------- history rows


@dataclass
class RunRow:
    """One row of the history table.

    Attributes:
        path: The run directory.
        status: ``finished``, ``stopped``, ``failed``, ``running``, ``killed`` or ``not started``.
        started: When it first started.
        duration_s: Training time (all segments, a resumed run included).
        epochs: Epochs completed.
        best_train_loss: Lowest per-epoch ``train_supervised_loss``.
        best_val_loss: Lowest per-epoch ``val_supervised_loss``.
        test_error_px: Mean pixel error on the test frames.
        history: The run's curves.
        has_checkpoint: A ``last*.ckpt`` exists (the run can be resumed).
        configured_epochs: The epoch count the run was configured for (``training.max_epochs``), if known.
        ensemble_id: The ensemble it belongs to (``training.ensemble_seeds``), if any.
        parent: The run it was started from (``training.init_from``), if any.
    """

    path: Path
    status: str
    started: datetime | None
    duration_s: float
    epochs: int | None
    best_train_loss: float | None
    best_val_loss: float | None
    test_error_px: float | None
    history: LossHistory
    has_checkpoint: bool = False
    configured_epochs: int | None = None
    ensemble_id: str | None = None
    parent: Path | None = None

    @property
    def name(self) -> str:
        """``YYYY-MM-DD/HH-MM-SS``."""
        return f"{self.path.parent.name}/{self.path.name}"


def scan_runs(project_root: Path) -> list[RunRow]:
    """Summarise every run of a project, newest first (reads files: call it in a worker thread).

    Args:
        project_root: The project folder.

    Returns:
        One row per run directory under ``outputs/*/*`` (Lightning Pose model folders included).
    """
    from pose_core.runs import list_runs
    from pose_core.runs.layout import find_last_checkpoint

    rows = []
    for info in list_runs(Path(project_root)):
        history = LossHistory.from_run(info.path)
        rows.append(
            RunRow(
                path=info.path,
                status=info.status,  # pose_core.runs.status: events, summary, process alive (reused-pid guard)
                started=info.started,
                duration_s=history.running_duration_s,
                epochs=info.epochs,
                best_train_loss=history.best("train_supervised_loss"),
                best_val_loss=info.best_val_loss,
                test_error_px=info.test_error_px,
                history=history,
                has_checkpoint=find_last_checkpoint(info.path) is not None,
                configured_epochs=history.progress.max_epochs,
                ensemble_id=info.ensemble_id,
                parent=info.parent,
            )
        )
    return rows


def format_duration(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03`` style duration (``—`` when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


TERMINAL_STATUSES = (*ENDED_BY_EVENT, RunStatus.KILLED)
