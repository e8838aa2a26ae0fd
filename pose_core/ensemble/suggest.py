"""``posedesk suggest-frames PROJECT_DIR --runs RUN... [--videos VIDEO...] --n N [--add]``.

Ranks the frames of a project's videos by how unsure the runs are (see
:mod:`pose_core.ensemble.ranking`) and prints the best N with their reasons; ``--add`` queues them
for labelling: each frame is extracted, exactly that frame index, to
``labeled-data/<video_stem>/img<frame_idx:08d>.png`` (Lightning Pose / DeepLabCut naming, as the
Label pane does) and listed with its reason in ``labeled-data/suggested_frames.csv``.

Scores come from saved predictions (``<run>/video_preds/<stem>.csv``); a video a run has not
predicted yet is predicted first (with progress). With 2+ runs, the Ensemble Kalman Smoother's
posterior variance is read from ``<stem>_eks.csv`` in the ensemble folder, or computed and saved
there (every video without an up-to-date file in one eks call). Frames already labelled or queued (and their neighbours) are never suggested.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pose_core.cli_support import OneLineArgumentParser, UsageError, run_command
from pose_core.ensemble.members import MemberRun, load_member_predictions, open_members
from pose_core.ensemble.ranking import (
    DEFAULT_MIN_GAP_FRAMES,
    Pick,
    VideoSignals,
    pick_frames,
    score_frames,
    video_signals,
)
from pose_core.errors import DataError

PROG = "posedesk suggest-frames"
LABELED_DATA_DIRNAME = "labeled-data"
SUGGESTIONS_FILENAME = "suggested_frames.csv"
SUGGESTION_COLUMNS = ("image", "video", "frame_idx", "score", "reason")
_FRAME_PNG = re.compile(r"img0*(\d+)\.png$")

SuggestProgress = Callable[[int, int, str], None]
"""``progress(done, total, message)``: called as each video is scored (done = videos scored so far)."""


class SuggestCancelled(DataError):
    """A stop was asked for (the ``STOP`` file next to the ``--events`` file) while suggesting."""


def frame_png_path(project_root: Path, video: Path, frame_idx: int) -> Path:
    """``<project>/labeled-data/<video_stem>/img<frame_idx:08d>.png``."""
    return project_root / LABELED_DATA_DIRNAME / Path(video).stem / f"img{frame_idx:08d}.png"


def labeled_frames(project_root: Path, image_paths: Sequence[str], videos: Sequence[Path]) -> dict[Path, set[int]]:
    """Per video, the frame indices labelled (in the labels CSV) or queued (a PNG in its folder)."""
    by_stem: dict[str, set[int]] = {Path(v).stem: set() for v in videos}
    for text in image_paths:
        parts = Path(text.replace("\\", "/")).parts
        match = _FRAME_PNG.search(parts[-1]) if parts else None
        if match and len(parts) >= 2 and parts[-2] in by_stem:
            by_stem[parts[-2]].add(int(match.group(1)))
    for stem, frames in by_stem.items():
        folder = project_root / LABELED_DATA_DIRNAME / stem
        if folder.is_dir():
            frames.update(int(m.group(1)) for p in folder.glob("img*.png") if (m := _FRAME_PNG.search(p.name)))
    return {Path(v): by_stem[Path(v).stem] for v in videos}


def predict_missing(members: Sequence[MemberRun], videos: Sequence[Path], events: Path | None = None) -> None:
    """Predicts, with each member, the videos it has no saved predictions of (progress on the terminal).

    Args:
        members: The runs.
        videos: The videos.
        events: Also write ``pose-predict``'s progress events to this file (its ``STOP`` file
            next to it stops the prediction after the current batch).

    Raises:
        DataError: A prediction failed or was stopped.
    """
    from pose_core.inference.cli import run_predict

    for member in members:
        missing = [v for v in videos if not member.predictions_csv(v).is_file()]
        if missing:
            print(f"Predicting {len(missing)} video(s) with {member.run_dir} first", flush=True)
            extra = ["--events", str(events)] if events is not None else []
            status = run_predict([str(member.run_dir), *map(str, missing), *extra])
            if status != 0:
                raise DataError(
                    f"Predicting {', '.join(v.name for v in missing)} with {member.run_dir} stopped (status {status})."
                )


def _posterior_vars(
    members: Sequence[MemberRun], preds: dict[Path, np.ndarray], smooth_param: float | None
) -> dict[Path, np.ndarray]:
    """Per video, the ``[T, K, 2]`` EKS posterior variance: from the ensemble folder's ``<stem>_eks.csv`` or computed.

    The videos without an up-to-date ``<stem>_eks.csv`` are smoothed together (one eks call, see
    :func:`~pose_core.ensemble.smoothing.smooth_videos`) and their CSVs saved.
    """
    from pose_core.ensemble.predict import default_output_dir, ensemble_outputs, write_ensemble_file
    from pose_core.ensemble.smoothing import smooth_videos, write_eks_csv

    output_dir = default_output_dir(members)
    out: dict[Path, np.ndarray] = {}
    stale: list[Path] = []
    for video, video_preds in preds.items():
        eks_csv = ensemble_outputs(output_dir, video)[0]
        newest = max(m.predictions_csv(video).stat().st_mtime for m in members)
        if eks_csv.is_file() and eks_csv.stat().st_mtime >= newest:
            table = read_eks_table(eks_csv)
            if table.shape[:2] == video_preds.shape[1:3]:
                out[video] = table[..., 7:9]
                continue
        stale.append(video)
    if stale:
        smoothed = smooth_videos([preds[v] for v in stale], members[0].mirrored_column_matches, smooth_param)
        write_ensemble_file(output_dir, members)
        for video, result in zip(stale, smoothed, strict=True):
            write_eks_csv(ensemble_outputs(output_dir, video)[0], members[0].keypoint_names, result)
            out[video] = result.posterior_var_px2
    return out


def read_eks_table(path: Path) -> np.ndarray:
    """``[T, K, 9]`` of an ``<stem>_eks.csv`` (columns in :data:`~pose_core.ensemble.smoothing.EKS_COORDS` order)."""
    import pandas as pd

    from pose_core.ensemble.smoothing import EKS_COORDS

    df = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    names = list(dict.fromkeys(df.columns.get_level_values(1)))
    out = np.empty((len(df), len(names), len(EKS_COORDS)))
    values = df.to_numpy(dtype=float)
    for column, key in enumerate(df.columns):
        name, coord = str(key[1]), str(key[2])
        if coord in EKS_COORDS:
            out[:, names.index(name), EKS_COORDS.index(coord)] = values[:, column]
    return out


def _pca_error(member: MemberRun, mean_xy: np.ndarray) -> np.ndarray | None:
    """``[T, K]`` largest PCA reprojection error of the run's label PCAs (None when it saved none)."""
    from pose_core.pca import PosePCA

    errors = [PosePCA.load(p).keypoint_error_px(mean_xy) for p in sorted(member.run_dir.glob("pca_*.npz"))]
    if not errors:
        return None
    with np.errstate(invalid="ignore"):
        return np.nanmax(np.stack(errors), axis=0)


