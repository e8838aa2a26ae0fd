"""The owner of training run folders: their layout, their status, and the list of a project's runs.

- :mod:`pose_core.runs.layout`: every file name of a run directory and where its checkpoints are
  (:class:`RunLayout`, :func:`find_best_checkpoint`, :func:`find_last_checkpoint`).
- :mod:`pose_core.runs.status`: :class:`RunStatus` and the one set of rules that gives a run's
  status (events, summary, process alive with the reused-pid guard).
- :mod:`pose_core.runs.listing`: :func:`list_runs` / :func:`read_run_info` (:class:`RunInfo`).
- :mod:`pose_core.runs.lightning_pose`: Lightning Pose model folders listed as runs.

Exporting a run as a job to train elsewhere is :mod:`pose_core.jobs` (it writes into a run folder
with these names). No Qt, OpenCV or torch here.
"""

from pose_core.runs.layout import (
    CONFIG_FILENAME,
    EVENTS_FILENAME,
    LOG_FILENAME,
    OUTPUTS_DIRNAME,
    STOP_FILENAME,
    SUMMARY_FILENAME,
    VIDEO_PREDS_DIRNAME,
    RunLayout,
    find_best_checkpoint,
    find_last_checkpoint,
    new_run_dir,
)
from pose_core.runs.listing import RunInfo, list_runs, read_run_info
from pose_core.runs.status import RunStatus, process_alive, run_status

__all__ = [
    "CONFIG_FILENAME",
    "EVENTS_FILENAME",
    "LOG_FILENAME",
    "OUTPUTS_DIRNAME",
    "STOP_FILENAME",
    "SUMMARY_FILENAME",
    "VIDEO_PREDS_DIRNAME",
    "RunInfo",
    "RunLayout",
    "RunStatus",
    "find_best_checkpoint",
    "find_last_checkpoint",
    "list_runs",
    "new_run_dir",
    "process_alive",
    "read_run_info",
    "run_status",
]
