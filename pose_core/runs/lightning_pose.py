"""Lightning Pose model folders as runs: the bridge between the LP reader and the run listing.

:mod:`pose_core.interop.lightning_pose` reads an LP model folder and knows nothing of PoseDesk's
runs or projects; this module lists such folders among a project's runs
(:func:`lp_model_dirs`, :func:`is_lp_run_dir`), gives their status with the same
:class:`~pose_core.runs.status.RunStatus` values as PoseDesk's own runs, marked ``· Lightning
Pose`` (:func:`lp_status`), and summarises them as :class:`~pose_core.runs.listing.RunInfo`.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from pathlib import Path

from pose_core.interop.lightning_pose import (
    LPModelDir,
    events_from_tensorboard,
    is_lp_model_dir,
    lp_test_error_px,
    read_lp_model_dir,
)
from pose_core.interop.lp_tensorboard import SOURCE_NAME
from pose_core.runs.layout import EVENTS_FILENAME, SUMMARY_FILENAME, time_from_run_dir
from pose_core.runs.listing import RunInfo
from pose_core.runs.status import RunStatus

STATUS_FINISHED = f"{RunStatus.FINISHED} · {SOURCE_NAME}"
STATUS_RUNNING = f"{RunStatus.RUNNING} · {SOURCE_NAME}"
STATUS_INCOMPLETE = f"{RunStatus.INCOMPLETE} · {SOURCE_NAME}"
RUNNING_WINDOW_S = 300.0
"""Tensorboard files written this recently, without predictions = LP is still training."""
_POSEDESK_ONLY_FILES = (EVENTS_FILENAME, SUMMARY_FILENAME)


def is_lp_run_dir(path: Path) -> bool:
    """Tell whether ``path`` is a Lightning Pose model folder and not a PoseDesk run.

    A folder holding PoseDesk's own run files (``events.jsonl``, ``summary.json``) is PoseDesk's,
    whatever its config looks like; otherwise :func:`pose_core.interop.lightning_pose.is_lp_model_dir` decides.
    """
    path = Path(path)
    return not any((path / name).exists() for name in _POSEDESK_ONLY_FILES) and is_lp_model_dir(path)


def lp_model_dirs(folder: Path) -> list[Path]:
    """LP model directories ``folder/*/*`` (e.g. a project's ``models/``)."""
    folder = Path(folder)
    return [d for d in sorted(folder.glob("*/*")) if is_lp_run_dir(d)] if folder.is_dir() else []


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


def lp_run_info(run_dir: Path) -> RunInfo:
    """Summarise an LP model directory as a :class:`~pose_core.runs.listing.RunInfo` (source ``Lightning Pose``).

    Unreadable files make the corresponding fields None instead of failing.
    """
    lp = read_lp_model_dir(run_dir)
    events = events_from_tensorboard(lp.path)
    epoch_ends = [e for e in events if e.kind == "epoch_end"]
    vals = [e.data["metrics"].get("val_supervised_loss") for e in epoch_ends]
    finite = [float(v) for v in vals if isinstance(v, float) and math.isfinite(v)]
    return RunInfo(
        path=lp.path,
        status=lp_status(lp),
        started=datetime.fromtimestamp(events[0].time) if events else time_from_run_dir(lp.path),
        epochs=max(int(e.data["epoch"]) for e in epoch_ends) + 1 if epoch_ends else None,
        best_val_loss=min(finite) if finite else None,
        test_error_px=lp_test_error_px(lp.pixel_error_csv),
        source=SOURCE_NAME,
    )
