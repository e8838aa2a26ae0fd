"""SLEAP projects: import a ``.slp`` file into a new PoseDesk project (``posedesk import-sleap``).

``sleap-io`` reads the file (:func:`sleap_io.load_slp`): its skeleton, videos, labelled frames
and instances, and the frames themselves (from the videos, or the images a ``.pkg.slp``
embeds). This module only decides what PoseDesk keeps and writes the project:

* ``labeled-data/<video>/img<frame>.png``: every labelled frame, as SLEAP shows it (the embedded
  image when the file has one, else decoded from the video by sleap-io); frames of an image-list
  video keep their file;
* ``CollectedData.csv``: one row per labelled frame, keypoints = the skeleton's nodes. A frame's
  user-labelled instance wins over predicted ones; frames with predictions only are left out
  unless ``include_predicted`` (then the best-scoring prediction is used);
* ``videos/<name>``: the videos found, **symlinked** (``copy_videos`` copies them);
* ``config.yaml`` (``pose-train --config-path DEST_DIR`` trains it) and ``sleap_import.yaml``:
  the source, the skeleton's edges (PoseDesk's config has no skeleton; NWB export reads them
  here), the videos, what was left out.

Single animal only: a frame with two user-labelled instances is refused; several tracks with
one instance per frame are imported with a note. A video that is missing is named, with the
fixes (``--video-dir``, or ``--embedded-frames`` when the file embeds the labelled frames).
Everything is written to a hidden folder next to ``DEST_DIR`` and renamed at the end.
``sleap-io`` is in the optional extra ``posedesk[formats]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_core.cli_support import OneLineArgumentParser, run_command
from pose_core.data.labels import LabelSet
from pose_core.errors import DataError
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

IMPORT_RECORD_FILENAME = "sleap_import.yaml"
LABELED_DATA_DIRNAME = "labeled-data"
SLP_SUFFIX = ".slp"
PROG = "posedesk import-sleap"
INSTALL_HINT = "pip install 'posedesk[formats]' (installs sleap-io, pynwb and ndx-pose)"
_MAX_LISTED = 5


class EmbeddedFramesOffer(DataError):
    """The ``.slp``'s videos are missing but it embeds the labelled frames: they can be imported instead.

    The GUI asks whether to import them (``embedded_frames=True``); the CLI names ``--embedded-frames``.
    """


def sleap_io_module() -> Any:
    """Import ``sleap_io``.

    Raises:
        DataError: sleap-io is not installed (says what to install).
    """
    try:
        import sleap_io
    except ImportError as exc:
        raise DataError(f"Importing SLEAP files needs sleap-io ({exc}); install it: {INSTALL_HINT}.") from exc
    return sleap_io


# ----------------------------------------------------------------------------- what is imported


@dataclass
class SleapVideo:
    """One video of the ``.slp`` and where its frames and file are.

    Attributes:
        video: The sleap-io ``Video`` the labelled frames point to.
        listed: The video's path as the ``.slp`` names it (the original video for a ``.pkg.slp``).
        folder: Folder name of its frames under ``labeled-data/``.
        embedded: Its labelled frames are images embedded in the ``.slp``.
        source: The video file found on this machine (to link), or None.
        image_files: The image files of an image-list video (frames are copied when all are
            here), else None.
        image_list: The video is a list of image files (nothing to link).
        frame_names: File names of an image-list video's frames (kept for their images).
    """

    video: Any
    listed: str
    folder: str
    embedded: bool
    source: Path | None
    image_files: list[str] | None = None
    image_list: bool = False
    frame_names: list[str] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """True if the labelled frames can be read (embedded, an image list, or the video is here)."""
        return self.embedded or self.image_files is not None or self.source is not None


@dataclass
class SleapFrame:
    """One labelled frame to import.

    Attributes:
        video_idx: Index into :attr:`SleapProject.videos`.
        frame_idx: Frame number in that video.
        keypoints_px: ``[K, 2]`` x, y; NaN = not labelled.
        predicted: True when the keypoints are a prediction (no user instance in the frame).
    """

    video_idx: int
    frame_idx: int
    keypoints_px: np.ndarray
    predicted: bool = False


@dataclass
class SleapProject:
    """A ``.slp`` file, read and checked, ready to write as a PoseDesk project.

    Attributes:
        path: The ``.slp`` file.
        keypoint_names: The skeleton's nodes.
        edges: The skeleton's edges as pairs of node names.
        videos: Its videos.
        frames: The frames to import, in file order.
        notes: What the user should know (left-out frames, tracks, missing videos).
    """

    path: Path
    keypoint_names: list[str]
    edges: list[tuple[str, str]]
    videos: list[SleapVideo]
    frames: list[SleapFrame]
    notes: list[str] = field(default_factory=list)

    def image_path(self, frame: SleapFrame) -> str:
        """``labeled-data/<video>/<image>`` of a frame (relative to the new project)."""
        video = self.videos[frame.video_idx]
        if video.image_list and frame.frame_idx < len(video.frame_names):
            name = video.frame_names[frame.frame_idx]
        else:
            name = f"img{frame.frame_idx:06d}.png"
        return f"{LABELED_DATA_DIRNAME}/{video.folder}/{name}"

    def label_set(self) -> LabelSet:
        """The frames as PoseDesk labels (image paths relative to the new project)."""
        keypoints = np.stack([f.keypoints_px for f in self.frames]) if self.frames else np.zeros((0, 0, 2))
        return LabelSet([self.image_path(f) for f in self.frames], list(self.keypoint_names), keypoints, scorer="sleap")

    def linked_videos(self) -> list[Path]:
        """The video files found (each once), to link into the project."""
        return list(dict.fromkeys(v.source for v in self.videos if v.source is not None))


# ----------------------------------------------------------------------------- reading


def load_slp(path: Path) -> Any:
    """Read a ``.slp`` file with sleap-io.

    Raises:
        DataError: Missing, not a ``.slp``, corrupt or unreadable file; sleap-io not installed.
    """
    sio = sleap_io_module()
    if not path.is_file():
        raise DataError(f"{path} does not exist; give the SLEAP project's .slp file.", path=str(path))
    if path.suffix.lower() != SLP_SUFFIX:
        raise DataError(
            f"{path} is not a SLEAP labels file (.slp or .pkg.slp); in SLEAP, save the project (File > Save) "
            "and give that file.",
            path=str(path),
        )
    try:
        return sio.load_slp(str(path))
    except (OSError, KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            f"{path} is not a readable SLEAP file ({reason[:160]}); open it in SLEAP and save it again, or export a "
            "labels package (File > Export Labels Package).",
            path=str(path),
        ) from exc


def _find_video(listed: str, slp_dir: Path, video_dirs: Sequence[Path]) -> Path | None:
    """The video file ``listed`` on this machine: as written, next to the ``.slp``, or in ``video_dirs``."""
    written = Path(listed.replace("\\", "/")).expanduser()
    candidates = [written if written.is_absolute() else slp_dir / written, slp_dir / written.name]
    candidates += [Path(d).expanduser() / written.name for d in video_dirs]
    return next((c.absolute() for c in candidates if c.is_file()), None)


def _folder_name(listed: str, slp_path: Path, taken: set[str]) -> str:
    stem = Path(listed.replace("\\", "/")).stem
    if stem in ("", LABELED_DATA_DIRNAME):
        stem = slp_path.name.split(".")[0]
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "video"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _describe_video(video: Any, slp_path: Path, video_dirs: Sequence[Path], taken: set[str]) -> SleapVideo:
    """Where a sleap-io ``Video``'s frames and file are."""
    backend = video.backend
    embedded = bool(getattr(backend, "has_embedded_images", False))
    original = video.original_video if embedded else None
    listed_video = original if original is not None else video
    filename = listed_video.filename
    if isinstance(filename, list):
        listed = str(Path(filename[0]).parent)
        found = [str(_find_video(f, slp_path.parent, video_dirs) or "") for f in filename]
        image_files = found if all(found) else None
        folder = _folder_name(listed, slp_path, taken)
        names = [Path(str(f).replace("\\", "/")).name for f in filename]
        return SleapVideo(video, listed, folder, embedded, None, image_files, image_list=True, frame_names=names)
    listed = str(filename)
    if embedded and original is None:
        listed = str(getattr(backend, "source_filename", None) or listed)
    source = _find_video(listed, slp_path.parent, video_dirs)
    if source is not None and source.resolve() == slp_path.resolve():
        source = None  # an embedded video without a known original
    if source is not None and not embedded and Path(listed).expanduser().absolute() != source:
        video.replace_filename(str(source))  # found elsewhere (next to the .slp, --video-dir): read it there
    return SleapVideo(video, listed, _folder_name(listed, slp_path, taken), embedded, source)


