"""Neurodata Without Borders (NWB) files of predictions and labelled frames, written with ``ndx-pose``.

The layout is the one ``ndx-pose`` documents and ``movement`` (``load_poses.from_nwb_file``)
reads by default: a processing module ``behavior`` holding

* ``Skeletons``: one ``Skeleton`` (``nodes`` = keypoint names, ``edges`` = the project's
  skeleton when it has one: from a SLEAP or DeepLabCut import);
* ``PoseEstimation`` (one video): one ``PoseEstimationSeries`` per keypoint, ``data`` = x, y in
  video pixels, ``confidence`` = PoseDesk's likelihood, timed by the video's frame rate
  (``rate`` = fps, ``starting_time`` = 0), ``source_software`` = PoseDesk and its version,
  ``source_video`` = an external-file ``ImageSeries`` of the video (in ``acquisition``);
* ``PoseTraining`` (from a project): the labelled frames as ``TrainingFrames`` (one
  ``SkeletonInstance`` each, unlabelled keypoints NaN and not visible) pointing into an
  ``ImageSeries`` that lists the labelled images as external files.

``pynwb`` writes the file (to a temporary file renamed at the end: nothing half-written); an
existing file is refused unless ``overwrite``. Names NWB cannot hold (containing ``/`` or
``:``) are refused with the names to change. ``pynwb``/``ndx-pose`` are the optional extra
``posedesk[formats]``; without them a :class:`~pose_core.errors.DataError` says what to install.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_core.errors import DataError
from pose_core.io.atomic import atomic_write_path

if TYPE_CHECKING:
    from pose_core.data.labels import LabelSet

NWB_SUFFIX = ".nwb"
PROCESSING_MODULE = "behavior"
POSE_ESTIMATION_NAME = "PoseEstimation"
SKELETON_NAME = "subject"
SOURCE_SOFTWARE = "PoseDesk"
INSTALL_HINT = "pip install 'posedesk[formats]' (installs pynwb, ndx-pose and sleap-io)"
REFERENCE_FRAME = (
    "(0, 0) is the centre of the top-left pixel of the video frame; x grows to the right, y downwards; "
    "units are the video's pixels."
)
CONFIDENCE_DEFINITION = (
    "PoseDesk likelihood: the share of the keypoint's heatmap softmax within 2 heatmap pixels of the estimate (0 to 1)."
)
_FORBIDDEN = ("/", ":")


@dataclass(frozen=True)
class PoseSkeleton:
    """Keypoint names and the edges between them.

    Attributes:
        keypoint_names: Node names, in the predictions' keypoint order.
        edges: Pairs of keypoint names (lines drawn between body parts); may be empty.
    """

    keypoint_names: list[str]
    edges: list[tuple[str, str]] = field(default_factory=list)

    def edge_indices(self) -> np.ndarray:
        """``[E, 2]`` indices into ``keypoint_names`` (edges naming unknown keypoints are dropped)."""
        pairs = [
            (self.keypoint_names.index(a), self.keypoint_names.index(b))
            for a, b in self.edges
            if a in self.keypoint_names and b in self.keypoint_names
        ]
        dtype = "uint8" if len(self.keypoint_names) <= 256 else "uint16"
        return np.array(pairs, dtype=dtype).reshape(-1, 2)


def nwb_modules() -> tuple[Any, Any]:
    """Import ``pynwb`` and ``ndx_pose``.

    Returns:
        The two modules.

    Raises:
        DataError: One of them is not installed (says what to install).
    """
    try:
        import ndx_pose
        import pynwb
    except ImportError as exc:
        raise DataError(f"Writing NWB files needs pynwb and ndx-pose ({exc}); install them: {INSTALL_HINT}.") from exc
    return pynwb, ndx_pose


def check_nwb_names(keypoint_names: Sequence[str], what: str) -> None:
    """Refuse keypoint names an NWB file cannot hold as object names.

    Args:
        keypoint_names: The names.
        what: Where they come from (for the message), e.g. the run folder.

    Raises:
        DataError: Names that are empty, ``.``/``..`` or contain ``/`` or ``:``.
    """
    bad = [n for n in keypoint_names if not n.strip() or n in (".", "..") or any(c in n for c in _FORBIDDEN)]
    if bad:
        shown = ", ".join(repr(n) for n in bad[:5])
        raise DataError(
            f"Keypoint name(s) {shown} of {what} cannot be written to NWB (names may not be empty or contain '/' or "
            "':'); rename them (data.keypoint_names and the labels CSV header), train again, then export.",
            path=str(what),
        )


def check_target(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing NWB file unless ``overwrite``.

    Raises:
        DataError: ``path`` exists and ``overwrite`` is False, or it is a folder.
    """
    if path.is_dir():
        raise DataError(f"NWB target {path} is a folder; give a file name ending in {NWB_SUFFIX}.", path=str(path))
    if path.exists() and not overwrite:
        raise DataError(
            f"{path} already exists; pass --overwrite (or confirm in the window) to replace it, or choose another "
            "file name.",
            path=str(path),
        )


