"""Project folders: open a Lightning Pose-style or DeepLabCut project, create one, list its runs.

A *Lightning Pose-style* project is a folder holding ``config.yaml`` (with a ``data:`` section)
and/or ``CollectedData.csv``, the labelled images (usually under ``labeled-data/``), videos under
``videos/`` and training runs under ``outputs/YYYY-MM-DD/HH-MM-SS/``. A *DeepLabCut* project has a
``config.yaml`` with ``bodyparts``, ``video_sets`` and ``scorer`` and its labels in
``labeled-data/<video>/CollectedData_<scorer>.h5`` or ``.csv`` (read by :mod:`pose_core.interop.dlc`,
which also imports a DeepLabCut project into a new PoseDesk project).

:meth:`Project.open` reads either kind (labels, keypoints, video list; no video decoding),
:func:`create_project` builds a new Lightning Pose-style project from labels and videos found
elsewhere; :meth:`Project.runs` lists its training runs (:mod:`pose_core.runs`).

No Qt here, and no OpenCV or torch at import time: the GUI imports this module at startup.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import yaml

from pose_core.data.labels import LabelSet, check_images, image_file, read_labels, write_labels
from pose_core.errors import ConfigError, DataError, PoseDeskError
from pose_core.interop.dlc_project import dlc_videos, is_dlc_config, read_dlc_labels
from pose_core.runs import CONFIG_FILENAME, EVENTS_FILENAME, OUTPUTS_DIRNAME, SUMMARY_FILENAME, RunInfo, list_runs
from pose_core.runs.lightning_pose import is_lp_run_dir
from pose_core.video.formats import VIDEO_EXTENSIONS, is_video_file, video_files

LABELS_FILENAME = "CollectedData.csv"
VIDEO_SUFFIXES = VIDEO_EXTENSIONS  # the name the GUI imports (pose_core.video.formats owns the list)
KIND_LIGHTNING_POSE = "lightning-pose"
KIND_DEEPLABCUT = "deeplabcut"

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, message)`` called while a project is being created."""


# ----------------------------------------------------------------------------- small helpers


def is_writable_dir(path: Path) -> bool:
    """Tell whether new files can be created in ``path`` (or, if missing, its nearest existing parent).

    A folder on a read-only file system, one the user may not write, and one whose permission
    bits forbid writing for everyone (marked read-only, even if the superuser could write) is not
    writable.

    Args:
        path: Folder to check.

    Returns:
        True if PoseDesk may write there.
    """
    existing = Path(path).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return False
    if hasattr(os, "statvfs") and os.statvfs(existing).f_flag & os.ST_RDONLY:
        return False
    return os.access(existing, os.W_OK) and bool(existing.stat().st_mode & 0o222)


def _read_yaml_mapping(path: Path) -> dict[str, Any] | None:
    """A YAML file's top-level mapping, or None if the file is not a mapping."""
    from pose_core.config.io import load_yaml_file

    data = load_yaml_file(path)  # ConfigError naming the file: unreadable, not UTF-8, bad YAML
    return data if isinstance(data, dict) else None


def _is_lp_config(cfg: dict[str, Any] | None) -> bool:
    return cfg is not None and isinstance(cfg.get("data"), dict)


def label_counts(labels: LabelSet) -> dict[str, int]:
    """Number of frames that label each keypoint (x and y both present).

    Args:
        labels: The labels.

    Returns:
        Keypoint name -> number of labelled frames, in the CSV's keypoint order.
    """
    labelled = ~np.isnan(labels.keypoints_px).any(axis=2)
    return {name: int(n) for name, n in zip(labels.keypoint_names, labelled.sum(axis=0), strict=True)}


# ----------------------------------------------------------------------------- label sources


@dataclass(eq=False)
class LabelSource:
    """Labels found in a Lightning Pose / DeepLabCut folder or a CSV file, ready to import.

    Attributes:
        labels: The labels (all CSVs of a DeepLabCut project merged); image paths relative to
            ``data_dir``.
        data_dir: Folder the image paths are relative to.
        csv_paths: The label files read.
        kind: ``lightning-pose`` or ``deeplabcut``.
        config: The source's Lightning Pose config (raw YAML mapping) when it has one whose
            keypoint names match the labels; used to carry over view and PCA settings.
        video_dir: The source's video folder, if it has one.
    """

    labels: LabelSet
    data_dir: Path
    csv_paths: list[Path]
    kind: str
    config: dict[str, Any] = field(default_factory=dict)
    video_dir: Path | None = None

    def videos(self) -> list[Path]:
        """Video files in the source's video folder (to offer them when importing)."""
        return video_files(self.video_dir) if self.video_dir is not None else []


