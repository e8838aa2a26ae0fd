"""Synthetic example project: a rendered mouse seen in a top and a side view, with exact labels.

`pose-train` with no arguments trains on this project. It is generated on first use (seeded,
deterministic) into a user data folder: labelled PNG frames with a ``CollectedData.csv``, two
videos with ground-truth trajectories, a ``config.yaml`` and a ``README.md``. A marker file
``.posedesk_example`` is written last, so a stale or half-written folder is regenerated.

Geometry: the animal lives in 3-D arena coordinates ``(x, y, z)`` measured in view pixels, z up.
Both views are orthographic. The top view (left half of each frame) looks down, tilted by
``TOP_TILT_DEG`` about the x axis; the side view (right half) looks along y, turned by
``SIDE_YAW_DEG`` about the vertical, with the floor at ``v = GROUND_V_PX``. So the four numbers
``(x_top, y_top, x_side, y_side)`` of one body part are an affine function of its three
coordinates, and the one linear relation between them involves all four (with untilted cameras
``x_side`` would merely copy ``x_top``). Keypoint coordinates follow OpenCV: integer values are
pixel centres.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import platformdirs
import psutil
import yaml

from pose_core.errors import DataError, PoseDeskError

EXAMPLE_VERSION: int = 1
KEYPOINT_PARTS: tuple[str, ...] = (
    "nose",
    "ear_left",
    "ear_right",
    "paw_front_left",
    "paw_front_right",
    "paw_back_left",
    "paw_back_right",
    "tail_base",
    "tail_tip",
)
MARKER_NAME = ".posedesk_example"
VIEW_PX = 128
FRAME_HEIGHT_PX = VIEW_PX
FRAME_WIDTH_PX = 2 * VIEW_PX
GROUND_V_PX = 116.0
FPS = 30.0
SCORER = "posedesk-example"

_SHIFT = 4
_SUBPIX = 1 << _SHIFT
_EDGE_MARGIN_PX = 7.0
_LABELED_STRIDE = 15
_BURN_IN_FRAMES = 40
_NAN_FRACTION = 0.05
_ANIMAL_SCALE = 1.25
TOP_TILT_DEG = 20.0
SIDE_YAW_DEG = 25.0
_TILT, _YAW = math.radians(TOP_TILT_DEG), math.radians(SIDE_YAW_DEG)
_VIEW_ROWS = np.array(
    [
        [[1.0, 0.0, 0.0], [0.0, math.cos(_TILT), -math.sin(_TILT)]],
        [[math.cos(_YAW), math.sin(_YAW), 0.0], [0.0, 0.0, -1.0]],
    ]
)
"""Per view, the arena directions of the image u and v axes (orthonormal rows)."""
_VIEW_TOWARD_CAMERA = np.array([[0.0, math.sin(_TILT), math.cos(_TILT)], [-math.sin(_YAW), math.cos(_YAW), 0.0]])
_ARENA_CENTRE = np.array([VIEW_PX / 2, VIEW_PX / 2, 0.0])
_VIEW_OFFSETS = np.array([[VIEW_PX / 2, VIEW_PX / 2], [VIEW_PX / 2, GROUND_V_PX]]) - _VIEW_ROWS @ _ARENA_CENTRE
_README_TITLE = "# PoseDesk example project"
_GENERATED_NAMES = frozenset({"CollectedData.csv", "labeled-data", "videos", "config.yaml", "README.md", MARKER_NAME})


Color = tuple[int, int, int, int]
_BODY: tuple[Color, ...] = ((96, 84, 78, 255), (120, 107, 98, 255), (146, 132, 121, 255))
_HEAD: tuple[Color, ...] = ((104, 91, 84, 255), (128, 114, 105, 255), (156, 141, 129, 255))
_EAR: tuple[Color, ...] = ((170, 118, 120, 255), (196, 146, 148, 255), (214, 170, 170, 255))
_LEG: Color = (104, 90, 84, 255)
_TAIL: Color = (172, 140, 134, 255)
_PAW_LEFT: Color = (226, 112, 124, 255)
_PAW_RIGHT: Color = (136, 128, 228, 255)
_NOSE: Color = (232, 86, 128, 255)
_EYE: Color = (18, 14, 14, 255)


# ----------------------------------------------------------------------------- public API


def default_example_dir() -> Path:
    """Return where the example project lives by default.

    Returns:
        ``$POSEDESK_DATA_DIR/example-project`` if that variable is set, else
        ``<platformdirs user data dir for "posedesk">/example-project``.
    """
    base = os.environ.get("POSEDESK_DATA_DIR")
    root = Path(base).expanduser() if base else Path(platformdirs.user_data_dir("posedesk"))
    return root / "example-project"


def is_example_project(path: Path) -> bool:
    """Tell whether ``path`` holds a complete example project of the current version.

    Args:
        path: Folder to check.

    Returns:
        True if the marker file exists, names :data:`EXAMPLE_VERSION` and the files it
        promises (config, labels, videos) exist.
    """
    marker = _read_marker(Path(path))
    if marker is None or marker.get("version") != EXAMPLE_VERSION:
        return False
    n_videos = int(marker.get("n_videos", 0))
    needed = ["config.yaml", "CollectedData.csv"]
    needed += [f"videos/example_{i}.mp4" for i in range(n_videos)]
    return all((Path(path) / name).is_file() for name in needed)


def ensure_example_project(path: Path | None = None) -> Path:
    """Return the example project folder, generating it first if missing, stale or incomplete.

    Args:
        path: Folder of the project; defaults to :func:`default_example_dir`.

    Returns:
        The project folder (holds ``config.yaml``).
    """
    out_dir = Path(path) if path is not None else default_example_dir()
    if not is_example_project(out_dir):
        generate_example_project(out_dir)
    return out_dir


def generate_example_project(
    out_dir: Path,
    seed: int = 0,
    n_labeled: int = 240,
    n_video_frames: int = 1000,
    n_videos: int = 2,
) -> Path:
    """Render the example project into ``out_dir``, replacing an older example there.

    Everything is written into ``<out_dir>.tmp-<pid>`` first and then moved into place.

    Args:
        out_dir: Destination folder; must be new, empty or an earlier example project.
        seed: Random seed; the same seed gives byte-identical labels and images.
        n_labeled: Number of labelled frames in ``CollectedData.csv``.
        n_video_frames: Frames per video.
        n_videos: Number of videos (``videos/example_<i>.mp4``).

    Returns:
        ``out_dir``.

    Raises:
        ValueError: A count is smaller than 1.
        DataError: ``out_dir`` holds other files, or a video could not be written.
    """
    if min(n_labeled, n_video_frames, n_videos) < 1:
        raise ValueError("n_labeled, n_video_frames and n_videos must all be at least 1")
    out_dir = Path(out_dir).absolute()
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp_dirs(out_dir)
    tmp_dir = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        _write_project(tmp_dir, seed, n_labeled, n_video_frames, n_videos)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return out_dir


def keypoint_names() -> list[str]:
    """Return the keypoint names: every part ``_top`` then every part ``_side``."""
    return [f"{p}_top" for p in KEYPOINT_PARTS] + [f"{p}_side" for p in KEYPOINT_PARTS]


# ----------------------------------------------------------------------------- pose model


@dataclass(frozen=True)
class _Pose:
    """Pose parameters of one frame (lengths in px, angles in rad, speeds per frame)."""

    x: float
    y: float
    heading: float
    speed: float
    turn_rate: float
    gait_phase: float
    head_yaw: float
    head_pitch: float
    tail_swing: float
    tail_curl: float
    height: float
    goals: tuple[float, ...]  # where the posture parameters below are heading, one per _POSTURE row


_POSTURE = (
    ("head_yaw", 0.0, 0.35, 0.04, -0.7, 0.7),
    ("head_pitch", -0.1, 0.18, 0.04, -0.45, 0.3),
    ("tail_swing", 0.0, 0.4, 0.03, -0.9, 0.9),
    ("tail_curl", 0.0, 0.45, 0.03, -1.0, 1.0),
    ("height", 10.0, 0.9, 0.03, 8.5, 12.0),
)
"""Posture parameters: (name, mean, std, OU rate per frame, low, high). Each follows a random
Ornstein-Uhlenbeck goal through a low-pass filter, so it changes smoothly from frame to frame."""
_FOLLOW = 0.12  # fraction of the gap to its goal a posture parameter closes per frame


def _ou(value: float, mean: float, std: float, rate: float, rng: np.random.Generator) -> float:
    """One Ornstein-Uhlenbeck step with stationary standard deviation ``std``."""
    return value + rate * (mean - value) + std * math.sqrt(2.0 * rate) * rng.standard_normal()


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _initial_pose(rng: np.random.Generator) -> _Pose:
    x, y = rng.uniform(44.0, 84.0, size=2).tolist()
    heading, gait_phase = rng.uniform(0.0, 2.0 * math.pi, size=2).tolist()
    means = {name: mean for name, mean, *_ in _POSTURE}
    posture = dict(means)
    return _Pose(
        x=x,
        y=y,
        heading=heading,
        speed=0.8,
        turn_rate=0.0,
        gait_phase=gait_phase,
        goals=tuple(means.values()),
        **posture,
    )


def _step(pose: _Pose, rng: np.random.Generator) -> _Pose:
    """Advance the smooth random dynamics by one frame (walls are handled by `_keep_inside`)."""
    speed = _clip(_ou(pose.speed, 0.9, 0.6, 0.03, rng), 0.0, 2.2)
    turn_rate = _ou(pose.turn_rate, _wall_steering(pose), 0.04, 0.1, rng)
    heading = pose.heading + turn_rate
    goals = tuple(
        _ou(goal, mean, std, rate, rng) for goal, (_, mean, std, rate, _, _) in zip(pose.goals, _POSTURE, strict=True)
    )
    posture = {}
    for goal, (name, _, _, _, low, high) in zip(goals, _POSTURE, strict=True):
        value = getattr(pose, name)
        posture[name] = _clip(value + _FOLLOW * (goal - value), low, high)
    return _Pose(
        x=pose.x + speed * math.cos(heading),
        y=pose.y + speed * math.sin(heading),
        heading=heading,
        speed=speed,
        turn_rate=turn_rate,
        gait_phase=pose.gait_phase + 0.35 * speed,
        goals=goals,
        **posture,
    )


def _wall_steering(pose: _Pose) -> float:
    """Turn rate (rad per frame) that brings the animal back towards the arena centre near the walls."""
    dx, dy = VIEW_PX / 2 - pose.x, VIEW_PX / 2 - pose.y
    distance = math.hypot(dx, dy)
    if distance < 16.0:
        return 0.0
    error = math.remainder(math.atan2(dy, dx) - pose.heading, 2.0 * math.pi)
    return 0.05 * error * min(1.0, (distance - 16.0) / 16.0)


_SHIFT_EFFECT = np.array([_VIEW_ROWS[0, 0, :2], _VIEW_ROWS[0, 1, :2], _VIEW_ROWS[1, 0, :2]])
"""How a floor shift (dx, dy) moves the top-view u, top-view v and side-view u of every point."""


def _keep_inside(pose: _Pose) -> tuple[_Pose, _Skeleton]:
    """Translate the animal on the floor so every keypoint stays ``_EDGE_MARGIN_PX`` inside both views."""
    skeleton = _Skeleton.from_pose(pose)
    image = np.vstack([_project(skeleton.keypoints, 0).T, _project(skeleton.keypoints, 1)[:, 0]])  # (3, P)
    low, high = _EDGE_MARGIN_PX, VIEW_PX - 1 - _EDGE_MARGIN_PX
    shift = np.zeros(2)
    for _ in range(20):  # move out of the most violated band until none is (alternating projections)
        moved = image + (_SHIFT_EFFECT @ shift)[:, None]
        excess = np.maximum(low - moved.min(axis=1), 0.0) - np.maximum(moved.max(axis=1) - high, 0.0)
        worst = int(np.argmax(np.abs(excess)))
        if abs(excess[worst]) < 1e-9:
            break
        row = _SHIFT_EFFECT[worst]
        shift += excess[worst] * row / float(row @ row)
    if not shift.any():
        return pose, skeleton
    moved_pose = replace(pose, x=pose.x + float(shift[0]), y=pose.y + float(shift[1]))
    return moved_pose, _Skeleton.from_pose(moved_pose)


def _simulate(rng: np.random.Generator, n_frames: int, stride: int = 1) -> list[_Skeleton]:
    """Simulate ``n_frames`` skeletons, keeping every ``stride``-th step after a burn-in."""
    pose, _ = _keep_inside(_initial_pose(rng))
    for _ in range(_BURN_IN_FRAMES):
        pose, _ = _keep_inside(_step(pose, rng))
    skeletons = []
    for _ in range(n_frames):
        for _ in range(stride):
            pose, skeleton = _keep_inside(_step(pose, rng))
        skeletons.append(skeleton)
    return skeletons


# ----------------------------------------------------------------------------- skeleton


@dataclass(frozen=True)
class _Primitive:
    """One drawable 3-D shape: ``kind`` is "ellipsoid", "tube", "disc" or "limb" (leg + paw)."""

    kind: str
    points: np.ndarray  # ellipsoid/disc: (1, 3) centre; tube: (K, 3) centre line; limb: joint, paw
    size: np.ndarray  # ellipsoid: (3, 3) semi-axes; tube: (K,) widths; disc: radius; limb: 2 widths, radius
    colors: tuple[Color, ...]
    on_top: bool = False


_PAW_LAYOUT = np.array([[9.0, 1.0, 0.0], [9.0, -1.0, math.pi], [-8.0, 1.0, math.pi], [-8.0, -1.0, 0.0]])
"""Rows (forward offset px, side (+1 = left), gait phase offset) of the front-left, front-right,
back-left and back-right paw: a trot, diagonal pairs move together."""
_PAW_COLORS = (_PAW_LEFT, _PAW_RIGHT, _PAW_LEFT, _PAW_RIGHT)
_EAR_OFFSETS = np.array([[-1.5, 3.8, 3.5], [-1.5, -3.8, 3.5]])  # head frame: left, right
_EYE_OFFSETS = np.array([[3.0, 3.2, 1.8], [3.0, -3.2, 1.8]])
_TAIL_SEGMENTS = 10
_TAIL_LENGTH_PX = 26.0


@dataclass(frozen=True)
class _Body:
    """Points of the animal at unit scale, relative to the floor point under its centre."""

    centre: np.ndarray  # (3,)
    frame: np.ndarray  # (3, 3) columns: forward, left, up
    head_centre: np.ndarray  # (3,)
    head_frame: np.ndarray  # (3, 3) columns: head forward, head left, head up
    nose: np.ndarray  # (3,)
    ears: np.ndarray  # (2, 3) left, right
    joints: np.ndarray  # (4, 3) shoulders and hips, in paw order
    paws: np.ndarray  # (4, 3) front-left, front-right, back-left, back-right
    tail: np.ndarray  # (K + 1, 3) base to tip

    def keypoints(self) -> np.ndarray:
        """(P, 3) points in :data:`KEYPOINT_PARTS` order."""
        return np.vstack([self.nose, self.ears, self.paws, self.tail[[0, -1]]])


def _rotation(yaw: float, pitch: float = 0.0) -> np.ndarray:
    """Columns forward, left, up of a frame turned by ``yaw`` and tilted nose-up by ``pitch``."""
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    return np.array([[cp * cy, -sy, -sp * cy], [cp * sy, cy, -sp * sy], [sp, 0.0, cp]])


def _body(pose: _Pose) -> _Body:
    """Place head, paws and tail for one pose (unit scale, floor point under the centre = 0)."""
    centre = np.array([0.0, 0.0, pose.height])
    frame = _rotation(pose.heading)
    head_frame = _rotation(pose.heading + pose.head_yaw, pose.head_pitch)
    head_centre = centre + frame @ np.array([11.0, 0.0, 2.0]) + 6.0 * head_frame[:, 0]
    angles = pose.gait_phase + _PAW_LAYOUT[:, 2]
    lift_px = 2.2 * min(1.0, pose.speed / 0.5) * np.maximum(np.cos(angles), 0.0)
    paw_local = np.stack([_PAW_LAYOUT[:, 0] + 4.0 * np.sin(angles), 9.0 * _PAW_LAYOUT[:, 1], np.zeros(4)], 1)
    paws = paw_local @ frame.T + np.stack([np.zeros(4), np.zeros(4), 1.8 + lift_px], 1)
    joint_local = np.stack([0.9 * _PAW_LAYOUT[:, 0], 4.5 * _PAW_LAYOUT[:, 1], np.full(4, -3.0)], 1)
    return _Body(
        centre=centre,
        frame=frame,
        head_centre=head_centre,
        head_frame=head_frame,
        nose=head_centre + 7.5 * head_frame[:, 0],
        ears=head_centre + _EAR_OFFSETS @ head_frame.T,
        joints=centre + joint_local @ frame.T,
        paws=paws,
        tail=_tail(pose, centre + frame @ np.array([-13.0, 0.0, -1.0])),
    )


def _tail(pose: _Pose, base: np.ndarray) -> np.ndarray:
    """Centre line of the tail from base to tip: swings sideways and droops to the floor."""
    t = np.arange(1, _TAIL_SEGMENTS + 1) / _TAIL_SEGMENTS
    angles = pose.heading + math.pi + pose.tail_swing * t + pose.tail_curl * t * t
    step_px = _TAIL_LENGTH_PX / _TAIL_SEGMENTS
    x = base[0] + np.cumsum(step_px * np.cos(angles))
    y = base[1] + np.cumsum(step_px * np.sin(angles))
    z = np.maximum(1.0, base[2] - (base[2] - 1.0) * t / 0.4)
    return np.vstack([base, np.stack([x, y, z], 1)])


@dataclass(frozen=True)
class _Skeleton:
    """One frame's pose, its 3-D keypoints (arena px) and, on demand, the shapes to draw."""

    pose: _Pose
    keypoints: np.ndarray  # (P, 3)

    @staticmethod
    def from_pose(pose: _Pose) -> _Skeleton:
        return _Skeleton(pose, _to_arena(pose, _body(pose).keypoints()))

    @cached_property
    def primitives(self) -> tuple[_Primitive, ...]:
        """Body, head, ears, eyes, legs, paws, tail and nose tip, scaled into the arena."""
        body, pose = _body(self.pose), self.pose

        def shape(
            kind: str, points: np.ndarray, size: Sequence[float] | np.ndarray, color: Sequence[Color]
        ) -> _Primitive:
            return _Primitive(
                kind, _to_arena(pose, np.atleast_2d(points)), _ANIMAL_SCALE * np.asarray(size), tuple(color)
            )

        shapes = [
            shape("ellipsoid", body.centre, body.frame * np.array([14.0, 7.5, 6.5]), _BODY),
            shape("ellipsoid", body.head_centre, body.head_frame * np.array([7.5, 5.0, 4.5]), _HEAD),
            shape("tube", body.tail, np.linspace(3.4, 0.6, len(body.tail)), [_TAIL]),
        ]
        ear_axes = body.head_frame * np.array([1.6, 2.6, 2.8])
        shapes += [shape("ellipsoid", ear, ear_axes, _EAR) for ear in body.ears]
        eyes = body.head_centre + _EYE_OFFSETS @ body.head_frame.T
        shapes += [shape("disc", eye, [0.9], [_EYE]) for eye in eyes]
        limbs = zip(body.joints, body.paws, _PAW_COLORS, strict=True)
        shapes += [shape("limb", np.stack([j, p]), [3.2, 2.2, 2.1], [_LEG, c]) for j, p, c in limbs]
        nose = shape("disc", body.nose, [1.4], [_NOSE])
        return (*shapes, replace(nose, on_top=True))