def _new_nwbfile(pynwb: Any, description: str, start_time: datetime | None) -> Any:
    return pynwb.NWBFile(
        session_description=description,
        identifier=str(uuid.uuid4()),
        session_start_time=start_time or datetime.now(UTC),
    )


def _behavior_module(nwbfile: Any, ndx_pose: Any, skeleton: PoseSkeleton) -> tuple[Any, Any]:
    """The ``behavior`` processing module with its ``Skeletons``; returns ``(module, skeleton)``."""
    module = nwbfile.create_processing_module(name=PROCESSING_MODULE, description="Pose data written by PoseDesk")
    nwb_skeleton = ndx_pose.Skeleton(name=SKELETON_NAME, nodes=skeleton.keypoint_names, edges=skeleton.edge_indices())
    module.add(ndx_pose.Skeletons(skeletons=[nwb_skeleton]))
    return module, nwb_skeleton


def video_series(nwbfile: Any, video_path: Path, fps: float, n_frames: int) -> Any:
    """An external-file ``ImageSeries`` of the video, added to the file's acquisition (ndx-pose's ``source_video``)."""
    from pynwb.image import ImageSeries

    name = f"video_{_nwb_name(video_path.stem)}"
    if name not in nwbfile.acquisition:
        nwbfile.add_acquisition(
            ImageSeries(
                name=name,
                description=f"The video PoseDesk predicted: {video_path}.",
                unit="NA",
                format="external",
                external_file=[str(video_path)],
                starting_frame=[0],
                rate=float(fps),
                num_samples=int(n_frames),
            )
        )
    return nwbfile.acquisition[name]


def pose_estimation(
    nwbfile: Any,
    ndx_pose: Any,
    nwb_skeleton: Any,
    preds: np.ndarray,
    fps: float,
    video_path: Path,
    *,
    name: str = POSE_ESTIMATION_NAME,
    scorer: str = "posedesk",
) -> Any:
    """A ``PoseEstimation`` of one video's predictions (its video added to ``nwbfile``'s acquisition).

    Args:
        nwbfile: The file being built.
        ndx_pose: The ``ndx_pose`` module.
        nwb_skeleton: Its ``Skeleton`` (nodes = keypoint names, in the order of ``preds``).
        preds: ``[N, K, 3]`` x, y (video pixels) and likelihood per frame.
        fps: The video's frame rate (frame i is at i / fps seconds).
        video_path: The video (``source_video``).
        name: The object's name.
        scorer: The ``scorer`` attribute (the model that predicted).
    """
    from pose_core import __version__

    series = [
        ndx_pose.PoseEstimationSeries(
            name=keypoint,
            description=f"Position of {keypoint} predicted by PoseDesk in {video_path.name}.",
            data=np.ascontiguousarray(preds[:, k, :2], dtype=np.float64),
            unit="pixels",
            reference_frame=REFERENCE_FRAME,
            confidence=np.ascontiguousarray(preds[:, k, 2], dtype=np.float64),
            confidence_definition=CONFIDENCE_DEFINITION,
            rate=float(fps),
            starting_time=0.0,
        )
        for k, keypoint in enumerate(nwb_skeleton.nodes[:])
    ]
    return ndx_pose.PoseEstimation(
        name=name,
        pose_estimation_series=series,
        description=f"Keypoints predicted by PoseDesk on every frame of {video_path.name}.",
        source_video=video_series(nwbfile, video_path, fps, len(preds)),
        scorer=scorer,
        source_software=SOURCE_SOFTWARE,
        source_software_version=__version__,
        skeleton=nwb_skeleton,
    )


def _check_fps(fps: float, video_path: Path) -> None:
    if not fps or not np.isfinite(fps) or fps <= 0:
        raise DataError(
            f"{video_path} does not state its frame rate, so its frames cannot be timed in NWB; re-encode it with "
            "a frame rate (ffmpeg -r FPS) and predict again.",
            path=str(video_path),
        )


def _nwb_name(text: str) -> str:
    """``text`` with the characters NWB names cannot hold replaced by ``_``."""
    return "".join("_" if c in _FORBIDDEN else c for c in text)