@dataclass
class SuggestTimings:
    """Where the time went (seconds)."""

    read_s: float = 0.0
    eks_s: float = 0.0
    rank_s: float = 0.0
    per_video: list[float] = field(default_factory=list)


def signals_for_video(
    members: Sequence[MemberRun],
    video: Path,
    n_frames: int,
    *,
    eks: bool,
    smooth_param: float | None,
    timings: SuggestTimings,
    preds: np.ndarray | None = None,
    posterior_var_px2: np.ndarray | None = None,
) -> VideoSignals:
    """Reads the members' predictions of one video (unless given) and computes its ranking signals.

    ``posterior_var_px2`` is the video's EKS posterior variance when already known; else, with
    ``eks`` and 2+ runs, it is read or computed here.
    """
    if preds is None:
        start = time.perf_counter()
        preds = load_member_predictions(members, video, n_frames)
        timings.read_s += time.perf_counter() - start
    posterior = posterior_var_px2
    if posterior is None and eks and len(members) > 1:
        start = time.perf_counter()
        posterior = _posterior_vars(members, {video: preds}, smooth_param)[video]
        timings.eks_s += time.perf_counter() - start
    start = time.perf_counter()
    mean_xy = np.nanmean(preds[..., :2], axis=0)
    signals = video_signals(video, members[0].keypoint_names, preds, posterior, _pca_error(members[0], mean_xy))
    timings.rank_s += time.perf_counter() - start
    return signals


