"""Config presets: every preset names real keys, yields a valid config, and previews its changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pose_core.config.io import load_config
from pose_core.config.presets import PRESETS, apply_preset, get_preset, preset_changes, preset_names
from pose_core.config.schema import schema_keys
from pose_core.errors import ConfigError

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _example_config(tmp_path: Path) -> Path:
    """A minimal valid config with its labels CSV next to it."""
    (tmp_path / "CollectedData.csv").write_text(
        "scorer,s,s\nbodyparts,nose,nose\ncoords,x,y\nlabeled-data/a/img0.png,1.0,2.0\n", encoding="utf-8"
    )
    path = tmp_path / "config.yaml"
    path.write_text("data:\n  data_dir: .\n  csv_file: CollectedData.csv\n", encoding="utf-8")
    return path


def test_the_three_presets_exist_and_name_only_schema_keys() -> None:
    assert {"fast CPU check", "CPU default", "GPU accurate"} <= set(preset_names())
    keys = set(schema_keys())
    for preset in PRESETS:
        assert preset.description
        for override in preset.overrides:
            assert override.split("=", 1)[0] in keys, f"{preset.name}: {override}"


@pytest.mark.parametrize("name", ["fast CPU check", "CPU default", "GPU accurate"])
def test_each_preset_gives_a_valid_config(tmp_path: Path, name: str) -> None:
    path = _example_config(tmp_path)
    cfg = load_config(path, get_preset(name).overrides).cfg
    if name == "fast CPU check":
        assert cfg.training.max_epochs == 2 and cfg.training.imgaug == "none"
        assert cfg.eval.predict_vids_after_training is False
    if name == "GPU accurate":
        assert cfg.model.backbone == "resnet50" and cfg.data.image_resize_dims.height == 256


def test_preset_changes_list_old_and_new_values_and_keep_other_keys() -> None:
    lp_config = SHARED_DATA / "mirror-mouse-example" / "lp_config.yaml"
    if not lp_config.is_file():
        pytest.skip(f"real data not found at {lp_config.resolve()} (shared data folder absent)")
    data = yaml.safe_load(lp_config.read_text(encoding="utf-8"))
    preset = get_preset("fast CPU check")
    changes = {key: (old, new) for key, old, new in preset_changes(data, preset)}
    assert changes["training.max_epochs"] == (300, 2)
    assert changes["model.backbone"] == ("resnet50_animal_ap10k", "resnet18")
    assert "training.accelerator" in changes  # not in the file: compared with the default "auto"
    assert "training.num_workers" not in changes  # the default 0 already
    after = apply_preset(data, preset)
    assert after["dali"] == data["dali"]  # Lightning Pose keys are kept
    assert after["data"]["video_dir"] == "${data.data_dir}/videos"  # interpolations stay unresolved
    assert data["training"]["max_epochs"] == 300  # the input is not changed


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="fast CPU check"):
        get_preset("turbo")
