"""Accuracy at a fixed budget on ../shared/data/mirror-mouse-example (compare with REFERENCE.md).

Usage: .venv/bin/python benchmarks/accuracy_mirror_mouse.py [--epochs 100] [--wall-s 0]

Same config as benchmarks/train_throughput.py (resnet18 128x128, batch 8, random init, LP's split
0.8/0.1 -> 72/9/9). With --wall-s S, training is stopped gracefully (STOP file) S seconds after it
started, to report the accuracy after a fixed wall time. Prints mean and median pixel error per
split (original image pixels).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, mirror_train_overrides, read_events, require_mirror  # noqa: E402


def run(epochs: int, wall_s: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [str(ROOT / ".venv" / "bin" / "pose-train"), *mirror_train_overrides(run_dir, epochs)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        train_start = None
        while proc.poll() is None:
            time.sleep(0.5)
            if wall_s and train_start is None and (run_dir / "events.jsonl").exists():
                starts = [e for e in read_events(run_dir) if e["event"] == "started"]
                train_start = starts[0]["time"] if starts else None
            if wall_s and train_start is not None and time.time() - train_start >= wall_s:
                (run_dir / "STOP").touch()
        out = proc.stdout.read() if proc.stdout else ""
        if proc.returncode != 0:
            sys.exit(f"pose-train failed:\n{out[-3000:]}")
        summary = json.loads((run_dir / "summary.json").read_text())
        summary["wall_s"] = time.perf_counter() - start
        return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--wall-s", type=float, default=0.0, help="stop training this long after it started")
    args = parser.parse_args()
    require_mirror()
    summary = run(args.epochs, args.wall_s)
    budget = f"{summary['epochs_completed']} epochs" + (
        f" (stopped after {args.wall_s:.0f} s of training)" if args.wall_s else ""
    )
    print(
        f"PoseDesk, resnet18 128x128 batch 8, random init, mirror-mouse, {budget}, whole process {summary['wall_s']:.0f} s:"
    )
    for split in ("train", "validation", "test"):
        s = summary["pixel_error"][split]
        print(f"  {split:<10} {s['n_frames']:>3} frames  mean {s['mean_px']:6.2f} px  median {s['median_px']:6.2f} px")


if __name__ == "__main__":
    main()
