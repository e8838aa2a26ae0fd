"""The registry contract: duplicates refused, unknown names explained with the known ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pose_core.config import schema
from pose_core.config.io import load_config
from pose_core.errors import ConfigError
from pose_core.losses import HEATMAP_LOSSES, UNSUPERVISED_LOSSES
from pose_core.models.backbones import BACKBONES, BackboneSpec, register_backbone
from pose_core.registry import Registry


def test_registry_contract() -> None:
    reg: Registry[int] = Registry("widget", "model.widget")
    reg.add("a", 1)
    reg.register("b")(2)
    assert reg.get("b") == 2 and reg.names() == ["a", "b"]
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", 3)
    with pytest.raises(ConfigError) as info:
        reg.get("c")
    assert info.value.key == "model.widget" and "a, b" in str(info.value)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "CollectedData.csv").write_text("scorer\n")
    (tmp_path / "config.yaml").write_text("data:\n  data_dir: .\n")
    return tmp_path


def test_backbone_registry_is_what_validation_accepts(project: Path) -> None:
    """A backbone registered after the schema was built (a plugin, this test) is a valid model.backbone."""
    with pytest.raises(ConfigError, match="tiny_test_net"):
        load_config(project / "config.yaml", ["model.backbone=tiny_test_net"])
    register_backbone(BackboneSpec("tiny_test_net", lambda **_: None, "TinyWeights", 8))  # type: ignore[arg-type, return-value]
    try:
        cfg = load_config(project / "config.yaml", ["model.backbone=tiny_test_net"]).cfg
        assert cfg.model.backbone == "tiny_test_net"
        assert set(BACKBONES.names()) >= set(schema.BACKBONES)  # the form's choices come from the registry
    finally:
        BACKBONES._items.pop("tiny_test_net")


@pytest.mark.parametrize(
    ("registry", "key", "override"),
    [
        (HEATMAP_LOSSES, "model.heatmap_loss_type", "model.heatmap_loss_type=test_loss"),
        (UNSUPERVISED_LOSSES, "model.losses_to_use", "model.losses_to_use=[test_loss]"),
    ],
)
def test_loss_registries_are_what_validation_accepts(
    project: Path, registry: Registry, key: str, override: str
) -> None:
    assert registry.config_key == key and list(schema_choices(key)) == registry.names()
    with pytest.raises(ConfigError, match="test_loss"):
        load_config(project / "config.yaml", [override])
    registry.add("test_loss", lambda *_, **__: None)
    try:
        load_config(project / "config.yaml", [override])
        with pytest.raises(ValueError, match="already registered"):
            registry.add("test_loss", lambda *_, **__: None)
    finally:
        registry._items.pop("test_loss")


def test_config_validation_does_not_import_torch() -> None:
    """The GUI validates as you type: asking the registries must not load torch."""
    code = "import sys, pose_core.config.validate, pose_core.config.schema; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def schema_choices(key: str) -> tuple[str, ...]:
    return next(f for f in schema.schema_fields() if f.key == key).metadata["choices"]