def read_label_source(path: Path) -> LabelSource:
    """Find and read the labels of a project folder or a labels CSV.

    Args:
        path: A ``CollectedData*.csv`` file, a Lightning Pose-style folder (``config.yaml`` and/or
            ``CollectedData.csv``) or a DeepLabCut project folder.

    Returns:
        The labels and where their images are.

    Raises:
        DataError: Nothing that looks like labels is there, or the CSV is malformed.
        ConfigError: The folder's ``config.yaml`` cannot be read.
    """
    path = Path(path).expanduser().absolute()
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DataError(
                f"{path} is not a labels CSV; choose a CollectedData.csv file or the project folder that holds it.",
                path=str(path),
            )
        labels = read_labels(path)
        data_dir = _guess_data_dir(path, labels)
        return LabelSource(labels, data_dir, [path], KIND_LIGHTNING_POSE, video_dir=_existing(data_dir / "videos"))
    if not path.is_dir():
        raise DataError(f"{path} does not exist; choose an existing folder or CSV file.", path=str(path))
    cfg = _read_yaml_mapping(path / CONFIG_FILENAME) if (path / CONFIG_FILENAME).is_file() else None
    if is_dlc_config(cfg):
        assert cfg is not None
        labels, csv_paths = read_dlc_labels(path, cfg)
        return LabelSource(labels, path, csv_paths, KIND_DEEPLABCUT, video_dir=_existing(path / "videos"))
    project = Project.open(path)
    source_cfg = _matching_lp_config(path, project.labels.keypoint_names)
    return LabelSource(
        project.labels, project.data_dir, project.csv_paths, KIND_LIGHTNING_POSE, source_cfg, project.video_dir
    )


def _existing(folder: Path) -> Path | None:
    return folder if folder.is_dir() else None


def _guess_data_dir(csv_path: Path, labels: LabelSet) -> Path:
    """The folder the CSV's image paths are relative to: the CSV's folder or one of its parents."""
    candidates = [csv_path.parent, *list(csv_path.parents)[1:3]]
    sample = labels.image_paths[:10]
    for folder in candidates:
        if sample and all(image_file(folder, p).is_file() for p in sample):
            return folder
    return csv_path.parent


def _matching_lp_config(folder: Path, keypoint_names: list[str]) -> dict[str, Any]:
    """The first Lightning Pose YAML in ``folder`` whose ``data.keypoint_names`` equal the labels'."""
    candidates = [folder / CONFIG_FILENAME, *sorted(folder.glob("*.yaml")), *sorted(folder.glob("*.yml"))]
    for candidate in dict.fromkeys(candidates):
        if not candidate.is_file():
            continue
        try:
            cfg = _read_yaml_mapping(candidate)
        except PoseDeskError:
            continue
        if _is_lp_config(cfg) and cfg is not None and list(cfg["data"].get("keypoint_names") or []) == keypoint_names:
            return cfg
    return {}


# ----------------------------------------------------------------------------- projects


