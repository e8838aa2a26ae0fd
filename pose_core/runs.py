"""Training runs of a project: what each run directory says (status, start, epochs, losses, test error).

A run directory is ``<project>/outputs/YYYY-MM-DD/HH-MM-SS/`` holding ``events.jsonl``,
``summary.json`` or ``config.yaml`` (PoseDesk), or a Lightning Pose model folder (also under
``<project>/models/``, read by :mod:`pose_core.interop.lightning_pose`). :func:`list_runs` lists
them, :func:`read_run_info` reads one. A resumed run has several segments (one ``started`` event
each); its status is its last segment's.

No Qt, OpenCV or torch here: the GUI lists runs on a timer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from pose_core.events import EVENTS_FILENAME, read_events, run_status
from pose_core.interop.lightning_pose import is_lp_model_dir, lp_model_dirs, lp_run_info

if TYPE_CHECKING:
    from pose_core.project import Project

CONFIG_FILENAME = "config.yaml"
OUTPUTS_DIRNAME = "outputs"
SUMMARY_FILENAME = "summary.json"
_RUN_MARKERS = (EVENTS_FILENAME, SUMMARY_FILENAME, CONFIG_FILENAME)
_SILENT_RUN_S = 300.0  # a run without a pid whose events are older than this is taken as killed


@dataclass(frozen=True)
class RunInfo:
    """What a training run directory says about the run.

    Attributes:
        path: The run directory.
        status: ``finished``, ``stopped``, ``failed``, ``running``, ``killed`` (started, never
            ended, its process is gone) or ``not started`` (no events yet).
        started: When it started (local time), if known.
        epochs: Epochs completed, if known.
        best_val_loss: Lowest ``val_supervised_loss`` over the epochs, if validated.
        test_error_px: Mean pixel error on the test frames, if evaluated.
        source: ``PoseDesk`` or ``Lightning Pose`` (a Lightning Pose model folder, whose status
            reads e.g. ``finished · Lightning Pose``; see :mod:`pose_core.interop.lightning_pose`).
        ensemble_id: The ensemble it belongs to (``training.ensemble_seeds``), for grouping.
        parent: The run it was started from (``training.init_from``), if any.
    """

    path: Path
    status: str
    started: datetime | None
    epochs: int | None
    best_val_loss: float | None
    test_error_px: float | None
    source: str = "PoseDesk"
    ensemble_id: str | None = None
    parent: Path | None = None

    @property
    def name(self) -> str:
        """``YYYY-MM-DD/HH-MM-SS`` (the last two folder names)."""
        return f"{self.path.parent.name}/{self.path.name}"


def list_runs(project: Project | Path) -> list[RunInfo]:
    """Summarise the run directories ``<project>/outputs/*/*/`` (Lightning Pose layout).

    A directory counts as a run if it holds ``events.jsonl``, ``summary.json`` or ``config.yaml``,
    or is a Lightning Pose model folder (also under ``<project>/models/*/*``).
    Unreadable or garbled files make the corresponding fields None instead of failing.

    Args:
        project: A project or a project folder.

    Returns:
        The runs, newest first.
    """
    root = Path(project) if isinstance(project, str | Path) else project.root
    outputs = root / OUTPUTS_DIRNAME
    run_dirs = [
        d
        for d in outputs.glob("*/*")
        if d.is_dir() and (any((d / m).is_file() for m in _RUN_MARKERS) or is_lp_model_dir(d))
    ]
    run_dirs += lp_model_dirs(root / "models")
    runs = [read_run_info(d) for d in run_dirs]
    return sorted(runs, key=lambda r: (r.started or datetime.min, r.name), reverse=True)


