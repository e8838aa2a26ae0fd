"""The network really learns: on a short run the error falls at least 5x below the untrained model's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pose_core.cli import train_main
from pose_core.config.io import load_config
from pose_core.example import generate_example_project
from pose_core.training.run import _read_and_check_labels, build_datamodule, build_module, evaluate_labeled_frames


@pytest.mark.slow
def test_short_run_learns(tmp_path: Path) -> None:
    project = tmp_path / "project"
    generate_example_project(project, seed=11, n_labeled=64, n_video_frames=10, n_videos=1)
    overrides = [
        "data.image_resize_dims.height=64", "data.image_resize_dims.width=128", "training.imgaug=none",
        "training.train_prob=0.75", "training.max_epochs=25", "training.train_batch_size=8",
        "eval.predict_vids_after_training=false",
    ]  # fmt: skip
    loaded = load_config(project / "config.yaml", overrides)
    labels = _read_and_check_labels(loaded.cfg)
    datamodule = build_datamodule(loaded.cfg, labels)
    untrained = evaluate_labeled_frames(build_module(loaded.cfg), datamodule, labels, tmp_path / "untrained")
    run_dir = tmp_path / "run"
    args = ["--config-path", str(project), "--config-name", "config.yaml", f"hydra.run.dir={run_dir}", *overrides]
    assert train_main(args) == 0
    trained = json.loads((run_dir / "summary.json").read_text())["pixel_error"]
    before, after = untrained["test"]["median_px"], trained["test"]["median_px"]
    print(f"test median error: untrained {before:.1f} px, after 25 epochs {after:.1f} px")
    assert np.isfinite(after) and after * 5 <= before
    assert after < 0.05 * 256  # under 5% of the frame's longer side
    assert pytest.approx(before) != after
