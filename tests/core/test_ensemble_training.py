"""pose-train with training.ensemble_seeds and training.init_from on a tiny generated project (slow: real training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pose_core.cli import train_main
from pose_core.config.io import read_yaml_file
from pose_core.example import generate_example_project
from pose_core.runs import read_run_info

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_ensemble_of_two_then_a_child_run_from_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    generate_example_project(project, seed=4, n_labeled=24, n_video_frames=10, n_videos=1)
    common = [
        "--config-path", str(project), "data.image_resize_dims.height=32", "data.image_resize_dims.width=64",
        "training.max_epochs=1", "training.train_batch_size=8", "training.imgaug=none",
        "eval.predict_vids_after_training=false",
    ]  # fmt: skip
    base = tmp_path / "outputs" / "2026-12-03" / "11-00-00"
    assert train_main([*common, "training.ensemble_seeds=[0,1]", f"hydra.run.dir={base}"]) == 0
    members = [base.with_name("11-00-00-seed0"), base.with_name("11-00-00-seed1")]
    for seed, member in enumerate(members):
        summary = json.loads((member / "summary.json").read_text())
        assert summary["status"] == "finished" and summary["ensemble"]["seed"] == seed
        assert read_run_info(member).ensemble_id == "11-00-00"
        cfg = read_yaml_file(member / "config.yaml")
        assert cfg.training.rng_seed_model_pt == seed and cfg.training.ensemble_seeds is None
    assert not base.exists()
    child = tmp_path / "outputs" / "2026-12-03" / "12-00-00"
    assert train_main([*common, f"training.init_from={members[0]}", f"hydra.run.dir={child}"]) == 0
    assert read_run_info(child).parent == members[0]
    cfg = read_yaml_file(child / "config.yaml")
    assert str(members[0]) in str(cfg.model.checkpoint)
    assert "Traceback" not in capsys.readouterr().err
