"""``pose-predict RUN1 RUN2 ... VIDEO... --eks``: predict with every member, then the ensemble and EKS.

Each member's predictions go to its own ``video_preds/<stem>.csv`` (existing files are reused
unless ``--overwrite``). The ensemble's outputs go to ``--output-dir`` or to the ensemble folder
``<RUN1's parent>/<ensemble id>-ensemble/``: ``<stem>_ens_mean.csv`` (mean x, y, likelihood),
``<stem>_ens_var.csv`` (variance of x and y over the members, px²) and ``<stem>_eks.csv``
(Ensemble Kalman smoothed x, y, likelihood plus eks's ensemble median, ensemble variance and
posterior variance columns), and ``ensemble.json`` (the members and keypoints).

Everything that can be checked without predicting (runs usable and finished, same keypoints,
videos readable, output writable) is checked before anything is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_core.cli_support import UsageError
from pose_core.ensemble.members import MemberRun, load_member_predictions, open_members
from pose_core.ensemble.smoothing import (
    EKS_SUFFIX,
    MEAN_SUFFIX,
    VAR_SUFFIX,
    ensemble_stats,
    smooth_videos,
    write_eks_csv,
    write_variance_csv,
)
from pose_core.io.atomic import atomic_write_text
from pose_core.runs.layout import RunLayout

ENSEMBLE_FILENAME = "ensemble.json"


def split_runs_and_videos(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The leading run folders (they hold ``config.yaml``) and the videos or video folders after them.

    Raises:
        UsageError: No run or no video.
    """
    paths = [Path(p) for p in paths]
    n_runs = 0
    while n_runs < len(paths) and paths[n_runs].is_dir() and RunLayout(paths[n_runs]).config.is_file():
        n_runs += 1
    runs, videos = paths[:n_runs], paths[n_runs:]
    if not runs:
        raise UsageError(f"{paths[0]} is not a run folder (no config.yaml); --eks needs RUN1 RUN2 ... VIDEO...")
    if not videos:
        raise UsageError("--eks needs at least one video after the run folders: pose-predict RUN1 RUN2 ... VIDEO --eks")
    return runs, videos


def ensemble_id(members: Sequence[MemberRun]) -> str:
    """The id the members share from ``training.ensemble_seeds``, else one made from their folders."""
    from pose_core.training.ensemble import ensemble_info

    ids = {(ensemble_info(m.run_dir) or {}).get("id") for m in members}
    if len(ids) == 1 and None not in ids:
        return str(ids.pop())
    digest = hashlib.sha1("\n".join(sorted(str(m.run_dir.resolve()) for m in members)).encode()).hexdigest()[:8]
    return f"{members[0].run_dir.name}-{digest}"


def default_output_dir(members: Sequence[MemberRun]) -> Path:
    """``<RUN1's parent>/<ensemble id>-ensemble``: beside the runs, not itself a run folder."""
    return members[0].run_dir.parent / f"{ensemble_id(members)}-ensemble"


@dataclass
class EnsembleVideoResult:
    """What the ensemble step wrote for one video.

    Attributes:
        eks_s: Seconds of the eks call that smoothed this video (with the others of the same call).
    """

    video: Path
    eks_csv: Path
    mean_csv: Path
    var_csv: Path
    n_frames: int
    eks_s: float


def ensemble_outputs(output_dir: Path, video: Path) -> tuple[Path, Path, Path]:
    """``(<stem>_eks.csv, <stem>_ens_mean.csv, <stem>_ens_var.csv)`` in ``output_dir``."""
    stem = Path(video).stem
    return (
        output_dir / f"{stem}{EKS_SUFFIX}.csv",
        output_dir / f"{stem}{MEAN_SUFFIX}.csv",
        output_dir / f"{stem}{VAR_SUFFIX}.csv",
    )


