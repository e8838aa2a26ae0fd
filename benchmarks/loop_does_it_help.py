"""Does ranking frames by uncertainty help? The label-predict-rank-retrain loop on the example project.

For each seed: start from 60 labelled frames (of the example's labelled set), train an ensemble of
3, predict both example videos, pick 40 more video frames (a) with PoseDesk's ranking (ensemble
disagreement, EKS posterior variance, likelihood, jumps, PCA) and (b) uniformly at random, label
them from the videos' ground truth, retrain member 0 from its own weights (``training.init_from``)
with the same epoch budget on 60 + 40 frames, and measure the error on every frame of both videos
against the ground truth. Prints median and p95 error (px) before and after, for both arms, and
how much more the ranked picks cut p95 than random picks.

Small on purpose (input 64x128, the first 300 frames of each video; 12 epochs, the example
project's own ``training.max_epochs``): 15 trainings and 15 predictions, ~65 min at load 8-10 on
the 2-core machine. Run it with ``nice``; it prints the load average. ``--work DIR`` keeps the runs
and reuses them when run again (``--redo ranked`` retrains only the ranked arm, e.g. after a
change to the ranking). It also prints how bad the picked frames were before retraining (the
largest keypoint error in the frame), which tells whether the ranking found worse frames than
random picks.

    python benchmarks/loop_does_it_help.py --seeds 0 1 2 --epochs 12 --work /tmp/loop
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_START, N_ADD, N_MEMBERS = 60, 40, 3


def _view_mask(xy: np.ndarray) -> np.ndarray:
    """Keypoints inside the view they belong to (the example labels leave the others empty)."""
    from pose_core.example import VIEW_PX

    k = xy.shape[-2]
    u0 = np.repeat(np.array([0.0, VIEW_PX]), k // 2)
    u, v = xy[..., 0] - u0, xy[..., 1]
    return (u >= 0) & (u <= VIEW_PX - 1) & (v >= 0) & (v <= VIEW_PX - 1)


def trim_video(src: Path, dest: Path, n_frames: int) -> None:
    """The first ``n_frames`` frames of ``src`` (the machine is small: fewer frames to predict five times)."""
    import cv2

    from pose_core.video.reader import VideoReader

    with VideoReader(src) as reader:
        writer = cv2.VideoWriter(str(dest), cv2.VideoWriter.fourcc(*"mp4v"), reader.fps, (reader.width, reader.height))
        for _, frame in reader.iter_frames(0, n_frames, bgr=True):
            writer.write(frame)
        writer.release()


def make_start_project(example: Path, work: Path, seed: int, n_video_frames: int) -> Path:
    """A project folder with 60 of the example's labelled frames and links to its videos."""
    from pose_core.data.labels import LabelSet, read_labels, write_labels

    labels = read_labels(example / "CollectedData.csv")
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(labels.n_frames, N_START, replace=False))
    project = work / "project"
    if (project / "CollectedData.csv").is_file():
        return project  # made by an earlier invocation with the same --work
    shutil.rmtree(project, ignore_errors=True)
    (project / "labeled-data").mkdir(parents=True)
    for r in rows:
        shutil.copyfile(example / labels.image_paths[r], project / labels.image_paths[r])
    (project / "videos").mkdir()
    for video in sorted((example / "videos").glob("*.mp4")):
        trim_video(video, project / "videos" / video.name, n_video_frames)
    shutil.copyfile(example / "config.yaml", project / "config.yaml")
    subset = LabelSet([labels.image_paths[r] for r in rows], labels.keypoint_names, labels.keypoints_px[rows])
    write_labels(subset, project / "CollectedData.csv")
    return project


def overrides(project: Path, epochs: int, model_seed: int, run_dir: Path, hw: tuple[int, int]) -> list[str]:
    return [
        f"data.data_dir={project}", f"data.video_dir={project / 'videos'}",
        f"data.csv_file={project / 'CollectedData.csv'}",
        f"data.image_resize_dims.height={hw[0]}", f"data.image_resize_dims.width={hw[1]}",
        f"training.max_epochs={epochs}", f"training.min_epochs={epochs}", "training.lr_scheduler_params.multisteplr.milestones=null",
        f"training.rng_seed_model_pt={model_seed}", "eval.predict_vids_after_training=false",
        "training.train_batch_size=8",
    ]  # fmt: skip


