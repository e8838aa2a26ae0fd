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
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from pose_core.cli_support import OneLineArgumentParser, run_command
from pose_core.data.labels import image_file, write_labels
from pose_core.errors import DataError, PoseDeskError
from pose_core.interop.dlc_project import (
    CONFIG_FILENAME,
    VIDEOS_DIRNAME,
    DlcConfig,
    DlcProject,
    dlc_videos,
    is_dlc_config,
    read_dlc_config,
    read_dlc_labels,
    read_dlc_project,
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
LABELS_FILENAME = "CollectedData.csv"
PROG = "posedesk import-dlc"

ProgressCallback = Callable[[int, int, str], None]


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
    from pose_core.project import check_new_project_folder, write_new_project

    dest_dir = Path(dest_dir).expanduser().absolute()
    dest = check_new_project_folder(dest_dir.name, dest_dir.parent)
    if dest.resolve().is_relative_to(dlc.root.resolve()):
        raise DataError(
            f"{dest} is inside the DeepLabCut project {dlc.root}; choose a destination outside it (the DeepLabCut "
            "folder is never written to).",
            path=str(dest),
        )
    videos, notes = _readable_videos(dlc.videos)
    dlc.notes.extend(notes)
    return write_new_project(dest, lambda tmp: _write_files(tmp, dlc, videos, copy_videos, progress))


def _readable_videos(videos: list[Path]) -> tuple[list[Path], list[str]]:
    """The videos that open; a note for each that does not (it is left out, not fatal)."""
    from pose_core.video.reader import probe_video

    good: list[Path] = []
    notes: list[str] = []
    for video in videos:
        try:
            probe_video(video)
        except PoseDeskError as exc:
            notes.append(f"Left out video {video}: {exc}")
            continue
        good.append(video)
    return good, notes


def _write_files(
    root: Path, dlc: DlcProject, videos: list[Path], copy_videos: bool, progress: ProgressCallback | None
) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    images = dlc.labels.image_paths
    total = len(images) + len(videos) + 1
    for done, image in enumerate(images):
        target = image_file(root, image)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_source_image(image_file(dlc.root, image), target)
        if progress is not None:
            progress(done + 1, total, f"Copying {image}")
    write_labels(dlc.labels, root / LABELS_FILENAME)
    (root / VIDEOS_DIRNAME).mkdir()
    for done, video in enumerate(videos):
        _copy_or_link_video(video, root / VIDEOS_DIRNAME / video.name, copy_videos)
        if progress is not None:
            progress(len(images) + done + 1, total, f"{'Copying' if copy_videos else 'Linking'} {video.name}")
    _write_config(root / CONFIG_FILENAME, dlc)
    _write_record(root / IMPORT_RECORD_FILENAME, dlc, videos, copy_videos)
    if progress is not None:
        progress(total, total, "Project written")


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


def _copy_or_link_video(src: Path, dst: Path, copy: bool) -> None:
    if copy:
        shutil.copy2(src, dst)
        return
    try:
        dst.symlink_to(src.resolve())
    except OSError as exc:
        raise DataError(
            f"Cannot link {dst} to {src} ({exc.strerror or exc}); this file system has no symlinks: import again "
            "with --copy-videos.",
            path=str(dst),
        ) from exc


def _model_name(task: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", task).strip("._")
    return name or "posedesk"


def _write_config(path: Path, dlc: DlcProject) -> None:
    """Write the project's PoseDesk config (project-specific keys only) and check that it validates."""
    from pose_core.config.io import load_config
    from pose_core.io.atomic import atomic_write_text

    config = {
        "data": {
            "data_dir": ".",
            "video_dir": VIDEOS_DIRNAME,
            "csv_file": LABELS_FILENAME,
            "num_keypoints": len(dlc.config.bodyparts),
            "keypoint_names": list(dlc.config.bodyparts),
        },
        "model": {"model_name": _model_name(dlc.config.task)},
    }
    header = (
        f"# PoseDesk project imported from the DeepLabCut project {dlc.root} by posedesk import-dlc.\n"
        f"# Skeleton, scorers and video crops are in {IMPORT_RECORD_FILENAME}; every key not listed has its default.\n"
    )
    atomic_write_text(path, header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None))
    load_config(path)  # raises ConfigError if the written config does not validate


def _write_record(path: Path, dlc: DlcProject, videos: list[Path], copy_videos: bool) -> None:
    from pose_core.io.atomic import atomic_write_text

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
        "videos": {v.name: {"source": str(v), "copied" if copy_videos else "linked": True} for v in videos},
        "video_crops": {name: crop for name, crop in crops.items() if crop is not None},
        "notes": list(dlc.notes),
    }
    header = "# What posedesk import-dlc imported (for reference; PoseDesk does not read this file to train).\n"
    atomic_write_text(path, header + yaml.safe_dump(record, sort_keys=False, allow_unicode=True))


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


def _print_progress(done: int, total: int, message: str) -> None:
    if done == total or done % 200 == 0:
        print(f"  {done}/{total} {message}", flush=True)


def run_import(argv: Sequence[str]) -> int:
    """Run ``posedesk import-dlc``; returns the exit status (user errors raise)."""
    args = build_parser().parse_args(list(argv))
    dlc = read_dlc_project(args.dlc_dir, scorers=args.scorer, skip_unlabeled=args.skip_unlabeled)
    folders = ", ".join(f"{f.folder.name} ({f.scorer}, {f.path.suffix[1:]})" for f in dlc.label_files)
    print(f"DeepLabCut project {dlc.root}: {dlc.labels.n_frames} labelled frames, {len(dlc.config.bodyparts)} "
          f"bodyparts, folders {folders}", flush=True)  # fmt: skip
    project = write_posedesk_project(dlc, args.dest_dir, copy_videos=args.copy_videos, progress=_print_progress)
    how = "copied" if args.copy_videos else "linked (use --copy-videos to copy them)"
    print(f"Wrote {project.root}: CollectedData.csv, {project.n_labeled_frames} images copied, "
          f"{len(project.videos)} videos {how}, config.yaml, {IMPORT_RECORD_FILENAME}", flush=True)  # fmt: skip
    for note in dlc.notes:
        print(f"note: {note}", flush=True)
    print(f"Train it: pose-train --config-path {project.root}", flush=True)
    return 0


def import_dlc_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``posedesk import-dlc DLC_DIR DEST_DIR [--copy-videos] [--scorer NAME]... [--skip-unlabeled]``.

    Returns:
        0 on success, 2 on a user error (one line ``posedesk import-dlc: error: ...`` on stderr).
    """
    return run_command(PROG, lambda: run_import(list(sys.argv[1:] if argv is None else argv)))
