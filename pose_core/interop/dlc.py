"""DeepLabCut projects: import one into a new PoseDesk project (``posedesk import-dlc``).

``posedesk import-dlc DLC_DIR DEST_DIR`` (:func:`import_dlc_main`) reads the DeepLabCut project's
``config.yaml`` (``Task``, ``scorer``, ``bodyparts``, ``video_sets``, ``skeleton``,
``multianimalproject``) and its labels (``labeled-data/<video>/CollectedData_<scorer>.h5`` or
``.csv``), checks everything (:mod:`pose_core.interop.dlc_project`), then writes a new
PoseDesk project ``DEST_DIR``:

* ``CollectedData.csv``: every folder's labels merged, in the Lightning Pose layout;
* ``labeled-data/<video>/<image>``: the labelled images, **copied** (they are small, and the copy
  keeps the project valid when the DeepLabCut project moves or its frames are re-extracted);
* ``videos/<name>``: the videos of ``video_sets`` (or of the DeepLabCut ``videos/`` folder),
  **symlinked** by default because videos are large (``--copy-videos`` copies them);
* ``config.yaml``: PoseDesk's schema (``data.keypoint_names`` = ``bodyparts``,
  ``model.model_name`` = ``Task``), so ``pose-train --config-path DEST_DIR`` trains it;
* ``dlc_import.yaml``: where it came from, which scorer's file each folder used, the skeleton
  (PoseDesk's config has no skeleton key), the video crops and what was linked or copied.

Everything is written to a hidden folder next to ``DEST_DIR`` and renamed into place at the end;
nothing in the DeepLabCut folder is written. Opening a DeepLabCut project in place
(:meth:`pose_core.project.Project.open`) uses :func:`read_dlc_labels` and :func:`dlc_videos`,
re-exported here with the rest of the reading API.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pose_core.cli_support import OneLineArgumentParser, run_command
from pose_core.data.labels import image_file
from pose_core.errors import DataError
from pose_core.interop.dlc_project import (
    DlcConfig,
    DlcProject,
    dlc_videos,
    is_dlc_config,
    read_dlc_config,
    read_dlc_labels,
    read_dlc_project,
)
from pose_core.interop.project_writer import (
    CONFIG_FILENAME,
    ProgressCallback,
    model_name,
    new_project_folder,
    print_progress,
    print_written,
    readable_videos,
    videos_record,
    write_import_record,
    write_project_config,
    write_project_files,
)

if TYPE_CHECKING:
    from pose_core.project import Project

__all__ = [
    "DlcConfig",
    "DlcProject",
    "dlc_videos",
    "import_dlc_main",
    "import_dlc_project",
    "is_dlc_config",
    "read_dlc_config",
    "read_dlc_labels",
    "read_dlc_project",
    "write_posedesk_project",
]

IMPORT_RECORD_FILENAME = "dlc_import.yaml"
PROG = "posedesk import-dlc"


# ----------------------------------------------------------------------------- writing the project


def import_dlc_project(
    dlc_dir: Path,
    dest_dir: Path,
    *,
    scorers: Sequence[str] | None = None,
    skip_unlabeled: bool = False,
    copy_videos: bool = False,
    progress: ProgressCallback | None = None,
) -> Project:
    """Import a DeepLabCut project into a new PoseDesk project (see the module docstring).

    Args:
        dlc_dir: The DeepLabCut project folder; nothing in it is modified.
        dest_dir: The new project's folder (must not exist, or be empty; not inside ``dlc_dir``).
        scorers: See :func:`read_dlc_project`.
        skip_unlabeled: See :func:`read_dlc_project`.
        copy_videos: Copy the videos instead of symlinking them.
        progress: Called as ``progress(done, total, message)`` while files are copied.

    Returns:
        The new project, opened.

    Raises:
        DataError: Bad DeepLabCut project (see :func:`read_dlc_project`), bad destination, or a
            write failure.
    """
    dlc = read_dlc_project(dlc_dir, scorers=scorers, skip_unlabeled=skip_unlabeled)
    return write_posedesk_project(dlc, dest_dir, copy_videos=copy_videos, progress=progress)


def write_posedesk_project(
    dlc: DlcProject, dest_dir: Path, *, copy_videos: bool = False, progress: ProgressCallback | None = None
) -> Project:
    """Write the PoseDesk project of a read DeepLabCut project (see :func:`import_dlc_project`)."""
    from pose_core.project import write_new_project

    dest = new_project_folder(dest_dir)
    if dest.resolve().is_relative_to(dlc.root.resolve()):
        raise DataError(
            f"{dest} is inside the DeepLabCut project {dlc.root}; choose a destination outside it (the DeepLabCut "
            "folder is never written to).",
            path=str(dest),
        )
    videos, notes = readable_videos(dlc.videos)
    dlc.notes.extend(notes)
    return write_new_project(dest, lambda tmp: _write_files(tmp, dlc, videos, copy_videos, progress))


def _write_files(
    root: Path, dlc: DlcProject, videos: list[Path], copy_videos: bool, progress: ProgressCallback | None
) -> None:
    def write_image(_index: int, image: str, root: Path) -> None:
        target = image_file(root, image)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_source_image(image_file(dlc.root, image), target)

    def write_metadata(root: Path) -> None:
        _write_config(root / CONFIG_FILENAME, dlc)
        _write_record(root / IMPORT_RECORD_FILENAME, dlc, videos, copy_videos)

    write_project_files(
        root, dlc.labels, write_image, videos,
        copy_videos=copy_videos, image_verb="Copying", write_metadata=write_metadata, progress=progress,
    )  # fmt: skip


def _copy_source_image(src: Path, dst: Path) -> None:
    """Copy one labelled image; a source that cannot be read is the DeepLabCut project's problem, not DEST's.

    Raises:
        DataError: The source image cannot be read (names it and the fix).
    """
    try:
        with open(src, "rb"):
            pass
    except OSError as exc:
        raise DataError(
            f"Cannot read the labelled image {src} of the DeepLabCut project ({exc.strerror or exc}); fix its "
            "permissions (or restore it) and import again. Nothing was written.",
            path=str(src),
        ) from exc
    shutil.copy2(src, dst)


def _write_config(path: Path, dlc: DlcProject) -> None:
    """Write the project's PoseDesk config (project-specific keys only) and check that it validates."""
    header = (
        f"# PoseDesk project imported from the DeepLabCut project {dlc.root} by posedesk import-dlc.\n"
        f"# Skeleton, scorers and video crops are in {IMPORT_RECORD_FILENAME}; every key not listed has its default.\n"
    )
    write_project_config(path, dlc.config.bodyparts, model_name(dlc.config.task), header)


