"""A small SLEAP project built with sleap-io from the mirror-mouse data (never committed: made in tmp_path).

:func:`make_sleap_project` writes ``<folder>/project.slp`` (and optionally ``project.pkg.slp`` with
the user-labelled frames embedded) holding:

* an image-list video of the first ``n_images`` labelled mirror-mouse images (copied to
  ``<folder>/frames/``), one user-labelled instance per image from ``CollectedData.csv``;
* the mirror-mouse ``test_vid.mp4`` (symlinked as ``<folder>/test_vid.mp4``) with frame 10
  predicted only and frame 20 labelled by a user *and* predicted (the user instance must win);
* a skeleton with three edges.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIRROR_MOUSE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example"
USER_FRAME = 20
PREDICTED_FRAME = 10


@dataclass(frozen=True)
class SleapFixture:
    """What :func:`make_sleap_project` wrote."""

    folder: Path
    slp: Path
    pkg_slp: Path | None
    keypoint_names: list[str]
    edges: list[tuple[str, str]]
    image_names: list[str]
    image_keypoints: np.ndarray  # [n_images, K, 2]
    video: Path
    user_keypoints: np.ndarray  # [K, 2] of the video's user-labelled frame
    predicted_keypoints: np.ndarray  # [K, 2] of the prediction-only frame


def make_sleap_project(
    folder: Path, n_images: int = 8, *, embed: bool = False, two_animals: bool = False
) -> SleapFixture:
    """Write a small SLEAP project (see the module docstring)."""
    import sleap_io as sio

    from pose_core.data.labels import read_labels

    labels_in = read_labels(MIRROR_MOUSE_DIR / "CollectedData.csv")
    names = list(labels_in.keypoint_names)
    edges = [(names[0], names[1]), (names[4], names[5]), (names[6], names[4])]
    skeleton = sio.Skeleton(nodes=list(names), edges=[list(e) for e in edges], name="mouse")
    frames_dir = folder / "frames"
    frames_dir.mkdir(parents=True)
    image_files = []
    for image in labels_in.image_paths[:n_images]:
        target = frames_dir / Path(image).name
        shutil.copy2(MIRROR_MOUSE_DIR / image, target)
        image_files.append(str(target))
    image_video = sio.Video.from_filename(image_files)
    video_path = folder / "test_vid.mp4"
    video_path.symlink_to((MIRROR_MOUSE_DIR / "videos" / "test_vid.mp4").resolve())
    media_video = sio.Video.from_filename(str(video_path))
    frames = []
    for i in range(n_images):
        instances = [sio.Instance.from_numpy(labels_in.keypoints_px[i], skeleton=skeleton)]
        if two_animals and i == 2:
            instances.append(sio.Instance.from_numpy(labels_in.keypoints_px[i] + 5.0, skeleton=skeleton))
        frames.append(sio.LabeledFrame(video=image_video, frame_idx=i, instances=instances))
    user_kp = np.nan_to_num(labels_in.keypoints_px[n_images], nan=50.0)
    predicted_kp = np.nan_to_num(labels_in.keypoints_px[n_images + 1], nan=60.0)

    def predicted(points: np.ndarray, score: float) -> sio.PredictedInstance:
        return sio.PredictedInstance.from_numpy(
            points, skeleton=skeleton, point_scores=np.full(len(names), score), score=score
        )

    frames.append(
        sio.LabeledFrame(video=media_video, frame_idx=PREDICTED_FRAME, instances=[predicted(predicted_kp, 0.8)])
    )
    frames.append(
        sio.LabeledFrame(
            video=media_video,
            frame_idx=USER_FRAME,
            instances=[predicted(predicted_kp, 0.99), sio.Instance.from_numpy(user_kp, skeleton=skeleton)],
        )
    )
    labels = sio.Labels(labeled_frames=frames, videos=[image_video, media_video], skeletons=[skeleton])
    slp = folder / "project.slp"
    sio.save_slp(labels, str(slp))
    pkg = None
    if embed:
        pkg = folder / "project.pkg.slp"
        sio.save_slp(labels, str(pkg), embed="user", verbose=False)
    return SleapFixture(
        folder, slp, pkg, names, edges, [Path(f).name for f in image_files],
        labels_in.keypoints_px[:n_images].copy(), video_path, user_kp, predicted_kp,
    )  # fmt: skip
