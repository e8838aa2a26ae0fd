"""Writing a new PoseDesk project from another tool's labels (shared by the importers).

``posedesk import-dlc`` (:mod:`pose_core.interop.dlc`) and ``posedesk import-sleap``
(:mod:`pose_core.interop.sleap`) read different sources but write the same project: the labelled
images under ``labeled-data/``, ``CollectedData.csv``, the videos linked (or copied) into
``videos/``, a ``config.yaml`` with the project-specific keys only, and an import record naming
where it all came from. The steps they share live here; each importer keeps what is its own (how
an image is obtained, what its config header and record say).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pose_core.data.labels import write_labels
from pose_core.errors import DataError, PoseDeskError

if TYPE_CHECKING:
    from pose_core.data.labels import LabelSet
    from pose_core.project import Project

LABELS_FILENAME = "CollectedData.csv"
CONFIG_FILENAME = "config.yaml"
VIDEOS_DIRNAME = "videos"

ProgressCallback = Callable[[int, int, str], None]
"""Called as ``progress(done, total, message)`` while a project is written."""


def new_project_folder(dest_dir: Path) -> Path:
    """The absolute project folder for ``dest_dir``, checked to be new or empty.

    Raises:
        DataError: ``dest_dir`` cannot hold a new project (see
            :func:`pose_core.project.check_new_project_folder`).
    """
    from pose_core.project import check_new_project_folder

    dest_dir = Path(dest_dir).expanduser().absolute()
    return check_new_project_folder(dest_dir.name, dest_dir.parent)


def readable_videos(videos: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The videos PoseDesk can open (each file name once); a note for each left out (not fatal)."""
    from pose_core.video.reader import probe_video

    good: dict[str, Path] = {}
    notes: list[str] = []
    for video in videos:
        if video.name in good:
            continue
        try:
            probe_video(video)
        except PoseDeskError as exc:
            notes.append(f"Left out video {video}: {exc}")
            continue
        good[video.name] = video
    return list(good.values()), notes


def write_project_files(
    root: Path,
    labels: LabelSet,
    write_image: Callable[[int, str, Path], None],
    videos: Sequence[Path],
    *,
    copy_videos: bool,
    image_verb: str,
    write_metadata: Callable[[Path], None],
    progress: ProgressCallback | None,
) -> None:
    """Write a whole project into the (temporary) folder ``root``.

    Args:
        root: The folder to write (emptied first); renamed into place by the caller.
        labels: The labels, written to ``CollectedData.csv``; their image paths are the images to write.
        write_image: ``write_image(index, image_path, root)`` writes the ``index``-th labelled image.
        videos: Linked (or copied) into ``videos/`` under their file names.
        copy_videos: Copy the videos instead of symlinking them.
        image_verb: The progress message's verb for an image (``Copying``, ``Writing``).
        write_metadata: ``write_metadata(root)`` writes ``config.yaml`` and the import record.
        progress: Called as ``progress(done, total, message)``.
    """
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    images = labels.image_paths
    total = len(images) + len(videos) + 1
    for done, image in enumerate(images):
        write_image(done, image, root)
        if progress is not None:
            progress(done + 1, total, f"{image_verb} {image}")
    write_labels(labels, root / LABELS_FILENAME)
    (root / VIDEOS_DIRNAME).mkdir()
    for done, video in enumerate(videos):
        copy_or_link_video(video, root / VIDEOS_DIRNAME / video.name, copy_videos)
        if progress is not None:
            progress(len(images) + done + 1, total, f"{'Copying' if copy_videos else 'Linking'} {video.name}")
    write_metadata(root)
    if progress is not None:
        progress(total, total, "Project written")


def copy_or_link_video(src: Path, dst: Path, copy: bool) -> None:
    """Copy ``src`` to ``dst``, or symlink ``dst`` to it.

    Raises:
        DataError: The file system has no symlinks (names ``--copy-videos``).
    """
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


def model_name(text: str) -> str:
    """A ``model.model_name`` made of ``text`` (other characters become ``_``; ``posedesk`` if none is left)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "posedesk"


def write_project_config(path: Path, keypoint_names: Sequence[str], name: str, header: str) -> None:
    """Write the project's config (project-specific keys only) and check that it validates.

    Args:
        path: The project's ``config.yaml``.
        keypoint_names: ``data.keypoint_names`` (and ``data.num_keypoints``).
        name: ``model.model_name``.
        header: Comment lines written above the keys (each ending in a newline).

    Raises:
        ConfigError: The written config does not validate.
    """
    from pose_core.config.io import load_config
    from pose_core.io.atomic import atomic_write_text

    config = {
        "data": {
            "data_dir": ".",
            "video_dir": VIDEOS_DIRNAME,
            "csv_file": LABELS_FILENAME,
            "num_keypoints": len(keypoint_names),
            "keypoint_names": list(keypoint_names),
        },
        "model": {"model_name": name},
    }
    atomic_write_text(path, header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None))
    load_config(path)


def videos_record(videos: Sequence[Path], copy_videos: bool) -> dict[str, dict[str, Any]]:
    """The import record's ``videos`` entry: each video's source and whether it was copied or linked."""
    return {v.name: {"source": str(v), "copied" if copy_videos else "linked": True} for v in videos}


def write_import_record(path: Path, header: str, record: dict[str, Any]) -> None:
    """Write an import record (``header`` comment lines, then ``record`` as YAML) atomically."""
    from pose_core.io.atomic import atomic_write_text

    atomic_write_text(path, header + yaml.safe_dump(record, sort_keys=False, allow_unicode=True))


def print_progress(done: int, total: int, message: str) -> None:
    """The importers' command-line progress: every 200th step and the last."""
    if done == total or done % 200 == 0:
        print(f"  {done}/{total} {message}", flush=True)


def print_written(
    project: Project, *, images: str, copy_videos: bool, record_filename: str, notes: Sequence[str]
) -> None:
    """Print what an importer wrote, its notes, and how to train it.

    Args:
        project: The new project.
        images: What its labelled images are called in the summary (``images copied``, ``frames``).
        copy_videos: Whether the videos were copied (else linked).
        record_filename: The import record's file name.
        notes: The import's notes, one line each.
    """
    how = "copied" if copy_videos else "linked (use --copy-videos to copy them)"
    print(f"Wrote {project.root}: {LABELS_FILENAME}, {project.n_labeled_frames} {images}, "
          f"{len(project.videos)} videos {how}, {CONFIG_FILENAME}, {record_filename}", flush=True)  # fmt: skip
    for note in notes:
        print(f"note: {note}", flush=True)
    print(f"Train it: pose-train --config-path {project.root}", flush=True)