def _frame_reader() -> tuple[dict[Path, object], object]:
    """A ``read_frame(video, idx)`` that keeps one open reader per video (None when unreadable)."""
    from pose_core.errors import PoseDeskError
    from pose_core.video.reader import VideoReader

    readers: dict[Path, object] = {}

    def read_frame(video: Path, frame_idx: int) -> np.ndarray | None:
        try:
            reader = readers.get(video)
            if reader is None:
                reader = readers[video] = VideoReader(video)
            assert isinstance(reader, VideoReader)
            return reader.read(frame_idx)
        except (PoseDeskError, IndexError, OSError):
            return None

    return readers, read_frame


def suggest(
    members: Sequence[MemberRun],
    videos: Sequence[Path],
    n: int,
    labeled: dict[Path, set[int]],
    *,
    min_gap_frames: int = DEFAULT_MIN_GAP_FRAMES,
    eks: bool = True,
    smooth_param: float | None = None,
    check_appearance: bool = True,
    timings: SuggestTimings | None = None,
    progress: SuggestProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Pick]:
    """Ranks the frames of ``videos`` and picks ``n`` (saved predictions must exist).

    Args:
        members: The runs (one is enough).
        videos: The videos to rank.
        n: How many frames to pick.
        labeled: Per video, the frames already labelled or queued.
        min_gap_frames: Never within this many frames of a labelled or picked frame.
        eks: Use the Ensemble Kalman Smoother's posterior variance (2+ runs).
        smooth_param: EKS smoothing parameter (None = fitted).
        check_appearance: Skip near-duplicate images (reads the picked frames).
        timings: Filled with where the time went.
        progress: Called with ``(videos scored, videos + 1, message)`` before each video and before the pick.
        should_stop: Polled between videos; True raises :class:`SuggestCancelled`.

    Raises:
        SuggestCancelled: ``should_stop`` said so.
    """
    from pose_core.video.reader import probe_video

    timings = timings if timings is not None else SuggestTimings()
    preds: dict[Path, np.ndarray] = {}
    posteriors: dict[Path, np.ndarray] = {}
    if eks and len(members) > 1:  # all videos' predictions first: eks smooths them in one call
        for video in videos:
            start = time.perf_counter()
            preds[video] = load_member_predictions(members, video, probe_video(video).n_frames)
            timings.read_s += time.perf_counter() - start
        if should_stop is not None and should_stop():
            raise SuggestCancelled("Suggesting frames was stopped; nothing was queued.")
        if progress is not None:
            progress(0, len(videos) + 1, f"Smoothing {len(videos)} video(s) with the Ensemble Kalman Smoother")
        start = time.perf_counter()
        posteriors = _posterior_vars(members, preds, smooth_param)
        timings.eks_s += time.perf_counter() - start
    all_signals = []
    n_steps = len(videos) + 1
    for i, video in enumerate(videos):
        if should_stop is not None and should_stop():
            raise SuggestCancelled("Suggesting frames was stopped; nothing was queued.")
        if progress is not None:
            eks_note = " (with the Ensemble Kalman Smoother)" if eks and len(members) > 1 else ""
            progress(i, n_steps, f"Scoring the frames of {Path(video).name}{eks_note}")
        start = time.perf_counter()
        all_signals.append(
            signals_for_video(
                members,
                video,
                probe_video(video).n_frames,
                eks=eks,
                smooth_param=smooth_param,
                timings=timings,
                preds=preds.get(video),
                posterior_var_px2=posteriors.get(video),
            )
        )
        timings.per_video.append(time.perf_counter() - start)
    if progress is not None:
        progress(len(videos), n_steps, f"Picking {n} frames")
    start = time.perf_counter()
    scores = score_frames(all_signals)
    readers, read_frame = _frame_reader() if check_appearance else ({}, None)
    try:
        picks = pick_frames(
            scores, n, labeled, min_gap_frames=min_gap_frames, n_members={Path(v): len(members) for v in videos},
            keypoint_names=members[0].keypoint_names, read_frame=read_frame,  # type: ignore[arg-type]
            pose_clusters=n,
        )  # fmt: skip
    finally:
        for reader in readers.values():
            reader.close()  # type: ignore[attr-defined]
    timings.rank_s += time.perf_counter() - start
    return picks


