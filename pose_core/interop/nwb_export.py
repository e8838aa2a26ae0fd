"""Export a project to NWB: its labelled frames and a run's video predictions (``posedesk export-nwb``).

``posedesk export-nwb PROJECT_DIR OUT.nwb [--run RUN_DIR] [--overwrite]`` (and File > Export NWB…
in the window) writes, with :func:`pose_core.io.nwb.write_project_nwb`, the project's labelled
frames as ``ndx-pose`` training data (``PoseTraining``) and, for each project video that the run
predicted (``RUN_DIR/video_preds/<stem>.csv``), a ``PoseEstimation``. Without ``--run`` the newest
run that predicted a project video is used; without any, only the labelled frames are written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pose_core.cli_support import OneLineArgumentParser, run_command
from pose_core.errors import DataError
from pose_core.runs.layout import RunLayout

PROG = "posedesk export-nwb"


@dataclass
class NwbExport:
    """What :func:`export_project_nwb` wrote.

    Attributes:
        path: The NWB file.
        n_labeled_frames: Labelled frames written as training frames.
        run_dir: The run whose predictions were written, or None.
        videos: The videos whose predictions were written.
        notes: What was left out, and why.
    """

    path: Path
    n_labeled_frames: int
    run_dir: Path | None
    videos: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _predicted_videos(run_dir: Path, videos: Sequence[Path]) -> list[tuple[Path, Path]]:
    """``(video, predictions CSV)`` for the project videos the run predicted."""
    found = []
    for video in videos:
        csv_path = RunLayout(run_dir).video_predictions(video)
        if csv_path.is_file():
            found.append((video, csv_path))
    return found


def _newest_predicting_run(project_root: Path, videos: Sequence[Path]) -> Path | None:
    from pose_core.runs import list_runs

    return next((run.path for run in list_runs(project_root) if _predicted_videos(run.path, videos)), None)


def export_project_nwb(
    project_dir: Path, out_path: Path, *, run_dir: Path | None = None, overwrite: bool = False
) -> NwbExport:
    """Write a project's labelled frames and a run's video predictions to one NWB file.

    Args:
        project_dir: The project folder.
        out_path: The ``.nwb`` file to write.
        run_dir: The run whose ``video_preds`` to include; None = the newest run that predicted
            a project video (none: labelled frames only).
        overwrite: Replace an existing file.

    Returns:
        What was written.

    Raises:
        DataError: Not a project, the file exists, keypoint names NWB cannot hold, predictions
            of other keypoints, pynwb/ndx-pose missing, or a write failure.
    """
    from pose_core.io.nwb import VideoPredictions, check_target, nwb_modules, project_skeleton, write_project_nwb
    from pose_core.io.predictions import read_predictions_csv
    from pose_core.project import Project
    from pose_core.video.reader import probe_video

    nwb_modules()
    out_path = Path(out_path).expanduser().absolute()
    check_target(out_path, overwrite)
    project = Project.open(project_dir)
    names = project.labels.keypoint_names
    run = Path(run_dir) if run_dir is not None else _newest_predicting_run(project.root, project.videos)
    export = NwbExport(out_path, project.labels.n_frames, run)
    predictions = []
    for video, csv_path in _predicted_videos(run, project.videos) if run is not None else []:
        info = probe_video(video)
        table = read_predictions_csv(csv_path, expected_rows=info.n_frames)
        if table.keypoint_names != names:
            raise DataError(
                f"{csv_path} predicts other keypoints than the project's labels ({', '.join(table.keypoint_names[:4])}"
                "...); export with --run set to a run trained on this project.",
                path=str(csv_path),
            )
        predictions.append(VideoPredictions(video.absolute(), table.preds, info.fps))
        export.videos.append(video)
    if run is not None and not predictions:
        export.notes.append(
            f"Run {run} has no predictions of the project's videos; only the labelled frames were written."
        )
    write_project_nwb(
        out_path, project_skeleton(project.data_dir, names), project.labels, project.data_dir, predictions,
        description=f"PoseDesk project {project.name}", overwrite=overwrite,
        scorer=f"posedesk run {run.parent.name}/{run.name}" if run is not None else "posedesk",
    )  # fmt: skip
    return export


def build_parser() -> argparse.ArgumentParser:
    """The ``posedesk export-nwb`` argument parser."""
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Write a project's labelled frames (ndx-pose PoseTraining) and a run's video predictions "
        "(PoseEstimation, one per video) to a Neurodata Without Borders file.",
        epilog="Read it back with pynwb (import ndx_pose; NWBHDF5IO(OUT).read().processing['behavior']), movement "
        "(load_poses.from_nwb_file) or sleap-io (load_nwb: the labelled frames).",
    )
    parser.add_argument("project", metavar="PROJECT_DIR", type=Path, help="the PoseDesk project folder")
    parser.add_argument("out", metavar="OUT.nwb", type=Path, help="the NWB file to write")
    parser.add_argument(
        "--run", metavar="RUN_DIR", type=Path, default=None,
        help="run whose video_preds/<video>.csv to include (default: the newest run that predicted a project video)",
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.nwb if it exists")
    return parser


def run_export(argv: Sequence[str]) -> int:
    """Run ``posedesk export-nwb``; returns the exit status (user errors raise)."""
    args = build_parser().parse_args(list(argv))
    export = export_project_nwb(args.project, args.out, run_dir=args.run, overwrite=args.overwrite)
    videos = ", ".join(v.name for v in export.videos) or "none"
    print(f"Wrote {export.path}: {export.n_labeled_frames} labelled frames, predictions of {videos}"
          + (f" (run {export.run_dir})" if export.videos else ""), flush=True)  # fmt: skip
    for note in export.notes:
        print(f"note: {note}", flush=True)
    return 0


def export_nwb_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``posedesk export-nwb PROJECT_DIR OUT.nwb [--run RUN_DIR] [--overwrite]``.

    Returns:
        0 on success, 2 on a user error (one line ``posedesk export-nwb: error: ...`` on stderr).
    """
    return run_command(PROG, lambda: run_export(list(sys.argv[1:] if argv is None else argv)))