def _write_record(path: Path, dlc: DlcProject, videos: list[Path], copy_videos: bool) -> None:
    crops = {
        Path(k.replace("\\", "/")).name: v.get("crop") for k, v in dlc.config.video_sets.items() if isinstance(v, dict)
    }
    record = {
        "source": str(dlc.root),
        "imported": datetime.now().isoformat(timespec="seconds"),
        "task": dlc.config.task,
        "config_scorer": dlc.config.scorer,
        "bodyparts": list(dlc.config.bodyparts),
        "skeleton": [list(edge) for edge in dlc.config.skeleton],
        "label_files": {
            f"labeled-data/{f.folder.name}": {"scorer": f.scorer, "file": str(f.path.relative_to(dlc.root))}
            for f in dlc.label_files
        },
        "images": "copied",
        "videos": videos_record(videos, copy_videos),
        "video_crops": {name: crop for name, crop in crops.items() if crop is not None},
        "notes": list(dlc.notes),
    }
    header = "# What posedesk import-dlc imported (for reference; PoseDesk does not read this file to train).\n"
    write_import_record(path, header, record)


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """The ``posedesk import-dlc`` argument parser."""
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Import a single-animal DeepLabCut project into a new PoseDesk project (the DeepLabCut "
        "folder is not modified).",
        epilog="Labels of every labeled-data folder are merged into DEST_DIR/CollectedData.csv, the labelled images "
        "are copied, videos are linked (or copied) into DEST_DIR/videos, and DEST_DIR/config.yaml is written: train "
        "with pose-train --config-path DEST_DIR.",
    )
    parser.add_argument("dlc_dir", metavar="DLC_DIR", type=Path, help="DeepLabCut project folder (with config.yaml)")
    parser.add_argument("dest_dir", metavar="DEST_DIR", type=Path, help="new PoseDesk project folder (new or empty)")
    parser.add_argument("--copy-videos", action="store_true", help="copy the videos instead of symlinking them")
    parser.add_argument(
        "--scorer",
        metavar="NAME",
        action="append",
        default=None,
        help="use the CollectedData_NAME files (repeat to merge folders labelled by different scorers; the first "
        "listed wins in a folder labelled by several); default: the scorer of config.yaml",
    )
    parser.add_argument(
        "--skip-unlabeled", action="store_true", help="skip labeled-data folders that have images but no labels yet"
    )
    return parser


def run_import(argv: Sequence[str]) -> int:
    """Run ``posedesk import-dlc``; returns the exit status (user errors raise)."""
    args = build_parser().parse_args(list(argv))
    dlc = read_dlc_project(args.dlc_dir, scorers=args.scorer, skip_unlabeled=args.skip_unlabeled)
    folders = ", ".join(f"{f.folder.name} ({f.scorer}, {f.path.suffix[1:]})" for f in dlc.label_files)
    print(f"DeepLabCut project {dlc.root}: {dlc.labels.n_frames} labelled frames, {len(dlc.config.bodyparts)} "
          f"bodyparts, folders {folders}", flush=True)  # fmt: skip
    project = write_posedesk_project(dlc, args.dest_dir, copy_videos=args.copy_videos, progress=print_progress)
    print_written(
        project, images="images copied", copy_videos=args.copy_videos, record_filename=IMPORT_RECORD_FILENAME,
        notes=dlc.notes,
    )  # fmt: skip
    return 0


def import_dlc_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``posedesk import-dlc DLC_DIR DEST_DIR [--copy-videos] [--scorer NAME]... [--skip-unlabeled]``.

    Returns:
        0 on success, 2 on a user error (one line ``posedesk import-dlc: error: ...`` on stderr).
    """
    return run_command(PROG, lambda: run_import(list(sys.argv[1:] if argv is None else argv)))