def add_to_queue(project_root: Path, picks: Sequence[Pick]) -> list[Path]:
    """Extracts each pick's frame to ``labeled-data/<stem>/img<idx:08d>.png`` and lists it with its reason.

    Frames are read first, then written; the list ``labeled-data/suggested_frames.csv`` is
    rewritten atomically (earlier suggestions kept). An existing PNG is not overwritten.

    Raises:
        DataError: A frame cannot be read, or the folder cannot be written.
    """
    import cv2

    from pose_core.io.atomic import atomic_write_path, atomic_write_text
    from pose_core.video.reader import VideoReader

    images = []
    for video in dict.fromkeys(p.video for p in picks):
        with VideoReader(video) as reader:
            images += [(p, reader.read(p.frame_idx, bgr=True)) for p in picks if p.video == video]
    written = []
    for pick, image in images:
        path = frame_png_path(project_root, pick.video, pick.frame_idx)
        if not path.exists():
            ok, encoded = cv2.imencode(".png", image)
            if not ok:
                raise DataError(f"Cannot encode frame {pick.frame_idx} of {pick.video} as PNG.", path=str(path))
            with atomic_write_path(path) as tmp:
                tmp.write_bytes(encoded.tobytes())
        written.append(path)
    list_path = project_root / LABELED_DATA_DIRNAME / SUGGESTIONS_FILENAME
    rows = read_suggestions(list_path)
    known = {r["image"] for r in rows}
    for pick, path in zip((p for p, _ in images), written, strict=True):
        relative = path.relative_to(project_root).as_posix()
        if relative not in known:
            rows.append({"image": relative, "video": str(pick.video), "frame_idx": str(pick.frame_idx),
                         "score": f"{pick.score:.3f}", "reason": pick.reason})  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUGGESTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(list_path, out.getvalue())
    return written


