"""Semi-supervised vs supervised training, and the cost of the unlabelled batches.

Usage: .venv/bin/python benchmarks/semi_supervised.py [--epochs 20] [--part all|example|mirror]

Example project (two views, videos with ground truth): trains supervised-only and with
[temporal, pca_singleview, pca_multiview] for the same number of epochs and reports the test-split
pixel error, the error of the video predictions against the saved ground-truth trajectories, the PCA
errors and the frame-to-frame jitter of both.

Mirror-mouse (../shared/data): the ground-truth labels' own median multiview PCA reprojection error in
frame pixels (fit and applied in the same space) next to Lightning Pose's mismatch (fit on resized
labels, applied to frame pixels), and training images/s with and without the unsupervised losses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MIRROR, ROOT, median, mirror_train_overrides, read_events, require_mirror  # noqa: E402

SEMI = "model.losses_to_use=[temporal,pca_singleview,pca_multiview]"


def _train(args: list[str], cwd: Path) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pose-train"), *args], cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"pose-train failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def _video_figures(run_dir: Path, project: Path) -> dict[str, float]:
    from pose_core.io.predictions import read_predictions_csv
    from pose_core.metrics import pixel_error, temporal_norm
    from pose_core.pca import PosePCA

    errors, jitter, pca = [], [], {"pca_singleview": [], "pca_multiview": []}
    for gt_path in sorted((project / "videos").glob("*_ground_truth.csv")):
        stem = gt_path.name.replace("_ground_truth.csv", "")
        pred = read_predictions_csv(run_dir / "video_preds" / f"{stem}.csv").preds
        truth = read_predictions_csv(gt_path).preds
        errors.append(pixel_error(pred[..., :2], truth[..., :2]).ravel())
        jitter.append(temporal_norm(pred[..., :2]).ravel())
        for name in pca:
            if (run_dir / f"{name}.npz").is_file():
                pca[name].append(PosePCA.load(run_dir / f"{name}.npz").keypoint_error_px(pred[..., :2]).ravel())
    err = np.concatenate(errors)
    jit = np.concatenate(jitter)
    out = {"video_median_px": float(np.nanmedian(err)), "video_p95_px": float(np.nanpercentile(err, 95)),
           "jitter_median_px": float(np.nanmedian(jit)), "jitter_p99_px": float(np.nanpercentile(jit, 99))}  # fmt: skip
    for name, values in pca.items():
        if values:
            out[f"video_{name}_median_px"] = float(np.nanmedian(np.concatenate(values)))
    return out


def example_part(epochs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["POSEDESK_DATA_DIR"] = str(Path(tmp) / "data")
        from pose_core.example import ensure_example_project

        project = ensure_example_project()
        rows = {}
        for label, extra in (("supervised", []), ("semi-supervised", [SEMI])):
            run_dir = Path(tmp) / label
            _train(["--config-path", str(project), "--config-name", "config.yaml", f"training.max_epochs={epochs}", f"hydra.run.dir={run_dir}", *extra], Path(tmp))  # fmt: skip
            summary = json.loads((run_dir / "summary.json").read_text())["pixel_error"]
            figures = {"test_median_px": summary["test"]["median_px"], "test_mean_px": summary["test"]["mean_px"]}
            figures.update(_video_figures(run_dir, project))
            rows[label] = figures
    print(f"Example project, {epochs} epochs each (pixels of the 256x128 frame):")
    keys = list(rows["supervised"])
    print(f"  {'figure':<32}{'supervised':>12}{'semi-sup.':>12}")
    for key in keys:
        print(f"  {key:<32}{rows['supervised'][key]:>12.2f}{rows['semi-supervised'].get(key, float('nan')):>12.2f}")


def _images_per_s(extra: list[str], epochs: int = 3) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        _train([*mirror_train_overrides(run_dir, epochs, extra), "training.imgaug=none"], Path(tmp))
        epochs_ev = [e for e in read_events(run_dir) if e["event"] == "epoch_end"][1:]
        return median([72 / e["epoch_time_s"] for e in epochs_ev])


def mirror_part() -> None:
    from pose_core.data.labels import read_labels, split_indices
    from pose_core.pca import fit_pca

    require_mirror()
    labels = read_labels(MIRROR / "CollectedData.csv")
    train = split_indices(labels.n_frames, 0.8, 0.1, 42)["train"]
    groups = [[0, 1, 2, 3, 4, 5, 6], [8, 9, 10, 11, 12, 13, 14]]
    same = fit_pca(labels.keypoints_px[train], "multiview", groups, 3)
    scale = np.array([128 / 396, 128 / 406])
    resized = fit_pca(labels.keypoints_px[train] * scale, "multiview", groups, 3)
    print("Mirror-mouse ground-truth labels, median multiview PCA reprojection error (frame pixels):")
    print(f"  fit and applied in frame pixels (PoseDesk)         {np.nanmedian(same.keypoint_error_px(labels.keypoints_px)):.2f} px  (REFERENCE.md: 1.9 px when consistent)")  # fmt: skip
    print(f"  fit on 128x128-resized labels, applied to frame px {np.nanmedian(resized.keypoint_error_px(labels.keypoints_px)):.2f} px  (REFERENCE.md: LP's pipeline gives 19.3 px)")  # fmt: skip
    sup = _images_per_s([])
    semi = _images_per_s([SEMI, "data.columns_for_singleview_pca=[0,1,2,3,4,5,6,8,9,10,11,12,13,14]", "data.mirrored_column_matches=[[0,1,2,3,4,5,6],[8,9,10,11,12,13,14]]"])  # fmt: skip
    print(f"Training images/s (labelled frames), resnet18 128x128 batch 8: supervised {sup:.1f}, with the three unsupervised losses (8-frame clips) {semi:.1f} -> cost x{sup / semi:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--part", choices=("all", "example", "mirror"), default="all")
    args = parser.parse_args()
    if args.part in ("all", "mirror"):
        mirror_part()
    if args.part in ("all", "example"):
        example_part(args.epochs)


if __name__ == "__main__":
    main()