@dataclass(eq=False)
class Project:
    """An open project: where its files are and its labels (read once when opened).

    Attributes:
        root: The project folder.
        kind: ``lightning-pose`` or ``deeplabcut``.
        config_path: The PoseDesk / Lightning Pose ``config.yaml`` used for training; None when
            the folder has none (a bare labels folder or a DeepLabCut project).
        data_dir: Folder the label CSV's image paths are relative to.
        video_dir: Folder of the project's videos.
        csv_paths: The label files (one, or one per video for DeepLabCut).
        labels: All labels.
        videos: Video files of the project (not yet probed).
        open_error: Why the project cannot be used yet (a broken ``config.yaml`` or labels CSV) when
            it was opened with :meth:`open_for_repair`; its labels are then empty. None = usable.
    """

    root: Path
    kind: str
    config_path: Path | None
    data_dir: Path
    video_dir: Path
    csv_paths: list[Path]
    labels: LabelSet
    videos: list[Path]
    open_error: PoseDeskError | None = None

    @classmethod
    def open(cls, path: Path) -> Project:
        """Open a Lightning Pose-style or DeepLabCut project folder.

        Args:
            path: The project folder (a ``config.yaml`` file inside it is accepted too).

        Returns:
            The project.

        Raises:
            DataError: The folder is not a project, or its labels CSV is missing or malformed.
            ConfigError: Its ``config.yaml`` is invalid.
        """
        root = Path(path).expanduser().absolute()
        if root.is_file() and root.name == CONFIG_FILENAME:
            root = root.parent
        if not root.is_dir():
            what = "is a file" if root.exists() else "does not exist"
            raise DataError(
                f"{root} {what}; choose a project folder (one holding config.yaml or CollectedData.csv).",
                path=str(root),
            )
        if any((root / name).is_file() for name in (EVENTS_FILENAME, SUMMARY_FILENAME)):
            project_root = _run_data_dir(root) or (root.parents[2] if len(root.parents) > 2 else root.parent)
            raise DataError(
                f"{root} is a training run folder, not a project; open the project folder {project_root} instead "
                "(its runs are listed in the project pane).",
                path=str(root),
            )
        if is_lp_run_dir(root):
            raise DataError(
                f"{root} is a Lightning Pose model folder, not a project; open it with File > Open Model Folder… "
                "(its curves and predictions are shown with its project, or with the data its config names).",
                path=str(root),
            )
        config_path = root / CONFIG_FILENAME
        cfg = _read_yaml_mapping(config_path) if config_path.is_file() else None
        if is_dlc_config(cfg):
            assert cfg is not None
            return cls._open_dlc(root, cfg)
        if _is_lp_config(cfg):
            return cls._open_lp_config(root, config_path)
        if (root / LABELS_FILENAME).is_file():
            return cls._open_lp_folder(root)
        raise _not_a_project_error(root, has_config=cfg is not None or config_path.is_file())

    @classmethod
    def open_for_repair(cls, path: Path) -> Project:
        """Open a project even when its ``config.yaml`` or labels CSV is broken, so it can be fixed in the app.

        A folder that is not a project (or is a run or model folder) is still refused. When the
        config or the labels cannot be read, the project opens with no labels and
        :attr:`open_error` saying what is wrong and where (the file, its line or row).

        Raises:
            DataError: Not a project folder (see :meth:`open`).
        """
        try:
            return cls.open(path)
        except PoseDeskError as error:
            root = Path(path).expanduser().absolute()
            if root.is_file() and root.name == CONFIG_FILENAME:
                root = root.parent
            config_path = root / CONFIG_FILENAME
            fixable = root.is_dir() and (config_path.is_file() or (root / LABELS_FILENAME).is_file())
            if not fixable or not _is_repairable(error, root):
                raise
            empty = LabelSet([], [], np.zeros((0, 0, 2)))
            csv_paths = [root / LABELS_FILENAME] if (root / LABELS_FILENAME).is_file() else []
            return cls(
                root, KIND_LIGHTNING_POSE, config_path if config_path.is_file() else None, root, root / "videos",
                csv_paths, empty, video_files(root / "videos"), open_error=error,
            )  # fmt: skip

    @classmethod
    def _open_lp_config(cls, root: Path, config_path: Path) -> Project:
        from pose_core.config.io import load_config

        cfg = load_config(config_path, check_paths=False).cfg
        data_dir, csv_path = Path(str(cfg.data.data_dir)), Path(str(cfg.data.csv_file))
        if not csv_path.is_file():
            raise ConfigError(
                f"{config_path}: data.csv_file points to {csv_path}, which does not exist; set data.data_dir "
                "(relative to the config's folder, e.g. '.') and data.csv_file so that they name the labels CSV.",
                key="data.csv_file",
            )
        video_dir = Path(str(cfg.data.video_dir))
        labels = read_labels(csv_path)
        return cls(
            root, KIND_LIGHTNING_POSE, config_path, data_dir, video_dir, [csv_path], labels, video_files(video_dir)
        )

    @classmethod
    def _open_lp_folder(cls, root: Path) -> Project:
        csv_path = root / LABELS_FILENAME
        labels = read_labels(csv_path)
        video_dir = root / "videos"
        return cls(root, KIND_LIGHTNING_POSE, None, root, video_dir, [csv_path], labels, video_files(video_dir))

    @classmethod
    def _open_dlc(cls, root: Path, cfg: dict[str, Any]) -> Project:
        labels, csv_paths = read_dlc_labels(root, cfg)
        video_sets = cfg.get("video_sets")
        videos, _ = dlc_videos(root, video_sets if isinstance(video_sets, dict) else {})
        return cls(root, KIND_DEEPLABCUT, None, root, root / "videos", csv_paths, labels, videos)

    @property
    def name(self) -> str:
        """The project's name (its folder name)."""
        return self.root.name

    @property
    def n_labeled_frames(self) -> int:
        """Number of labelled frames (rows of the label CSVs)."""
        return self.labels.n_frames

    @property
    def keypoint_names(self) -> list[str]:
        """Keypoint names in CSV order."""
        return self.labels.keypoint_names

    @property
    def outputs_dir(self) -> Path:
        """Where training runs go: ``<root>/outputs``."""
        return self.root / OUTPUTS_DIRNAME

    def label_counts(self) -> dict[str, int]:
        """Keypoint name -> number of frames labelling it (see :func:`label_counts`)."""
        return label_counts(self.labels)

    def image_path(self, row_idx: int) -> Path:
        """Absolute path of the image of labelled frame ``row_idx``."""
        return image_file(self.data_dir, self.labels.image_paths[row_idx])

    def is_read_only(self) -> bool:
        """True if PoseDesk cannot write in the project folder (no runs, no edits)."""
        return not is_writable_dir(self.root)

    def problems(self) -> list[PoseDeskError]:
        """Problems that do not stop the project from opening: missing images, a read-only folder.

        Returns:
            One error per problem, each with a message naming the file and the fix.
        """
        found: list[PoseDeskError] = []
        try:
            check_images(self.labels, self.data_dir)
        except DataError as error:
            found.append(error)
        if self.is_read_only():
            found.append(
                DataError(
                    f"Project folder {self.root} is read-only: PoseDesk can show it but cannot save training runs "
                    "or settings there; copy it to a writable folder (File > New Project can import it) or make "
                    "the folder writable.",
                    path=str(self.root),
                )
            )
        return found

    def runs(self) -> list[RunInfo]:
        """The project's training runs, newest first (see :func:`list_runs`)."""
        return list_runs(self)


