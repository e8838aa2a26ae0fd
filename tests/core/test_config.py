"""Config loading, overrides and validation: every bad value names its key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from pose_core.config.io import load_config, parse_yaml_text
from pose_core.config.schema import LP_IGNORED_KEYS, PoseConfig, schema_fields, schema_keys
from pose_core.errors import ConfigError

MIRROR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirror-mouse-example"
LP_DEFAULT = MIRROR.parent / "lp_config_default.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a labels CSV (contents are not read by load_config)."""
    (tmp_path / "CollectedData.csv").write_text("scorer\n")
    (tmp_path / "config.yaml").write_text("data:\n  data_dir: .\n")
    return tmp_path


def _error(path: Path | None, overrides: list[str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return info.value


def test_defaults_are_cpu_friendly(project: Path) -> None:
    cfg = load_config(project / "config.yaml").cfg
    assert cfg.model.backbone == "resnet18"
    assert (cfg.data.image_resize_dims.height, cfg.data.image_resize_dims.width) == (128, 128)
    assert cfg.model.backbone_pretrained is False


def test_relative_data_dir_is_relative_to_the_config_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    cfg = load_config(project / "config.yaml").cfg
    assert Path(cfg.data.data_dir) == project.resolve()
    assert Path(cfg.data.csv_file) == project.resolve() / "CollectedData.csv"
    assert Path(cfg.data.video_dir) == project.resolve() / "videos"


def test_command_line_data_dir_is_relative_to_cwd(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.parent)
    cfg = load_config(None, [f"data.data_dir={project.name}"]).cfg
    assert Path(cfg.data.data_dir) == project.resolve()


def test_overrides_typed(project: Path) -> None:
    cfg = load_config(
        project / "config.yaml",
        ["training.max_epochs=11", "data.image_resize_dims.height=256", "model.losses_to_use=[temporal]"],
    ).cfg
    assert cfg.training.max_epochs == 11
    assert cfg.data.image_resize_dims.height == 256
    assert list(cfg.model.losses_to_use) == ["temporal"]


def test_unknown_key_suggests_close_match(project: Path) -> None:
    err = _error(project / "config.yaml", ["training.max_epoch=3"])
    assert "training.max_epoch" in str(err) and "training.max_epochs" in str(err)


def test_unknown_key_in_file(project: Path) -> None:
    (project / "config.yaml").write_text("data:\n  data_dir: .\ntraining:\n  learning_rat: 0.1\n")
    err = _error(project / "config.yaml", [])
    assert "training.learning_rat" in str(err)


def test_wrong_type_names_key_and_type(project: Path) -> None:
    err = _error(project / "config.yaml", ["training.max_epochs=abc"])
    assert "training.max_epochs" in str(err) and "int" in str(err) and "abc" in str(err)
    assert err.key == "training.max_epochs"


def test_out_of_range(project: Path) -> None:
    err = _error(project / "config.yaml", ["training.train_prob=1.5"])
    assert "training.train_prob" in str(err) and "1.5" in str(err)


def test_milestones_past_max_epochs(project: Path) -> None:
    err = _error(
        project / "config.yaml",
        ["training.max_epochs=10", "training.lr_scheduler_params.multisteplr.milestones=[5,20]"],
    )
    assert "milestones" in str(err) and "20" in str(err)


def test_unknown_backbone_lists_known(project: Path) -> None:
    err = _error(project / "config.yaml", ["model.backbone=resnet9"])
    assert "resnet9" in str(err) and "resnet18" in str(err)


def test_internet_backbone_refused(project: Path) -> None:
    err = _error(project / "config.yaml", ["model.backbone=resnet50_animal_ap10k"])
    assert "internet" in str(err) and "resnet50" in str(err)


def test_missing_data_dir(tmp_path: Path) -> None:
    err = _error(None, [f"data.data_dir={tmp_path / 'nope'}"])
    assert "data.data_dir" in str(err) and "does not exist" in str(err)


def test_keypoint_names_length_mismatch(project: Path) -> None:
    err = _error(project / "config.yaml", ["data.num_keypoints=3", "data.keypoint_names=[a,b]"])
    assert "data.keypoint_names" in str(err) and "3" in str(err)


def test_image_size_multiple_of_32(project: Path) -> None:
    err = _error(project / "config.yaml", ["data.image_resize_dims.width=100"])
    assert "multiple of 32" in str(err)


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("data:\n  data_dir: [unclosed\n")
    err = _error(tmp_path / "bad.yaml", [])
    assert "line" in str(err) and "column" in str(err) and "bad.yaml" in str(err)


def test_bad_override_syntax(project: Path) -> None:
    err = _error(project / "config.yaml", ["training.max_epochs"])
    assert "training.max_epochs" in str(err)


def test_multiview_needs_matches(project: Path) -> None:
    err = _error(project / "config.yaml", ["model.losses_to_use=[pca_multiview]"])
    assert "mirrored_column_matches" in str(err)


def test_multiview_matches_unequal(project: Path) -> None:
    err = _error(
        project / "config.yaml", ["model.losses_to_use=[pca_multiview]", "data.mirrored_column_matches=[[0,1],[2]]"]
    )
    assert "unequal" in str(err)


def test_components_to_keep(project: Path) -> None:
    err = _error(
        project / "config.yaml",
        ["model.losses_to_use=[pca_singleview]", "losses.pca_singleview.components_to_keep=1.5"],
    )
    assert "components_to_keep" in str(err)


def test_hydra_run_dir_override(project: Path) -> None:
    loaded = load_config(project / "config.yaml", ["hydra.run.dir=/tmp/somewhere"])
    assert loaded.run_dir == "/tmp/somewhere"


@pytest.mark.skipif(not MIRROR.is_dir(), reason="../shared/data/mirror-mouse-example is not present")
def test_lightning_pose_config_is_accepted_and_lp_keys_kept(tmp_path: Path) -> None:
    loaded = load_config(
        MIRROR / "lp_config.yaml",
        [
            f"data.data_dir={MIRROR}",
            "model.backbone=resnet18",
            "training.lr_scheduler_params.multisteplr.milestones=[150]",
        ],
    )
    assert loaded.ignored_keys == ["dali"]
    assert loaded.cfg.data.num_keypoints == 17
    assert Path(loaded.cfg.data.video_dir) == MIRROR / "videos"
    saved = tmp_path / "config.yaml"
    loaded.save(saved)
    back = OmegaConf.load(saved)
    assert back.dali.base.train.sequence_length == 16
    again = load_config(saved)
    assert again.cfg == loaded.cfg


@pytest.mark.skipif(not MIRROR.is_dir(), reason="../shared/data/mirror-mouse-example is not present")
def test_lp_root_path_resolver_gets_a_fix() -> None:
    err = _error(MIRROR / "lp_config.yaml", [])
    assert "LP_ROOT_PATH" in str(err) and "data.data_dir" in str(err)


@pytest.mark.skipif(not LP_DEFAULT.is_file(), reason="../shared/data/lp_config_default.yaml is not present")
def test_every_lp_template_key_is_known_or_kept() -> None:
    raw = parse_yaml_text(LP_DEFAULT.read_text())
    from pose_core.config.io import _is_ignored, _leaf_keys

    unknown = [k for k in _leaf_keys(raw) if k not in schema_keys() and not _is_ignored(k)]
    assert unknown == []


def test_every_field_has_title_and_help() -> None:
    for f in schema_fields():
        assert f.metadata.get("title") and f.metadata.get("help"), f.key


def test_ignored_keys_do_not_shadow_schema_keys() -> None:
    for key in LP_IGNORED_KEYS:
        assert key not in schema_keys()
    assert OmegaConf.structured(PoseConfig).training.max_epochs >= 1
