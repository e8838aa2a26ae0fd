"""The registry contract: duplicates refused, unknown names explained with the known ones."""

from __future__ import annotations

import pytest

from pose_core.errors import ConfigError
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
