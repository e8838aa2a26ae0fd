"""The no-argument `pose-train` on the example project: wall time and accuracy against the untrained model.

Usage: .venv/bin/python benchmarks/example_run.py

Generates the example project into a temporary data folder (timed separately), runs `pose-train`
with no arguments in a temporary working folder, and reports the whole-process time (goal < 5 min on
2 cores), the test-split median pixel error as a fraction of the frame's longer side (goal < 5%) and
against the untrained model's (goal >= 5x lower).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, run_measured  # noqa: E402


def untrained_error(project: Path, run_dir: Path) -> float:
    from pose_core.config.io import load_config
    from pose_core.training.run import _read_and_check_labels, build_datamodule, build_module, evaluate_labeled_frames

    loaded = load_config(project / "config.yaml")
    labels = _read_and_check_labels(loaded.cfg)
    datamodule = build_datamodule(loaded.cfg, labels)
    import pytorch_lightning as pl

    pl.seed_everything(int(loaded.cfg.training.rng_seed_model_pt), verbose=False)
    return evaluate_labeled_frames(build_module(loaded.cfg), datamodule, labels, run_dir)["test"]["median_px"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, POSEDESK_DATA_DIR=str(Path(tmp) / "data"))
        start = time.perf_counter()
        project = Path(
            subprocess.run(
                [str(ROOT / ".venv" / "bin" / "python"), "-m", "pose_core.example"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        gen_s = time.perf_counter() - start
        os.environ["POSEDESK_DATA_DIR"] = env["POSEDESK_DATA_DIR"]
        stats = run_measured([str(ROOT / ".venv" / "bin" / "pose-train"), "hydra.run.dir=run"], cwd=Path(tmp))
        if stats.returncode != 0:
            sys.exit(f"pose-train failed:\n{stats.output[-3000:]}")
        summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
        n_videos = len(list((Path(tmp) / "run" / "video_preds").glob("*.csv")))
        before = untrained_error(project, Path(tmp) / "untrained")
    after = summary["pixel_error"]["test"]["median_px"]
    longer_side = 256
    print(f"example project generated in {gen_s:.1f} s")
    print(
        f"pose-train (no arguments): {stats.wall_s:.0f} s whole process (goal < 300 s), {summary['epochs_completed']} epochs, peak {stats.peak_pss_mib:.0f} MiB PSS, {n_videos} video prediction files"
    )
    print(f"  test median error {after:.2f} px = {after / longer_side:.1%} of the frame's longer side (goal < 5%)")
    print(f"  untrained model   {before:.2f} px -> {before / after:.0f}x lower after training (goal >= 5x)")


if __name__ == "__main__":
    main()
