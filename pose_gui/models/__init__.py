"""Application state and Qt item models over :mod:`pose_core` data."""
