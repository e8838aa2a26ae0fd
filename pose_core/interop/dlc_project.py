"""Reading a DeepLabCut project: its ``config.yaml``, its labels and its videos.

:func:`read_dlc_project` reads and checks everything an import needs (strictly: one scorer per
folder unless told otherwise, every labelled folder, every image); :func:`read_dlc_labels` and
:func:`dlc_videos` are the lenient versions :meth:`pose_core.project.Project.open` uses to open a
DeepLabCut project in place. Label files are read by :mod:`pose_core.interop.dlc_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pose_core.data.labels import LabelSet
from pose_core.errors import DataError
from pose_core.interop.dlc_labels import (
    LabelFile,
    check_label_images,
    choose_label_files,
    merge_label_files,
    scan_label_folders,
)
from pose_core.video.formats import video_files

CONFIG_FILENAME = "config.yaml"
VIDEOS_DIRNAME = "videos"


# ----------------------------------------------------------------------------- config.yaml


def is_dlc_config(cfg: dict[str, Any] | None) -> bool:
    """True for a DeepLabCut ``config.yaml`` mapping (``bodyparts`` and ``video_sets`` or ``scorer``, no ``data:``)."""
    return cfg is not None and "bodyparts" in cfg and ("video_sets" in cfg or "scorer" in cfg) and "data" not in cfg


@dataclass(frozen=True)
class DlcConfig:
    """The parts of a DeepLabCut ``config.yaml`` PoseDesk uses.

    Attributes:
        path: The file.
        task: ``Task`` (the project's name in DeepLabCut; the folder name when missing).
        scorer: ``scorer``, or None when missing.
        bodyparts: ``bodyparts`` (keypoint names, in order).
        video_sets: ``video_sets``: video path -> its settings (``crop``).
        skeleton: ``skeleton`` edges whose two ends are both body parts.
        dropped_edges: ``skeleton`` entries that were not pairs of known body parts.
    """

    path: Path
    task: str
    scorer: str | None
    bodyparts: list[str]
    video_sets: dict[str, Any] = field(default_factory=dict)
    skeleton: list[tuple[str, str]] = field(default_factory=list)
    dropped_edges: list[Any] = field(default_factory=list)


def read_dlc_yaml(config_path: Path) -> dict[str, Any]:
    """The mapping in a DeepLabCut ``config.yaml``.

    Raises:
        DataError: Missing or unreadable file, not a mapping.
        ConfigError: Not valid YAML.
    """
    if not config_path.is_file():
        raise DataError(
            f"{config_path.parent} has no config.yaml; choose the DeepLabCut project folder (the one holding "
            "config.yaml and labeled-data/).",
            path=str(config_path.parent),
        )
    from pose_core.config.io import load_yaml_file

    data = load_yaml_file(config_path)  # ConfigError naming the file: unreadable, not UTF-8, bad YAML
    if not isinstance(data, dict):
        raise DataError(f"{config_path} is not a DeepLabCut config (not a mapping of keys).", path=str(config_path))
    return data


def parse_dlc_config(raw: dict[str, Any], config_path: Path) -> DlcConfig:
    """Check and extract the keys PoseDesk uses from a DeepLabCut config mapping.

    Raises:
        DataError: A multi-animal project, or ``bodyparts`` / ``video_sets`` missing or malformed.
    """
    if raw.get("multianimalproject"):
        raise DataError(
            f"{config_path} is a multi-animal DeepLabCut project, which PoseDesk does not support; "
            "use a single-animal project.",
            path=str(config_path),
        )
    bodyparts = raw.get("bodyparts")
    if not isinstance(bodyparts, list) or not bodyparts or not all(isinstance(b, str | int) for b in bodyparts):
        raise DataError(
            f"{config_path} has no bodyparts list (found {bodyparts!r}); add 'bodyparts:' with one keypoint name per "
            "line, in the order of the label files' columns.",
            path=str(config_path),
        )
    video_sets = raw.get("video_sets") or {}
    if not isinstance(video_sets, dict):
        raise DataError(
            f"{config_path}: video_sets must map each video path to its settings (found {type(video_sets).__name__}); "
            "fix it or delete the key.",
            path=str(config_path),
        )
    names = [str(b) for b in bodyparts]
    skeleton, dropped = _skeleton(raw.get("skeleton"), names)
    scorer = raw.get("scorer")
    return DlcConfig(
        path=config_path,
        task=str(raw.get("Task") or config_path.parent.name),
        scorer=str(scorer) if scorer not in (None, "") else None,
        bodyparts=names,
        video_sets={str(k): v for k, v in video_sets.items()},
        skeleton=skeleton,
        dropped_edges=dropped,
    )


def _skeleton(raw: Any, bodyparts: list[str]) -> tuple[list[tuple[str, str]], list[Any]]:
    """Edges between known body parts, and the entries that are not (DeepLabCut's template has placeholders)."""
    edges: list[tuple[str, str]] = []
    dropped: list[Any] = []
    for entry in raw if isinstance(raw, list) else ([] if raw is None else [raw]):
        if isinstance(entry, list | tuple) and len(entry) == 2 and all(str(e) in bodyparts for e in entry):
            edges.append((str(entry[0]), str(entry[1])))
        else:
            dropped.append(entry)
    return edges, dropped


def read_dlc_config(root: Path) -> DlcConfig:
    """Read and check ``root/config.yaml`` of a DeepLabCut project (see :func:`parse_dlc_config`)."""
    config_path = Path(root) / CONFIG_FILENAME
    return parse_dlc_config(read_dlc_yaml(config_path), config_path)


# ----------------------------------------------------------------------------- labels and videos


def read_dlc_labels(root: Path, raw_cfg: dict[str, Any]) -> tuple[LabelSet, list[Path]]:
    """All labels of a DeepLabCut project, leniently (to open it in place).

    Each folder uses the config scorer's file, or its only label file; unlabelled folders are
    skipped. Image paths are ``labeled-data/<folder>/<image>`` relative to ``root``.

    Args:
        root: The DeepLabCut project folder.
        raw_cfg: Its ``config.yaml`` mapping.

    Returns:
        The merged labels and the label files read.

    Raises:
        DataError: Multi-animal project, no labels, a folder labelled by several other scorers,
            keypoints that differ from ``bodyparts``, unreadable files.
    """
    config = parse_dlc_config(raw_cfg, Path(root) / CONFIG_FILENAME)
    files, _ = choose_label_files(root, scan_label_folders(root), config.scorer, None, skip_unlabeled=True)
    labels, _ = merge_label_files(files, config.bodyparts, config.path)
    return labels, [f.path for f in files]


def dlc_videos(root: Path, video_sets: dict[str, Any]) -> tuple[list[Path], list[str]]:
    """The project's videos: its ``videos/`` folder, then the ``video_sets`` files found elsewhere.

    A ``video_sets`` path that does not exist (the project was moved) is looked for by name in
    ``videos/``; one found nowhere gives a note.

    Returns:
        The video files (each name once) and notes about the videos that were not found.
    """
    folder = Path(root) / VIDEOS_DIRNAME
    videos = video_files(folder)  # DeepLabCut writes its labelled videos next to the videos: not listed
    names = {v.name for v in videos}
    notes = []
    for listed in video_sets:
        path = Path(listed.replace("\\", "/")).expanduser()
        path = path if path.is_absolute() else Path(root) / path
        if path.name in names:
            continue
        if path.is_file():
            videos.append(path)
            names.add(path.name)
        else:
            notes.append(f"Video {listed} (video_sets) was not found; add it later with the project pane's Add videos.")
    return videos, notes


@dataclass
class DlcProject:
    """A DeepLabCut project, read and checked, ready to import.

    Attributes:
        root: Its folder.
        config: Its config.
        labels: All labels merged; image paths relative to ``root``.
        label_files: The file used in each labelled folder.
        videos: Its video files.
        notes: What the user should know (skipped folders, videos not found, dropped skeleton edges).
    """

    root: Path
    config: DlcConfig
    labels: LabelSet
    label_files: list[LabelFile]
    videos: list[Path]
    notes: list[str]


def read_dlc_project(
    dlc_dir: Path, *, scorers: Sequence[str] | None = None, skip_unlabeled: bool = False
) -> DlcProject:
    """Read and check a DeepLabCut project for import.

    Args:
        dlc_dir: The project folder (or its ``config.yaml``).
        scorers: Scorers whose label files to use, in order of preference (each folder takes
            the first it has); None = the config's ``scorer``. A folder with none is an error.
        skip_unlabeled: Skip folders with images but no label file instead of failing.

    Returns:
        The project.

    Raises:
        DataError: Not a DeepLabCut project, missing config fields, multi-animal, scorers that
            differ between folders, unlabelled folders, keypoints that differ, missing images.
    """
    root = Path(dlc_dir).expanduser().absolute()
    if root.is_file() and root.name == CONFIG_FILENAME:
        root = root.parent
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give the DeepLabCut project folder.", path=str(root))
    config = read_dlc_config(root)
    wanted = list(scorers) if scorers else [config.scorer] if config.scorer else []
    if not wanted:
        raise DataError(
            f"{config.path} has no scorer; add 'scorer: NAME' (the NAME of labeled-data/*/CollectedData_NAME.h5) "
            "or pass --scorer NAME.",
            path=str(config.path),
        )
    files, notes = choose_label_files(
        root, scan_label_folders(root), config.scorer, wanted, skip_unlabeled=skip_unlabeled
    )
    labels, parts = merge_label_files(files, config.bodyparts, config.path)
    check_label_images(root, files, parts)
    videos, video_notes = dlc_videos(root, config.video_sets)
    if config.dropped_edges:
        shown = ", ".join(str(e) for e in config.dropped_edges[:3])
        notes.append(f"Skeleton entries that are not pairs of bodyparts were left out: {shown}.")
    return DlcProject(root, config, labels, files, videos, notes + video_notes)