def train_run(
    project: Path, run_dir: Path, epochs: int, model_seed: int, hw: tuple[int, int], init_from: Path | None = None
) -> float:
    from pose_core.config.io import load_config
    from pose_core.training.run import train

    if (run_dir / "summary.json").is_file() and '"finished"' in (run_dir / "summary.json").read_text():
        return 0.0  # trained by an earlier invocation with the same --work (same seed, same settings)
    shutil.rmtree(run_dir, ignore_errors=True)
    extra = [f"training.init_from={init_from}"] if init_from else []
    loaded = load_config(project / "config.yaml", overrides(project, epochs, model_seed, run_dir, hw) + extra)
    start = time.perf_counter()
    train(loaded, run_dir, progress_bar=False)
    return time.perf_counter() - start


def predict(run_dir: Path, videos: list[Path]) -> None:
    from pose_core.inference.cli import run_predict

    if all((run_dir / "video_preds" / f"{v.stem}.csv").is_file() for v in videos):
        return
    if run_predict([str(run_dir), *map(str, videos), "--batch-size", "32"]) != 0:
        raise SystemExit(f"prediction failed for {run_dir}")


def ground_truth(example: Path, video: Path) -> np.ndarray:
    from pose_core.io.predictions import read_predictions_csv
    from pose_core.video.reader import probe_video

    xy = read_predictions_csv(example / "videos" / f"{video.stem}_ground_truth.csv").preds[..., :2]
    xy = xy[: probe_video(video).n_frames]  # the benchmark's videos are the first frames of the example's
    return np.where(_view_mask(xy)[..., None], xy, np.nan)


def video_error(run_dir: Path, example: Path, videos: list[Path]) -> np.ndarray:
    """Per-point pixel error over every frame of the videos (inside-view keypoints only)."""
    from pose_core.io.predictions import read_predictions_csv

    errors = []
    for video in videos:
        pred = read_predictions_csv(run_dir / "video_preds" / f"{video.stem}.csv").preds[..., :2]
        errors.append(np.linalg.norm(pred - ground_truth(example, video), axis=-1).ravel())
    err = np.concatenate(errors)
    return err[np.isfinite(err)]


def keypoint_p95(run_dir: Path, example: Path, videos: list[Path]) -> np.ndarray:
    """``[K]`` p95 pixel error of each keypoint over every frame of the videos (inside-view only)."""
    from pose_core.io.predictions import read_predictions_csv

    err = np.concatenate(
        [
            np.linalg.norm(
                read_predictions_csv(run_dir / "video_preds" / f"{v.stem}.csv").preds[..., :2]
                - ground_truth(example, v),
                axis=-1,
            )
            for v in videos
        ]
    )
    with np.errstate(invalid="ignore"):
        return np.nanpercentile(err, 95, axis=0)


def picked_frame_error(run_dir: Path, example: Path, picks: list[tuple[Path, int]]) -> float:
    """Median over the picks of the frame's largest keypoint error (px) of ``run_dir``: does a pick find a bad frame?"""
    from pose_core.io.predictions import read_predictions_csv

    cache: dict[Path, np.ndarray] = {}
    worst = []
    for video, frame_idx in picks:
        if video not in cache:
            pred = read_predictions_csv(run_dir / "video_preds" / f"{video.stem}.csv").preds[..., :2]
            cache[video] = np.linalg.norm(pred - ground_truth(example, video), axis=-1)
        worst.append(float(np.nanmax(cache[video][frame_idx])))
    return float(np.median(worst))


