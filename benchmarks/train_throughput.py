"""Training throughput and memory against the bare model and Lightning Pose (../shared/REFERENCE.md).

Usage: .venv/bin/python benchmarks/train_throughput.py [--epochs 5] [--repeats 1]

Trains resnet18, 128x128, batch 8, heatmap, supervised only on ../shared/data/mirror-mouse-example
with `pose-train` in a child process (whole-process wall time, peak memory of the process tree),
reads the per-epoch times from its events.jsonl (images/s from epoch 2 on), and measures in this
same run the bare model's forward + backward + Adam step on random tensors of the same shape.
Prints the figures and their ratios; machines are noisy, so compare ratios measured together.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, median, mirror_train_overrides, read_events, require_mirror, run_measured  # noqa: E402

LP_IMAGES_PER_S = 8.2
LP_WHOLE_PROCESS_S = 70.1
LP_PEAK_MIB = 1804
GOAL_MIB = 1.3 * 1024


def bare_model_images_per_s(batch: int = 8, steps: int = 30, warmup: int = 5) -> float:
    """Forward + backward + Adam step of the same network on random tensors (the limit)."""
    import torch

    from pose_core.training.module import PoseLightningModule

    module = PoseLightningModule(keypoint_names=[f"k{i}" for i in range(17)], backbone="resnet18", input_hw=(128, 128))
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, 128, 128).contiguous(memory_format=torch.channels_last)
    keypoints = torch.rand(batch, 17, 2) * 127
    batch_dict = {"image": images, "keypoints": keypoints, "orig_hw": torch.tensor([[406, 396]] * batch)}
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        loss, _, _ = module.supervised_loss(batch_dict)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start)


def train_once(epochs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [str(ROOT / ".venv" / "bin" / "pose-train"), *mirror_train_overrides(run_dir, epochs)]
        stats = run_measured(cmd, cwd=Path(tmp))
        if stats.returncode != 0:
            sys.exit(f"pose-train failed ({stats.returncode}):\n{stats.output[-3000:]}")
        events = read_events(run_dir)
    epoch_ends = [e for e in events if e["event"] == "epoch_end"]
    started = next(e["time"] for e in events if e["event"] == "started")
    last_epoch = epoch_ends[-1]["time"]
    n_train = 72
    later = [n_train / e["epoch_time_s"] for e in epoch_ends[1:]]
    return {
        "whole_s": stats.wall_s,
        "fit_s": last_epoch - started,
        "first_epoch_s": epoch_ends[0]["epoch_time_s"],
        "later_epoch_s": median([e["epoch_time_s"] for e in epoch_ends[1:]]),
        "images_per_s": median(later),
        "peak_rss_mib": stats.peak_rss_mib,
        "peak_pss_mib": stats.peak_pss_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    require_mirror()
    bare_before = bare_model_images_per_s()
    runs = [train_once(args.epochs) for _ in range(args.repeats)]
    bare_after = bare_model_images_per_s()
    bare = 0.5 * (bare_before + bare_after)
    fig = {k: median([r[k] for r in runs]) for k in runs[0]}
    print(
        f"PoseDesk training, resnet18 128x128 batch 8, {args.epochs} epochs on mirror-mouse (72 train frames), median of {args.repeats}:"
    )
    print(
        f"  whole process         {fig['whole_s']:7.1f} s   (Lightning Pose {LP_WHOLE_PROCESS_S} s -> {LP_WHOLE_PROCESS_S / fig['whole_s']:.2f}x faster; goal >= 1.5x)"
    )
    print(f"  fit                   {fig['fit_s']:7.1f} s")
    print(f"  first / later epochs  {fig['first_epoch_s']:7.2f} s / {fig['later_epoch_s']:.2f} s")
    print(
        f"  training images/s     {fig['images_per_s']:7.1f}     (Lightning Pose {LP_IMAGES_PER_S} -> {fig['images_per_s'] / LP_IMAGES_PER_S:.2f}x)"
    )
    print(f"  bare model images/s   {bare:7.1f}     (before {bare_before:.1f}, after {bare_after:.1f}; same run)")
    print(f"  training / bare       {fig['images_per_s'] / bare:7.0%}      (goal >= 90%; Lightning Pose ~70%)")
    print(
        f"  peak memory, tree     {fig['peak_rss_mib']:7.0f} MiB RSS, {fig['peak_pss_mib']:.0f} MiB PSS (Lightning Pose {LP_PEAK_MIB} MiB PSS; goal < {GOAL_MIB:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