def _to_arena(pose: _Pose, points: np.ndarray) -> np.ndarray:
    """Scale unit-size body points by :data:`_ANIMAL_SCALE` and move them to the pose's place."""
    return _ANIMAL_SCALE * points + np.array([pose.x, pose.y, 0.0])


# ----------------------------------------------------------------------------- rendering


def _project(points: np.ndarray, view: int) -> np.ndarray:
    """Project (N, 3) arena points to (N, 2) pixel coordinates inside view 0 (top) or 1 (side)."""
    return points @ _VIEW_ROWS[view].T + _VIEW_OFFSETS[view]


def _depth(prim: _Primitive, view: int) -> float:
    """Painter's-algorithm depth: larger is nearer the camera."""
    if prim.on_top:
        return 1e9
    column = prim.points @ _VIEW_TOWARD_CAMERA[view]
    if prim.kind == "limb":  # the paw end: a leg is hidden where its paw is
        return float(column[-1])
    return float(column[0]) if len(column) == 1 else float(column.mean())


def _fx(value: float) -> int:
    """A pixel coordinate in OpenCV's fixed-point format (``shift=_SHIFT``)."""
    return int(round(value * _SUBPIX))


def _draw_ellipsoid(canvas: np.ndarray, prim: _Primitive, view: int) -> None:
    """Draw the projected outline of an ellipsoid with stepped shading lit from above."""
    cu, cv = _project(prim.points, view)[0].tolist()
    axes = _VIEW_ROWS[view] @ prim.size  # image (u, v) components of the three semi-axes
    (a, b), (_, c) = (axes @ axes.T).tolist()
    half_gap = math.hypot((a - c) / 2.0, b)
    major = math.sqrt(max((a + c) / 2.0 + half_gap, 0.01))
    minor = math.sqrt(max((a + c) / 2.0 - half_gap, 0.01))
    angle_deg = math.degrees(0.5 * math.atan2(2.0 * b, a - c))
    light_u, light_v = (-0.1, -0.1) if view == 0 else (0.0, -0.35)
    for scale, color in zip((1.0, 0.72, 0.42), prim.colors, strict=True):
        lift = (1.0 - scale) * minor
        centre = (_fx(cu + light_u * lift), _fx(cv + light_v * lift))
        cv2.ellipse(canvas, centre, (_fx(major * scale), _fx(minor * scale)), angle_deg, 0, 360,
                    color, -1, cv2.LINE_AA, _SHIFT)  # fmt: skip