def smooth_videos_to_csv(
    members: Sequence[MemberRun],
    videos: Sequence[Path],
    n_frames: Sequence[int],
    output_dir: Path,
    smooth_param: float | None = None,
) -> list[EnsembleVideoResult]:
    """Reads the members' saved predictions of ``videos`` and writes each video's mean, variance and EKS CSVs.

    The videos are smoothed in one eks call (:func:`~pose_core.ensemble.smoothing.smooth_videos`: eks
    compiles and fits its smoothing parameter once, not once per video). The files are written only
    once everything is computed (each atomically).
    """
    from pose_core.io.predictions import write_predictions_csv

    member_preds = [
        load_member_predictions(members, video, count) for video, count in zip(videos, n_frames, strict=True)
    ]
    start_s = time.perf_counter()
    smoothed = smooth_videos(member_preds, members[0].mirrored_column_matches, smooth_param)
    eks_s = time.perf_counter() - start_s
    names = members[0].keypoint_names
    results = []
    for video, count, preds, video_smoothed in zip(videos, n_frames, member_preds, smoothed, strict=True):
        stats = ensemble_stats(preds)
        eks_csv, mean_csv, var_csv = ensemble_outputs(output_dir, video)
        write_predictions_csv(mean_csv, names, stats.mean, list(range(count)), scorer="posedesk_ensemble")
        write_variance_csv(var_csv, names, stats.variance_px2)
        write_eks_csv(eks_csv, names, video_smoothed)
        results.append(EnsembleVideoResult(Path(video), eks_csv, mean_csv, var_csv, count, eks_s))
    return results


def write_ensemble_file(output_dir: Path, members: Sequence[MemberRun]) -> Path:
    """``ensemble.json``: the member runs and keypoints (how the Review pane finds an ensemble)."""
    path = output_dir / ENSEMBLE_FILENAME
    payload = {
        "id": ensemble_id(members),
        "members": [str(m.run_dir) for m in members],
        "keypoint_names": members[0].keypoint_names,
        "mirrored_column_matches": members[0].mirrored_column_matches,
    }
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def run_ensemble_predict(args: argparse.Namespace) -> int:
    """The ``--eks`` form of ``pose-predict``; returns the exit status.

    Raises:
        UsageError: Fewer than two runs, or no video.
        PoseDeskError: A run unusable, still training or with other keypoints; a bad video.
    """
    from pose_core.inference import cli as predict_cli
    from pose_core.runs.layout import STOP_FILENAME

    runs, video_args = split_runs_and_videos([args.run_dir, *args.videos])
    if len(runs) < 2:
        raise UsageError(
            f"--eks needs the runs of an ensemble (2 or more run folders), got one ({runs[0]}); "
            "train one with training.ensemble_seeds=[0,1,2]."
        )
    if args.checkpoint is not None:
        raise UsageError(
            "--checkpoint names one checkpoint; with --eks every member uses its best one: drop --checkpoint."
        )
    members = open_members(runs, minimum=2)
    videos = predict_cli.collect_videos(video_args)
    output_dir = args.output_dir if args.output_dir is not None else default_output_dir(members)
    jobs = []
    for member in members:
        member_args = argparse.Namespace(
            **{**vars(args), "run_dir": member.run_dir, "videos": videos, "output_dir": None}
        )
        jobs.append(predict_cli.prepare_job(member_args))
    predict_cli.check_output_dir(output_dir)
    n_frames = jobs[0].n_frames
    for i, job in enumerate(jobs):
        print(f"Member {i + 1}/{len(jobs)}: {job.run_dir}", flush=True)
        stop = predict_cli.StopRequest(job.events_path.parent / STOP_FILENAME)
        writer = predict_cli.open_event_writer(job.events_path)
        try:
            status = predict_cli.finish_job(job, writer, stop)
        finally:
            writer.close()
        if status != 0:
            return status
    write_ensemble_file(output_dir, members)
    names = ", ".join(video.name for video in videos)
    _emit_phase(args.events, f"Smoothing {names} with the Ensemble Kalman Smoother", 0, len(videos))
    results = smooth_videos_to_csv(members, videos, n_frames, output_dir, args.eks_smooth_param)
    for result in results:  # eks smoothed every video in one call: eks_s is that call's time
        print(
            f"{result.video.name}: ensemble of {len(members)}, EKS in {result.eks_s:.1f} s -> {result.eks_csv}",
            flush=True,
        )
    print(f"Ensemble outputs in {output_dir}", flush=True)
    return 0


def _emit_phase(events: Path | None, message: str, done: int, total: int) -> None:
    """A ``phase`` event in the ``--events`` file (the GUI's progress text while eks runs)."""
    if events is None:
        return
    from pose_core.events import EventWriter

    writer = EventWriter(events)
    try:
        writer.emit("phase", job="predict", stage="eks", message=message, done=done, total=total)
    finally:
        writer.close()


def eks_param(text: str) -> float:
    """``--eks-smooth-param`` value: a positive number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value