def _frame_keypoints(lf: Any, include_predicted: bool) -> tuple[np.ndarray | None, bool, int]:
    """``(keypoints or None, predicted, n_user_instances)`` of a labelled frame."""
    users = lf.user_instances
    if users:
        return users[0].numpy(), False, len(users)
    predictions = lf.predicted_instances
    if include_predicted and predictions:
        best = max(predictions, key=lambda inst: float(getattr(inst, "score", 0.0) or 0.0))
        return best.numpy(), True, 0
    return None, bool(predictions), 0


def _multi_animal_error(path: Path, crowded: list[tuple[str, int, int]]) -> DataError:
    shown = ", ".join(f"{video} frame {idx} ({n} instances)" for video, idx, n in crowded[:3])
    return DataError(
        f"{path} is a multi-animal SLEAP project: {len(crowded)} frame(s) have several user-labelled instances "
        f"({shown}); PoseDesk tracks one animal: keep one instance per frame in SLEAP (delete the others) and save, "
        "or use SLEAP for multi-animal tracking.",
        path=str(path),
    )


def _missing_videos_error(path: Path, missing: list[SleapVideo], all_embedded: bool) -> DataError:
    error_class = EmbeddedFramesOffer if all_embedded else DataError
    shown = ", ".join(v.listed for v in missing[:_MAX_LISTED]) + (" ..." if len(missing) > _MAX_LISTED else "")
    if all_embedded:
        fix = (
            "it embeds the labelled frames: import them without the videos with --embedded-frames (add the videos "
            "later with Add Videos), or give the folder holding the videos with --video-dir DIR"
        )
    else:
        fix = (
            "put them back at those paths, give the folder holding them with --video-dir DIR, or export a labels "
            "package with the images embedded from SLEAP (File > Export Labels Package) and import that"
        )
    return error_class(f"{path}: {len(missing)} video(s) not found: {shown}; {fix}.", path=str(path))


