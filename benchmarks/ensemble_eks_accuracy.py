"""EKS on the example videos: error of one model, of the ensemble mean and of the eks-smoothed track.

Uses the members' saved predictions of the example videos (``--runs RUN1 RUN2 RUN3``, e.g. an
ensemble trained with ``training.ensemble_seeds=[0,1,2]`` and predicted with ``pose-predict``),
compares them with the videos' ground truth (keypoints inside their view), and prints median and
p95 pixel error (of each member on its own, pooled; of the ensemble mean; of the eks track) and the jitter: the median frame-to-frame motion of keypoints that the ground
truth says are still (moving < 0.2 px to both neighbouring frames). Goal: EKS beats one model's p95.

    python benchmarks/ensemble_eks_accuracy.py --runs RUN1 RUN2 RUN3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STILL_PX = 0.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--example", type=Path, default=None, help="example project (default: the generated one)")
    parser.add_argument("--smooth-param", type=float, default=None)
    parser.add_argument(
        "--videos", type=Path, nargs="+", default=None,
        help="videos whose names are the example's (e.g. their first frames, as loop_does_it_help.py makes); default: the example's",
    )  # fmt: skip
    args = parser.parse_args()
    from benchmarks.loop_does_it_help import ground_truth
    from pose_core.ensemble.members import load_member_predictions, open_members
    from pose_core.ensemble.ranking import jump_px
    from pose_core.ensemble.smoothing import ensemble_stats, smooth_videos
    from pose_core.example import ensure_example_project
    from pose_core.video.reader import probe_video

    example = args.example or ensure_example_project()
    members = open_members(args.runs, minimum=2)
    errors: dict[str, list[np.ndarray]] = {"one model": [], "ensemble mean": [], "EKS": []}
    jitter: dict[str, list[np.ndarray]] = {k: [] for k in [*errors, "ground truth"]}
    videos = args.videos or sorted((example / "videos").glob("*.mp4"))
    all_preds = [load_member_predictions(members, video, probe_video(video).n_frames) for video in videos]
    start = time.perf_counter()
    all_smoothed = smooth_videos(all_preds, members[0].mirrored_column_matches, args.smooth_param)
    eks_s = time.perf_counter() - start
    for video, preds, smoothed in zip(videos, all_preds, all_smoothed, strict=True):
        truth = ground_truth(example, video)
        tracks = {
            "one model": preds[..., :2],  # every member on its own, pooled
            "ensemble mean": ensemble_stats(preds).mean[..., :2],
            "EKS": smoothed.preds[..., :2],
        }
        still = np.isfinite(truth[..., 0]) & (jump_px(np.nan_to_num(truth)) < STILL_PX)
        still[0] = still[-1] = False
        for name, xy in tracks.items():
            err = np.linalg.norm(xy - truth, axis=-1)
            errors[name].append(err[np.isfinite(err)])
            step = np.linalg.norm(np.diff(xy, axis=-3), axis=-1)
            jitter[name].append(step[..., still[1:]].ravel())
        jitter["ground truth"].append(np.linalg.norm(np.diff(truth, axis=0), axis=-1)[still[1:]])
    print(
        f"EKS benchmark on {[v.name for v in (args.videos or [])] or example / 'videos'}: {len(members)} members, load average {os.getloadavg()}"
    )
    print(f"{'track':<14} {'median px':>10} {'p95 px':>8} {'jitter px':>10}")
    for name in errors:
        err, jit = np.concatenate(errors[name]), np.concatenate(jitter[name])
        print(f"{name:<14} {np.median(err):>10.2f} {np.percentile(err, 95):>8.2f} {np.median(jit):>10.3f}")
    jit = np.concatenate(jitter["ground truth"])
    print(f"{'ground truth':<14} {'':>10} {'':>8} {np.median(jit):>10.3f}   ({jit.size} still keypoint-frames)")
    p95 = {name: np.percentile(np.concatenate(errors[name]), 95) for name in errors}
    print(f"EKS p95 vs one model: {100 * (p95['EKS'] / p95['one model'] - 1):+.0f}%; EKS time {eks_s:.1f} s; "
          f"smoothing parameters {np.round(all_smoothed[0].smooth_params, 2).tolist()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