def _write(pynwb: Any, nwbfile: Any, path: Path) -> None:
    with atomic_write_path(path) as tmp, pynwb.NWBHDF5IO(str(tmp), mode="w") as io:
        io.write(nwbfile)


def write_predictions_nwb(
    path: Path,
    skeleton: PoseSkeleton,
    preds: np.ndarray,
    fps: float,
    video_path: Path,
    *,
    overwrite: bool = False,
    scorer: str = "posedesk",
) -> Path:
    """Write one video's predictions as an NWB file (``behavior/PoseEstimation``, see the module docstring).

    Args:
        path: The ``.nwb`` file.
        skeleton: Keypoint names (in ``preds`` order) and edges.
        preds: ``[N, K, 3]`` x, y (video pixels) and likelihood.
        fps: The video's frame rate.
        video_path: The video.
        overwrite: Replace an existing file.
        scorer: The model that predicted (``PoseEstimation.scorer``).

    Returns:
        ``path``.

    Raises:
        DataError: pynwb/ndx-pose missing, the file exists, names NWB cannot hold, unknown frame
            rate, or the file cannot be written.
    """
    path = Path(path)
    pynwb, ndx_pose = nwb_modules()
    check_target(path, overwrite)
    check_nwb_names(skeleton.keypoint_names, str(path))
    _check_fps(fps, video_path)
    preds = np.asarray(preds, dtype=np.float64)
    if preds.ndim != 3 or preds.shape[1:] != (len(skeleton.keypoint_names), 3):
        raise ValueError(f"preds must have shape [N, {len(skeleton.keypoint_names)}, 3], got {preds.shape}.")
    start = _file_time(video_path)
    nwbfile = _new_nwbfile(pynwb, f"PoseDesk predictions of {video_path.name}", start)
    module, nwb_skeleton = _behavior_module(nwbfile, ndx_pose, skeleton)
    module.add(pose_estimation(nwbfile, ndx_pose, nwb_skeleton, preds, fps, video_path, scorer=scorer))
    _write(pynwb, nwbfile, path)
    return path


def _file_time(path: Path) -> datetime | None:
    """The file's modification time (UTC), the best guess of when a video was recorded; None if unknown."""
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, tz=UTC)
    except OSError:
        return None


# ----------------------------------------------------------------------------- labelled frames


def pose_training(ndx_pose: Any, nwb_skeleton: Any, labels: LabelSet, data_dir: Path) -> Any:
    """A ``PoseTraining`` of labelled frames: one ``TrainingFrame`` per labelled image.

    Each labelled image is an ``ImageSeries`` of one external file (``labeled_frame_<row>``, its
    path), which the frame's ``source_video`` links to (``source_video_frame_index`` 0). One
    series per image rather than one listing all images: sleap-io 0.9.5 reads back only
    single-file series.

    Args:
        ndx_pose: The ``ndx_pose`` module.
        nwb_skeleton: The ``Skeleton`` (nodes = the labels' keypoint names).
        labels: The labelled frames.
        data_dir: Folder the labels' image paths are relative to.
    """
    from pynwb.image import ImageSeries

    from pose_core.data.labels import image_file

    frames = []
    images = []
    for row, (image, keypoints) in enumerate(zip(labels.image_paths, labels.keypoints_px, strict=True)):
        series = ImageSeries(
            name=f"labeled_frame_{row:05d}",
            description=f"Labelled image {image} of the PoseDesk project.",
            unit="NA",
            format="external",
            external_file=[str(image_file(data_dir, image))],
            starting_frame=[0],
            rate=1.0,
            num_samples=1,
        )
        instance = ndx_pose.SkeletonInstance(
            name="instance_0",
            id=np.uint8(0),
            node_locations=np.asarray(keypoints, dtype=np.float64),
            node_visibility=~np.isnan(keypoints).any(axis=1),
            skeleton=nwb_skeleton,
        )
        frames.append(
            ndx_pose.TrainingFrame(
                name=f"frame_{row:05d}",
                annotator=labels.scorer,
                skeleton_instances=ndx_pose.SkeletonInstances(skeleton_instances=[instance]),
                source_video=series,
                source_video_frame_index=np.uint8(0),
            )
        )
        images.append(series)
    return ndx_pose.PoseTraining(
        training_frames=ndx_pose.TrainingFrames(training_frames=frames),
        source_videos=ndx_pose.SourceVideos(image_series=images),
    )


@dataclass(frozen=True)
class VideoPredictions:
    """One video's predictions, for :func:`write_project_nwb`.

    Attributes:
        video_path: The video.
        preds: ``[N, K, 3]`` x, y (video pixels) and likelihood.
        fps: Its frame rate.
    """

    video_path: Path
    preds: np.ndarray
    fps: float