def add_frames(project: Path, example: Path, picks: list[tuple[Path, int]], dest: Path) -> Path:
    """A copy of ``project`` with the picked video frames extracted and labelled from the ground truth."""
    import cv2

    from pose_core.data.labels import LabelSet, read_labels, write_labels
    from pose_core.video.reader import VideoReader

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(project, dest, symlinks=True)
    labels = read_labels(dest / "CollectedData.csv")
    paths, xy = list(labels.image_paths), [labels.keypoints_px]
    for video, frame_idx in picks:
        rel = f"labeled-data/{video.stem}/img{frame_idx:08d}.png"
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        with VideoReader(video) as reader:
            cv2.imwrite(str(dest / rel), reader.read(frame_idx, bgr=True))
        paths.append(rel)
        xy.append(ground_truth(example, video)[frame_idx][None])
    write_labels(LabelSet(paths, labels.keypoint_names, np.concatenate(xy)), dest / "CollectedData.csv")
    return dest


def ranked_picks(project: Path, members: list[Path], videos: list[Path]) -> tuple[list[tuple[Path, int]], list[str]]:
    from pose_core.ensemble.members import open_members
    from pose_core.ensemble.suggest import labeled_frames, suggest
    from pose_core.project import Project

    proj = Project.open(project)
    labeled = labeled_frames(project, proj.labels.image_paths, videos)
    picks = suggest(open_members(members), videos, N_ADD, labeled)
    return [(p.video, p.frame_idx) for p in picks], [p.signal for p in picks]


def random_picks(videos: list[Path], seed: int) -> list[tuple[Path, int]]:
    from pose_core.video.reader import probe_video

    rng = np.random.default_rng(1000 + seed)
    pool = [(v, i) for v in videos for i in range(probe_video(v).n_frames)]
    return [pool[i] for i in rng.choice(len(pool), N_ADD, replace=False)]


def stats(err: np.ndarray) -> dict[str, float]:
    return {"median_px": float(np.median(err)), "p95_px": float(np.percentile(err, 95))}