def _draw_tube(canvas: np.ndarray, prim: _Primitive, view: int) -> None:
    """Draw a tapered tube (tail, leg) as one anti-aliased polygon with round ends."""
    line = _project(prim.points, view)
    tangent = np.empty_like(line)
    tangent[1:-1] = line[2:] - line[:-2]
    tangent[0], tangent[-1] = line[1] - line[0], line[-1] - line[-2]
    norm = np.linalg.norm(tangent, axis=1, keepdims=True)
    tangent = np.where(norm > 1e-6, tangent / np.maximum(norm, 1e-6), np.array([1.0, 0.0]))
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) * (prim.size[:, None] / 2.0)
    outline = np.concatenate([line + normal, (line - normal)[::-1]])
    color = prim.colors[0]
    cv2.fillPoly(canvas, [np.round(outline * _SUBPIX).astype(np.int32)], color, cv2.LINE_AA, _SHIFT)
    widths = prim.size.tolist()
    for (u, v), width in ((line[0].tolist(), widths[0]), (line[-1].tolist(), widths[-1])):
        cv2.circle(canvas, (_fx(u), _fx(v)), _fx(width / 2.0), color, -1, cv2.LINE_AA, _SHIFT)


def _draw_disc(canvas: np.ndarray, prim: _Primitive, view: int) -> None:
    u, v = _project(prim.points, view)[0].tolist()
    cv2.circle(canvas, (_fx(u), _fx(v)), _fx(float(prim.size[0])), prim.colors[0], -1, cv2.LINE_AA, _SHIFT)


