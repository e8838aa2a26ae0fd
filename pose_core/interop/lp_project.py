"""Open a Lightning Pose model folder with a project to review it in (a bridge above the core).

The reader (:mod:`pose_core.interop.lightning_pose`) knows LP's files only; this module finds
the PoseDesk :class:`~pose_core.project.Project` to show the model's curves and predictions with:
the project whose ``outputs/`` or ``models/`` holds the folder, else one built from the labels
and videos the model's config names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pose_core.data.labels import read_labels
from pose_core.errors import DataError, PoseDeskError, RunError
from pose_core.interop.lightning_pose import LPModelDir, read_lp_model_dir
from pose_core.project import KIND_LIGHTNING_POSE, Project
from pose_core.runs.layout import LP_MODELS_DIRNAME, OUTPUTS_DIRNAME
from pose_core.video.formats import video_files


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
    lp = read_lp_model_dir(path)
    problems: list[PoseDeskError] = []
    reason = lp.unsupported_reason()
    if reason is not None:
        problems.append(RunError(reason))
    parents = lp.path.parents
    if len(parents) > 2 and parents[1].name in (OUTPUTS_DIRNAME, LP_MODELS_DIRNAME):
        try:
            return LPOpening(lp, Project.open(parents[2]), True, problems)
        except PoseDeskError:
            pass
    project = _project_from_config(lp, problems)
    return LPOpening(lp, project, False, problems)


def _project_from_config(lp: LPModelDir, problems: list[PoseDeskError]) -> Project | None:
    """A project from the config's labels CSV and video folder; what is missing goes to ``problems``."""
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
        project = replace(project, video_dir=lp.video_dir, videos=video_files(lp.video_dir))
    return project