def write_project_nwb(
    path: Path,
    skeleton: PoseSkeleton,
    labels: LabelSet,
    data_dir: Path,
    videos: Sequence[VideoPredictions] = (),
    *,
    description: str = "PoseDesk project",
    overwrite: bool = False,
    scorer: str = "posedesk",
) -> Path:
    """Write a project's labelled frames (``PoseTraining``) and video predictions (``PoseEstimation``) to NWB.

    With one video its predictions are ``behavior/PoseEstimation`` (what ``movement`` reads by
    default); with several, ``PoseEstimation_<video stem>``.

    Args:
        path: The ``.nwb`` file.
        skeleton: Keypoint names (the labels' order) and edges.
        labels: The labelled frames.
        data_dir: Folder the labels' image paths are relative to.
        videos: Predictions to include.
        description: The session description.
        overwrite: Replace an existing file.
        scorer: The model that predicted.

    Returns:
        ``path``.

    Raises:
        DataError: pynwb/ndx-pose missing, the file exists, names NWB cannot hold, a video
            without frame rate, or the file cannot be written.
    """
    path = Path(path)
    pynwb, ndx_pose = nwb_modules()
    check_target(path, overwrite)
    check_nwb_names(skeleton.keypoint_names, str(path))
    for video in videos:
        _check_fps(video.fps, video.video_path)
    nwbfile = _new_nwbfile(pynwb, description, None)
    module, nwb_skeleton = _behavior_module(nwbfile, ndx_pose, skeleton)
    if labels.n_frames:
        module.add(pose_training(ndx_pose, nwb_skeleton, labels, data_dir))
    for video in videos:
        name = (
            POSE_ESTIMATION_NAME if len(videos) == 1 else f"{POSE_ESTIMATION_NAME}_{_nwb_name(video.video_path.stem)}"
        )
        module.add(
            pose_estimation(
                nwbfile, ndx_pose, nwb_skeleton, video.preds, video.fps, video.video_path, name=name, scorer=scorer
            )
        )
    _write(pynwb, nwbfile, path)
    return path


# ----------------------------------------------------------------------------- from PoseDesk's files

IMPORT_RECORDS = ("sleap_import.yaml", "dlc_import.yaml")  # written by posedesk import-sleap / import-dlc


def project_skeleton(data_dir: Path | None, keypoint_names: Sequence[str]) -> PoseSkeleton:
    """The keypoints and the skeleton edges a project's import record keeps (none when there is no record).

    Args:
        data_dir: The project folder (``data.data_dir``), or None.
        keypoint_names: The model's keypoint names.
    """
    import yaml

    edges: list[tuple[str, str]] = []
    for name in IMPORT_RECORDS if data_dir is not None else ():
        record_path = Path(data_dir) / name  # type: ignore[arg-type]
        try:
            record = yaml.safe_load(record_path.read_text(encoding="utf-8")) if record_path.is_file() else None
        except (OSError, yaml.YAMLError):
            record = None
        if isinstance(record, dict) and isinstance(record.get("skeleton"), list):
            edges = [(str(e[0]), str(e[1])) for e in record["skeleton"] if isinstance(e, list | tuple) and len(e) == 2]
            break
    return PoseSkeleton(list(keypoint_names), [e for e in edges if e[0] in keypoint_names and e[1] in keypoint_names])


def nwb_path_for(csv_path: Path) -> Path:
    """``<stem>.nwb`` next to a video's predictions ``<stem>.csv``."""
    return Path(csv_path).with_suffix(NWB_SUFFIX)


def write_nwb_from_csv(
    csv_path: Path, video_path: Path, skeleton: PoseSkeleton, *, overwrite: bool = False, scorer: str = "posedesk"
) -> Path:
    """Write ``<stem>.nwb`` from a video's predictions CSV (``pose-predict --nwb``).

    Raises:
        DataError: Unreadable CSV, the NWB file exists (without ``overwrite``), names NWB cannot
            hold, a video without frame rate, pynwb/ndx-pose missing, or a write failure.
    """
    from pose_core.io.predictions import read_predictions_csv
    from pose_core.video.reader import probe_video

    info = probe_video(video_path)
    table = read_predictions_csv(csv_path, expected_rows=info.n_frames)
    skeleton = PoseSkeleton(table.keypoint_names, skeleton.edges)
    return write_predictions_nwb(
        nwb_path_for(csv_path), skeleton, table.preds, info.fps, Path(video_path).absolute(), overwrite=overwrite,
        scorer=scorer,
    )  # fmt: skip