def _draw_limb(canvas: np.ndarray, prim: _Primitive, view: int) -> None:
    """Draw a leg from joint to paw, then the paw disc over its end."""
    _draw_tube(canvas, _Primitive("tube", prim.points, prim.size[:2], prim.colors[:1]), view)
    _draw_disc(canvas, _Primitive("disc", prim.points[1:], prim.size[2:], prim.colors[1:]), view)


_DRAWERS = {"ellipsoid": _draw_ellipsoid, "tube": _draw_tube, "disc": _draw_disc, "limb": _draw_limb}


def _render_view(skeleton: _Skeleton, view: int) -> np.ndarray:
    """Render one view of the animal as premultiplied RGBA (uint8, VIEW_PX x VIEW_PX x 4)."""
    canvas = np.zeros((VIEW_PX, VIEW_PX, 4), np.uint8)
    for prim in sorted(skeleton.primitives, key=lambda p: _depth(p, view)):
        _DRAWERS[prim.kind](canvas, prim, view)
    return canvas


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian-smoothed white noise with unit standard deviation (coarse grid for large sigma)."""
    factor = max(1, int(sigma_px // 2))
    small = (-(-shape[0] // factor), -(-shape[1] // factor))
    noise = cv2.GaussianBlur(rng.standard_normal(small, dtype=np.float32), (0, 0), sigma_px / factor)
    if factor > 1:
        noise = cv2.resize(noise, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return noise / (float(noise.std()) + 1e-6)


def _background(rng: np.random.Generator) -> np.ndarray:
    """A textured floor (top view) and wall + floor (side view) with random blobs and lines."""
    shape = (FRAME_HEIGHT_PX, VIEW_PX)
    floor = rng.uniform(115.0, 165.0) + 20.0 * _smooth_noise(rng, shape, 9.0) + 7.0 * _smooth_noise(rng, shape, 1.2)
    rows = np.arange(FRAME_HEIGHT_PX, dtype=np.float32)[:, None]
    wall = rng.uniform(150.0, 195.0) - 25.0 * rows / GROUND_V_PX + 12.0 * _smooth_noise(rng, shape, 6.0)
    below = rows > GROUND_V_PX + 1.0
    wall = np.where(below, wall - rng.uniform(45.0, 70.0) + 6.0 * _smooth_noise(rng, shape, 1.5), wall)
    grey = np.clip(np.concatenate([floor, wall], axis=1), 0, 255)
    tint = rng.normal(0.0, 6.0, size=3).astype(np.float32)
    image = np.clip(grey[..., None] + tint, 0, 255).astype(np.uint8)
    for view in (0, 1):
        _draw_clutter(image, rng, view * VIEW_PX)
    return cv2.GaussianBlur(image, (0, 0), 0.8).astype(np.float32)


def _draw_clutter(image: np.ndarray, rng: np.random.Generator, u0: int) -> None:
    """Draw a few grey blobs and lines into one view (they stay inside that view)."""
    view = np.ascontiguousarray(image[:, u0 : u0 + VIEW_PX])
    for _ in range(int(rng.integers(2, 6))):
        centre = tuple(int(v) for v in rng.integers(0, VIEW_PX, size=2))
        axes = tuple(int(v) for v in rng.integers(3, 16, size=2))
        grey = float(rng.uniform(60.0, 200.0))
        cv2.ellipse(view, centre, axes, float(rng.uniform(0, 180)), 0, 360, (grey, grey, grey), -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(1, 4))):
        p0, p1 = (tuple(int(v) for v in rng.integers(0, VIEW_PX, size=2)) for _ in range(2))
        grey = float(rng.uniform(50.0, 210.0))
        cv2.line(view, p0, p1, (grey, grey, grey), int(rng.integers(1, 3)), cv2.LINE_AA)
    image[:, u0 : u0 + VIEW_PX] = view


@dataclass(frozen=True)
class _Exposure:
    """Photometric settings of one frame: contrast gain, brightness offset, pixel noise std."""

    gain: float
    offset: float
    noise_std: float


_PAD_PX = 32


@dataclass(frozen=True)
class _Textures:
    """Noise fields of one sequence; each frame uses a window of them at a random offset."""

    pixel_noise: np.ndarray  # (H + pad, W + pad, 3), standard normal
    fur: np.ndarray  # (H + pad, W + pad, 1), around 1

    @staticmethod
    def create(rng: np.random.Generator) -> _Textures:
        shape = (FRAME_HEIGHT_PX + _PAD_PX, FRAME_WIDTH_PX + _PAD_PX)
        fur = 1.0 + 0.12 * _smooth_noise(rng, shape, 0.7)[..., None]
        return _Textures(rng.standard_normal((*shape, 3), dtype=np.float32), fur)

    def windows(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return frame-sized (pixel noise, fur) windows at random offsets."""
        (nv, nu), (fv, fu) = rng.integers(0, _PAD_PX, size=(2, 2))
        noise = self.pixel_noise[nv : nv + FRAME_HEIGHT_PX, nu : nu + FRAME_WIDTH_PX]
        return noise, self.fur[fv : fv + FRAME_HEIGHT_PX, fu : fu + FRAME_WIDTH_PX]