def one_seed(
    example: Path, work: Path, seed: int, epochs: int, hw: tuple[int, int], n_video_frames: int, redo: set[str]
) -> dict:
    from pose_core.ensemble.members import open_members
    from pose_core.ensemble.predict import default_output_dir

    if (work / "result.json").is_file() and not redo:  # finished by an earlier invocation with this --work
        result = json.loads((work / "result.json").read_text())
        print(json.dumps(result), flush=True)
        return result
    project = make_start_project(example, work, seed, n_video_frames)
    videos = sorted((project / "videos").glob("*.mp4"))
    members = [work / "runs" / f"start-seed{seed}-m{m}" for m in range(N_MEMBERS)]
    t_train = sum(train_run(project, run, epochs, 10 * seed + m, hw) for m, run in enumerate(members))
    for run in members:
        predict(run, videos)
    before = stats(video_error(members[0], example, videos))
    t0 = time.perf_counter()
    if "ranked" in redo:  # the ranking changed: smooth again rather than reuse the saved EKS files
        shutil.rmtree(default_output_dir(open_members(members)), ignore_errors=True)
    ranked, signals = ranked_picks(project, members, videos)
    t_rank = time.perf_counter() - t0
    result = {"seed": seed, "before": before, "train_s": t_train, "rank_s": t_rank, "ranked_signals": signals}
    for arm, picks in (("ranked", ranked), ("random", random_picks(videos, seed))):
        result[f"{arm}_picks_worst_px"] = picked_frame_error(members[0], example, picks)
        arm_project = add_frames(project, example, picks, work / f"project-{arm}")
        child = work / "runs" / f"{arm}-seed{seed}"
        if arm in redo:
            shutil.rmtree(child, ignore_errors=True)
        train_run(arm_project, child, epochs, 10 * seed, hw, init_from=members[0])
        predict(child, videos)
        result[arm] = stats(video_error(child, example, videos))
    print(json.dumps(result), flush=True)
    (work / "result.json").write_text(json.dumps(result, indent=1))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--video-frames", type=int, default=300, help="first frames of each example video used")
    parser.add_argument(
        "--work", type=Path, default=None,
        help="scratch folder (default: a temporary one); runs and projects already in it are reused",
    )  # fmt: skip
    parser.add_argument(
        "--redo", nargs="*", default=[], choices=["ranked", "random"],
        help="retrain these arms even when --work has them (e.g. after changing the ranking)",
    )  # fmt: skip
    args = parser.parse_args()
    import tempfile

    from pose_core.example import ensure_example_project

    example = ensure_example_project()
    base = args.work or Path(tempfile.mkdtemp(prefix="posedesk-loop-"))
    print(f"load average at start: {os.getloadavg()}; work folder {base}", flush=True)
    start = time.perf_counter()
    results = [
        one_seed(
            example, base / f"seed{s}", s, args.epochs, (args.height, args.width), args.video_frames, set(args.redo)
        )
        for s in args.seeds
    ]
    print(f"\nloop benchmark: {len(results)} seeds, {args.epochs} epochs, input {args.height}x{args.width}, "
          f"{N_START} + {N_ADD} frames, {N_MEMBERS} members, first {args.video_frames} frames of each video; {time.perf_counter() - start:.0f} s; load {os.getloadavg()}")  # fmt: skip
    print(
        f"{'seed':>4} {'before p95':>10} {'random p95':>10} {'ranked p95':>10} {'before med':>10} {'random med':>10} {'ranked med':>10}"
    )
    cuts: dict[str, list[float]] = {"random": [], "ranked": []}
    for r in results:
        print(f"{r['seed']:>4} {r['before']['p95_px']:>10.2f} {r['random']['p95_px']:>10.2f} {r['ranked']['p95_px']:>10.2f} "
              f"{r['before']['median_px']:>10.2f} {r['random']['median_px']:>10.2f} {r['ranked']['median_px']:>10.2f}")  # fmt: skip
        for arm in cuts:
            cuts[arm].append(r["before"]["p95_px"] - r[arm]["p95_px"])
    for arm in cuts:
        worst = [r[f"{arm}_picks_worst_px"] for r in results]
        print(
            f"{arm} picks: median of the picked frames' worst keypoint error before retraining {np.mean(worst):.1f} px"
        )
    cut_random, cut_ranked = float(np.mean(cuts["random"])), float(np.mean(cuts["ranked"]))
    print(f"mean p95 cut: random {cut_random:.2f} px, ranked {cut_ranked:.2f} px")
    if cut_random > 0:
        print(
            f"ranked picks cut p95 {100 * (cut_ranked / cut_random - 1):+.0f}% more than random picks (goal: >= +20%)"
        )
    mean_p95 = {arm: float(np.mean([r[arm]["p95_px"] for r in results])) for arm in ("random", "ranked")}
    print(f"mean p95 after: random {mean_p95['random']:.2f} px, ranked {mean_p95['ranked']:.2f} px")
    print_keypoint_breakdown(example, base, args.seeds)
    return 0


def print_keypoint_breakdown(example: Path, base: Path, seeds: list[int]) -> None:
    """p95 per keypoint (mean over seeds): which keypoints decide the overall p95?"""
    from pose_core.example import keypoint_names

    runs = {"before": "start-seed{s}-m0", "random": "random-seed{s}", "ranked": "ranked-seed{s}"}
    p95 = {
        arm: np.mean(
            [
                keypoint_p95(
                    base / f"seed{s}" / "runs" / name.format(s=s),
                    example,
                    sorted((base / f"seed{s}" / "project" / "videos").glob("*.mp4")),
                )
                for s in seeds
            ],
            axis=0,
        )
        for arm, name in runs.items()
    }
    print("p95 px per keypoint, mean over seeds (before / +random / +ranked), worst first:")
    for k in np.argsort(-p95["before"])[:5]:
        print(f"  {keypoint_names()[k]:<22} {p95['before'][k]:6.1f} {p95['random'][k]:6.1f} {p95['ranked'][k]:6.1f}")


if __name__ == "__main__":
    sys.exit(main())