def read_suggestions(path: Path) -> list[dict[str, str]]:
    """The rows of ``suggested_frames.csv`` (image, video, frame_idx, score, reason); [] when absent."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: row.get(k, "") or "" for k in SUGGESTION_COLUMNS} for row in csv.DictReader(handle)]


# ---------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    """The ``posedesk suggest-frames`` argument parser."""
    parser = OneLineArgumentParser(
        prog=PROG,
        description="Rank the frames of a project's videos by how unsure the models are, and suggest which to label next.",
        epilog="With 2+ runs (an ensemble) the scores include the models' disagreement and the Ensemble Kalman "
        "Smoother's uncertainty; one run is enough (likelihood, jumps, PCA).",
    )
    parser.add_argument("project", metavar="PROJECT_DIR", type=Path, help="the project folder")
    parser.add_argument(
        "--runs", metavar="RUN", type=Path, nargs="+", required=True, help="run folders (an ensemble's members)"
    )
    parser.add_argument(
        "--videos", metavar="VIDEO", type=Path, nargs="+", default=None, help="videos (default: the project's)"
    )
    parser.add_argument("--n", metavar="N", type=int, required=True, help="how many frames to suggest")
    parser.add_argument(
        "--min-gap", metavar="FRAMES", type=int, default=DEFAULT_MIN_GAP_FRAMES,
        help=f"never within this many frames of a labelled or suggested frame (default {DEFAULT_MIN_GAP_FRAMES})",
    )  # fmt: skip
    parser.add_argument(
        "--add", action="store_true", help="queue them for labelling (extract the PNGs into labeled-data/)"
    )
    parser.add_argument(
        "--no-eks", action="store_true", help="skip the Ensemble Kalman Smoother (faster, fewer signals)"
    )
    parser.add_argument(
        "--events", metavar="FILE", type=Path, default=None,
        help="also write progress and the picks as JSON lines to FILE (a file STOP next to it stops)",
    )  # fmt: skip
    return parser


def run_suggest(argv: Sequence[str]) -> int:
    """Runs ``posedesk suggest-frames``; returns the exit status."""
    args = build_parser().parse_args(list(argv))
    if args.n < 1:
        raise UsageError(f"--n must be at least 1, got {args.n}.")
    if args.min_gap < 0:
        raise UsageError(f"--min-gap must be 0 or more, got {args.min_gap}.")
    if args.events is None:
        return _suggest_and_report(args, None)
    from pose_core.events import EventWriter
    from pose_core.runs.layout import STOP_FILENAME

    (args.events.parent / STOP_FILENAME).unlink(missing_ok=True)
    writer = EventWriter(args.events)
    try:
        writer.emit("started", job="suggest")
        status = _suggest_and_report(args, writer)
    except SuggestCancelled as exc:
        writer.emit("stopped", job="suggest", message=str(exc))
        raise
    except Exception as exc:
        writer.emit("failed", job="suggest", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    finally:
        writer.close()
    return status


def _suggest_and_report(args: argparse.Namespace, writer: object | None) -> int:
    """The body of ``suggest-frames``; progress and the picks also go to ``writer`` (an EventWriter) if given."""
    from pose_core.events import EventWriter
    from pose_core.inference.cli import collect_videos
    from pose_core.project import Project
    from pose_core.runs.layout import STOP_FILENAME

    assert writer is None or isinstance(writer, EventWriter)
    project = Project.open(args.project)
    members = open_members(args.runs)
    if members[0].keypoint_names != list(project.keypoint_names):
        raise DataError(
            f"The runs predict other keypoints than project {project.root} labels ({len(members[0].keypoint_names)} vs "
            f"{len(project.keypoint_names)}); give runs trained on this project."
        )
    videos = collect_videos(args.videos) if args.videos else list(project.videos)
    if not videos:
        raise DataError(f"Project {project.root} has no videos in {project.video_dir}; give some with --videos.")
    if args.add and not _writable(project.root / LABELED_DATA_DIRNAME):
        raise DataError(f"{project.root / LABELED_DATA_DIRNAME} is not writable; --add cannot queue frames there.")
    stop_file = args.events.parent / STOP_FILENAME if args.events is not None else None

    def progress(done: int, total: int, message: str) -> None:
        if writer is not None:
            writer.emit("progress", job="suggest", stage="rank", done=done, total=total, message=message)

    predict_missing(members, videos, events=args.events)
    labeled = labeled_frames(project.root, project.labels.image_paths, videos)
    timings = SuggestTimings()
    picks = suggest(
        members, videos, args.n, labeled, min_gap_frames=args.min_gap, eks=not args.no_eks, timings=timings,
        progress=progress, should_stop=(lambda: stop_file.exists()) if stop_file is not None else None,
    )  # fmt: skip
    _print_picks(picks)
    if len(picks) < args.n:
        print(f"Only {len(picks)} frames are far enough from labelled frames and from each other.", flush=True)
    if args.add and picks:
        written = add_to_queue(project.root, picks)
        print(f"Queued {len(written)} frames for labelling in {project.root / LABELED_DATA_DIRNAME}", flush=True)
    if writer is not None:
        writer.emit("finished", job="suggest", picks=[pick_record(p) for p in picks], n_asked=args.n,
                    eks_s=timings.eks_s, rank_s=timings.rank_s)  # fmt: skip
    return 0


def pick_record(pick: Pick) -> dict[str, Any]:
    """A pick as a JSON-able mapping (video path as text); :func:`pick_from_record` reads it back."""
    return {"video": str(pick.video), "frame_idx": int(pick.frame_idx), "score": float(pick.score),
            "signal": pick.signal, "keypoint": pick.keypoint, "value": float(pick.value), "reason": pick.reason}  # fmt: skip


def pick_from_record(record: dict[str, Any]) -> Pick:
    """The :class:`Pick` of a :func:`pick_record` mapping.

    Raises:
        DataError: A field is missing or of the wrong type.
    """
    try:
        video, frame_idx = Path(str(record["video"])), int(record["frame_idx"])
        score, value = float(record["score"]), float(record["value"])
        return Pick(
            video, frame_idx, score, str(record["signal"]), str(record["keypoint"]), value, str(record["reason"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"A suggested frame's record is damaged ({exc}): suggest the frames again.") from None


def _writable(folder: Path) -> bool:
    from pose_core.project import is_writable_dir

    return is_writable_dir(folder if folder.is_dir() else folder.parent)


def _print_picks(picks: Sequence[Pick]) -> None:
    print(f"{'rank':>4}  {'video':<24} {'frame':>7}  {'score':>6}  reason")
    for i, pick in enumerate(picks, 1):
        print(f"{i:>4}  {pick.video.name:<24} {pick.frame_idx:>7}  {pick.score:>6.1f}  {pick.reason}")
    sys.stdout.flush()


def suggest_frames_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``posedesk suggest-frames``; returns the exit status."""
    return run_command(PROG, lambda: run_suggest(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(suggest_frames_main())