def _render_frame(
    skeleton: _Skeleton, background: np.ndarray, exposure: _Exposure, textures: _Textures, rng: np.random.Generator
) -> np.ndarray:
    """Composite the animal over the background, blur slightly, jitter and add noise (RGB uint8)."""
    noise, fur = textures.windows(rng)
    image = background.copy()
    for view in (0, 1):
        canvas = _render_view(skeleton, view)
        left, top, width, height = cv2.boundingRect(np.ascontiguousarray(canvas[..., 3]))
        layer = canvas[top : top + height, left : left + width].astype(np.float32)
        u0 = view * VIEW_PX + left
        region = image[top : top + height, u0 : u0 + width]
        region *= 1.0 - layer[..., 3:] / 255.0
        region += layer[..., :3] * fur[top : top + height, u0 : u0 + width]
    image = cv2.GaussianBlur(image, (0, 0), 0.55)
    offset = 128.0 * (1.0 - exposure.gain) + exposure.offset
    return cv2.addWeighted(image, exposure.gain, noise, exposure.noise_std, offset, dtype=cv2.CV_8U)


def _random_exposure(rng: np.random.Generator) -> _Exposure:
    return _Exposure(float(rng.uniform(0.8, 1.2)), float(rng.uniform(-20, 20)), float(rng.uniform(2, 7)))


