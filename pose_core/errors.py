"""Errors a user can cause and fix: bad files, bad config values, missing data.

Every such error is a :class:`PoseDeskError`. Its message names the file or key and says how
to fix it; the CLI prints it on one line and exits with status 2, the GUI shows it in a dialog.
"""

from __future__ import annotations


class PoseDeskError(Exception):
    """Base class for errors caused by user input (files, config values, paths)."""


class ConfigError(PoseDeskError):
    """A config key or value is wrong (unknown key, wrong type, out of range, inconsistent)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class DataError(PoseDeskError):
    """A data file (labels CSV, image, video) is missing, malformed or inconsistent."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class RunError(PoseDeskError):
    """A run directory or checkpoint is missing, incomplete or incompatible."""