def _run_data_dir(run_dir: Path) -> Path | None:
    """The ``data.data_dir`` a run folder's ``config.yaml`` trained on (the run's project), if readable."""
    try:
        data = yaml.safe_load((run_dir / CONFIG_FILENAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    data_dir = (
        data.get("data", {}).get("data_dir") if isinstance(data, dict) and isinstance(data.get("data"), dict) else None
    )
    if not data_dir:
        return None
    path = Path(str(data_dir)).expanduser()
    path = path if path.is_absolute() else (run_dir / path).resolve()
    return path if path.is_dir() else None


def _is_repairable(error: PoseDeskError, root: Path) -> bool:
    """A broken config (any ConfigError) or a broken labels file inside the project can be fixed in the app."""
    if isinstance(error, ConfigError):
        return True
    path = getattr(error, "path", None)
    return bool(path) and str(path).endswith(".csv") and Path(str(path)).is_relative_to(root)


def _not_a_project_error(root: Path, has_config: bool) -> DataError:
    """The error for a folder that is not a project, pointing at a parent that is one."""
    reason = (
        "its config.yaml is neither a PoseDesk / Lightning Pose config (no data: section) nor a DeepLabCut "
        "config (no bodyparts:), and it has no CollectedData.csv"
        if has_config
        else "it has no config.yaml and no CollectedData.csv"
    )
    hint = "; choose the project folder or create a new project (File > New Project)"
    for parent in list(root.parents)[:3]:
        if (parent / CONFIG_FILENAME).is_file() or (parent / LABELS_FILENAME).is_file():
            hint = f"; did you mean its parent folder {parent}?"
            break
    return DataError(f"{root} is not a PoseDesk project: {reason}{hint}", path=str(root))


# ----------------------------------------------------------------------------- creating projects


def create_project(
    name: str,
    location: Path,
    labels_from: LabelSource | Path,
    videos: Sequence[Path] = (),
    *,
    link_videos: bool = False,
    progress: ProgressCallback | None = None,
) -> Project:
    """Create a Lightning Pose-style project from existing labels (and videos).

    The new folder ``location/name`` gets ``CollectedData.csv``, the labelled images (same
    relative paths, under ``labeled-data/``), ``videos/`` and a ``config.yaml`` that validates
    (keypoint names from the CSV; view and PCA settings carried over from the source's config when
    its keypoints match). Everything is written to a hidden folder first and renamed into place.

    Args:
        name: Project name = folder name.
        location: Folder to create the project in.
        labels_from: A :class:`LabelSource` or a path for :func:`read_label_source`.
        videos: Video files to add; each must open.
        link_videos: Symlink videos instead of copying them.
        progress: Called as files are copied.

    Returns:
        The new project, opened.

    Raises:
        DataError: Bad name, existing folder, read-only location, missing images, a video that
            will not open, or a write failure.
    """
    dest = check_new_project_folder(name, Path(location))
    source = labels_from if isinstance(labels_from, LabelSource) else read_label_source(Path(labels_from))
    check_images(source.labels, source.data_dir)
    video_paths = _check_videos([Path(v) for v in videos], existing=[])
    return write_new_project(
        dest, lambda tmp: _write_project_files(tmp, name, source, video_paths, link_videos, progress)
    )


def write_new_project(dest: Path, write: Callable[[Path], None]) -> Project:
    """Writes a new project all at once: into a hidden sibling folder, then renamed to ``dest``.

    A failure (full disk, no permission) leaves neither a half-written project nor the temporary folder.

    Args:
        dest: The project folder; absent or empty (checked by the caller).
        write: Creates the folder it is given and writes every file of the project into it.

    Returns:
        The project, opened.

    Raises:
        DataError: A file cannot be written.
    """
    tmp = dest.with_name(f".{dest.name}.creating-{os.getpid()}")
    try:
        write(tmp)
        if dest.exists():
            dest.rmdir()  # empty, checked by the caller
        os.replace(tmp, dest)
    except OSError as exc:
        raise DataError(
            f"Cannot write the project to {dest} ({exc.strerror or exc}); choose a writable location with enough "
            "free space.",
            path=str(dest),
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Project.open(dest)


def check_new_project_folder(name: str, location: Path) -> Path:
    """Check that a project called ``name`` can be created in ``location``.

    Args:
        name: Project name (becomes the folder name).
        location: Folder to create it in (created if missing).

    Returns:
        The new project's folder ``location / name``.

    Raises:
        DataError: The name is not a valid folder name, the location is a file or read-only,
            or the folder exists and is not empty.
    """
    location = Path(location).expanduser().absolute()
    clean = name.strip()
    if not clean or clean.startswith(".") or any(c in clean for c in '/\\:*?"<>|'):
        raise DataError(
            f"Project name {name!r} cannot be a folder name; use letters, digits, spaces, '-' or '_'.",
            path=str(location),
        )
    if location.exists() and not location.is_dir():
        raise DataError(f"Location {location} is a file; choose a folder to create the project in.", path=str(location))
    if not is_writable_dir(location):
        raise DataError(
            f"Cannot create a project in {location}: the folder is read-only; choose a writable location "
            "(e.g. in your home folder) or fix its permissions.",
            path=str(location),
        )
    dest = location / clean
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DataError(
            f"{dest} already exists and is not empty; choose another project name or location.", path=str(dest)
        )
    return dest


def _check_videos(videos: list[Path], existing: list[Path]) -> list[Path]:
    """Check that every video opens and that no two share a file name; return them absolute."""
    from pose_core.video.reader import probe_video

    names = {v.name for v in existing}
    checked: list[Path] = []
    for video in videos:
        video = video.expanduser().absolute()
        if not is_video_file(video):
            raise DataError(
                f"{video} is not a video file; add videos with one of the extensions {', '.join(VIDEO_EXTENSIONS)}.",
                path=str(video),
            )
        if video.name in names:
            raise DataError(
                f"A video named {video.name} is already in the project; rename {video} before adding it.",
                path=str(video),
            )
        probe_video(video)  # raises DataError naming the file and the fix
        names.add(video.name)
        checked.append(video)
    return checked


def _write_project_files(
    root: Path,
    name: str,
    source: LabelSource,
    videos: list[Path],
    link_videos: bool,
    progress: ProgressCallback | None,
) -> None:
    """Write a complete project into ``root`` (a fresh folder)."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    new_paths = _new_image_paths(source.labels.image_paths)
    total = len(new_paths) + len(videos) + 1
    for done, (old, new) in enumerate(zip(source.labels.image_paths, new_paths, strict=True)):
        target = image_file(root, new)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(image_file(source.data_dir, old), target)
        if progress is not None:
            progress(done + 1, total, f"Copying {new}")
    labels = LabelSet(new_paths, source.labels.keypoint_names, source.labels.keypoints_px, scorer=source.labels.scorer)
    write_labels(labels, root / LABELS_FILENAME)
    (root / "videos").mkdir()
    for done, video in enumerate(videos):
        _copy_or_link(video, root / "videos" / video.name, link_videos)
        if progress is not None:
            progress(len(new_paths) + done + 1, total, f"{'Linking' if link_videos else 'Copying'} {video.name}")
    _write_config(root / CONFIG_FILENAME, name, labels.keypoint_names, source.config)
    if progress is not None:
        progress(total, total, "Project written")


def _project_image_path(path: str) -> str:
    """Where an image of the source goes in the new project (relative, inside the project).

    Safe relative paths are kept as they are; absolute paths or paths leaving the source folder
    become ``labeled-data/<parent folder>/<file name>`` (``labeled-data/<file name>`` when the
    parent folder is itself called ``labeled-data``).
    """
    posix = PurePosixPath(path.replace("\\", "/"))
    parts = posix.parts
    if parts and not posix.is_absolute() and ".." not in parts and ":" not in parts[0]:
        return "/".join(parts)
    parent = parts[-2] if len(parts) >= 2 and parts[-2] not in ("/", "..", "labeled-data") else None
    return "/".join(["labeled-data", *([parent] if parent else []), parts[-1]])


def _new_image_paths(image_paths: list[str]) -> list[str]:
    """:func:`_project_image_path` of every image; two images may not end up at the same place."""
    new_paths = [_project_image_path(p) for p in image_paths]
    seen: dict[str, str] = {}
    for old, new in zip(image_paths, new_paths, strict=True):
        if new in seen:
            raise DataError(
                f"Images {seen[new]} and {old} would both be copied to {new}; give them different file names "
                "or keep the images inside the folder of the labels CSV.",
                path=old,
            )
        seen[new] = old
    return new_paths


def _copy_or_link(src: Path, dst: Path, link: bool) -> None:
    if link:
        dst.symlink_to(src)
    else:
        shutil.copy2(src, dst)


def _write_config(path: Path, name: str, keypoint_names: list[str], source_cfg: dict[str, Any]) -> None:
    """Write a minimal project config (only project-specific keys) and check that it validates."""
    from pose_core.config.io import load_config
    from pose_core.io.atomic import atomic_write_text

    data: dict[str, Any] = {
        "data_dir": ".",
        "video_dir": "videos",
        "csv_file": LABELS_FILENAME,
        "num_keypoints": len(keypoint_names),
        "keypoint_names": list(keypoint_names),
    }
    source_data = source_cfg.get("data", {}) if source_cfg else {}
    for key in ("image_resize_dims", "mirrored_column_matches", "columns_for_singleview_pca"):
        if source_data.get(key) is not None:
            data[key] = source_data[key]
    config = {"data": data, "model": {"model_name": name}}
    header = "# PoseDesk project config: project-specific keys only; every other key has its default.\n"
    atomic_write_text(path, header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None))
    load_config(path)  # raises ConfigError if the written config does not validate


def add_videos(project: Project, videos: Sequence[Path], *, link: bool = False) -> list[Path]:
    """Copy (or link) videos into the project's video folder after checking that each opens.

    Args:
        project: The project.
        videos: Video files to add.
        link: Symlink instead of copying.

    Returns:
        The paths of the added videos inside the project.

    Raises:
        DataError: A file is not a video, will not open, has the name of a video already in
            the project, or the project folder is read-only.
    """
    if not is_writable_dir(project.video_dir):
        raise DataError(
            f"Cannot add videos: {project.video_dir} is read-only; copy the project to a writable folder or fix its "
            "permissions.",
            path=str(project.video_dir),
        )
    checked = _check_videos([Path(v) for v in videos], existing=project.videos)
    added: list[Path] = []
    try:
        project.video_dir.mkdir(parents=True, exist_ok=True)
        for video in checked:
            target = project.video_dir / video.name
            _copy_or_link(video, target, link)
            added.append(target)
    except OSError as exc:
        raise DataError(
            f"Cannot copy videos into {project.video_dir} ({exc.strerror or exc}); free some disk space or fix the "
            "folder's permissions.",
            path=str(project.video_dir),
        ) from exc
    return added
