"""The video file extensions PoseDesk reads, and listing the videos of a folder (no OpenCV here).

The one list: the project, the DeepLabCut import, the video reader, the CLI and the GUI's
drop / file dialogs all use :data:`VIDEO_EXTENSIONS`. A folder's videos (:func:`video_files`) leave
out the labelled videos PoseDesk (or DeepLabCut) writes as exports (:func:`is_labeled_export`), so a
clip exported into ``videos/`` never becomes a project video that is predicted after every training.
"""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v")
LABELED_VIDEO_SUFFIX = "_labeled"
"""How the stem of a video with keypoints drawn ends: ``pose-predict --labeled-video``'s
``<stem>_labeled.mp4``, the Review pane's exported clips ``<stem>_<first>-<last>_labeled.mp4``
(and DeepLabCut's ``<stem>DLC_<scorer>_labeled.mp4``)."""


def labeled_clip_name(video: Path, first_frame: int, last_frame: int) -> str:
    """``<stem>_<first>-<last>_labeled.mp4``: the file name of a labelled clip exported from ``video``."""
    return f"{Path(video).stem}_{first_frame}-{last_frame}{LABELED_VIDEO_SUFFIX}.mp4"


def is_labeled_export(path: Path) -> bool:
    """Tell whether ``path`` is a labelled video an export wrote (its stem ends with :data:`LABELED_VIDEO_SUFFIX`)."""
    return Path(path).stem.endswith(LABELED_VIDEO_SUFFIX)


def is_video_file(path: Path) -> bool:
    """Tell whether ``path``'s extension (any case) is one of :data:`VIDEO_EXTENSIONS`."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def video_files(folder: Path) -> list[Path]:
    """Video files directly inside ``folder`` (sorted; hidden files and labelled exports skipped); [] if it is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and is_video_file(p) and not p.name.startswith(".") and not is_labeled_export(p)
    )


def video_file_patterns() -> str:
    """``*.mp4 *.avi ...``: the extensions as glob patterns, e.g. for a file dialog's filter."""
    return " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS)