def read_run_info(run_dir: Path) -> RunInfo:
    """Summarise one run directory from its ``events.jsonl`` and ``summary.json``.

    A Lightning Pose model folder is summarised from its own files instead
    (:func:`pose_core.interop.lightning_pose.lp_run_info`).

    Args:
        run_dir: The run directory.

    Returns:
        The run's summary.
    """
    run_dir = Path(run_dir)
    if is_lp_model_dir(run_dir):
        return lp_run_info(run_dir)
    try:
        events = read_events(run_dir / EVENTS_FILENAME)
    except OSError:
        events = []
    summary = _read_summary(run_dir / SUMMARY_FILENAME)
    epoch_ends = [e for e in events if e.kind == "epoch_end"]
    started = next((e for e in events if e.kind == "started"), None)
    epochs = summary.get("epochs_completed")
    if not isinstance(epochs, int):
        epochs = max(int(e.data.get("epoch", 0)) for e in epoch_ends) + 1 if epoch_ends else None
    return RunInfo(
        path=run_dir,
        status=_status(run_dir, events, summary),
        started=datetime.fromtimestamp(started.time) if started else _time_from_dir_names(run_dir),
        epochs=epochs,
        best_val_loss=_best_metric(e.data.get("metrics", {}).get("val_supervised_loss") for e in epoch_ends),
        test_error_px=_test_error_px(summary),
        ensemble_id=_ensemble_id(summary),
        parent=_parent_run(run_dir),
    )


def _ensemble_id(summary: dict[str, Any]) -> str | None:
    entry = summary.get("ensemble")
    value = entry.get("id") if isinstance(entry, dict) else None
    return str(value) if value else None


def _parent_run(run_dir: Path) -> Path | None:
    """``training.init_from`` of the run's config (read with a plain text scan: no YAML parse per refresh)."""
    try:
        text = (run_dir / CONFIG_FILENAME).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "init_from" and value.strip() not in ("", "null", "~"):
            return Path(value.strip().strip("'\""))
    return None


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _status(run_dir: Path, events: list[Any], summary: dict[str, Any]) -> str:
    """Status of the run's last segment (a resumed run has several); ``running`` only if its process lives.

    The events decide: ``summary.json`` is the one of the latest segment that finished, so a
    resumed run that was then killed still has the previous segment's summary. It is used only
    when there are no events, or when the last segment ended between writing it and its final event.
    """
    status = run_status(events)
    summary_status = str(summary.get("status", ""))
    if status == "empty":
        return summary_status if summary_status in ("finished", "stopped", "failed") else "not started"
    if status != "running":
        return status
    started = next((e for e in reversed(events) if e.kind == "started"), None)
    if summary_status in ("finished", "stopped", "failed") and _written_after(run_dir / SUMMARY_FILENAME, started):
        return summary_status
    pid = started.data.get("pid") if started else None
    if isinstance(pid, int):
        return "running" if _process_alive(pid, started.time if started else 0.0) else "killed"
    try:
        age_s = datetime.now().timestamp() - (run_dir / EVENTS_FILENAME).stat().st_mtime
    except OSError:
        return "killed"
    return "running" if age_s < _SILENT_RUN_S else "killed"


def _written_after(path: Path, event: Any) -> bool:
    """Whether ``path`` was last written after ``event`` (or there is no event)."""
    try:
        return event is None or path.stat().st_mtime >= float(event.time)
    except OSError:
        return False


def _process_alive(pid: int, started_time: float) -> bool:
    """True if process ``pid`` exists and is not a newer process that reused the number."""
    try:
        process = psutil.Process(pid)
        return process.create_time() <= started_time + 5.0 and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, OSError):
        return False


def _best_metric(values: Iterable[Any]) -> float | None:
    finite = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return min(finite) if finite else None


def _test_error_px(summary: dict[str, Any]) -> float | None:
    pixel_error = summary.get("pixel_error")
    test = pixel_error.get("test") if isinstance(pixel_error, dict) else None
    value = test.get("mean_px") if isinstance(test, dict) else None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _time_from_dir_names(run_dir: Path) -> datetime | None:
    try:
        return datetime.strptime(f"{run_dir.parent.name} {run_dir.name}", "%Y-%m-%d %H-%M-%S")
    except ValueError:
        return None