def read_sleap_project(
    slp_path: Path,
    *,
    video_dirs: Sequence[Path] = (),
    embedded_frames: bool = False,
    include_predicted: bool = False,
) -> SleapProject:
    """Read and check a SLEAP ``.slp`` for import (see the module docstring).

    Args:
        slp_path: The ``.slp`` or ``.pkg.slp`` file.
        video_dirs: Folders to look for videos in (by file name) when they are not where the file says.
        embedded_frames: Import the embedded labelled frames even when the videos are missing.
        include_predicted: Also import frames that have predictions only (the best-scoring one).

    Returns:
        The project to write.

    Raises:
        DataError: Unreadable file, no or several skeletons, multi-animal frames, no labelled
            frames, videos missing (naming them and the fixes).
    """
    path = Path(slp_path).expanduser().absolute()
    labels = load_slp(path)
    if len(labels.skeletons) != 1:
        raise DataError(
            f"{path} has {len(labels.skeletons)} skeletons; PoseDesk imports a project with exactly one "
            "(delete the unused ones in SLEAP's Skeleton panel and save).",
            path=str(path),
        )
    skeleton = labels.skeletons[0]
    taken: set[str] = set()
    videos = [_describe_video(v, path, video_dirs, taken) for v in labels.videos]
    index = {id(v.video): i for i, v in enumerate(videos)}
    frames, crowded, n_prediction_only = [], [], 0
    for lf in labels.labeled_frames:
        keypoints, predicted, n_users = _frame_keypoints(lf, include_predicted)
        if n_users > 1:
            crowded.append((videos[index[id(lf.video)]].listed, int(lf.frame_idx), n_users))
        if keypoints is None:
            n_prediction_only += int(predicted)
            continue
        frames.append(SleapFrame(index[id(lf.video)], int(lf.frame_idx), np.asarray(keypoints, float), predicted))
    if crowded:
        raise _multi_animal_error(path, crowded)
    frames = [f for f in frames if not np.isnan(f.keypoints_px).all()]
    if not frames:
        raise DataError(
            f"{path} has no user-labelled frames to import; label frames in SLEAP and save (or pass "
            "--include-predicted to import its predictions as labels).",
            path=str(path),
        )
    used = sorted({f.video_idx for f in frames})
    missing = [videos[i] for i in used if not videos[i].readable]
    if missing:
        raise _missing_videos_error(path, missing, all_embedded=False)
    unlinked = [videos[i] for i in used if videos[i].embedded and videos[i].source is None and not videos[i].image_list]
    if unlinked and not embedded_frames:
        raise _missing_videos_error(path, unlinked, all_embedded=True)
    notes = _notes(labels, videos, unlinked, n_prediction_only, include_predicted)
    return SleapProject(path, list(skeleton.node_names), [tuple(e) for e in skeleton.edge_names], videos, frames, notes)


