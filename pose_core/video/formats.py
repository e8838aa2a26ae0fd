"""The video file extensions PoseDesk reads, and listing the videos of a folder (no OpenCV here).

The one list: the project, the DeepLabCut import, the video reader, the CLI and the GUI's
drop / file dialogs all use :data:`VIDEO_EXTENSIONS`.
"""

from __future__ import annotations

from pathlib import Path

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v")


def is_video_file(path: Path) -> bool:
    """Tell whether ``path``'s extension (any case) is one of :data:`VIDEO_EXTENSIONS`."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def video_files(folder: Path) -> list[Path]:
    """Video files directly inside ``folder`` (sorted, hidden files skipped); [] if it is missing."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and is_video_file(p) and not p.name.startswith("."))


def video_file_patterns() -> str:
    """``*.mp4 *.avi ...``: the extensions as glob patterns, e.g. for a file dialog's filter."""
    return " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS)
