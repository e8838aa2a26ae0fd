"""Speed of "which frames to label next" from saved predictions: 20 videos x 10,000 frames, 3 members.

Writes synthetic saved predictions (18 keypoints in two mirrored views, as the example project;
members agree to ~1 px with occasional disagreements and spikes) into a scratch folder, then
times, as ``posedesk suggest-frames`` does them: reading the 60 CSVs, Ensemble Kalman smoothing
(the eks package; multiview for the mirrored keypoints; by default as ``suggest`` does it: the
smoothing parameter fitted once and all videos smoothed in one eks call, ``--one-by-one`` for one
call per video) and the ranking with the greedy pick.
Goal: < 60 s in all on the 2-core machine. Prints the split and the load average.

    python benchmarks/ensemble_rank_speed.py [--videos 20] [--frames 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_PARTS, N_MEMBERS = 9, 3


def synthetic_members(n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """[M, T, 18, 3]: a smooth trajectory seen in two views, members with noise, disagreements and spikes."""
    t = np.arange(n_frames)[:, None]
    phase = rng.uniform(0, 2 * np.pi, (1, N_PARTS))
    body = np.stack(
        [64 + 30 * np.sin(t / 90 + phase), 64 + 25 * np.cos(t / 70 + phase), 10 + 5 * np.sin(t / 40 + phase)], -1
    )
    top = np.stack([body[..., 0], body[..., 1]], -1)
    side = np.stack([128 + 0.9 * body[..., 0] + 0.4 * body[..., 1], 116 - body[..., 2]], -1)
    truth = np.concatenate([top, side], axis=1)  # [T, 18, 2]
    preds = np.empty((N_MEMBERS, n_frames, 2 * N_PARTS, 3))
    preds[..., :2] = truth[None] + rng.normal(0, 1.0, preds[..., :2].shape)
    preds[..., 2] = rng.uniform(0.85, 1.0, preds.shape[:-1])
    hard = rng.choice(n_frames, n_frames // 200, replace=False)
    preds[rng.integers(0, N_MEMBERS, hard.size), hard, rng.integers(0, 2 * N_PARTS, hard.size), :2] += rng.normal(
        0, 15, (hard.size, 2)
    )
    return preds


def write_inputs(folder: Path, n_videos: int, n_frames: int) -> tuple[list[Path], list[str]]:
    from pose_core.example import keypoint_names
    from pose_core.io.predictions import write_predictions_csv

    rng = np.random.default_rng(0)
    names = keypoint_names()
    runs = [folder / f"run{m}" for m in range(N_MEMBERS)]
    for v in range(n_videos):
        preds = synthetic_members(n_frames, rng)
        for m, run in enumerate(runs):
            write_predictions_csv(run / "video_preds" / f"video{v:02d}.csv", names, preds[m], list(range(n_frames)))
    return runs, names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument(
        "--smooth-param", type=float, default=None, help="fixed eks smoothing parameter (default: eks fits it)"
    )
    parser.add_argument("--no-eks", action="store_true", help="rank without EKS (as suggest-frames --no-eks)")
    parser.add_argument(
        "--one-by-one", action="store_true", help="one eks call per video (the old way) instead of all videos joined"
    )
    parser.add_argument("--verbose-eks", action="store_true", help="print eks's own timings of its steps")
    parser.add_argument("--work", type=Path, default=None, help="keep the generated CSVs here and reuse them")
    args = parser.parse_args()
    from pose_core.ensemble.members import MemberRun, load_member_predictions
    from pose_core.ensemble.ranking import pick_frames, score_frames, video_signals
    from pose_core.ensemble.smoothing import smooth, smooth_videos

    if args.verbose_eks:
        import logging

        logging.basicConfig(level=logging.WARNING, format="%(relativeCreated)8.0f ms %(name)s %(message)s")
        logging.getLogger("eks").setLevel(logging.DEBUG)
    with tempfile.TemporaryDirectory(prefix="posedesk-rank-speed-") as scratch:
        tmp = str(args.work or scratch)
        start = time.perf_counter()
        if args.work and (args.work / "run0" / "video_preds" / f"video{args.videos - 1:02d}.csv").is_file():
            from pose_core.example import keypoint_names

            runs, names = [args.work / f"run{m}" for m in range(N_MEMBERS)], keypoint_names()
        else:
            runs, names = write_inputs(Path(tmp), args.videos, args.frames)
        print(
            f"wrote {args.videos} x {N_MEMBERS} prediction CSVs of {args.frames} frames in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        matches = [list(range(N_PARTS)), list(range(N_PARTS, 2 * N_PARTS))]
        members = [MemberRun(run, names, matches) for run in runs]
        print(f"load average before: {os.getloadavg()}", flush=True)
        t_import = time.perf_counter()
        if not args.no_eks:
            from pose_core.ensemble.smoothing import _import_eks

            _import_eks()
        t_import = time.perf_counter() - t_import
        t_read = t_eks = t_signals = 0.0
        videos = [Path(tmp) / f"video{v:02d}.mp4" for v in range(args.videos)]
        all_preds = []
        for video in videos:
            t0 = time.perf_counter()
            all_preds.append(load_member_predictions(members, video, args.frames))
            t_read += time.perf_counter() - t0
        print(f"  read {args.videos} x {N_MEMBERS} CSVs: {t_read:.1f} s", flush=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        if args.one_by_one:
            posteriors = [
                None if args.no_eks else smooth(p, matches, args.smooth_param).posterior_var_px2 for p in all_preds
            ]
        else:
            smoothed = [] if args.no_eks else smooth_videos(all_preds, matches, args.smooth_param)
            posteriors = [s.posterior_var_px2 for s in smoothed] or [None] * len(all_preds)
        t_eks, cpu_eks = time.perf_counter() - t0, time.process_time() - cpu0
        print(f"  EKS: {t_eks:.1f} s", flush=True)
        t0 = time.perf_counter()
        all_signals = [
            video_signals(video, names, p, post) for video, p, post in zip(videos, all_preds, posteriors, strict=True)
        ]
        t_signals = time.perf_counter() - t0
        t0 = time.perf_counter()
        picks = pick_frames(
            score_frames(all_signals),
            50,
            keypoint_names=names,
            n_members={s.video: N_MEMBERS for s in all_signals},
            pose_clusters=50,
        )
        t_pick = time.perf_counter() - t0
    total = t_read + t_import + t_eks + t_signals + t_pick
    how = "none" if args.no_eks else f"smoothing parameter {args.smooth_param or 'fitted by eks on 2000 frames'}, "
    how += "" if args.no_eks else ("one eks call per video" if args.one_by_one else "all videos in one eks call")
    print(f"\nranking {args.videos} videos x {args.frames} frames, {N_MEMBERS} members, 18 keypoints (EKS: {how}):")
    print(f"  read saved predictions {t_read:6.1f} s")
    print(f"  importing jax/eks      {t_import:6.1f} s")
    print(f"  EKS (eks package)      {t_eks:6.1f} s   ({cpu_eks:.1f} s of CPU time: what it takes on a quiet machine)")
    print(f"  signals + scores/pick  {t_signals + t_pick:6.1f} s")
    print(f"  total                  {total:6.1f} s   goal < 60 s; load average after {os.getloadavg()}")
    print(f"  CPU time of the whole process {time.process_time():.1f} s (includes writing the inputs)")
    print(f"  first pick: {picks[0].video.name} frame {picks[0].frame_idx}: {picks[0].reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