def _notes(
    labels: Any, videos: list[SleapVideo], unlinked: list[SleapVideo], n_prediction_only: int, include_predicted: bool
) -> list[str]:
    notes = []
    if n_prediction_only and not include_predicted:
        notes.append(
            f"Left out {n_prediction_only} frame(s) with predictions only (no user-labelled instance); "
            "--include-predicted imports them."
        )
    if len(labels.tracks) > 1:
        notes.append(
            f"The file has {len(labels.tracks)} tracks but one instance per labelled frame: imported as one animal."
        )
    for video in unlinked:
        notes.append(f"Video {video.listed} was not found: its embedded frames were imported, the video not linked.")
    return notes


# ----------------------------------------------------------------------------- writing the project


def import_sleap_project(
    slp_path: Path,
    dest_dir: Path,
    *,
    video_dirs: Sequence[Path] = (),
    embedded_frames: bool = False,
    include_predicted: bool = False,
    copy_videos: bool = False,
    progress: ProgressCallback | None = None,
) -> Project:
    """Import a SLEAP ``.slp`` into a new PoseDesk project (see :func:`read_sleap_project`)."""
    sleap = read_sleap_project(
        slp_path, video_dirs=video_dirs, embedded_frames=embedded_frames, include_predicted=include_predicted
    )
    return write_sleap_project(sleap, dest_dir, copy_videos=copy_videos, progress=progress)


def write_sleap_project(
    sleap: SleapProject,
    dest_dir: Path,
    *,
    videos: Sequence[Path] | None = None,
    copy_videos: bool = False,
    progress: ProgressCallback | None = None,
) -> Project:
    """Write the PoseDesk project of a read ``.slp`` into ``dest_dir`` (new or empty).

    Args:
        sleap: From :func:`read_sleap_project`.
        dest_dir: The new project's folder.
        videos: The videos to link (or copy) into ``videos/``; None = the ``.slp``'s videos found here.
        copy_videos: Copy the videos instead of symlinking them.
        progress: Called as ``progress(done, total, message)``.

    Returns:
        The new project, opened.

    Raises:
        DataError: Bad destination, an unreadable frame, or a write failure.
    """
    from pose_core.project import write_new_project

    dest = new_project_folder(dest_dir)
    videos, notes = readable_videos(sleap.linked_videos() if videos is None else [Path(v) for v in videos])
    sleap.notes.extend(notes)
    return write_new_project(dest, lambda tmp: _write_files(tmp, sleap, videos, copy_videos, progress))


