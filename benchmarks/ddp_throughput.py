"""Training images/s of 2-process DDP (CPU, gloo) against 1 process, at the same effective batch.

Usage: .venv/bin/python benchmarks/ddp_throughput.py [--epochs 4] [--devices 2]

Trains resnet18, 128x128, effective batch 8, supervised only, on ../shared/data/mirror-mouse-example
(Lightning Pose's config for it) with `pose-train training.accelerator=cpu training.devices=N` in a
child process, once with 1 process and once with N (each then takes 8 / N frames per step; Lightning
gives each process cpu_count / N torch threads). Images/s = training frames per epoch / epoch time
(validation included), median over the epochs after the first. Prints both, their ratio, the
whole-process times and the load average (the machine may be shared: compare ratios measured
together). On a 2-core machine little gain is expected; the point of DDP here is that it is correct.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, median, mirror_train_overrides, read_events, require_mirror, run_measured  # noqa: E402


def train_frames(run_dir: Path) -> int:
    """Frames of the training split, from the run's predictions.csv (`set` column)."""
    import pandas as pd

    preds = pd.read_csv(run_dir / "predictions.csv", header=[0, 1, 2], index_col=0)
    return int((preds.iloc[:, -1] == "train").sum())


def train_once(devices: int, epochs: int) -> dict[str, float]:
    """One `pose-train` run with `devices` CPU processes; returns its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        extra = ["training.accelerator=cpu", f"training.devices={devices}"]
        cmd = [str(ROOT / ".venv" / "bin" / "pose-train"), *mirror_train_overrides(run_dir, epochs, extra)]
        stats = run_measured(cmd, cwd=Path(tmp))
        if stats.returncode != 0:
            sys.exit(f"pose-train failed ({stats.returncode}):\n{stats.output[-3000:]}")
        events = read_events(run_dir)
        n_train = train_frames(run_dir)
    epoch_ends = [e for e in events if e["event"] == "epoch_end"]
    started = next(e for e in events if e["event"] == "started")
    if started.get("world_size") != devices or len(epoch_ends) != epochs:
        sys.exit(f"unexpected run: world_size={started.get('world_size')}, {len(epoch_ends)} epochs")
    return {
        "images_per_s": median([n_train / e["epoch_time_s"] for e in epoch_ends[1:]]),
        "first_epoch_s": epoch_ends[0]["epoch_time_s"],
        "fit_s": epoch_ends[-1]["time"] - started["time"],
        "whole_s": stats.wall_s,
        "peak_pss_mib": stats.peak_pss_mib,
        "n_train": n_train,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (at least 2)")
    parser.add_argument("--devices", type=int, default=2, help="processes of the DDP run (8 must divide by it)")
    args = parser.parse_args()
    require_mirror()
    load_before = os.getloadavg()
    print(
        f"cores: {os.cpu_count()}, load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
    )
    results = {}
    for devices in (1, args.devices):
        results[devices] = r = train_once(devices, max(2, args.epochs))
        print(
            f"{devices} process(es): {r['images_per_s']:.1f} images/s (median of epochs 2..), first epoch "
            f"{r['first_epoch_s']:.1f} s, fit {r['fit_s']:.1f} s, whole process {r['whole_s']:.1f} s, "
            f"peak PSS {r['peak_pss_mib']:.0f} MiB, {r['n_train']} training frames",
            flush=True,
        )
    load_after = os.getloadavg()
    one, many = results[1], results[args.devices]
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"ratio {args.devices}-process DDP / 1 process: images/s x{many['images_per_s'] / one['images_per_s']:.2f}, "
          f"whole-process time x{many['whole_s'] / one['whole_s']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
