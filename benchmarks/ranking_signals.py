"""Do the ranking's signals find the frames a model gets wrong? Saved predictions against ground truth.

Reads a work folder of ``loop_does_it_help.py`` (one seed's 3 members, their predictions of both
example videos and the ensemble's ``_eks.csv``) and prints, for each signal, how it follows the
error of member 0 against the videos' ground truth:

* per point (frame x keypoint): Spearman correlation of the signal and the error;
* per frame: Spearman correlation of the frame's score and its mean error, with the score taken
  as the largest robust z-score over keypoints, z pooled over all keypoints (PoseDesk before
  session 5) or per keypoint (now, :func:`pose_core.ensemble.ranking.score_frames`);
* the mean error of the 40 top-scored frames against all frames', for the combined score both ways.

    python benchmarks/ranking_signals.py --work DIR/seed0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _z(values: np.ndarray, signal: str, per_keypoint: bool) -> np.ndarray:
    """Robust z-scores of ``[T, K]`` values: per keypoint as PoseDesk scores now, or pooled as before."""
    from pose_core.ensemble.ranking import DEFAULT_SCALE_FLOOR_PX, SCALE_FLOOR, _keypoint_scales, _robust_scale

    if per_keypoint:
        median, scale = _keypoint_scales([values], signal)
        return (values - median[None]) / scale[None]
    median_all, scale_all = _robust_scale(values.ravel(), SCALE_FLOOR.get(signal, DEFAULT_SCALE_FLOOR_PX))
    return (values - median_all) / scale_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="a seed folder of loop_does_it_help.py --work")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    from scipy.stats import spearmanr

    from benchmarks.loop_does_it_help import ground_truth
    from pose_core.ensemble.members import open_members
    from pose_core.ensemble.predict import default_output_dir
    from pose_core.ensemble.ranking import SIGNAL_WEIGHTS, video_signals
    from pose_core.example import ensure_example_project
    from pose_core.io.predictions import read_predictions_csv

    example = ensure_example_project()
    runs = sorted((args.work / "runs").glob("start-seed*-m[0-9]"))
    members = open_members(runs)
    ens_dir = default_output_dir(members)
    signals: dict[str, list[np.ndarray]] = {}
    errors = []
    for video in sorted((args.work / "project" / "videos").glob("*.mp4")):
        preds = np.stack([read_predictions_csv(r / "video_preds" / f"{video.stem}.csv").preds for r in runs])
        eks_csv = ens_dir / f"{video.stem}_eks.csv"
        posterior = None
        if eks_csv.is_file():
            import pandas as pd

            df = pd.read_csv(eks_csv, header=[0, 1, 2], index_col=0)
            names = list(dict.fromkeys(df.columns.get_level_values(1)))
            posterior = np.stack(
                [np.stack([df.xs((n, c), axis=1, level=(1, 2)).to_numpy()[:, 0] for c in ("x_posterior_var", "y_posterior_var")], -1) for n in names],
                axis=1,
            )  # fmt: skip
        sig = video_signals(video, members[0].keypoint_names, preds, posterior, None)
        for name, values in sig.signals.items():
            signals.setdefault(name, []).append(values)
        errors.append(np.linalg.norm(preds[0, ..., :2] - ground_truth(example, video), axis=-1))
    err = np.concatenate(errors)  # [T, K], NaN outside the views
    inside = np.isfinite(err)
    frame_err = np.nanmean(np.where(inside, err, np.nan), axis=1)
    print(
        f"{args.work}: {err.shape[0]} frames, member 0 error median {np.nanmedian(err):.1f} px, mean {np.nanmean(err):.1f} px"
    )
    print(f"{'signal':<13} {'point rho':>9} {'frame rho pooled':>17} {'frame rho per keypoint':>23}")
    combined = {False: [], True: []}
    for name, parts in signals.items():
        values = np.concatenate(parts)
        ok = inside & np.isfinite(values)
        row = [spearmanr(values[ok], err[ok]).correlation]
        for per_keypoint in (False, True):
            z = np.where(ok, _z(values, name, per_keypoint), -np.inf)
            row.append(spearmanr(z.max(axis=1), frame_err).correlation)
            combined[per_keypoint].append(SIGNAL_WEIGHTS.get(name, 1.0) * z)
        print(f"{name:<13} {row[0]:>9.2f} {row[1]:>17.2f} {row[2]:>23.2f}")
    for per_keypoint in (False, True):
        score = np.max(np.stack(combined[per_keypoint]), axis=(0, 2))
        top = np.argsort(-score)[: args.top]
        print(
            f"combined score, z {'per keypoint' if per_keypoint else 'pooled'}: frame rho "
            f"{spearmanr(score, frame_err).correlation:.2f}; the top {args.top} frames' mean error "
            f"{np.nanmean(frame_err[top]):.1f} px against {np.nanmean(frame_err):.1f} px for all frames"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