def _write_frame(sleap: SleapProject, frame: SleapFrame, target: Path) -> None:
    """Write one labelled frame's image (copy an image file, else encode what sleap-io decodes)."""
    import cv2

    video = sleap.videos[frame.video_idx]
    target.parent.mkdir(parents=True, exist_ok=True)
    if video.image_files is not None and not video.embedded:
        shutil.copy2(video.image_files[frame.frame_idx], target)
        return
    try:
        image = np.asarray(video.video[frame.frame_idx])
    except Exception as exc:  # noqa: BLE001 (any decoder failure of a third-party backend)
        raise DataError(
            f"Cannot read frame {frame.frame_idx} of {video.listed} from {sleap.path} ({type(exc).__name__}: {exc}); "
            "check that the video is complete, or import a labels package with the frames embedded.",
            path=str(sleap.path),
        ) from exc
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    elif image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(target), image):
        raise DataError(f"Cannot write {target}; check the destination's free space and permissions.", path=str(target))


def _write_files(
    root: Path, sleap: SleapProject, videos: list[Path], copy_videos: bool, progress: ProgressCallback | None
) -> None:
    def write_image(index: int, image: str, root: Path) -> None:
        _write_frame(sleap, sleap.frames[index], root / image)

    def write_metadata(root: Path) -> None:
        _write_config(root / CONFIG_FILENAME, sleap)
        _write_record(root / IMPORT_RECORD_FILENAME, sleap, videos, copy_videos)

    write_project_files(
        root, sleap.label_set(), write_image, videos,
        copy_videos=copy_videos, image_verb="Writing", write_metadata=write_metadata, progress=progress,
    )  # fmt: skip


def _write_config(path: Path, sleap: SleapProject) -> None:
    """Write the project's config (project-specific keys only) and check that it validates."""
    header = (
        f"# PoseDesk project imported from the SLEAP file {sleap.path} by posedesk import-sleap.\n"
        f"# The skeleton's edges and the source videos are in {IMPORT_RECORD_FILENAME}; other keys have their default.\n"
    )
    write_project_config(path, sleap.keypoint_names, model_name(sleap.path.name.split(".")[0]), header)


def _write_record(path: Path, sleap: SleapProject, videos: list[Path], copy_videos: bool) -> None:
    from pose_core import __version__

    counts: dict[str, int] = {}
    for frame in sleap.frames:
        counts[sleap.videos[frame.video_idx].listed] = counts.get(sleap.videos[frame.video_idx].listed, 0) + 1
    record = {
        "source": str(sleap.path),
        "imported": datetime.now().isoformat(timespec="seconds"),
        "posedesk_version": __version__,
        "sleap_io_version": str(getattr(sleap_io_module(), "__version__", "")),
        "keypoints": list(sleap.keypoint_names),
        "skeleton": [list(edge) for edge in sleap.edges],
        "frames": {
            "user_labelled": sum(not f.predicted for f in sleap.frames),
            "predicted": sum(f.predicted for f in sleap.frames),
            "per_video": counts,
        },  # fmt: skip
        "videos": videos_record(videos, copy_videos),
        "notes": list(sleap.notes),
    }
    header = "# What posedesk import-sleap imported (for reference; skeleton is used by NWB export).\n"
    write_import_record(path, header, record)


# ----------------------------------------------------------------------------- the window's wizard


@dataclass(eq=False)
class SleapLabelSource:
    """A read ``.slp`` shaped like :class:`pose_core.project.LabelSource` for the new-project wizard.

    Attributes:
        sleap: The read file.
        labels: Its frames as labels (image paths as the new project will have them).
        data_dir: The ``.slp``'s folder.
        csv_paths: ``[the .slp]`` (what the labels were read from).
        kind: ``sleap``.
        config: No config is carried over.
    """

    sleap: SleapProject
    labels: LabelSet
    data_dir: Path
    csv_paths: list[Path]
    kind: str = "sleap"
    config: dict[str, Any] = field(default_factory=dict)

    def videos(self) -> list[Path]:
        """The ``.slp``'s videos found on this machine (offered on the wizard's Videos page)."""
        return self.sleap.linked_videos()