def _keypoints_2d(skeleton: _Skeleton) -> np.ndarray:
    """(2P, 2) frame-pixel coordinates: all parts in the top view, then in the side view."""
    side = _project(skeleton.keypoints, 1) + np.array([VIEW_PX, 0.0])
    return np.concatenate([_project(skeleton.keypoints, 0), side])


# ----------------------------------------------------------------------------- writing


def _write_project(root: Path, seed: int, n_labeled: int, n_video_frames: int, n_videos: int) -> None:
    (root / "labeled-data").mkdir(parents=True)
    (root / "videos").mkdir()
    _write_labeled_frames(root, seed, n_labeled)
    for video_idx in range(n_videos):
        _write_video(root / "videos", seed, video_idx, n_video_frames)
    _write_config(root / "config.yaml")
    _write_readme(root / "README.md", seed, n_labeled, n_video_frames, n_videos)
    marker = {
        "generator": "pose_core.example",
        "version": EXAMPLE_VERSION,
        "seed": seed,
        "n_labeled": n_labeled,
        "n_video_frames": n_video_frames,
        "n_videos": n_videos,
    }
    (root / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _write_labeled_frames(root: Path, seed: int, n_labeled: int) -> None:
    """Render labelled frames from an independent pose sequence; write PNGs and the labels CSV."""
    pose_rng = np.random.default_rng([seed, 1])
    render_rng = np.random.default_rng([seed, 2])
    textures = _Textures.create(render_rng)
    digits = max(4, len(str(n_labeled - 1)))
    names, labels = [], []
    for frame_idx, skeleton in enumerate(_simulate(pose_rng, n_labeled, stride=_LABELED_STRIDE)):
        background, exposure = _background(render_rng), _random_exposure(render_rng)
        image = _render_frame(skeleton, background, exposure, textures, render_rng)
        name = f"labeled-data/img{frame_idx:0{digits}d}.png"
        cv2.imwrite(str(root / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        names.append(name)
        labels.append(_keypoints_2d(skeleton))
    xy = np.stack(labels)
    xy[render_rng.random(xy.shape[:2]) < _NAN_FRACTION] = np.nan
    xy[~_inside_views(xy)] = np.nan
    _write_keypoint_csv(root / "CollectedData.csv", names, xy, likelihood=False)


def _inside_views(xy: np.ndarray) -> np.ndarray:
    """(N, 2P) mask: the keypoint lies inside the view it belongs to."""
    n_parts = len(KEYPOINT_PARTS)
    u0 = np.repeat(np.array([0.0, VIEW_PX]), n_parts)
    u, v = xy[..., 0] - u0, xy[..., 1]
    return (u >= 0) & (u <= VIEW_PX - 1) & (v >= 0) & (v <= VIEW_PX - 1)


def _video_frames(seed: int, video_idx: int, n_frames: int, truth: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield the RGB frames of one video and append each frame's keypoints to ``truth``."""
    pose_rng = np.random.default_rng([seed, 100 + video_idx])
    render_rng = np.random.default_rng([seed, 200 + video_idx])
    background, base, textures = _background(render_rng), _random_exposure(render_rng), _Textures.create(render_rng)
    for skeleton in _simulate(pose_rng, n_frames):
        gain = base.gain * float(1.0 + 0.02 * render_rng.standard_normal())
        exposure = _Exposure(gain, base.offset + float(2.0 * render_rng.standard_normal()), base.noise_std)
        truth.append(_keypoints_2d(skeleton))
        yield _render_frame(skeleton, background, exposure, textures, render_rng)


def _write_video(video_dir: Path, seed: int, video_idx: int, n_frames: int) -> None:
    """Write ``example_<i>.mp4`` and its ground truth, then check the frame count reads back."""
    path = video_dir / f"example_{video_idx}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (FRAME_WIDTH_PX, FRAME_HEIGHT_PX))
    if not writer.isOpened():
        raise DataError(
            f"OpenCV cannot write the video {path}: its mp4v encoder is missing; reinstall opencv-python-headless.",
            path=str(path),
        )
    truth: list[np.ndarray] = []
    try:
        for frame in _video_frames(seed, video_idx, n_frames, truth):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    _check_frame_count(path, n_frames)
    index = [str(i) for i in range(n_frames)]
    _write_keypoint_csv(video_dir / f"example_{video_idx}_ground_truth.csv", index, np.stack(truth), likelihood=True)


def _check_frame_count(path: Path, n_expected: int) -> None:
    capture = cv2.VideoCapture(str(path))
    n_read = 0
    while capture.grab():
        n_read += 1
    capture.release()
    if n_read != n_expected:
        raise DataError(
            f"The generated video {path} reads back {n_read} frames instead of {n_expected}; "
            "check that OpenCV's ffmpeg backend works (reinstall opencv-python-headless).",
            path=str(path),
        )


def _write_keypoint_csv(path: Path, index: Sequence[str], xy: np.ndarray, likelihood: bool) -> None:
    """Write keypoints (N, K, 2) in the DLC/LP layout; NaN becomes an empty cell."""
    coords = ["x", "y", "likelihood"] if likelihood else ["x", "y"]
    names = keypoint_names()
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["scorer"] + [SCORER] * (len(names) * len(coords)))
        out.writerow(["bodyparts"] + [name for name in names for _ in coords])
        out.writerow(["coords"] + coords * len(names))
        for label, frame_xy in zip(index, xy, strict=True):
            cells = [label]
            for x, y in frame_xy.tolist():
                cells += ["", ""] if math.isnan(x) or math.isnan(y) else [f"{x:.4f}", f"{y:.4f}"]
                cells += ["1.0"] if likelihood else []
            out.writerow(cells)


def _write_config(path: Path) -> None:
    n_parts = len(KEYPOINT_PARTS)
    config = {
        "data": {
            "data_dir": ".",
            "video_dir": "videos",
            "csv_file": "CollectedData.csv",
            "image_resize_dims": {"height": FRAME_HEIGHT_PX, "width": FRAME_WIDTH_PX},
            "num_keypoints": 2 * n_parts,
            "keypoint_names": keypoint_names(),
            "mirrored_column_matches": [list(range(n_parts)), list(range(n_parts, 2 * n_parts))],
            "columns_for_singleview_pca": list(range(2 * n_parts)),
        },
        "model": {"model_name": "example"},
        # 12 epochs: `pose-train` with no arguments (training + predicting both videos) stays under
        # 5 minutes on 2 CPU cores, with a test median error of ~4 px (1.6% of the frame).
        "training": {"max_epochs": 12},
    }
    header = "# PoseDesk example project: only the keys specific to it; every other key is the default.\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None), encoding="utf-8")


def _write_readme(path: Path, seed: int, n_labeled: int, n_video_frames: int, n_videos: int) -> None:
    text = f"""{_README_TITLE}

Generated by `pose_core.example` (version {EXAMPLE_VERSION}, seed {seed}); do not edit, it is
regenerated when this folder is incomplete or outdated. A synthetic mouse is rendered in a top
view (left half) and a side view (right half) of each {FRAME_WIDTH_PX}x{FRAME_HEIGHT_PX} frame.

- `CollectedData.csv`: {n_labeled} labelled frames (`labeled-data/`), about 5% of keypoints unlabelled.
- `videos/example_<i>.mp4`: {n_videos} videos of {n_video_frames} frames at {FPS:g} fps, with exact
  trajectories in `videos/example_<i>_ground_truth.csv`.
- Keypoints: `<part>_top` then `<part>_side` for {", ".join(KEYPOINT_PARTS)}.

Train on it with `pose-train` (no arguments), or
`pose-train --config-path <this folder> --config-name config.yaml`.
Regenerate it with `python -m pose_core.example --force [FOLDER]`.
"""
    path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------- folder safety


def _read_marker(path: Path) -> dict | None:
    try:
        marker = json.loads((path / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to overwrite a folder unless it is empty or an (old or partial) example project."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise DataError(
            f"Cannot write the example project to {out_dir}: it is a file; choose a folder path.", path=str(out_dir)
        )
    entries = {entry.name for entry in out_dir.iterdir()}
    if entries and MARKER_NAME not in entries and not (entries <= _GENERATED_NAMES and _has_our_readme(out_dir)):
        raise DataError(
            f"Cannot write the example project to {out_dir}: the folder holds files that are not "
            "part of a PoseDesk example; choose an empty or new folder.",
            path=str(out_dir),
        )


def _has_our_readme(out_dir: Path) -> bool:
    try:
        with (out_dir / "README.md").open(encoding="utf-8") as handle:
            return handle.readline().strip() == _README_TITLE
    except (OSError, UnicodeDecodeError):
        return False


def _remove_stale_tmp_dirs(out_dir: Path) -> None:
    """Delete ``<out_dir>.tmp-<pid>`` folders left behind by generators that no longer run."""
    for tmp_dir in out_dir.parent.glob(f"{out_dir.name}.tmp-*"):
        pid_text = tmp_dir.name.rsplit("-", 1)[-1]
        if pid_text.isdigit() and not psutil.pid_exists(int(pid_text)):
            shutil.rmtree(tmp_dir, ignore_errors=True)


# ----------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the example project (if needed) and print its folder: ``python -m pose_core.example``."""
    parser = argparse.ArgumentParser(
        prog="python -m pose_core.example", description="Generate the PoseDesk example project."
    )
    parser.add_argument("out_dir", nargs="?", type=Path, help="destination (default: the user data folder)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--force", action="store_true", help="regenerate even if a current example exists")
    args = parser.parse_args(argv)
    out_dir = args.out_dir if args.out_dir is not None else default_example_dir()
    marker = _read_marker(out_dir) or {}
    try:
        if args.force or not is_example_project(out_dir) or marker.get("seed") != args.seed:
            generate_example_project(out_dir, seed=args.seed)
    except PoseDeskError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(out_dir.absolute())
    return 0


if __name__ == "__main__":
    sys.exit(main())
