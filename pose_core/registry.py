"""Registry: a name -> object table that refuses duplicates and explains unknown names.

Backbones and losses are looked up by the names users write in configs; an unknown name is a
:class:`~pose_core.errors.ConfigError` naming the config key and listing the known names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pose_core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind.

    Args:
        what: What the names denote, for messages (``heatmap loss``).
        config_key: The config key that names them (``model.heatmap_loss_type``).
    """

    def __init__(self, what: str, config_key: str) -> None:
        self.what = what
        self.config_key = config_key
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Registers ``item`` under ``name``.

        Raises:
            ValueError: The name is already registered.
        """
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""
        return lambda item: self.add(name, item)

    def get(self, name: str) -> T:
        """The item registered under ``name``.

        Raises:
            ConfigError: Unknown name (lists the known ones).
        """
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items)
            raise ConfigError(f"{self.config_key}={name!r} is not a known {self.what}; choose one of {known}.", key=self.config_key) from None  # fmt: skip

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._items)