def read_sleap_source(slp_path: Path, *, embedded_frames: bool = False) -> SleapLabelSource:
    """Read a ``.slp`` for the new-project wizard (see :func:`read_sleap_project`).

    Raises:
        EmbeddedFramesOffer: The videos are missing but the frames are embedded (ask, then pass
            ``embedded_frames=True``).
        DataError: Anything else :func:`read_sleap_project` refuses.
    """
    sleap = read_sleap_project(slp_path, embedded_frames=embedded_frames)
    return SleapLabelSource(sleap, sleap.label_set(), sleap.path.parent, [sleap.path])


def create_sleap_project(
    name: str,
    location: Path,
    source: SleapLabelSource,
    videos: Sequence[Path] = (),
    *,
    link_videos: bool = False,
    progress: ProgressCallback | None = None,
) -> Project:
    """Create the project ``location/name`` from a read ``.slp`` (the wizard's counterpart of ``create_project``)."""
    return write_sleap_project(
        source.sleap, Path(location) / name.strip(), videos=videos, copy_videos=not link_videos, progress=progress
    )


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """The ``posedesk import-sleap`` argument parser."""
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Import a single-animal SLEAP project (.slp or .pkg.slp) into a new PoseDesk project (the .slp "
        "is read with sleap-io and not modified).",
        epilog="The labelled frames are written to DEST_DIR/labeled-data/<video>/, their labels to "
        "DEST_DIR/CollectedData.csv, the videos are linked (or copied) into DEST_DIR/videos and DEST_DIR/config.yaml "
        "is written: train with pose-train --config-path DEST_DIR.",
    )
    parser.add_argument("slp", metavar="PROJECT.slp", type=Path, help="SLEAP labels file (.slp or .pkg.slp)")
    parser.add_argument("dest_dir", metavar="DEST_DIR", type=Path, help="new PoseDesk project folder (new or empty)")
    parser.add_argument(
        "--video-dir", metavar="DIR", type=Path, action="append", default=[],
        help="folder to look for the videos in (by file name) when they are not where the .slp says (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--embedded-frames", action="store_true",
        help="import the frames a .pkg.slp embeds even when its videos are missing (they are then not linked)",
    )  # fmt: skip
    parser.add_argument(
        "--include-predicted", action="store_true",
        help="also import frames that have predictions only (the best-scoring instance) as labels",
    )  # fmt: skip
    parser.add_argument("--copy-videos", action="store_true", help="copy the videos instead of symlinking them")
    return parser


def run_import(argv: Sequence[str]) -> int:
    """Run ``posedesk import-sleap``; returns the exit status (user errors raise)."""
    args = build_parser().parse_args(list(argv))
    sleap = read_sleap_project(
        args.slp, video_dirs=args.video_dir, embedded_frames=args.embedded_frames,
        include_predicted=args.include_predicted,
    )  # fmt: skip
    print(f"SLEAP file {sleap.path}: {len(sleap.frames)} labelled frames, {len(sleap.keypoint_names)} keypoints, "
          f"{len(sleap.edges)} skeleton edges, {len(sleap.videos)} video(s)", flush=True)  # fmt: skip
    project = write_sleap_project(sleap, args.dest_dir, copy_videos=args.copy_videos, progress=print_progress)
    print_written(
        project, images="frames", copy_videos=args.copy_videos, record_filename=IMPORT_RECORD_FILENAME,
        notes=sleap.notes,
    )  # fmt: skip
    return 0


def import_sleap_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``posedesk import-sleap PROJECT.slp DEST_DIR [options]``.

    Returns:
        0 on success, 2 on a user error (one line ``posedesk import-sleap: error: ...`` on stderr).
    """
    return run_command(PROG, lambda: run_import(list(sys.argv[1:] if argv is None else argv)))
