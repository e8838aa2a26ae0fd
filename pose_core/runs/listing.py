"""Training runs of a project: what each run directory says (status, start, epochs, losses, test error).

A run directory is ``<project>/outputs/YYYY-MM-DD/HH-MM-SS/`` holding ``events.jsonl``,
``summary.json`` or ``config.yaml`` (PoseDesk), or a Lightning Pose model folder (also under
``<project>/models/``, summarised by :mod:`pose_core.runs.lightning_pose`). :func:`list_runs` lists
them, :func:`read_run_info` reads one; the status rules are :mod:`pose_core.runs.status`.

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

from pose_core.events import read_events
from pose_core.runs.layout import LP_MODELS_DIRNAME, OUTPUTS_DIRNAME, RunLayout, is_run_dir, time_from_run_dir
from pose_core.runs.status import RunStatus, run_status

if TYPE_CHECKING:
    from pose_core.project import Project

SOURCE_POSEDESK = "PoseDesk"


@dataclass(frozen=True)
class RunInfo:
    """What a training run directory says about the run.

    Attributes:
        path: The run directory.
        status: A :class:`~pose_core.runs.status.RunStatus`; a Lightning Pose model folder's reads
            e.g. ``finished · Lightning Pose`` (:func:`pose_core.runs.lightning_pose.lp_status`).
        started: When it started (local time), if known.
        epochs: Epochs completed, if known.
        best_val_loss: Lowest ``val_supervised_loss`` over the epochs, if validated.
        test_error_px: Mean pixel error on the test frames, if evaluated.
        source: ``PoseDesk`` or ``Lightning Pose``.
        ensemble_id: The ensemble it belongs to (``training.ensemble_seeds``), for grouping.
        parent: The run it was started from (``training.init_from``), if any.
    """

    path: Path
    status: str
    started: datetime | None
    epochs: int | None
    best_val_loss: float | None
    test_error_px: float | None
    source: str = SOURCE_POSEDESK
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
    from pose_core.runs.lightning_pose import is_lp_run_dir, lp_model_dirs

    root = Path(project) if isinstance(project, str | Path) else project.root
    outputs = root / OUTPUTS_DIRNAME
    run_dirs = [d for d in outputs.glob("*/*") if d.is_dir() and (is_run_dir(d) or is_lp_run_dir(d))]
    run_dirs += lp_model_dirs(root / LP_MODELS_DIRNAME)
    runs = [read_run_info(d) for d in run_dirs]
    return sorted(runs, key=lambda r: (r.started or datetime.min, r.name), reverse=True)


def read_run_info(run_dir: Path) -> RunInfo:
    """Summarise one run directory from its ``events.jsonl`` and ``summary.json``.

    A Lightning Pose model folder is summarised from its own files instead
    (:func:`pose_core.runs.lightning_pose.lp_run_info`).

    Args:
        run_dir: The run directory.

    Returns:
        The run's summary.
    """
    from pose_core.runs.lightning_pose import is_lp_run_dir, lp_run_info

    run_dir = Path(run_dir)
    if is_lp_run_dir(run_dir):
        return lp_run_info(run_dir)
    layout = RunLayout(run_dir)
    try:
        events = read_events(layout.events)
    except OSError:
        events = []
    summary = read_summary(layout.summary)
    epoch_ends = [e for e in events if e.kind == "epoch_end"]
    started = next((e for e in events if e.kind == "started"), None)
    epochs = summary.get("epochs_completed")
    if not isinstance(epochs, int):
        epochs = max(int(e.data.get("epoch", 0)) for e in epoch_ends) + 1 if epoch_ends else None
    status: RunStatus = run_status(run_dir, events, summary)
    return RunInfo(
        path=run_dir,
        status=status,
        started=datetime.fromtimestamp(started.time) if started else time_from_run_dir(run_dir),
        epochs=epochs,
        best_val_loss=best_metric(e.data.get("metrics", {}).get("val_supervised_loss") for e in epoch_ends),
        test_error_px=_test_error_px(summary),
        ensemble_id=_ensemble_id(summary),
        parent=_parent_run(layout),
    )


def _ensemble_id(summary: dict[str, Any]) -> str | None:
    entry = summary.get("ensemble")
    value = entry.get("id") if isinstance(entry, dict) else None
    return str(value) if value else None


def _parent_run(layout: RunLayout) -> Path | None:
    """``training.init_from`` of the run's config (read with a plain text scan: no YAML parse per refresh)."""
    try:
        text = layout.config.read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "init_from" and value.strip() not in ("", "null", "~"):
            return Path(value.strip().strip("'\""))
    return None


def read_summary(path: Path) -> dict[str, Any]:
    """A run's ``summary.json`` as a mapping ({} when missing, unreadable or not a mapping)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def best_metric(values: Iterable[Any]) -> float | None:
    """The lowest finite number among ``values`` (None when there is none)."""
    finite = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return min(finite) if finite else None


def _test_error_px(summary: dict[str, Any]) -> float | None:
    pixel_error = summary.get("pixel_error")
    test = pixel_error.get("test") if isinstance(pixel_error, dict) else None
    value = test.get("mean_px") if isinstance(test, dict) else None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
